"""The alternating training loop: k critic (discriminator) steps, then one generator step.

``train()`` reads in phases: set up (or restore) the run, then per generator iteration the
critic steps and the generator step, then logging, figures and checkpoints at their intervals.
Losses come from ``gankit.losses``, constraints from ``gankit.lipschitz`` (THEORY.md §3, §5).

Determinism: every random draw comes from one of three explicit ``torch.Generator`` streams
(data, noise, interpolation epsilon) whose states are checkpointed, so a resumed run continues
bit-identically on the CPU. Host syncs (``.item()``) happen only on logging steps.

Several processes (``torchrun``): the same loop in every process, each on its part of every
batch, rank 0 writing the run folder; ``gankit.train.distributed`` says how.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import importlib.util
import json
import math
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from gankit.data import ImageSet, make_data
from gankit.errors import GankitError
from gankit.lipschitz import clip_weights, spectral_normalize
from gankit.models import ConvCritic, ConvGenerator, MLPCritic, MLPGenerator
from gankit.models.standing import standing_statistics
from gankit.train import distributed, objectives
from gankit.train.checkpoint import load_latest, remove_stale_temporaries, save_checkpoint
from gankit.train.config import UNTIL_TIME_LIMIT, TrainConfig, write_toml
from gankit.train.distributed import SINGLE, Dist
from gankit.train.hardware import Hardware, resolve_hardware

STREAMS = ("data", "noise", "epsilon")
FIGURE_SAMPLES = 1024
GRID_SAMPLES = 64


class TrainingDiverged(GankitError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class RunState:
    """Everything a step reads or changes; all of it goes into a checkpoint."""

    config: TrainConfig
    hardware: Hardware
    generator: nn.Module
    critic: nn.Module
    ema: nn.Module | None
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    streams: dict[str, torch.Generator]
    step: int = 0
    # Non-finite losses are noticed without a host sync: flags and values stay on device.
    first_bad_step: torch.Tensor = field(default_factory=lambda: torch.tensor(-1))
    bad_losses: torch.Tensor = field(default_factory=lambda: torch.zeros(2))
    dist: Dist = SINGLE  # which process of how many (one, outside torchrun)


@dataclass
class TrainResult:
    """How a call to :func:`train` ended."""

    step: int
    status: str  # "completed", "time_limit" or "interrupted"
    seconds: float
    run_dir: Path


def data_shape(dataset: Any) -> tuple[int, ...]:
    """(dim,) of a toy set, (C, H, W) of an image set."""
    return dataset.shape if isinstance(dataset, ImageSet) else (dataset.dim,)


def critic_norm(config: TrainConfig, images: bool) -> str | None:
    """The critic's normalisation: ``critic_norm``, or for ``auto`` none on MLPs, and on
    convolutional critics none with spectral norm (Miyato et al. 2018), layer norm with a
    penalty on the input gradient, batch norm otherwise (DCGAN)."""
    if config.critic_norm != "auto":
        return None if config.critic_norm == "none" else config.critic_norm
    if not images or config.spectral_norm:
        return None
    return "layer" if config.penalises_input_gradient() else "batch"


def build_models(config: TrainConfig, shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    """Generator and critic/discriminator: MLPs for toy data (``shape == (dim,)``), DCGAN-style
    convolutional networks for images (``shape == (C, H, W)``)."""
    norm = critic_norm(config, images=len(shape) == 3)
    critic: nn.Module
    if len(shape) == 3:
        generator: nn.Module = ConvGenerator(config.latent_dim, shape, width=config.width)
        critic = ConvCritic(shape, width=config.width, norm=norm)
    else:
        mlp = {"width": config.width, "depth": config.depth, "activation": config.activation}
        generator = MLPGenerator(config.latent_dim, shape[0], **mlp)
        critic = MLPCritic(shape[0], norm=norm, **mlp)
    if config.spectral_norm:
        spectral_normalize(critic)
    return generator, critic


def _optimizer(config: TrainConfig, params: Iterator[nn.Parameter], lr: float):
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    # fused: one kernel for the whole update instead of a Python loop over the parameters
    return torch.optim.Adam(params, lr=lr, betas=(config.beta1, config.beta2), fused=True)


def _seeded_streams(seed: int, device: torch.device, rank: int = 0) -> dict[str, torch.Generator]:
    """One generator per kind of draw, seeded apart from each other.

    Data and noise are the same in every process; process ``rank`` has its own epsilon
    stream, rank 0's being the one-process stream (``gankit.train.distributed``).
    """
    streams = {}
    for index, name in enumerate(STREAMS):
        # Toy data is drawn on the CPU; noise and epsilon where the models live.
        stream = torch.Generator(device="cpu" if name == "data" else device)
        if name == "epsilon" and rank > 0:
            stream.manual_seed(distributed.rank_seed(seed, index, rank))
        else:
            stream.manual_seed(seed * 1000 + index)
        streams[name] = stream
    return streams


def new_run(config: TrainConfig, hardware: Hardware, dist: Dist = SINGLE) -> RunState:
    """A fresh run: models initialised from ``config.seed``, optimisers, RNG streams; for
    process ``dist.rank`` of ``dist.world_size`` (models not yet wrapped: :func:`parallelize`)."""
    dataset = make_data(config.data)
    torch.manual_seed(config.seed)  # only the weight initialisation draws from the global RNG
    generator, critic = build_models(config, data_shape(dataset))
    generator.to(hardware.device)
    critic.to(hardware.device)
    ema = None
    if config.ema_decay > 0:
        ema = copy.deepcopy(generator).requires_grad_(False)
    return RunState(
        config=config,
        hardware=hardware,
        generator=generator,
        critic=critic,
        ema=ema,
        opt_g=_optimizer(config, generator.parameters(), config.lr_g),
        opt_d=_optimizer(config, critic.parameters(), config.lr_d),
        streams=_seeded_streams(config.seed, hardware.device, dist.rank),
        first_bad_step=torch.tensor(-1, device=hardware.device),
        bad_losses=torch.zeros(2, device=hardware.device),
        dist=dist,
    )


def parallelize(run: RunState) -> None:
    """Make ``run`` data-parallel over its processes (nothing with one process).

    The generator goes into ``DistributedDataParallel``; the critic stays a plain module whose
    gradients hooks average after ``backward()``, because its penalties take a double
    backward that DDP does not support (``gankit.train.distributed``).
    """
    if run.dist.active:
        run.generator = distributed.data_parallel(run.generator, run.hardware.device)
        distributed.average_gradients(run.critic)


def state_dict(run: RunState, epsilon_by_rank: list[torch.Tensor] | None = None) -> dict[str, Any]:
    """The checkpoint of a run: tensors and plain types only (``weights_only`` loadable).

    Models are stored unwrapped (no ``module.`` prefixes). ``streams`` are rank 0's (data and
    noise are the same in every process); ``epsilon_by_rank`` holds every process's epsilon
    stream, as gathered by the caller (by default this process's alone).
    """
    return {
        "format": "gankit-checkpoint-1",
        "step": run.step,
        "config": run.config.to_dict(),
        "generator": distributed.unwrap(run.generator).state_dict(),
        "critic": run.critic.state_dict(),
        "ema": run.ema.state_dict() if run.ema is not None else None,
        "opt_g": run.opt_g.state_dict(),
        "opt_d": run.opt_d.state_dict(),
        "streams": {name: s.get_state() for name, s in run.streams.items()},
        "epsilon_by_rank": epsilon_by_rank or [run.streams["epsilon"].get_state()],
        "world_size": run.dist.world_size,
        "torch_rng": torch.get_rng_state(),
    }


def restore_run(
    config: TrainConfig, hardware: Hardware, state: dict[str, Any], dist: Dist = SINGLE
) -> RunState:
    """Rebuild a run from a checkpoint written by :func:`state_dict`, as process ``dist.rank``
    of any number of processes.

    Data and noise continue from the shared streams. Process r continues epsilon stream r of
    the checkpoint; a process the checkpoint has none for (more processes than wrote it)
    starts a fresh one, seeded from its rank and the step. So the continuation is
    bit-identical only with the number of processes that wrote the checkpoint.
    """
    run = new_run(config, hardware, dist)
    run.generator.load_state_dict(state["generator"])
    run.critic.load_state_dict(state["critic"])
    if run.ema is not None and state.get("ema") is not None:
        run.ema.load_state_dict(state["ema"])
    run.opt_g.load_state_dict(state["opt_g"])
    run.opt_d.load_state_dict(state["opt_d"])
    for name, stream in run.streams.items():
        if name != "epsilon":
            stream.set_state(state["streams"][name])
    epsilons = state.get("epsilon_by_rank") or [state["streams"]["epsilon"]]
    if dist.rank < len(epsilons):
        run.streams["epsilon"].set_state(epsilons[dist.rank])
    else:
        index = STREAMS.index("epsilon")
        seed = distributed.rank_seed(config.seed, index, dist.rank, int(state["step"]))
        run.streams["epsilon"].manual_seed(seed)
    torch.set_rng_state(state["torch_rng"])
    run.step = int(state["step"])
    return run


def _autocast(run: RunState):
    dtype = run.hardware.autocast_dtype
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(run.hardware.device.type, dtype=dtype)


def _noise(run: RunState, n: int) -> torch.Tensor:
    """Noise for the ``n`` samples of a global batch; with several processes, this one's rows."""
    device = run.hardware.device
    z = torch.randn(n, run.config.latent_dim, generator=run.streams["noise"], device=device)
    return distributed.local_part(z, run.dist)


def _grad_norm(module: nn.Module) -> torch.Tensor:
    grads = [p.grad.detach().flatten() for p in module.parameters() if p.grad is not None]
    return torch.linalg.vector_norm(torch.cat(grads)) if grads else torch.zeros(())


def critic_steps(run: RunState, dataset: Any, n_steps: int, measure: bool) -> dict[str, Any]:
    """``n_steps`` ascent steps of the critic (or discriminator) against a fixed generator."""
    config = run.config
    out: dict[str, Any] = {}
    for index in range(n_steps):
        real = dataset.sample(config.batch_size, run.streams["data"]).to(run.hardware.device)
        r1_now = objectives.r1_due(config, run.step)
        if r1_now:  # R1 differentiates this step's own D(real): no second forward
            real = real.detach().requires_grad_(True)
        with _autocast(run):  # one region per step: the weights are cast to bf16 once
            with torch.no_grad():
                fake = run.generator(_noise(run, config.batch_size)).float()
            real_scores, fake_scores = run.critic(real).float(), run.critic(fake).float()
            loss = objectives.critic_loss(config, real_scores, fake_scores)
            penalty = objectives.penalty(
                config,
                run.critic,
                real,
                fake,
                run.streams["epsilon"],
                r1_now=r1_now,
                real_scores=real_scores,
            )
        run.opt_d.zero_grad(set_to_none=True)
        (loss + penalty).backward()
        if measure and index == n_steps - 1:
            out["grad_norm_d"] = _grad_norm(run.critic)
        run.opt_d.step()
        if config.clip > 0:
            clip_weights(run.critic, config.clip)  # after the step: the critic used is in the box
    out["d_loss"] = loss.detach()
    out["penalty"] = penalty.detach()
    out.update(objectives.critic_estimates(config, real_scores, fake_scores))
    return out


def generator_step(run: RunState, measure: bool) -> dict[str, Any]:
    """One descent step of the generator through the (frozen) critic."""
    config = run.config
    run.critic.requires_grad_(False)  # no critic weight gradients are needed here
    try:
        with _autocast(run):
            scores = run.critic(run.generator(_noise(run, config.batch_size))).float()
        loss = objectives.generator_loss(config, scores)
        run.opt_g.zero_grad(set_to_none=True)
        loss.backward()
    finally:
        run.critic.requires_grad_(True)
    out: dict[str, Any] = {"g_loss": loss.detach()}
    if measure:
        out["grad_norm_g"] = _grad_norm(run.generator)
    run.opt_g.step()
    if run.ema is not None:
        with torch.no_grad():
            # ema <- ema + (1 - decay) * (weights - ema), all parameters in one fused call
            ema_params: list[torch.Tensor] = list(run.ema.parameters())
            weights: list[torch.Tensor] = list(run.generator.parameters())
            torch._foreach_lerp_(ema_params, weights, 1 - config.ema_decay)
    return out


def _critic_steps_at(config: TrainConfig, step: int) -> int:
    """Critic steps before generator step ``step`` (0-based).

    With ``critic_warmup`` the original WGAN code's schedule: 100 steps for the first 25
    generator iterations and every 500th (Arjovsky et al. 2017, code; not in the paper).
    """
    if config.critic_warmup and (step < 25 or step % 500 == 0):
        return 100
    return config.n_critic


def _track_nonfinite(run: RunState, values: dict[str, Any]) -> None:
    """Remember the first step whose losses were not finite, without a host sync."""
    pair = torch.stack([values["d_loss"].float(), values["g_loss"].float()])
    fresh = (~torch.isfinite(pair).all()) & (run.first_bad_step < 0)
    run.first_bad_step = torch.where(fresh, torch.tensor(run.step), run.first_bad_step)
    run.bad_losses = torch.where(fresh, pair, run.bad_losses)


def _check_finite(run: RunState, last_good: int) -> None:
    """Raise :class:`TrainingDiverged` (in every process) if a loss was not finite in any."""
    bad, d_loss, g_loss = distributed.earliest_nonfinite(
        run.dist, run.first_bad_step, run.bad_losses
    )
    if bad >= 0:
        raise TrainingDiverged(
            f"loss became non-finite at step {bad} (d_loss={d_loss}, g_loss={g_loss}); "
            f"the last good checkpoint (step {last_good}) is kept: resume with a smaller --lr"
        )


def _write_metrics(path: Path, record: dict[str, Any]) -> None:
    with path.open("a") as handle:
        handle.write(json.dumps(record) + "\n")


def _open_board(run_dir: Path, resumed_at: int | None) -> Any:
    """A TensorBoard writer under ``run_dir/tensorboard`` when tensorboard is installed.

    On resume, events logged after the checkpoint's step are purged (they will be redone).
    """
    if importlib.util.find_spec("tensorboard") is None:
        return None
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(str(run_dir / "tensorboard"), purge_step=resumed_at)


def _trim_metrics(path: Path, step: int) -> None:
    """Drop logged lines past ``step`` (written after the checkpoint a resume starts from)."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text().splitlines():
        try:
            if json.loads(line)["step"] <= step:
                kept.append(line)
        except (json.JSONDecodeError, KeyError, TypeError):
            continue  # a line cut short by a killed process
    path.write_text("".join(line + "\n" for line in kept))


def _figure(run: RunState, dataset: Any, run_dir: Path) -> None:
    from gankit.report.figures import plot_toy_samples

    fixed = torch.Generator().manual_seed(12345)  # same points every figure, no training draw
    images = isinstance(dataset, ImageSet)
    z = torch.randn(
        GRID_SAMPLES if images else FIGURE_SAMPLES, run.config.latent_dim, generator=fixed
    )
    # The plain module: a DDP wrapper's forward may wait for the other processes.
    model = run.ema if run.ema is not None else distributed.unwrap(run.generator)
    model = standing_statistics(model, run.config.latent_dim)  # a copy: training is untouched
    with torch.no_grad():
        fake = model(z.to(run.hardware.device)).float().cpu().numpy()
    if images:
        from gankit.report.grid import save_grid

        save_grid(fake, run_dir / "samples" / f"step_{run.step:07d}.png")
        if not (run_dir / "samples" / "real.png").exists():
            save_grid(dataset.sample(GRID_SAMPLES, fixed).numpy(), run_dir / "samples" / "real.png")
        return
    real = dataset.sample(FIGURE_SAMPLES, fixed).numpy()

    def critic(points: np.ndarray) -> np.ndarray:
        # Evaluation mode: a figure must not change training state (spectral norm's power
        # iteration would otherwise advance, and a resumed run would no longer match).
        run.critic.eval()
        try:
            with torch.no_grad():
                x = torch.as_tensor(points, dtype=torch.float32, device=run.hardware.device)
                return run.critic(x).float().cpu().numpy()
        finally:
            run.critic.train()

    title = f"{run.config.recipe} on {run.config.data}, step {run.step}"
    plot_toy_samples(
        real, fake, run_dir / "samples" / f"step_{run.step:07d}.png", critic=critic, title=title
    )


class _StopSignals:
    """While active, SIGINT and SIGTERM set a flag instead of killing the process."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopSignals:
        with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.received = signum

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def train(
    config: TrainConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
    hardware: Hardware | None = None,
) -> TrainResult:
    """Train ``config`` into ``run_dir`` (or continue it with ``resume=True``) to ``config.steps``.

    Writes ``metrics.jsonl``, ``samples/`` figures and ``checkpoints/`` (latest plus kept).
    Stops at ``config.steps``, at ``config.time_limit`` seconds, or on SIGINT/SIGTERM, always
    writing a checkpoint first. Raises :class:`TrainingDiverged` when a loss is not finite.

    In a process group (``torchrun``) every process calls it with the same arguments: each
    trains on its part of every batch, all stop after the same step, and rank 0 alone writes
    the run folder (``gankit.train.distributed``).
    """
    run_dir = Path(run_dir)
    dist = distributed.current()
    distributed.check_batch(config.batch_size, dist)
    hardware = hardware or resolve_hardware(config.device, config.precision)
    config = dataclasses.replace(config, precision=hardware.precision)  # record the choice
    dataset = make_data(config.data)
    checkpoints, metrics = run_dir / "checkpoints", run_dir / "metrics.jsonl"
    main = dist.is_main  # the one process that writes files
    if main:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_toml(config, run_dir / "config.toml", _run_facts(config, hardware, dist))
    with distributed.lost_processes(dist):
        if resume:
            if main:
                remove_stale_temporaries(checkpoints)
            state = distributed.agree(dist, lambda: load_latest(checkpoints))  # every process
            run = restore_run(config, hardware, state, dist)
            if main:
                _trim_metrics(metrics, run.step)
        else:
            run = new_run(config, hardware, dist)
        parallelize(run)
    last_saved = run.step
    started = time.perf_counter()
    interval_start, interval_steps = started, 0
    status = "completed"
    bar = _progress_bar(progress and main, run.step, config.steps)
    board = _open_board(run_dir, run.step if resume else None) if main else None
    shard = distributed.Shard(dataset, dist)  # batches drawn whole, this process's rows kept
    with _StopSignals() as signals, distributed.lost_processes(dist):
        while run.step < config.steps:
            measure = (run.step + 1) % config.log_every == 0 or run.step + 1 == config.steps
            values = critic_steps(run, shard, _critic_steps_at(config, run.step), measure)
            values.update(generator_step(run, measure))
            _track_nonfinite(run, values)
            run.step += 1
            interval_steps += 1
            if measure:
                _check_finite(run, last_saved)
                values = distributed.mean_over_processes(dist, values, hardware.device)
                now = time.perf_counter()
                record = {"step": run.step, **{k: float(v) for k, v in values.items()}}
                record["sec_per_step"] = (now - interval_start) / interval_steps
                record["time"] = now - started
                if main:
                    _write_metrics(metrics, record)
                if board is not None:
                    for key, value in record.items():
                        board.add_scalar(key, value, run.step)
                interval_start, interval_steps = now, 0
                if bar is not None:
                    bar.set_postfix(_postfix(record), refresh=False)
            if bar is not None:
                bar.update(1)
            stop = None
            if signals.received is not None:
                stop = "interrupted"
            elif config.time_limit and time.perf_counter() - started >= config.time_limit:
                stop = "time_limit"
            stop = distributed.agree_on_stop(dist, stop)  # any process's reason stops all
            last = stop is not None or run.step == config.steps
            if main and (run.step % config.sample_every == 0 or last):
                _figure(run, dataset, run_dir)
            keep = config.keep_every and run.step % config.keep_every == 0
            if run.step % config.checkpoint_every == 0 or keep or last:
                _check_finite(run, last_saved)
                _save(run, checkpoints)
                last_saved = run.step
            if stop:
                status = stop
                break
    if bar is not None:
        bar.close()
    if board is not None:
        board.close()
    return TrainResult(run.step, status, time.perf_counter() - started, run_dir)


def _run_facts(config: TrainConfig, hardware: Hardware, dist: Dist) -> dict[str, str]:
    """Comments for ``config.toml``: the precision choice and how the batch is shared."""
    share = f"batch_size {config.batch_size} is the global batch, "
    share += f"{config.batch_size // dist.world_size} per process"
    return {"precision choice": hardware.reason, "processes": f"{dist.world_size} ({share})"}


def _save(run: RunState, folder: Path) -> None:
    """Rank 0 writes the checkpoint, with every process's epsilon stream; a failed write
    stops every process with its error."""
    epsilons = distributed.gather_objects(run.dist, run.streams["epsilon"].get_state())
    distributed.on_main(
        run.dist,
        lambda: save_checkpoint(
            state_dict(run, epsilons), folder, run.step, keep_every=run.config.keep_every
        ),
    )


def _postfix(record: dict[str, Any]) -> dict[str, str]:
    shown = {"d": record["d_loss"], "g": record["g_loss"]}
    if "w_estimate" in record:
        shown["W"] = record["w_estimate"]
    return {k: f"{v:.3g}" if math.isfinite(v) else str(v) for k, v in shown.items()}


def _progress_bar(enabled: bool, start: int, total: int):
    if not enabled:
        return None
    from tqdm import tqdm

    # In a log file (not a terminal) redraw rarely, so CI logs stay readable.
    interactive = sys.stderr.isatty()
    return tqdm(
        total=None if total >= UNTIL_TIME_LIMIT else total,  # the clock, not a count, ends it
        initial=start,
        unit="it",
        dynamic_ncols=True,
        desc="train",
        mininterval=0.1 if interactive else 15.0,
    )
