"""Gradient tails: near a strong discriminator the non-saturating gradient is heavy-tailed.

Claim (docs/theory.md §4; Arjovsky & Bottou 2017, Thm 2.6): ``-∇_θ log D(G(z)) = -∇D/D · ∂G/∂θ``
near a nearly perfect discriminator is unstable: its distribution has heavy tails (the
theorem's noise model makes it a ratio of centred Gaussians, a Cauchy). A WGAN-GP critic, whose
slope is held near 1, gives the generator a light-tailed gradient.

Method: a poor generator is fixed (an ``MLPGenerator`` at initialisation, a blob near the
origin, away from the ``ring``). ``N_MODELS`` discriminators (minimax loss) and as many WGAN-GP
critics (λ = 10) are trained against it on the same batches; after ``warm`` steps, while they
keep training, every 5th step a fresh noise batch gives per-sample generator gradients projected
on one fixed random unit direction ``v`` of parameter space: ``∂L_i/∂θ · v``, a forward-mode
derivative ``∇_x L_i · (∂G(z_i)/∂θ) v``, with ``L_i`` from ``g_loss_nonsaturating`` or
``g_loss_wasserstein``. So the values spread over noise draws and over discriminator
perturbations (initialisation, minibatches, training steps). For each distribution: excess
kurtosis (0 for a Gaussian), the Hill tail index on the largest 2% of ``abs(x - median)``
(1 for a Cauchy, large for light tails) and the mean log-likelihood of a fitted Cauchy minus
that of a fitted Gaussian (scipy.stats, maximum likelihood).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats
from torch import nn

from gankit import losses
from gankit._random import seeded
from gankit.data import make_toy
from gankit.models import MLPCritic, MLPGenerator
from gankit.report.figures import offscreen, save_figure
from gankit.studies._common import step_both
from gankit.studies._result import Claim, StudyResult

NAME = "gradient-tails"
CLAIM = (
    "Near a strong discriminator the per-sample non-saturating generator gradient is "
    "heavy-tailed; the WGAN-GP critic's is light-tailed."
)

HEAVY_KURTOSIS = 3.0  # excess kurtosis of a Laplace distribution; a Gaussian has 0
TAIL_FRACTION = 0.02  # the Hill estimator uses the largest 2% of the deviations
GP_WEIGHT = 10.0  # Gulrajani et al. 2017
KEYS = ("nonsaturating", "wasserstein")


@dataclass(frozen=True)
class Settings:
    n_models: int  # discriminators, and as many critics
    warm: int  # steps before recording
    record: int  # steps while recording (every 5th)
    batch_size: int = 256


DEFAULT = Settings(n_models=2, warm=400, record=400)
QUICK = Settings(n_models=1, warm=150, record=150)


def hill_index(values: np.ndarray, fraction: float = TAIL_FRACTION) -> float:
    """Hill's estimate of the tail index α of ``abs(values - median)`` from its top ``k``.

    ``α = 1 / mean_{i<=k} log(X_(i) / X_(k+1))`` on the order statistics ``X_(1) >= X_(2) ...``,
    ``k = max(10, fraction·n)``. A Cauchy has α = 1; moments of order >= α do not exist.
    """
    deviations = np.sort(np.abs(values - np.median(values)))[::-1]
    k = max(10, int(fraction * len(deviations)))
    return float(1.0 / np.mean(np.log(deviations[:k] / deviations[k])))


def tail_statistics(values: np.ndarray) -> dict[str, float]:
    """Excess kurtosis, Hill tail index and the Cauchy-minus-Gaussian mean log-likelihood."""
    cauchy, normal = stats.cauchy.fit(values), stats.norm.fit(values)
    gain = stats.cauchy.logpdf(values, *cauchy).mean() - stats.norm.logpdf(values, *normal).mean()
    return {
        "excess_kurtosis": float(stats.kurtosis(values)),
        "hill_index": hill_index(values),
        "cauchy_minus_gauss_loglik": float(gain),
        "n": len(values),
    }


def _projected(
    generator: nn.Module,
    direction: list[torch.Tensor],
    model: nn.Module,
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    z: torch.Tensor,
) -> torch.Tensor:
    """Per-sample ``∂L_i/∂θ · v = ∇_x L_i · J_G(z_i) v``.

    ``J_G v`` by the double-vjp trick: ``J^T u`` is linear in a dummy ``u``, so
    ``∂/∂u (v · J^T u) = J v`` (reverse mode only; torch's forward mode warns under -W error).
    """
    x = generator(z)
    u = torch.zeros_like(x, requires_grad=True)
    vjp = torch.autograd.grad(x, list(generator.parameters()), grad_outputs=u, create_graph=True)
    projection = torch.stack([(g * d).sum() for g, d in zip(vjp, direction, strict=True)]).sum()
    (dx,) = torch.autograd.grad(projection, u)
    x = x.detach().requires_grad_(True)
    # losses return the batch mean: times B, row i of the input gradient is ∂L_i/∂x_i
    (grad,) = torch.autograd.grad(loss_fn(model(x)) * len(z), x)
    return (grad * dx).sum(dim=1)


def _gradients(s: Settings, seed: int) -> dict[str, np.ndarray]:
    """Train the discriminators and critics against the fixed generator and record the
    per-sample projected generator gradients under each loss."""
    data = make_toy("ring")
    with seeded(seed):  # the weight initialisation, and the caller's RNG left alone
        generator = MLPGenerator(2, 2, width=64, depth=2)
        models = [
            (MLPCritic(2, width=64, depth=2), MLPCritic(2, width=64, depth=2))
            for _ in range(s.n_models)
        ]
    stream = torch.Generator().manual_seed(seed + 1)
    direction = [torch.randn(p.shape, generator=stream) for p in generator.parameters()]
    scale = torch.cat([d.flatten() for d in direction]).norm()
    direction = [d / scale for d in direction]

    samples: dict[str, list[torch.Tensor]] = {key: [] for key in KEYS}
    for disc, critic in models:
        opt_d = torch.optim.Adam(disc.parameters(), lr=1e-3, betas=(0.5, 0.9))
        opt_c = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
        for step in range(s.warm + s.record):
            real = data.sample(s.batch_size, stream)
            with torch.no_grad():
                fake = generator(torch.randn(s.batch_size, 2, generator=stream))
            step_both(disc, critic, opt_d, opt_c, real, fake, stream, GP_WEIGHT)
            if step >= s.warm and step % 5 == 0:
                z = torch.randn(64, 2, generator=stream)
                for key, model, loss_fn in (
                    ("nonsaturating", disc, losses.g_loss_nonsaturating),
                    ("wasserstein", critic, losses.g_loss_wasserstein),
                ):
                    samples[key].append(_projected(generator, direction, model, loss_fn, z))
    return {k: torch.cat(v).double().numpy() for k, v in samples.items()}


def measure(s: Settings, seed: int) -> dict[str, Any]:
    """The gradients' tail statistics under each loss, and the gradients themselves."""
    values = _gradients(s, seed)
    return {
        "statistics": {key: tail_statistics(values[key]) for key in KEYS},
        "values": {k: [float(f"{x:.5g}") for x in v] for k, v in values.items()},
        "settings": {
            "discriminators": s.n_models,
            "warm_steps": s.warm,
            "record_steps": s.record,
            "gp_weight": GP_WEIGHT,
            "hill_fraction": TAIL_FRACTION,
        },
    }


def claims(data: dict[str, Any]) -> list[Claim]:
    """The study's verdicts, from the tail statistics of :func:`measure`."""
    ns, wg = (data["statistics"][key] for key in KEYS)
    return [
        Claim(
            "non-saturating gradient: excess kurtosis (Gaussian 0, Laplace 3)",
            f">= {HEAVY_KURTOSIS:g}",
            ns["excess_kurtosis"],
            ns["excess_kurtosis"] >= HEAVY_KURTOSIS,
        ),
        Claim(
            "non-saturating gradient: a Cauchy fits better than a Gaussian "
            "(mean log-likelihood difference)",
            "> 0",
            ns["cauchy_minus_gauss_loglik"],
            ns["cauchy_minus_gauss_loglik"] > 0,
        ),
        Claim(
            "WGAN-GP critic gradient: a Gaussian fits better than a Cauchy "
            "(mean log-likelihood difference)",
            "< 0",
            wg["cauchy_minus_gauss_loglik"],
            wg["cauchy_minus_gauss_loglik"] < 0,
        ),
        Claim(
            "excess kurtosis: WGAN-GP critic below non-saturating",
            f"< {ns['excess_kurtosis']:.4g}",
            wg["excess_kurtosis"],
            wg["excess_kurtosis"] < ns["excess_kurtosis"],
        ),
        Claim(
            "Hill tail index (smaller is heavier): non-saturating below WGAN-GP critic",
            f"< {wg['hill_index']:.4g}",
            ns["hill_index"],
            ns["hill_index"] < wg["hill_index"],
        ),
    ]


def figures(data: dict[str, Any], out: Path) -> list[Path]:
    """Histograms (log density) and a QQ plot of both gradients, standardised; one PNG."""
    plt = offscreen()
    fig, (hist, qq) = plt.subplots(1, 2, figsize=(11, 4))
    for key, label in (("nonsaturating", "non-saturating −log D"), ("wasserstein", "WGAN-GP")):
        x = np.asarray(data["values"][key])
        robust = (x - np.median(x)) / (stats.median_abs_deviation(x, scale="normal") or 1.0)
        hist.hist(robust, bins=120, density=True, histtype="step", log=True, label=label)
        theory, ordered = stats.probplot(robust, dist="norm", fit=False)
        qq.plot(theory, ordered, ".", markersize=2, label=label)
    grid = np.linspace(-8, 8, 200)
    hist.plot(grid, stats.norm.pdf(grid), "k--", lw=1, label="N(0, 1)")
    hist.set_ylim(1e-4, 1.0)
    hist.set(
        xlabel="(g − median) / robust std",
        ylabel="density (log)",
        title="per-sample generator gradient ∂L_i/∂θ · v",
    )
    hist.legend()
    qq.plot([-4, 4], [-4, 4], "k--", lw=1)
    qq.set(
        xlabel="normal quantiles",
        ylabel="standardised gradient quantiles",
        title="QQ plot against a Gaussian",
    )
    qq.legend()
    return [save_figure(fig, out / "gradient_tails.png", dpi=110)]


def summary(data: dict[str, Any]) -> str:
    ns, wg = (data["statistics"][key] for key in KEYS)
    settings = data["settings"]
    warm, record = settings["warm_steps"], settings["record_steps"]
    return (
        f"{ns['n']} per-sample projected gradients each, from {settings['discriminators']} "
        f"discriminator(s) and critic(s) trained {warm}–{warm + record} steps against a fixed "
        f"generator. Non-saturating: excess kurtosis {ns['excess_kurtosis']:.3g}, Hill index "
        f"{ns['hill_index']:.3g}, Cauchy − Gauss log-likelihood "
        f"{ns['cauchy_minus_gauss_loglik']:+.3g}. WGAN-GP: {wg['excess_kurtosis']:.3g}, "
        f"{wg['hill_index']:.3g}, {wg['cauchy_minus_gauss_loglik']:+.3g}. "
        + (
            "A Hill index above 2 means finite variance: these tails are heavy, yet lighter "
            "than the Cauchy (index 1) of the theorem's noise model."
            if ns["hill_index"] > 2
            else "A Hill index below 2 means infinite variance, as for the theorem's Cauchy."
        )
    )


def run(out: Path, *, seed: int = 0, quick: bool = False) -> StudyResult:
    data = measure(QUICK if quick else DEFAULT, seed)
    return StudyResult(NAME, claims(data), data, figures(data, out), summary(data))
