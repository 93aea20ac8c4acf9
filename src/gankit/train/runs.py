"""Run folders: start one, resume one, and load a trained generator from one.

``DIR/config.toml`` (resolved configuration), ``DIR/metrics.jsonl``, ``DIR/checkpoints/``,
``DIR/samples/``, ``DIR/eval.json`` (DESIGN.md, "The run folder").

Under ``torchrun`` every process calls :func:`start_run` or :func:`resume_run`: they join the
process group, rank 0 alone takes the folder's lock and makes the checks that involve files,
and every process stops with rank 0's error when one fails (``gankit.train.distributed``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit.data import ImageSet, make_data
from gankit.errors import GankitError
from gankit.models.standing import standing_statistics
from gankit.train import distributed
from gankit.train.checkpoint import latest_checkpoint, load_latest
from gankit.train.config import (
    RUN_CONTROLS,
    UNTIL_TIME_LIMIT,
    TrainConfig,
    read_toml,
    resolve,
    saved_values,
)
from gankit.train.distributed import Dist
from gankit.train.hardware import Hardware, resolve_hardware
from gankit.train.lock import run_lock
from gankit.train.loop import TrainResult, build_models, data_shape, train

EVAL_SEED_OFFSET = 1_000_003  # fresh real samples for eval never repeat the training stream


def start_run(
    out: str | Path,
    recipe: str | None = None,
    file_values: dict[str, Any] | None = None,
    flag_values: dict[str, Any] | None = None,
    *,
    progress: bool = True,
    log: Any = print,
) -> TrainResult:
    """Resolve the configuration, create the run folder and train."""
    config = resolve(recipe, file_values, flag_values)
    # A bad data spec fails here, before any folder is made; the canonical spec is recorded.
    data = make_data(config.data).spec
    run_dir = Path(out)
    if run_dir.exists() and not run_dir.is_dir():
        raise GankitError(f"--out {run_dir} exists and is not a folder")
    hardware = resolve_hardware(config.device, config.precision)
    config = dataclasses.replace(config, data=data)
    with _processes(hardware) as (dist, hardware), _lock(run_dir, dist):
        distributed.check_batch(config.batch_size, dist)

        def refuse_a_used_folder() -> None:
            if (run_dir / "config.toml").exists():
                raise GankitError(
                    f"{run_dir} already holds a run: resume it with --resume or pick another --out"
                )

        distributed.on_main(dist, refuse_a_used_folder)
        if dist.is_main:
            budget = (
                f"until {config.time_limit:g} s"
                if config.steps >= UNTIL_TIME_LIMIT
                else f"{config.steps} steps"
            )
            log(
                f"gankit: {config.recipe} on {config.data}, {budget}, "
                f"seed {config.seed}; {hardware.reason}{_sharing(config, dist)}"
            )
        return train(config, run_dir, progress=progress, hardware=hardware)


def resume_run(
    run_dir: str | Path,
    flag_values: dict[str, Any] | None = None,
    *,
    progress: bool = True,
    log: Any = print,
) -> TrainResult:
    """Continue a run from its latest checkpoint; only run controls (steps, time limit,
    device, logging intervals) may change."""
    run_dir = Path(run_dir)
    latest_checkpoint(run_dir)  # raises: not a run folder (before a lock is made in it)
    saved = saved_values(read_toml(run_dir / "config.toml"))
    changes = {k: v for k, v in (flag_values or {}).items() if v is not None}
    fixed = sorted(k for k, v in changes.items() if k not in RUN_CONTROLS and saved.get(k) != v)
    if fixed:
        raise GankitError(f"cannot change {', '.join(fixed)} when resuming; start a new run")
    config = resolve(str(saved["recipe"]), saved, changes)
    hardware = resolve_hardware(config.device, config.precision)
    with _processes(hardware) as (dist, hardware), _lock(run_dir, dist):
        distributed.check_batch(config.batch_size, dist)
        if dist.is_main:
            log(
                f"gankit: resuming {run_dir} to step {config.steps}; "
                f"{hardware.reason}{_sharing(config, dist)}"
            )
        return train(config, run_dir, resume=True, progress=progress, hardware=hardware)


@contextlib.contextmanager
def _processes(hardware: Hardware) -> Iterator[tuple[Dist, Hardware]]:
    """Join torchrun's process group (if started by torchrun) with this process's device."""
    with distributed.process_group(hardware.device) as dist:
        device = distributed.local_device(hardware.device, dist)
        yield dist, dataclasses.replace(hardware, device=device)


@contextlib.contextmanager
def _lock(run_dir: Path, dist: Dist) -> Iterator[None]:
    """The run folder's lock, held by rank 0 for the job; every process stops if it is refused."""
    with contextlib.ExitStack() as stack:
        distributed.on_main(dist, lambda: stack.enter_context(run_lock(run_dir)))
        yield


