"""Shared experiment pieces: train a discriminator or a critic between two samplers.

The math comes from ``gankit.losses`` and ``gankit.lipschitz``; this module only runs it.
A sampler is ``sample(n, generator) -> Tensor (n, d)`` drawing from one torch.Generator.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from gankit import losses
from gankit.lipschitz import clip_weights, gradient_penalty
from gankit.models import MLPCritic

Sampler = Callable[[int, torch.Generator], torch.Tensor]
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


def make_critic(dim: int, settings: FitSettings, seed: int) -> nn.Module:
    """A fresh MLP critic/discriminator, initialised from ``seed``."""
    torch.manual_seed(seed)
    return MLPCritic(dim, width=settings.width, depth=settings.depth, activation="relu")


def fit_discriminator(
    sample_p: Sampler, sample_q: Sampler, dim: int, settings: FitSettings, seed: int
) -> nn.Module:
    """Train D to tell p (label 1) from q (label 0) with the minimax loss (Goodfellow 2014)."""
    model = make_critic(dim, settings, seed)
    stream = torch.Generator().manual_seed(seed + 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr, betas=settings.betas)
    for _ in range(settings.steps):
        real, fake = sample_p(settings.batch_size, stream), sample_q(settings.batch_size, stream)
        loss = losses.d_loss_minimax(model(real), model(fake))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model


def js_from_discriminator(
    model: nn.Module, sample_p: Sampler, sample_q: Sampler, n: int, seed: int
) -> float:
    """``(V(D, G) + log 4) / 2``, a lower bound on JS(p, q) that is tight at D* (THEORY §3).

    ``V = E_p log D + E_q log(1 - D) = -d_loss_minimax`` on fresh samples.
    """
    stream = torch.Generator().manual_seed(seed + 7)
    with torch.no_grad():
        value = -losses.d_loss_minimax(model(sample_p(n, stream)), model(sample_q(n, stream)))
    return (float(value) + LOG4) / 2


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
    model = make_critic(dim, settings, seed)
    stream = torch.Generator().manual_seed(seed + 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr, betas=settings.betas)
    for _ in range(settings.steps):
        real, fake = sample_p(settings.batch_size, stream), sample_q(settings.batch_size, stream)
        loss = losses.critic_loss(model(real), model(fake))
        if gp_weight > 0:
            loss = loss + gradient_penalty(model, real, fake, gp_weight, generator=stream)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if clip > 0:
            clip_weights(model, clip)
    return model


def step_both(
    disc: nn.Module,
    critic: nn.Module,
    opt_d: torch.optim.Optimizer,
    opt_c: torch.optim.Optimizer,
    real: torch.Tensor,
    fake: torch.Tensor,
    stream: torch.Generator,
    gp_weight: float = 10.0,
) -> None:
    """On one batch: a minimax step of ``disc`` and a WGAN-GP step of ``critic``, side by side."""
    loss = losses.d_loss_minimax(disc(real), disc(fake))
    opt_d.zero_grad(set_to_none=True)
    loss.backward()
    opt_d.step()
    loss = losses.critic_loss(critic(real), critic(fake))
    loss = loss + gradient_penalty(critic, real, fake, gp_weight, generator=stream)
    opt_c.zero_grad(set_to_none=True)
    loss.backward()
    opt_c.step()


def critic_estimate(
    model: nn.Module, sample_p: Sampler, sample_q: Sampler, n: int, seed: int
) -> float:
    """``E_p f - E_q f`` on fresh samples: the critic's estimate of (K times) W1."""
    stream = torch.Generator().manual_seed(seed + 7)
    with torch.no_grad():
        return float(model(sample_p(n, stream)).mean() - model(sample_q(n, stream)).mean())


def uniform_sampler(low: float, high: float) -> Sampler:
    """``U[low, high]`` on the real line, shape (n, 1)."""

    def sample(n: int, generator: torch.Generator) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, 1, generator=generator)

    return sample


def segment_sampler(theta: float) -> Sampler:
    """Uniform on the segment ``{theta} x [0, 1]`` in R^2 (THEORY.md §4)."""

    def sample(n: int, generator: torch.Generator) -> torch.Tensor:
        y = torch.rand(n, 1, generator=generator)
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


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
