"""Parallel segments: JS and KL jump at θ = 0 while W1 = |θ| is continuous (docs/theory.md §4).

Claim: for ``p`` uniform on ``{0} × [0, 1]`` and ``p_θ`` uniform on ``{θ} × [0, 1]`` in R²,
``JS = 0`` at ``θ = 0`` and ``log 2`` at every ``θ ≠ 0``, ``KL = +∞`` for ``θ ≠ 0``, while
``W1 = abs(θ)`` goes to 0 with θ. The supports are lines that meet only at θ = 0, so a
perfect discriminator exists for every θ ≠ 0, however small.

Method: for θ on a grid in [-1, 1] that includes 0 and small values (down to 0.02),
- ``js_analytic``, ``kl_analytic``, ``w1_analytic`` from :func:`gankit.analytic.parallel_segments`;
- ``js_grid``, ``kl_grid``: :func:`gankit.divergences.js` / :func:`~gankit.divergences.kl` on the
  two measures' masses on a grid of cells (:func:`gankit.examples.segment_masses`, the
  discretisation ``gankit examples`` prints: ``CELL`` wide in x over [-1.2, 1.2), every θ a
  whole number of cells from its left end, ``ROWS`` cells along the segments; the grid sees a
  shift only if ``abs(θ) >= CELL``);
- ``js_classifier``: ``(V + log 4)/2`` from a discriminator trained on samples
  (docs/theory.md §3);
- ``w1_exact``: exact W1 between two sample clouds by POT (:func:`gankit.wasserstein.wasserstein`);
  its value at θ = 0 is the sampling noise floor;
- ``w1_critic``: ``E_p f - E_q f`` of a WGAN-GP critic (λ = 10) trained on samples.
Derivatives in θ are finite differences (``d_*`` keys); JS's blows up near 0, W1's stays ±1.

References: Arjovsky, Chintala & Bottou 2017, Example 1; Arjovsky & Bottou 2017.
docs/theory.md §4, §5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit.analytic import parallel_segments
from gankit.divergences import js, kl
from gankit.examples import segment_masses
from gankit.report.figures import offscreen, save_figure
from gankit.studies._common import (
    FitSettings,
    critic_estimate,
    fit_critic,
    fit_discriminator,
    js_from_discriminator,
    segment_sampler,
)
from gankit.studies._result import Claim, StudyResult, finite_differences, within
from gankit.wasserstein import wasserstein

NAME = "parallel-segments"
CLAIM = "parallel segments in R²: JS jumps 0 → log 2 and KL = ∞ at θ ≠ 0; W1 = |θ| is continuous"

LOG2 = math.log(2.0)
CELL = 0.01  # grid cell width in x; every θ below is a multiple of it
ROWS = 50  # grid cells along the segments
LOW, HIGH = -1.2, 1.2  # the grid's extent in x: every segment of the study lies inside


@dataclass(frozen=True)
class Settings:
    thetas: tuple[float, ...]
    discriminator: FitSettings
    critic: FitSettings
    n_exact: int = 1_000  # points per cloud for the exact (POT) W1
    n_eval: int = 20_000  # fresh samples per trained estimate


_SMALL = (0.02, 0.05, 0.1, 0.25, 0.5, 1.0)
DEFAULT = Settings(
    thetas=tuple(-t for t in reversed(_SMALL)) + (0.0,) + _SMALL,
    discriminator=FitSettings(steps=400, lr=3e-3),
    critic=FitSettings(steps=300, lr=3e-3),
)
QUICK = Settings(
    thetas=(-0.5, -0.05, 0.0, 0.02, 0.5),
    discriminator=FitSettings(steps=300, batch_size=128, lr=3e-3),
    critic=FitSettings(steps=300, batch_size=128, lr=3e-3),
    n_exact=500,
    n_eval=5_000,
)


def grid_masses(theta: float) -> np.ndarray:
    """The masses of the segment ``{theta} × [0, 1]`` on the study's grid, flattened."""
    return segment_masses(theta, CELL, ROWS, LOW, HIGH)


def measure(s: Settings, seed: int) -> dict[str, Any]:
    """Every curve of the study on the θ grid of ``s`` (``curves``), and the size of the
    clouds behind the exact W1 (``n_exact``)."""
    p_masses = grid_masses(0.0)
    rows = []
    for i, t in enumerate(s.thetas):
        sample_p, sample_q = segment_sampler(0.0), segment_sampler(t)
        run_seed = seed * 1000 + 10 * i
        d = fit_discriminator(sample_p, sample_q, 2, s.discriminator, run_seed)
        f = fit_critic(sample_p, sample_q, 2, s.critic, run_seed)
        clouds = torch.Generator().manual_seed(run_seed + 3)
        cloud_p, cloud_q = sample_p(s.n_exact, clouds), sample_q(s.n_exact, clouds)
        q_masses, exact = grid_masses(t), parallel_segments(t)
        rows.append(
            {
                "js_analytic": exact["js"],
                "js_grid": float(js(p_masses, q_masses)),
                "js_classifier": js_from_discriminator(d, sample_p, sample_q, s.n_eval, run_seed),
                "kl_analytic": exact["kl"],
                "kl_grid": float(kl(p_masses, q_masses)),
                "w1_analytic": exact["w1"],
                "w1_exact": wasserstein(cloud_p, cloud_q),
                "w1_critic": critic_estimate(f, sample_p, sample_q, s.n_eval, run_seed),
            }
        )
    curves = {"theta": list(s.thetas)} | {key: [row[key] for row in rows] for key in rows[0]}
    for key in ("js_analytic", "js_grid", "js_classifier", "w1_analytic", "w1_exact", "w1_critic"):
        curves["d_" + key] = finite_differences(s.thetas, curves[key])
    return {"curves": curves, "n_exact": s.n_exact}


