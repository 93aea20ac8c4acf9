"""Shared experiment pieces: fit a discriminator or a critic between two samplers, and train
a GAN step by step while scoring it.

The math comes from ``gankit.losses`` and ``gankit.lipschitz``, the training step from
``gankit.training.step``; this module only runs them. A sampler is
``sample(n, rng) -> Tensor (n, d)`` drawing from one ``torch.Generator``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from gankit import losses
from gankit._random import seeded
from gankit.data import make_data
from gankit.lipschitz import clip_weights, gradient_penalty
from gankit.models import MLPCritic
from gankit.training.config import TrainConfig
from gankit.training.hardware import resolve_hardware
from gankit.training.state import RunState, new_run
from gankit.training.step import TrainingDiverged, train_step

Sampler = Callable[[int, torch.Generator], torch.Tensor]
# The loss of one fitting step: (model, real batch, fake batch, rng) -> scalar to minimise.
FitLoss = Callable[[nn.Module, torch.Tensor, torch.Tensor, torch.Generator], torch.Tensor]
LOG4 = math.log(4.0)


@dataclass(frozen=True)
class FitSettings:
    """How long and how hard a discriminator or critic is trained."""

    steps: int = 500
    batch_size: int = 256
    lr: float = 1e-3
    width: int = 64
    depth: int = 2
    betas: tuple[float, float] = (0.5, 0.9)
    optimizer: str = "adam"  # or "rmsprop" (the WGAN paper's, for clipped critics)


def make_critic(dim: int, settings: FitSettings, seed: int) -> nn.Module:
    """A fresh MLP critic/discriminator, initialised from ``seed``."""
    with seeded(seed):
        return MLPCritic(dim, width=settings.width, depth=settings.depth, activation="relu")


def fit(
    model: nn.Module,
    loss: FitLoss,
    sample_p: Sampler,
    sample_q: Sampler,
    settings: FitSettings,
    seed: int,
    *,
    after_step: Callable[[nn.Module], None] | None = None,
) -> nn.Module:
    """Train ``model`` to minimise ``loss`` on batches of p (real) and q (fake): the one loop
    behind every critic and discriminator a study fits against fixed distributions.

    Batches and the loss's own draws come from one stream seeded ``seed + 1``; ``after_step``
    runs after each optimiser step (weight clipping).
    """
    rng = torch.Generator().manual_seed(seed + 1)
    optimizer: torch.optim.Optimizer
    if settings.optimizer == "rmsprop":
        optimizer = torch.optim.RMSprop(model.parameters(), lr=settings.lr)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr, betas=settings.betas)
    for _ in range(settings.steps):
        real, fake = sample_p(settings.batch_size, rng), sample_q(settings.batch_size, rng)
        value = loss(model, real, fake, rng)
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        optimizer.step()
        if after_step is not None:
            after_step(model)
    return model


def fit_discriminator(
    sample_p: Sampler, sample_q: Sampler, dim: int, settings: FitSettings, seed: int
) -> nn.Module:
    """Train D to tell p (label 1) from q (label 0) with the minimax loss (Goodfellow 2014)."""

    def minimax(model: nn.Module, real: torch.Tensor, fake: torch.Tensor, _: object):
        return losses.d_loss_minimax(model(real), model(fake))

    return fit(make_critic(dim, settings, seed), minimax, sample_p, sample_q, settings, seed)


def wasserstein_loss(gp_weight: float = 10.0, target: float = 1.0) -> FitLoss:
    """The WGAN critic's loss ``E_q f - E_p f``, plus the gradient penalty towards slope
    ``target`` when ``gp_weight > 0`` (Gulrajani et al. 2017)."""

    def loss(model: nn.Module, real: torch.Tensor, fake: torch.Tensor, rng: torch.Generator):
        value = losses.critic_loss(model(real), model(fake))
        if gp_weight > 0:
            value = value + gradient_penalty(model, real, fake, gp_weight, rng=rng, target=target)
        return value

    return loss


def fit_critic(
    sample_p: Sampler,
    sample_q: Sampler,
    dim: int,
    settings: FitSettings,
    seed: int,
    *,
    gp_weight: float = 10.0,
    clip: float = 0.0,
) -> nn.Module:
    """Train a WGAN critic ``max E_p f - E_q f`` held Lipschitz by the gradient penalty
    (``gp_weight``, Gulrajani et al. 2017) or by weight clipping (``clip``, Arjovsky 2017)."""
    clipping = (lambda model: clip_weights(model, clip)) if clip > 0 else None
    model = make_critic(dim, settings, seed)
    loss = wasserstein_loss(gp_weight)
    return fit(model, loss, sample_p, sample_q, settings, seed, after_step=clipping)


def js_from_discriminator(
    model: nn.Module, sample_p: Sampler, sample_q: Sampler, n: int, seed: int
) -> float:
    """``(V(D, G) + log 4) / 2``, a lower bound on JS(p, q) that is tight at D*
    (docs/theory.md §3). ``V = E_p log D + E_q log(1 - D) = -d_loss_minimax`` on fresh samples.
    """
    rng = torch.Generator().manual_seed(seed + 7)
    with torch.no_grad():
        value = -losses.d_loss_minimax(model(sample_p(n, rng)), model(sample_q(n, rng)))
    return (float(value) + LOG4) / 2


def critic_estimate(
    model: nn.Module, sample_p: Sampler, sample_q: Sampler, n: int, seed: int
) -> float:
    """``E_p f - E_q f`` on fresh samples: the critic's estimate of (K times) W1."""
    rng = torch.Generator().manual_seed(seed + 7)
    with torch.no_grad():
        return float(model(sample_p(n, rng)).mean() - model(sample_q(n, rng)).mean())


