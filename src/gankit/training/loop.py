"""The run loop: train a configuration into a run folder, one :func:`train_step` at a time.

``train()`` reads in phases: set up (or restore) the run; then, per generator step, the step
itself, its record, the stop decision, the sample figure and the checkpoint at their
intervals. The run's state lives in ``gankit.training.state``, the step in
``gankit.training.step``, the outputs in ``gankit.training.sinks``; figures are drawn by the
``figures`` writer the caller passes in (``gankit.report.figures.write_snapshot`` from the
command line).

Several processes (``torchrun``): the same loop in every process, each on its part of every
batch, rank 0 writing the run folder; ``gankit.training.distributed`` says how.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gankit.data import ImageSet, make_data
from gankit.data.clusters import with_clusters
from gankit.runfolder import RunPaths, remove_temporaries, trim_metrics
from gankit.training import distributed
from gankit.training.checkpoint import load_latest, save_checkpoint
from gankit.training.config import TrainConfig, write_toml
from gankit.training.distributed import Dist
from gankit.training.hardware import Hardware, resolve_hardware
from gankit.training.signals import StopSignals
from gankit.training.sinks import Sinks
from gankit.training.snapshot import FigureWriter, snapshot
from gankit.training.state import (
    RunState,
    new_run,
    parallelize,
    resolved_clusters,
    restore_run,
    state_dict,
)
from gankit.training.step import SCORES, check_finite, train_step

__all__ = ["TrainResult", "train"]


@dataclass
class TrainResult:
    """How a call to :func:`train` ended."""

    step: int
    status: str  # "completed", "time_limit" or "interrupted"
    seconds: float
    run_dir: Path


def train(
    config: TrainConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    checkpoint: dict[str, Any] | None = None,
    progress: bool = True,
    hardware: Hardware | None = None,
    figures: FigureWriter | None = None,
) -> TrainResult:
    """Train ``config`` into ``run_dir``, or continue its newest checkpoint (``resume``; or
    ``checkpoint``, that checkpoint already loaded by the caller).

    A fresh run first writes a checkpoint of step 0, so its folder can be resumed however
    it stops. Stops at ``config.steps`` (never, with 0), after ``config.time_limit`` seconds
    or on SIGINT/SIGTERM, each time with a checkpoint; hands the sample figures to
    ``figures``. Raises :class:`~gankit.training.step.TrainingDiverged` when a loss is not
    finite.
    """
    paths, dist = RunPaths(Path(run_dir)), distributed.current()
    config, hardware = _prepared(config, dist, hardware)
    dataset = make_data(config.data)
    config = resolved_clusters(config, dataset)  # clusters = auto: the count for this set
    if dist.is_main:
        paths.root.mkdir(parents=True, exist_ok=True)
        write_toml(config, paths.config, _run_facts(config, hardware, dist))
    with distributed.lost_processes(dist):
        run = _started(config, hardware, dist, paths, resume, checkpoint, dataset)
        if not resume:
            _save(run, paths)  # step 0: from here on the folder is a run that resumes
    if run.clusters is not None and isinstance(dataset, ImageSet):  # the clusters: its classes
        dataset = with_clusters(dataset, run.clusters)
    shard = distributed.Shard(dataset, dist)  # batches drawn whole, this process's rows kept
    status, started = "completed", time.perf_counter()
    sinks = Sinks(paths, run, progress=progress, resumed=resume, started=started)
    votes = distributed.StopVote(dist)  # all stop after the same step, with no wait for it
    with StopSignals() as signals, sinks, distributed.lost_processes(dist):
        while config.step_limit is None or run.step < config.step_limit:
            measure = (run.step + 1) % config.log_every == 0 or run.step + 1 == config.steps
            values = train_step(run, shard, measure)
            record = scores = None
            if measure:
                scores = {key: distributed.gather_rows(dist, values.pop(key)) for key in SCORES}
                record = distributed.mean_over_processes(dist, values, hardware.device)
            sinks.after_step(run.step, record, scores)
            stop = votes.after_step(_stop_reason(config, signals, started))
            last = stop is not None or run.step == config.steps
            due = run.step % config.sample_every == 0 or last
            if figures is not None and dist.is_main and due:
                shot = snapshot(run, dataset, paths)
                figures(shot)
                sinks.after_figure(shot.step, shot.path)
            if _checkpoint_due(config, run.step) or last:
                _save(run, paths)
            if stop:
                status = stop
                break
        votes.close()
    return TrainResult(run.step, status, time.perf_counter() - started, paths.root)


def _prepared(
    config: TrainConfig, dist: Dist, hardware: Hardware | None
) -> tuple[TrainConfig, Hardware]:
    """The hardware choice, recorded in the configuration; a batch the processes can share."""
    distributed.check_batch(config.batch_size, dist)
    hardware = hardware or resolve_hardware(config.device, config.precision)
    return dataclasses.replace(config, precision=hardware.precision), hardware


def _started(
    config: TrainConfig,
    hardware: Hardware,
    dist: Dist,
    paths: RunPaths,
    resume: bool,
    checkpoint: dict[str, Any] | None,
    dataset: Any,
) -> RunState:
    """A fresh run, or the run of the newest checkpoint (metrics logged after it dropped),
    made data-parallel over the processes."""
    if resume:
        if dist.is_main:
            remove_temporaries(paths.checkpoints)
        state = checkpoint
        if state is None:
            state = distributed.agree(dist, lambda: load_latest(paths))  # every process reads it
        run = restore_run(config, hardware, state, dist, dataset=dataset)
        if dist.is_main:
            trim_metrics(paths.metrics, run.step)
    else:
        run = new_run(config, hardware, dist, dataset=dataset)
    parallelize(run)
    return run


def _checkpoint_due(config: TrainConfig, step: int) -> bool:
    """Every ``checkpoint_every`` steps, and every ``keep_every`` steps (kept as step_N.pt)."""
    return step % config.checkpoint_every == 0 or bool(
        config.keep_every and step % config.keep_every == 0
    )


def _stop_reason(config: TrainConfig, signals: StopSignals, started: float) -> str | None:
    """This process's reason to stop after this step: a signal, or the time limit."""
    if signals.received is not None:
        return "interrupted"
    if config.time_limit and time.perf_counter() - started >= config.time_limit:
        return "time_limit"
    return None


def _run_facts(config: TrainConfig, hardware: Hardware, dist: Dist) -> dict[str, str]:
    """Comments for ``config.toml``: the precision choice and how the batch is shared."""
    share = f"batch_size {config.batch_size} is the global batch, "
    share += f"{config.batch_size // dist.world_size} per process"
    return {"precision choice": hardware.reason, "processes": f"{dist.world_size} ({share})"}


def _save(run: RunState, paths: RunPaths) -> None:
    """Rank 0 writes the checkpoint, with every process's epsilon stream, once every process
    has checked that the losses are finite; a failed write stops every process with its error."""
    check_finite(run)
    epsilons = distributed.gather_objects(run.dist, run.streams["epsilon"].get_state())
    distributed.on_main(
        run.dist,
        lambda: save_checkpoint(state_dict(run, epsilons), paths, keep_every=run.config.keep_every),
    )
    run.saved_step = run.step
