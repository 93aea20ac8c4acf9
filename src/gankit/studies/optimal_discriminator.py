"""A trained discriminator approaches D* = p/(p+q), and its value gives JS (docs/theory.md §3).

Claim: for fixed densities p (real) and q (generated) the best discriminator is
``D*(x) = p(x) / (p(x) + q(x))``, and at it the game's value is ``V(D*) = -log 4 + 2·JS(p, q)``,
so ``(V(D) + log 4)/2`` estimates JS, from below for any D.

Method: p = N(0, 1), q = N(1.5, 0.7²) (gankit toy ``gmm1d`` sets, which give exact log
densities). A discriminator is trained on samples with the minimax loss
(:func:`gankit.studies._common.fit_discriminator`). Measured:
- ``max abs(D(x) - D*(x))`` on a grid of x where both densities are at least ``MIN_DENSITY``
  (the region is in the data); outside it samples are rare and D is unconstrained;
- ``JS_exact``: :func:`gankit.divergences.js` on the densities on a fine grid (``cell=dx``);
- ``(V + log 4)/2`` on fresh samples for the trained D and for D* itself (logit log p - log q),
  with standard errors from 20 blocks of the samples.
Since q has the smaller variance, p/q grows in both tails and D* is not monotone.

References: Goodfellow et al. 2014, Prop. 1 and Thm. 1. docs/theory.md §3.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit import losses
from gankit.data import make_toy
from gankit.divergences import js
from gankit.report.figures import offscreen, save_figure
from gankit.studies._common import FitSettings, fit_discriminator
from gankit.studies._result import Claim, StudyResult, within

NAME = "optimal-discriminator"
CLAIM = "a trained discriminator approaches D* = p/(p+q), and (V + log 4)/2 approaches JS"

P_SPEC, Q_SPEC = "gmm1d:means=0,std=1", "gmm1d:means=1.5,std=0.7"
MIN_DENSITY = 0.01  # the region where D is compared with D*: both densities at least this
LOG4 = math.log(4.0)
BLOCKS = 20  # for the standard errors of the value estimates


@dataclass(frozen=True)
class Settings:
    discriminator: FitSettings
    n_eval: int  # fresh samples of each density for V


DEFAULT = Settings(FitSettings(steps=2000, batch_size=512), n_eval=200_000)
QUICK = Settings(FitSettings(steps=600, batch_size=512, lr=2e-3), n_eval=40_000)


def js_estimates(
    logit: Callable[[torch.Tensor], torch.Tensor], x_p: torch.Tensor, x_q: torch.Tensor
) -> tuple[float, np.ndarray]:
    """``(V + log 4)/2`` on all samples, and on each of ``BLOCKS`` blocks of them."""

    def value(a: torch.Tensor, b: torch.Tensor) -> float:
        return (LOG4 - float(losses.d_loss_minimax(logit(a), logit(b)))) / 2

    blocks = zip(x_p.chunk(BLOCKS), x_q.chunk(BLOCKS), strict=True)
    return value(x_p, x_q), np.array([value(a, b) for a, b in blocks])


def measure(s: Settings, seed: int) -> dict[str, Any]:
    """Train D between p and q; the JS estimates, their standard errors, the exact JS, and
    D and D* on a grid of x."""
    p, q = make_toy(P_SPEC), make_toy(Q_SPEC)
    d = fit_discriminator(p.sample, q.sample, 1, s.discriminator, seed)
    stream = torch.Generator().manual_seed(seed + 7)
    x_p, x_q = p.sample(s.n_eval, stream), q.sample(s.n_eval, stream)

    def d_star_logit(x: torch.Tensor) -> torch.Tensor:  # logit of p/(p+q) is log p - log q
        return torch.as_tensor(p.log_density(x) - q.log_density(x))

    with torch.no_grad():
        js_d, blocks_d = js_estimates(d, x_p, x_q)
        js_star, blocks_star = js_estimates(d_star_logit, x_p, x_q)
    se_star = float(blocks_star.std(ddof=1) / math.sqrt(BLOCKS))
    se_gap = float((blocks_d - blocks_star).std(ddof=1) / math.sqrt(BLOCKS))

    dx = 1e-3
    fine = np.arange(-12, 12, dx)[:, None]  # both densities < 1e-25 beyond
    js_exact = float(
        js(np.exp(p.log_density(fine)), np.exp(q.log_density(fine)), cell=dx, normalize=True)
    )
    x = np.linspace(-4, 6, 1001)[:, None]
    density_p, density_q = np.exp(p.log_density(x)), np.exp(q.log_density(x))
    d_star = density_p / (density_p + density_q)
    with torch.no_grad():
        d_x = torch.sigmoid(d(torch.as_tensor(x, dtype=torch.float32))).double().numpy()
    region = (density_p >= MIN_DENSITY) & (density_q >= MIN_DENSITY)
    return {
        "p": P_SPEC,
        "q": Q_SPEC,
        "js_exact": js_exact,
        "js_classifier": js_d,
        "js_at_optimum": js_star,
        "standard_errors": {"js_at_optimum": se_star, "classifier_minus_optimum": se_gap},
        "region": {
            "min_density": MIN_DENSITY,
            "x": [float(x[region].min()), float(x[region].max())],
        },
        "max_abs_error": float(np.max(np.abs(d_x - d_star)[region])),
        "grid": {"x": x[:, 0], "p": density_p, "q": density_q, "d_star": d_star, "d": d_x},
    }


def claims(data: dict[str, Any]) -> list[Claim]:
    """The study's verdicts, from the numbers of :func:`measure`."""
    bounds, d_err = data["region"]["x"], data["max_abs_error"]
    js_d, js_star, js_exact = data["js_classifier"], data["js_at_optimum"], data["js_exact"]
    se_star = data["standard_errors"]["js_at_optimum"]
    se_gap = data["standard_errors"]["classifier_minus_optimum"]
    return [
        Claim(
            f"max abs(D(x) - D*(x)) where both densities >= {MIN_DENSITY} "
            f"(x in [{bounds[0]:.2f}, {bounds[1]:.2f}])",
            "<= 0.05",
            d_err,
            within(d_err, 0, atol=0.05),
        ),
        Claim(
            "trained D: (V + log 4)/2 against the exact JS (abs error)",
            "<= 0.01",
            abs(js_d - js_exact),
            within(js_d, js_exact, atol=0.01),
        ),
        Claim(
            "at D*, V = -log 4 + 2 JS: (V(D*) + log 4)/2 against the exact JS (abs error)",
            f"<= 3 standard errors = {3 * se_star:.4f}",
            abs(js_star - js_exact),
            within(js_star, js_exact, atol=3 * se_star),
        ),
        Claim(
            "lower bound: (V(D) + log 4)/2 - (V(D*) + log 4)/2 on the same samples",
            f"<= 3 standard errors = {3 * se_gap:.4f}",
            js_d - js_star,
            js_d - js_star <= 3 * se_gap,
        ),
    ]