def step_both(
    disc: nn.Module,
    critic: nn.Module,
    opt_d: torch.optim.Optimizer,
    opt_c: torch.optim.Optimizer,
    real: torch.Tensor,
    fake: torch.Tensor,
    rng: torch.Generator,
    gp_weight: float = 10.0,
) -> None:
    """On one batch: a minimax step of ``disc`` and a WGAN-GP step of ``critic``, side by side."""
    loss = losses.d_loss_minimax(disc(real), disc(fake))
    opt_d.zero_grad(set_to_none=True)
    loss.backward()
    opt_d.step()
    loss = wasserstein_loss(gp_weight)(critic, real, fake, rng)
    opt_c.zero_grad(set_to_none=True)
    loss.backward()
    opt_c.step()


Scores = dict[str, float]


def train_scored(
    config: TrainConfig, score: Callable[[RunState], Scores], every: int, diverged: Scores
) -> dict[str, list[float]]:
    """Train ``config`` (no run folder) with :func:`~gankit.training.step.train_step`, and
    every ``every`` generator steps record ``score(run)``.

    The losses are checked on every scored step; a run whose losses stop being finite stops
    there, and each of its remaining scores is ``diverged``.
    """
    run = new_run(config, resolve_hardware("cpu", "fp32"))
    dataset = make_data(config.data)
    scores: dict[str, list[float]] = {key: [] for key in diverged}
    for step in range(1, config.steps + 1):
        try:
            train_step(run, dataset, measure=step % every == 0)
        except TrainingDiverged:
            for key, value in diverged.items():
                scores[key] += [value] * (config.steps // every - len(scores[key]))
            break
        if step % every == 0:
            for key, value in score(run).items():
                scores[key].append(value)
    return scores


def uniform_sampler(low: float, high: float) -> Sampler:
    """``U[low, high]`` on the real line, shape (n, 1)."""

    def sample(n: int, rng: torch.Generator) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, 1, generator=rng)

    return sample


def segment_sampler(theta: float) -> Sampler:
    """Uniform on the segment ``{theta} x [0, 1]`` in R^2 (docs/theory.md §4)."""

    def sample(n: int, rng: torch.Generator) -> torch.Tensor:
        y = torch.rand(n, 1, generator=rng)
        return torch.cat([torch.full_like(y, theta), y], dim=1)

    return sample


@contextmanager
def single_thread() -> Iterator[None]:
    """Run the block with one torch intra-op thread, then restore the previous count.

    The studies train tiny MLPs, for which splitting each op across threads costs more than it
    saves; on a busy 2-core machine two threads made ``uniform-shift`` six times slower.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
