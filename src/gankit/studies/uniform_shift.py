"""JS saturates between shifted uniforms while W1 keeps growing (docs/theory.md §4).

Claim: for ``p = U[0, 1]`` and ``p_θ = U[θ, θ + 1]``, ``JS = min(abs(θ), 1)·log 2``: it grows
with slope log 2 up to ``abs(θ) = 1`` and is flat beyond, so a generator at ``abs(θ) > 1`` gets no
gradient from it; ``W1 = abs(θ)`` everywhere, with slope 1 at every θ.

Method: for each θ on a grid in [-2, 2],
- ``js_analytic`` and ``w1_analytic`` from :func:`gankit.analytic.shifted_uniforms`;
- ``js_grid``: :func:`gankit.divergences.js` on the two uniforms' masses on cells of width
  ``CELL`` over [-2.5, 3.5) (:func:`gankit.examples.uniform_masses`, the discretisation
  ``gankit examples`` prints); every θ of the study is a whole number of cells, so no cell is
  cut by a support's edge and the sum is exact up to rounding;
- ``js_classifier``: ``(V + log 4)/2`` from a discriminator trained on samples
  (docs/theory.md §3);
- ``w1_critic``: ``E_p f - E_q f`` of a WGAN-GP critic (λ = 10) trained on samples. In 1-D the
  penalty ``(abs(f') - 1)²`` has two wells, ``f' = ±1``, with a barrier at ``f' = 0`` (in 2-D and
  up the gradient can turn around it), so a critic that starts with the wrong slope sign stays
  there. Each θ therefore trains two critics, on (p, q) and on (q, p), and keeps the larger
  estimate: the dual ``W1 = sup_f E_p f - E_q f`` is a supremum, so the better critic counts.
Derivatives in θ are central finite differences (``d_*`` keys).

References: Arjovsky & Bottou 2017; Arjovsky, Chintala & Bottou 2017, Example 1;
Gulrajani et al. 2017 (the penalty). docs/theory.md §4, §5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gankit.analytic import shifted_uniforms
from gankit.divergences import js
from gankit.examples import uniform_masses
from gankit.report.figures import offscreen, save_figure
from gankit.studies._common import (
    FitSettings,
    critic_estimate,
    fit_critic,
    fit_discriminator,
    js_from_discriminator,
    uniform_sampler,
)
from gankit.studies._result import Claim, StudyResult, finite_differences, within

NAME = "uniform-shift"
CLAIM = "U[0,1] vs U[θ,θ+1]: JS = |θ|·log 2 then flat beyond |θ| = 1; W1 = |θ| everywhere"

LOG2 = math.log(2.0)
CELL = 1 / 400  # grid cell; every θ below is a multiple of it, so the grid JS is exact
LOW, HIGH = -2.5, 3.5  # the grid's extent: every support of the study lies inside


@dataclass(frozen=True)
class Settings:
    thetas: tuple[float, ...]
    discriminator: FitSettings
    critic: FitSettings
    n_eval: int = 20_000  # fresh samples per estimate


DEFAULT = Settings(
    thetas=tuple(k / 4 for k in range(-8, 9)),
    discriminator=FitSettings(steps=400, lr=3e-3),
    critic=FitSettings(steps=300, lr=3e-3),
)
QUICK = Settings(
    thetas=tuple(k / 2 for k in range(-4, 5)),
    discriminator=FitSettings(steps=300, batch_size=128, lr=3e-3),
    critic=FitSettings(steps=120, batch_size=128, lr=3e-3),
    n_eval=5_000,
)


def grid_js(theta: float) -> float:
    """JS of ``U[0, 1]`` and ``U[theta, theta + 1]`` from their masses on the cells of width
    ``CELL`` over ``[LOW, HIGH)``."""
    p, q = (uniform_masses(t, CELL, LOW, HIGH) for t in (0.0, theta))
    return float(js(p, q, normalize=True))


def measure(s: Settings, seed: int) -> dict[str, Any]:
    """Every curve of the study on the θ grid of ``s``: ``{"curves": {key: [one per θ]}}``."""
    rows = []
    for i, t in enumerate(s.thetas):
        sample_p, sample_q = uniform_sampler(0.0, 1.0), uniform_sampler(t, t + 1.0)
        run_seed = seed * 1000 + 10 * i
        d = fit_discriminator(sample_p, sample_q, 1, s.discriminator, run_seed)
        f_pq = fit_critic(sample_p, sample_q, 1, s.critic, run_seed)
        f_qp = fit_critic(sample_q, sample_p, 1, s.critic, run_seed)
        w_pq = critic_estimate(f_pq, sample_p, sample_q, s.n_eval, run_seed)
        w_qp = critic_estimate(f_qp, sample_q, sample_p, s.n_eval, run_seed)
        exact = shifted_uniforms(t)
        rows.append(
            {
                "js_analytic": exact["js"],
                "js_grid": grid_js(t),
                "js_classifier": js_from_discriminator(d, sample_p, sample_q, s.n_eval, run_seed),
                "w1_analytic": exact["w1"],
                "w1_critic": max(w_pq, w_qp),
                "w1_critic_pq": w_pq,
                "w1_critic_qp": w_qp,
            }
        )
    curves = {"theta": list(s.thetas)} | {key: [row[key] for row in rows] for key in rows[0]}
    for key in ("js_analytic", "js_grid", "js_classifier", "w1_analytic", "w1_critic"):
        curves["d_" + key] = finite_differences(s.thetas, curves[key])
    return {"curves": curves}


def _errors(data: dict[str, Any]) -> dict[str, Any]:
    """The numbers the claims and the summary quote, from the curves."""
    c = {k: np.array(v, dtype=float) for k, v in data["curves"].items()}
    theta = c["theta"]
    outside, inside = np.abs(theta) > 1, (np.abs(theta) > 0) & (np.abs(theta) < 1)
    return {
        "grid": float(np.max(np.abs(c["js_grid"] - c["js_analytic"]))),
        "slope_in": float(np.max(np.abs(np.abs(c["d_js_grid"][inside]) - LOG2))),
        "flat_grid": float(np.max(np.abs(c["d_js_grid"][outside]))),
        "flat_classifier": float(np.max(np.abs(c["d_js_classifier"][outside]))),
        "classifier": float(np.max(np.abs(c["js_classifier"] - c["js_analytic"]))),
        "w1_excess": np.abs(c["w1_critic"] - np.abs(theta)) - (0.05 + 0.15 * np.abs(theta)),
        "w1_slope": float(np.mean(np.abs(c["d_w1_critic"][outside]))),
    }


def claims(data: dict[str, Any]) -> list[Claim]:
    """The study's verdicts, from the curves of :func:`measure`."""
    e = _errors(data)
    return [
        Claim(
            "grid JS equals min(abs(θ), 1)·log 2 at every θ (max abs error)",
            "<= 1e-9",
            e["grid"],
            e["grid"] <= 1e-9,
        ),
        Claim(
            "inside 0 < abs(θ) < 1, abs(dJS/dθ) = log 2 (grid; max deviation)",
            "<= 1e-9",
            e["slope_in"],
            e["slope_in"] <= 1e-9,
        ),
        Claim(
            "beyond abs(θ) > 1, JS is flat: max abs(dJS/dθ) (grid)",
            "<= 1e-9",
            e["flat_grid"],
            e["flat_grid"] <= 1e-9,
        ),
        Claim(
            "beyond abs(θ) > 1, JS is flat: max abs(dJS/dθ) (classifier)",
            "<= 0.05 (log 2 = 0.69)",
            e["flat_classifier"],
            within(e["flat_classifier"], 0.0, atol=0.05),
        ),
        Claim(
            "classifier (V + log 4)/2 tracks the exact JS (max abs error)",
            "<= 0.05",
            e["classifier"],
            within(e["classifier"], 0.0, atol=0.05),
        ),
        Claim(
            "WGAN-GP critic tracks W1 = abs(θ): max of abs(error) - (0.05 + 0.15·abs(θ))",
            "<= 0",
            float(np.max(e["w1_excess"])),
            bool(np.all(e["w1_excess"] <= 0)),
        ),
        Claim(
            "beyond abs(θ) > 1, W1 keeps slope 1: mean abs(dW1/dθ) (critic)",
            "1 ± 0.3",
            e["w1_slope"],
            within(e["w1_slope"], 1.0, atol=0.3),
        ),
    ]