def figures(data: dict[str, Any], out: Path) -> list[Path]:
    """The densities, and D against D* on the grid, one PNG."""
    g = data["grid"]
    return [_plot(out, g["x"], g["p"], g["q"], g["d_star"], g["d"], data["region"]["x"])]


def summary(data: dict[str, Any]) -> str:
    bounds = data["region"]["x"]
    return (
        f"A discriminator trained between N(0, 1) and N(1.5, 0.7²) matches D* = p/(p+q) within "
        f"{data['max_abs_error']:.3f} where both densities exceed {MIN_DENSITY} (x in "
        f"[{bounds[0]:.2f}, {bounds[1]:.2f}]); in the tails, where samples are rare, it "
        f"extrapolates and D* (which rises again on both sides) is not learned. Its value gives "
        f"(V + log 4)/2 = {data['js_classifier']:.4f} against the exact JS "
        f"{data['js_exact']:.4f}; D* itself gives {data['js_at_optimum']:.4f} (standard error "
        f"{data['standard_errors']['js_at_optimum']:.4f}), as V(D*) = -log 4 + 2 JS says."
    )


def run(out: Path, *, seed: int = 0, quick: bool = False) -> StudyResult:
    data = measure(QUICK if quick else DEFAULT, seed)
    return StudyResult(NAME, claims(data), data, figures(data, out), summary(data))


def _plot(
    out: Path,
    x: np.ndarray,
    density_p: np.ndarray,
    density_q: np.ndarray,
    d_star: np.ndarray,
    d_x: np.ndarray,
    bounds: list[float],
) -> Path:
    plt = offscreen()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    axes[0].plot(x, density_p, label="p = N(0, 1) (real)")
    axes[0].plot(x, density_q, label="q = N(1.5, 0.7²) (generated)")
    axes[0].set_title("densities")
    axes[1].plot(x, d_star, "k-", label="D* = p/(p+q)")
    axes[1].plot(x, d_x, "C3--", label="trained D = sigmoid(logit)")
    axes[1].set_ylim(-0.02, 1.02)
    axes[1].set_title("discriminator")
    for ax in axes:
        ax.axvspan(*bounds, color="0.9", label=f"both densities >= {MIN_DENSITY}")
        ax.set_xlabel("x")
        ax.legend(fontsize=8)
    return save_figure(fig, out / "optimal_discriminator.png", dpi=110)
