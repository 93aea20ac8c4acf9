"""Vanishing gradients: the saturating generator loss goes silent as the discriminator wins.

Claim (THEORY.md §3 "Saturation" and §4; Arjovsky & Bottou 2017, Figs. 2–3): with a fixed
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

from pathlib import Path

import torch

from gankit import losses
from gankit.data import make_toy
from gankit.models import MLPCritic, MLPGenerator
from gankit.studies._common import pyplot, step_both
from gankit.studies._result import Claim, StudyResult

NAME = "vanishing-gradients"
CLAIM = (
    "Against a discriminator trained towards optimality the saturating generator gradient "
    "vanishes by orders of magnitude; the non-saturating and WGAN-GP critic gradients do not."
)

SATURATION = 1e-2  # final/initial saturating gradient norm: at least two orders of magnitude
KEPT = 0.1  # final/initial for the gradients that must not vanish: within a factor 10 or above
CONFIDENT = 1e-3  # mean D(G(z)) at the end: the discriminator rejects the fakes


def _grad_norm(generator: torch.nn.Module, loss: torch.Tensor) -> float:
    """``‖∂loss/∂θ_G‖₂`` over all of the generator's parameters."""
    grads = torch.autograd.grad(loss, list(generator.parameters()))
    return float(torch.linalg.vector_norm(torch.cat([g.flatten() for g in grads])))


def run(out: Path, *, seed: int = 0, quick: bool = False) -> StudyResult:
    steps, every, batch = (300, 25, 256) if quick else (2000, 25, 256)
    data = make_toy("ring")
    torch.manual_seed(seed)  # only the weight initialisation draws from the global RNG
    generator = MLPGenerator(2, 2, width=64, depth=2)
    disc = MLPCritic(2, width=64, depth=2)
    critic = MLPCritic(2, width=64, depth=2)
    opt_d = torch.optim.Adam(disc.parameters(), lr=1e-3, betas=(0.5, 0.9))
    opt_c = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
    stream = torch.Generator().manual_seed(seed + 1)
    z_fixed = torch.randn(1024, 2, generator=stream)

    series: dict[str, list[float]] = {
        k: [] for k in ("d_steps", "saturating", "nonsaturating", "wasserstein", "d_fake")
    }
    for step in range(steps + 1):
        if step % every == 0:  # autograd.grad below touches no .grad of D or the critic
            series["d_steps"].append(step)
            for key, model, loss_fn in (
                ("saturating", disc, losses.g_loss_saturating),
                ("nonsaturating", disc, losses.g_loss_nonsaturating),
                ("wasserstein", critic, losses.g_loss_wasserstein),
            ):
                series[key].append(_grad_norm(generator, loss_fn(model(generator(z_fixed)))))
            with torch.no_grad():
                series["d_fake"].append(float(torch.sigmoid(disc(generator(z_fixed))).mean()))
        if step == steps:
            break
        real = data.sample(batch, stream)
        with torch.no_grad():
            fake = generator(torch.randn(batch, 2, generator=stream))
        step_both(disc, critic, opt_d, opt_c, real, fake, stream)

    ratio = {
        k: series[k][-1] / series[k][0] for k in ("saturating", "nonsaturating", "wasserstein")
    }
    claims = [
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
            series["d_fake"][-1],
            series["d_fake"][-1] <= CONFIDENT,
        ),
    ]

    plt = pyplot()
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
    fig.tight_layout()
    figure = out / "gradient_norms.png"
    fig.savefig(figure, dpi=110)
    plt.close(fig)

    summary = (
        f"A fixed generator at initialisation against the `ring`; after {steps} discriminator "
        f"steps the saturating gradient norm went from {series['saturating'][0]:.3g} to "
        f"{series['saturating'][-1]:.3g} (×{ratio['saturating']:.2g}), the non-saturating one "
        f"to {series['nonsaturating'][-1]:.3g} (×{ratio['nonsaturating']:.3g}) and the "
        f"WGAN-GP critic's to {series['wasserstein'][-1]:.3g} (×{ratio['wasserstein']:.3g}); "
        f"mean D(G(z)) ended at {series['d_fake'][-1]:.2g}."
    )
    return StudyResult(
        name=NAME,
        claims=claims,
        data={
            "series": series,
            "ratios": ratio,
            "settings": {"steps": steps, "every": every, "batch_size": batch, "gp_weight": 10.0},
        },
        figures=[figure],
        summary=summary,
    )