def _errors(data: dict[str, Any]) -> dict[str, Any]:
    """The numbers the claims and the summary quote, from the curves."""
    c = {k: np.array(v, dtype=float) for k, v in data["curves"].items()}
    theta = c["theta"]
    zero, apart = theta == 0, theta != 0
    return {
        "zero": zero,
        "apart": apart,
        "grid": float(np.max(np.abs(c["js_grid"] - c["js_analytic"]))),
        "kl_grid": c["kl_grid"],
        "clf_zero": float(np.max(np.abs(c["js_classifier"][zero]))),
        "clf_apart": float(np.min(c["js_classifier"][apart])),
        "smallest": float(np.min(np.abs(theta[apart]))),
        "floor": float(np.max(c["w1_exact"][zero])),
        "exact": float(np.max(np.abs(c["w1_exact"] - np.abs(theta)))),
        "critic_excess": np.abs(c["w1_critic"] - np.abs(theta)) - (0.05 + 0.1 * np.abs(theta)),
    }


def claims(data: dict[str, Any]) -> list[Claim]:
    """The study's verdicts, from the curves of :func:`measure`."""
    e = _errors(data)
    kl_grid, zero, apart = e["kl_grid"], e["zero"], e["apart"]
    kl_ok = bool(np.all(np.isinf(kl_grid[apart])) and np.all(kl_grid[zero] == 0))
    return [
        Claim(
            "grid JS equals the closed form (0 at θ = 0, log 2 elsewhere; max abs error)",
            "<= 1e-9",
            e["grid"],
            e["grid"] <= 1e-9,
        ),
        Claim(
            "grid KL is +inf at every θ ≠ 0 and 0 at θ = 0",
            {"θ ≠ 0": "inf", "θ = 0": 0.0},
            {"θ ≠ 0": float(np.min(kl_grid[apart])), "θ = 0": float(kl_grid[zero][0])},
            kl_ok,
        ),
        Claim(
            "classifier JS at θ = 0 (abs)",
            "<= 0.02",
            e["clf_zero"],
            within(e["clf_zero"], 0, atol=0.02),
        ),
        Claim(
            f"classifier JS at every θ ≠ 0, down to abs(θ) = {e['smallest']:g} (min)",
            f">= 0.9·log 2 = {0.9 * LOG2:.4f}",
            e["clf_apart"],
            e["clf_apart"] >= 0.9 * LOG2,
        ),
        Claim(
            f"exact W1 (POT, {data['n_exact']} points a side) equals abs(θ) (max abs error)",
            f"<= 0.03 (noise floor, W1 at θ = 0: {e['floor']:.3f})",
            e["exact"],
            within(e["exact"], 0, atol=0.03),
        ),
        Claim(
            "WGAN-GP critic tracks W1 = abs(θ): max of abs(error) - (0.05 + 0.1·abs(θ))",
            "<= 0",
            float(np.max(e["critic_excess"])),
            bool(np.all(e["critic_excess"] <= 0)),
        ),
    ]


def figures(data: dict[str, Any], out: Path) -> list[Path]:
    """The JS and W1 curves and their derivatives in θ, one PNG."""
    return [_plot(out, data["curves"])]


def summary(data: dict[str, Any]) -> str:
    e = _errors(data)
    return (
        f"For two parallel unit segments at {len(data['curves']['theta'])} offsets θ, JS is 0 "
        f"at θ = 0 and log 2 at every θ ≠ 0: exactly on the grid, and from a trained classifier "
        f"({e['clf_zero']:.3f} at 0, at least {e['clf_apart']:.3f} of log 2 = {LOG2:.3f} down "
        f"to |θ| = {e['smallest']:g}); KL on the grid is infinite. JS therefore carries no "
        f"information about how far apart the segments are. W1 = |θ| is continuous: exact W1 "
        f"between sample clouds is within {e['exact']:.3f} of |θ| (noise floor "
        f"{e['floor']:.3f}) and a WGAN-GP critic tracks it."
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
        ax.plot(theta, curves[prefix + "js_analytic"], "k.-", label="analytic")
        ax.plot(theta, curves[prefix + "js_grid"], "C0x--", label="grid")
        ax.plot(
            theta,
            curves[prefix + "js_classifier"],
            "C1o",
            mfc="none",
            label="classifier (V+log 4)/2",
        )
        ax.set_title(f"JS: {title}")
        ax = axes[row, 1]
        ax.plot(theta, curves[prefix + "w1_analytic"], "k-", label="analytic |θ|")
        ax.plot(theta, curves[prefix + "w1_exact"], "C0x", label="exact on samples (POT)")
        ax.plot(theta, curves[prefix + "w1_critic"], "C2o", mfc="none", label="WGAN-GP critic")
        ax.set_title(f"W1: {title}")
    for ax in axes.flat:
        ax.set_xscale("symlog", linthresh=0.02)  # spreads out the small θ around the jump
        ax.legend(fontsize=8)
    for ax in axes[1]:
        ax.set_xlabel("θ (symlog scale)")
    fig.suptitle("uniform on {0}×[0,1] vs uniform on {θ}×[0,1]")
    return save_figure(fig, out / "parallel_segments.png", dpi=110)