def figures(data: dict[str, Any], out: Path) -> list[Path]:
    """The JS and W1 curves and their derivatives in θ, one PNG."""
    return [_plot(out, data["curves"])]


def summary(data: dict[str, Any]) -> str:
    e = _errors(data)
    return (
        f"Between U[0,1] and U[θ,θ+1] on {len(data['curves']['theta'])} values of θ, the grid "
        f"JS matches min(|θ|,1)·log 2 to {e['grid']:.1e} and is flat beyond |θ| = 1; a trained "
        f"classifier gives the same curve within {e['classifier']:.3f} and a slope of at most "
        f"{e['flat_classifier']:.3f} beyond 1 (log 2 = {LOG2:.3f} inside), so a generator there "
        f"gets no signal from JS. A WGAN-GP critic follows W1 = |θ| with slope "
        f"{e['w1_slope']:.2f} beyond 1. The penalty is soft, so the critic slightly "
        "overestimates W1 at large |θ| (its slope exceeds 1 where interpolates are sparse); in "
        "1-D a critic can also stick at the wrong slope sign, so the larger of two critics "
        "(p vs q, q vs p) is kept (both are in the data)."
    )


def run(out: Path, *, seed: int = 0, quick: bool = False) -> StudyResult:
    data = measure(QUICK if quick else DEFAULT, seed)
    return StudyResult(NAME, claims(data), data, figures(data, out), summary(data))


def _plot(out: Path, curves: dict[str, list[float]]) -> Path:
    plt = offscreen()
    theta = curves["theta"]
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    for row, (prefix, title) in enumerate((("", "value"), ("d_", "derivative in θ"))):
        ax = axes[row, 0]
        ax.plot(theta, curves[prefix + "js_analytic"], "k-", label="analytic")
        ax.plot(theta, curves[prefix + "js_grid"], "C0--", label="grid")
        ax.plot(theta, curves[prefix + "js_classifier"], "C1o", label="classifier (V+log 4)/2")
        ax.set_title(f"JS: {title}")
        ax = axes[row, 1]
        ax.plot(theta, curves[prefix + "w1_analytic"], "k-", label="analytic |θ|")
        ax.plot(theta, curves[prefix + "w1_critic"], "C2o", label="WGAN-GP critic")
        ax.set_title(f"W1: {title}")
    for ax in axes.flat:
        ax.axvline(-1, color="0.8", lw=0.8)
        ax.axvline(1, color="0.8", lw=0.8)
        ax.legend(fontsize=8)
    for ax in axes[1]:
        ax.set_xlabel("θ")
    fig.suptitle("U[0,1] vs U[θ,θ+1]")
    return save_figure(fig, out / "uniform_shift.png", dpi=110)