def _sharing(config: TrainConfig, dist: Dist) -> str:
    if not dist.active:
        return ""
    per = config.batch_size // dist.world_size
    return f"; {dist.world_size} processes, {per} of the batch of {config.batch_size} each"


def load_run(run_dir: str | Path) -> tuple[TrainConfig, torch.nn.Module, dict[str, Any]]:
    """The configuration and generator (EMA weights when the run keeps them) of a run."""
    run_dir = Path(run_dir)
    state = load_latest(latest_checkpoint(run_dir))
    config = resolve(str(state["config"]["recipe"]), saved_values(state["config"]))
    generator, _ = build_models(config, data_shape(make_data(config.data)))
    weights = state["ema"] if state.get("ema") is not None else state["generator"]
    generator.load_state_dict(weights)
    # Batch norm: statistics measured for these (possibly EMA) weights, in eval mode.
    return config, standing_statistics(generator, config.latent_dim), state


def generate(config: TrainConfig, generator: torch.nn.Module, n: int, seed: int = 0) -> np.ndarray:
    """``n`` samples of a loaded generator, shape ``(n, dim)`` or ``(n, C, H, W)``,
    reproducible from ``seed``."""
    noise = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        z = torch.randn(n, config.latent_dim, generator=noise)
        return generator(z).float().numpy()


def draw_samples(run_dir: str | Path, n: int, seed: int = 0) -> np.ndarray:
    """``n`` samples from a run's latest generator, shape ``(n, dim)``."""
    config, generator, _ = load_run(run_dir)
    return generate(config, generator, n, seed)


def evaluate_run(
    run_dir: str | Path,
    n: int = 2000,
    seed: int = 0,
    *,
    log: Any = print,
    features: str = "classifier",
) -> dict[str, Any]:
    """DESIGN.md's metrics of a run (toy or image set) against real data; writes ``eval.json``.

    Toy sets are scored against ``n`` fresh samples; image sets against ``n`` real images
    drawn without replacement (all of them when the set is smaller), with the distances in
    ``features`` (``"classifier"`` or ``"inception"``; toy sets ignore it).
    """
    from gankit.metrics import evaluate_images, evaluate_toy

    run_dir = Path(run_dir)
    # One load: the samples and the reported step come from the same checkpoint, even while
    # the run is still writing new ones.
    config, generator, state = load_run(run_dir)
    samples = generate(config, generator, n, seed)
    dataset = make_data(config.data)
    fresh = torch.Generator().manual_seed(seed + EVAL_SEED_OFFSET)
    result = {"step": int(state["step"]), "data": config.data, "recipe": config.recipe}
    if isinstance(dataset, ImageSet):
        images = torch.from_numpy(samples)
        result.update(evaluate_images(images, dataset, seed=seed, log=log, features=features))
    else:
        real = dataset.sample(n, fresh).numpy()
        result.update(evaluate_toy(samples, dataset, real))
    (run_dir / "eval.json").write_text(json.dumps(result, indent=2) + "\n")
    return result
