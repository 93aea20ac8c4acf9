"""Starting and resuming a run in its folder: checks, the folder's lock, the process group.

Under ``torchrun`` every process calls :func:`start_run` or :func:`resume_run`: they join the
process group, rank 0 alone takes the folder's lock and makes the checks that involve files,
and every process stops with rank 0's error when one fails (``gankit.training.distributed``).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from gankit.data import make_data
from gankit.errors import GankitError
from gankit.runfolder import RunPaths, named_path, read_toml
from gankit.training import distributed
from gankit.training.checkpoint import load_latest, require_run
from gankit.training.config import RUN_CONTROLS, TrainConfig
from gankit.training.configure import resolve, saved_config
from gankit.training.distributed import Dist
from gankit.training.hardware import Hardware, resolve_hardware
from gankit.training.lock import refuse_if_in_use, run_lock
from gankit.training.loop import TrainResult, train
from gankit.training.snapshot import FigureWriter
from gankit.training.state import classes_of, resolved_clusters

__all__ = ["resume_run", "start_run"]

Log = Callable[[str], None]


def start_run(
    out: str | Path,
    recipe: str | None = None,
    file_values: Mapping[str, Any] | None = None,
    flag_values: Mapping[str, Any] | None = None,
    *,
    progress: bool = True,
    log: Log = print,
    figures: FigureWriter | None = None,
) -> TrainResult:
    """Resolve the configuration, create the run folder and train.

    Raises:
        GankitError: a blank ``out``, a bad configuration or data spec (before any folder
            is made), or an ``out`` that already holds a run, is in use or cannot be made.
    """
    out = named_path(out, "--out")  # "" would be the current folder
    config = resolve(recipe, file_values, flag_values)
    # A bad data spec, or labels a conditional run lacks, fail here, before any folder is
    # made; the canonical spec is recorded.
    dataset = make_data(config.data)
    config = dataclasses.replace(config, data=dataset.spec)
    config = resolved_clusters(config, dataset)  # clusters = auto: the count for this set
    classes_of(config, dataset)
    paths = RunPaths(out)
    if paths.root.exists() and not paths.root.is_dir():
        raise GankitError(f"--out {paths.root} exists and is not a folder")
    hardware = resolve_hardware(config.device, config.precision)
    with _processes(hardware) as (dist, hardware), _lock(paths, dist):
        distributed.check_batch(config.batch_size, dist)

        def refuse_a_used_folder() -> None:
            if paths.config.exists():
                raise GankitError(
                    f"{paths.root} already holds a run: resume it with --resume or pick "
                    "another --out"
                )

        distributed.on_main(dist, refuse_a_used_folder)
        if dist.is_main:
            log(
                f"gankit: {config.recipe} on {config.data}{_clustered(config)}, "
                f"{_budget(config)}, seed {config.seed}; {hardware.reason}{_sharing(config, dist)}"
            )
        return train(config, paths.root, progress=progress, hardware=hardware, figures=figures)


def resume_run(
    run_dir: str | Path,
    flag_values: Mapping[str, Any] | None = None,
    *,
    progress: bool = True,
    log: Log = print,
    figures: FigureWriter | None = None,
) -> TrainResult:
    """Continue a run from its latest checkpoint; only run controls (steps, time limit,
    device, logging intervals) may change.

    Raises:
        GankitError: not a run folder, a run in use, a change that is not a run control, or
            a step limit the checkpoint has already reached (the folder is left as it was).
    """
    paths = RunPaths(named_path(run_dir, "--resume"))
    if not paths.has_checkpoint():
        refuse_if_in_use(paths)  # a run before its first checkpoint is in use, not broken
    require_run(paths)  # not a run folder: an error before a lock is made in it
    values, source = read_toml(paths.config), str(paths.config)
    saved = saved_config(values, source)
    changes = {k: v for k, v in (flag_values or {}).items() if v is not None}
    fixed = sorted(
        k for k, v in changes.items() if k not in RUN_CONTROLS and getattr(saved, k, v) != v
    )
    if fixed:
        raise GankitError(f"cannot change {', '.join(fixed)} when resuming; start a new run")
    config = saved_config(values, source, changes)
    hardware = resolve_hardware(config.device, config.precision)
    with _processes(hardware) as (dist, hardware), _lock(paths, dist):
        distributed.check_batch(config.batch_size, dist)
        with distributed.lost_processes(dist):
            checkpoint = distributed.agree(dist, lambda: load_latest(paths))  # every process
        asked = f"--steps {config.steps}" if "steps" in changes else f"its steps = {config.steps}"
        _require_steps_left(config, int(checkpoint["step"]), paths.root, asked)
        if dist.is_main:
            log(
                f"gankit: resuming {paths.root} to {_budget(config)}; "
                f"{hardware.reason}{_sharing(config, dist)}"
            )
        return train(
            config,
            paths.root,
            resume=True,
            checkpoint=checkpoint,
            progress=progress,
            hardware=hardware,
            figures=figures,
        )


def _require_steps_left(config: TrainConfig, step: int, root: Path, asked: str) -> None:
    """A resume must train: its step limit (``steps`` counts every step) lies past ``step``."""
    if config.step_limit is not None and step >= config.step_limit:
        raise GankitError(
            f"{root} is already at step {step}, and {asked} trains no further: "
            f"ask for more steps (the total, so more than {step})"
        )


def _clustered(config: TrainConfig) -> str:
    """The start line's note of a self-conditioned run's clusters ("" for none)."""
    return "" if config.clusters == "0" else f" in {config.clusters} k-means clusters"


def _budget(config: TrainConfig) -> str:
    """How long the run trains, in words."""
    if config.step_limit is None:
        return f"until {config.time_limit:g} s"
    return f"{config.step_limit} steps"


@contextlib.contextmanager
def _processes(hardware: Hardware) -> Iterator[tuple[Dist, Hardware]]:
    """Join torchrun's process group (if started by torchrun) with this process's device."""
    with distributed.process_group(hardware.device) as dist:
        device = distributed.local_device(hardware.device, dist)
        yield dist, dataclasses.replace(hardware, device=device)


@contextlib.contextmanager
def _lock(paths: RunPaths, dist: Dist) -> Iterator[None]:
    """The run folder's lock, held by rank 0 for the job; every process stops if it is refused."""
    with contextlib.ExitStack() as stack:
        distributed.on_main(dist, lambda: stack.enter_context(run_lock(paths)))
        yield


def _sharing(config: TrainConfig, dist: Dist) -> str:
    if not dist.active:
        return ""
    per = config.batch_size // dist.world_size
    return f"; {dist.world_size} processes, {per} of the batch of {config.batch_size} each"
