"""Vanishing gradients: the saturating generator loss goes silent as the discriminator wins.

Claim (docs/theory.md §3 "Saturation" and §4; Arjovsky & Bottou 2017, Figs. 2–3): with a fixed
poor generator whose samples do not overlap the data, training the discriminator towards
optimality drives the gradient of the saturating loss ``log(1 - D(G(z)))`` to zero by orders of
magnitude, while the non-saturating loss ``-log D(G(z))`` and a WGAN-GP critic's loss keep a
gradient of the same size or larger.

Method: the generator is an ``MLPGenerator`` at initialisation, whose samples form a small
blob near the origin, far from the ``ring`` target (radius 2): the supports are disjoint, so a
perfect discriminator exists. A discriminator is trained from scratch with the minimax loss
and, on the same batches for the same number of steps, a critic with the gradient penalty
(λ = 10, Gulrajani et al. 2017). Every ``every`` steps the norm of the generator's gradient
``‖∂L/∂θ_G‖`` (over all generator parameters, L the mean over one fixed noise batch) is
measured for the three generator losses of ``gankit.losses``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from gankit import losses
from gankit._random import seeded
from gankit.data import make_toy
from gankit.models import MLPCritic, MLPGenerator
from gankit.report.figures import offscreen, save_figure
from gankit.studies._common import step_both
from gankit.studies._result import Claim, StudyResult

NAME = "vanishing-gradients"
CLAIM = (
    "Against a discriminator trained towards optimality the saturating generator gradient "
    "vanishes by orders of magnitude; the non-saturating and WGAN-GP critic gradients do not."
)

SATURATION = 1e-2  # final/initial saturating gradient norm: at least two orders of magnitude
KEPT = 0.1  # final/initial for the gradients that must not vanish: within a factor 10 or above
CONFIDENT = 1e-3  # mean D(G(z)) at the end: the discriminator rejects the fakes
GP_WEIGHT = 10.0  # Gulrajani et al. 2017
LOSSES = {
    "saturating": losses.g_loss_saturating,
    "nonsaturating": losses.g_loss_nonsaturating,
    "wasserstein": losses.g_loss_wasserstein,
}


@dataclass(frozen=True)
class Settings:
    steps: int  # discriminator (and critic) steps
    every: int = 25  # measuring interval
    batch_size: int = 256


DEFAULT = Settings(steps=2000)
QUICK = Settings(steps=300)


def _grad_norm(generator: torch.nn.Module, loss: torch.Tensor) -> float:
    """``‖∂loss/∂θ_G‖₂`` over all of the generator's parameters."""
    grads = torch.autograd.grad(loss, list(generator.parameters()))
    return float(torch.linalg.vector_norm(torch.cat([g.flatten() for g in grads])))


def measure(s: Settings, seed: int) -> dict[str, Any]:
    """Train D and the critic against the fixed generator; every ``s.every`` steps the
    generator's gradient norm under each loss, and mean D(G(z)) (``series``)."""
    data = make_toy("ring")
    with seeded(seed):  # the weight initialisation, and the caller's RNG left alone
        generator = MLPGenerator(2, 2, width=64, depth=2)
        disc = MLPCritic(2, width=64, depth=2)
        critic = MLPCritic(2, width=64, depth=2)
    opt_d = torch.optim.Adam(disc.parameters(), lr=1e-3, betas=(0.5, 0.9))
    opt_c = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
    stream = torch.Generator().manual_seed(seed + 1)
    z_fixed = torch.randn(1024, 2, generator=stream)
    models = {"saturating": disc, "nonsaturating": disc, "wasserstein": critic}

    series: dict[str, list[float]] = {k: [] for k in ("d_steps", *LOSSES, "d_fake")}
    for step in range(s.steps + 1):
        if step % s.every == 0:  # autograd.grad below touches no .grad of D or the critic
            series["d_steps"].append(step)
            for key, loss_fn in LOSSES.items():
                loss = loss_fn(models[key](generator(z_fixed)))
                series[key].append(_grad_norm(generator, loss))
            with torch.no_grad():
                series["d_fake"].append(float(torch.sigmoid(disc(generator(z_fixed))).mean()))
        if step == s.steps:
            break
        real = data.sample(s.batch_size, stream)
        with torch.no_grad():
            fake = generator(torch.randn(s.batch_size, 2, generator=stream))
        step_both(disc, critic, opt_d, opt_c, real, fake, stream, GP_WEIGHT)
    return {
        "series": series,
        "ratios": {k: series[k][-1] / series[k][0] for k in LOSSES},
        "settings": {
            "steps": s.steps,
            "every": s.every,
            "batch_size": s.batch_size,
            "gp_weight": GP_WEIGHT,
        },
    }


def claims(data: dict[str, Any]) -> list[Claim]:
    """The study's verdicts, from the ratios and the series of :func:`measure`."""
    ratio, d_fake = data["ratios"], data["series"]["d_fake"][-1]
    return [
        Claim(
            "the saturating generator gradient falls by orders of magnitude (final/initial)",
            f"<= {SATURATION:g}",
            ratio["saturating"],
            ratio["saturating"] <= SATURATION,
        ),
        Claim(
            "the WGAN-GP critic's generator gradient does not vanish (final/initial)",
            f">= {KEPT:g}",
            ratio["wasserstein"],
            ratio["wasserstein"] >= KEPT,
        ),
        Claim(
            "the non-saturating generator gradient does not vanish (final/initial)",
            f">= {KEPT:g}",
            ratio["nonsaturating"],
            ratio["nonsaturating"] >= KEPT,
        ),
        Claim(
            "the discriminator ends near-perfect: mean D(G(z)) on the fixed batch",
            f"<= {CONFIDENT:g}",
            d_fake,
            d_fake <= CONFIDENT,
        ),
    ]


def figures(data: dict[str, Any], out: Path) -> list[Path]:
    """The three gradient norms and mean D(G(z)) along D's training, one PNG."""
    series = data["series"]
    plt = offscreen()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    labels = {
        "saturating": "saturating  log(1 − D(G(z)))",
        "nonsaturating": "non-saturating  −log D(G(z))",
        "wasserstein": "WGAN-GP critic  −f(G(z))",
    }
    for key, label in labels.items():
        left.semilogy(series["d_steps"], series[key], label=label)
    left.set(
        xlabel="discriminator / critic steps",
        ylabel="‖∂L/∂θ_G‖",
        title="generator gradient norm (fixed generator)",
    )
    left.legend()
    right.semilogy(series["d_steps"], series["d_fake"], color="k")
    right.set(xlabel="discriminator steps", ylabel="mean D(G(z))", title="discriminator on fakes")
    return [save_figure(fig, out / "gradient_norms.png", dpi=110)]


def summary(data: dict[str, Any]) -> str:
    series, ratio = data["series"], data["ratios"]
    return (
        f"A fixed generator at initialisation against the `ring`; after "
        f"{data['settings']['steps']} discriminator steps the saturating gradient norm went "
        f"from {series['saturating'][0]:.3g} to {series['saturating'][-1]:.3g} "
        f"(×{ratio['saturating']:.2g}), the non-saturating one to "
        f"{series['nonsaturating'][-1]:.3g} (×{ratio['nonsaturating']:.3g}) and the WGAN-GP "
        f"critic's to {series['wasserstein'][-1]:.3g} (×{ratio['wasserstein']:.3g}); mean "
        f"D(G(z)) ended at {series['d_fake'][-1]:.2g}."
    )


def run(out: Path, *, seed: int = 0, quick: bool = False) -> StudyResult:
    data = measure(QUICK if quick else DEFAULT, seed)
    return StudyResult(NAME, claims(data), data, figures(data, out), summary(data))
