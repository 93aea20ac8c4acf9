"""Study ``mode-collapse`` (docs/theory.md §3, §5): which objectives drop modes, measured.

Method: gan, nsgan, wgan and wgan-gp on ``ring`` (8 modes) and ``grid`` (25 modes) with the
same 3x128 ReLU networks, batch 128, learning rate 1e-3 and number of generator iterations,
for three seeds; each recipe keeps its optimiser, critic steps, clipping or penalty. Each run
takes gankit's training step (``gankit.training.step.train_step``, through
:func:`gankit.studies._common.train_scored`; no run folder). Every few iterations the
generator's samples are scored as ``gankit eval`` scores them (gankit.metrics.mode_stats):
modes covered and the fraction of high-quality samples (within 3 std of a mode). The claims
compare the objectives' mean coverage at the end; the spread over seeds is reported beside it.

References: Goodfellow et al. 2014; Arjovsky et al. 2017; Gulrajani et al. 2017 (Fig. 2);
Metz et al. 2017 (the 8-Gaussian mode-collapse benchmark).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit.data import make_toy
from gankit.metrics import mode_stats
from gankit.report.figures import offscreen, save_figure
from gankit.studies._common import train_scored
from gankit.studies._result import Claim, StudyResult
from gankit.training.configure import resolve
from gankit.training.state import RunState

NAME = "mode-collapse"
CLAIM = (
    "With the same networks, batch, learning rate and generator iterations, WGAN-GP covers "
    "more modes of ring and grid than the minimax GAN."
)
RECIPES = ("gan", "nsgan", "wgan", "wgan-gp")
DATA = ("ring", "grid")
# One architecture, batch and learning rate for every objective, so that only the objective
# differs (each recipe keeps its optimiser, critic steps, clipping and penalty).
SHARED = {
    "width": 128,
    "depth": 3,
    "latent_dim": 2,
    "batch_size": 128,
    "lr_g": 1e-3,
    "lr_d": 1e-3,
    "precision": "fp32",
    "device": "cpu",
}


@dataclass(frozen=True)
class Settings:
    seeds: int  # runs per recipe and data set, from the study's seed up
    steps: int  # generator iterations per run
    every: int  # scoring interval


DEFAULT = Settings(seeds=3, steps=400, every=100)
QUICK = Settings(seeds=1, steps=60, every=20)


def train_and_score(recipe: str, data: str, seed: int, steps: int, every: int) -> dict[str, Any]:
    """One run, scored every ``every`` generator iterations on 1000 fixed-noise samples (a run
    whose losses stop being finite scores no modes from there on)."""
    config = resolve(recipe, {**SHARED, "data": data, "seed": seed, "steps": steps})
    dataset = make_toy(config.data)
    z = torch.randn(1000, config.latent_dim, generator=torch.Generator().manual_seed(seed + 99))

    def score(run: RunState) -> dict[str, float]:
        with torch.no_grad():
            samples = run.generator(z).numpy()
        stats = mode_stats(samples, dataset.centres, dataset.std)
        return {
            "modes_covered": stats["modes_covered"],
            "high_quality_fraction": stats["high_quality_fraction"],
        }

    diverged = {"modes_covered": 0, "high_quality_fraction": 0.0}
    scores: dict[str, Any] = train_scored(config, score, every, diverged)
    return {**scores, "modes_total": len(dataset.centres)}


def measure(s: Settings, seed: int) -> dict[str, Any]:
    """Every recipe on every data set for each seed: the scores along each run (``runs``) and
    their mean and spread over seeds at the end (``final``)."""
    seeds = [seed + i for i in range(s.seeds)]
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for data in DATA:
        runs[data] = {
            r: [train_and_score(r, data, k, s.steps, s.every) for k in seeds] for r in RECIPES
        }
    final = {data: {r: _final(runs[data][r]) for r in RECIPES} for data in DATA}
    return {"seeds": seeds, "steps": s.steps, "every": s.every, "runs": runs, "final": final}


def claims(data: dict[str, Any]) -> list[Claim]:
    """The study's verdicts, from the final scores of :func:`measure`."""
    out = []
    for name in DATA:
        gp, gan = data["final"][name]["wgan-gp"], data["final"][name]["gan"]
        out.append(
            Claim(
                f"{name}: wgan-gp covers more modes than the minimax gan (mean over seeds)",
                f"> {gan['modes_mean']:.2f}",
                gp["modes_mean"],
                gp["modes_mean"] > gan["modes_mean"],
            )
        )
        out.append(
            Claim(
                f"{name}: wgan-gp's high-quality fraction is at least the minimax gan's (mean)",
                f">= {gan['quality_mean']:.3f}",
                gp["quality_mean"],
                gp["quality_mean"] >= gan["quality_mean"],
            )
        )
    return out


def figures(data: dict[str, Any], out: Path) -> list[Path]:
    """Modes covered and high-quality fraction along the runs, one PNG."""
    return [_plot(data["runs"], out / "mode_collapse.png", data["every"])]


def summary(data: dict[str, Any]) -> str:
    final = data["final"]
    return (
        f"{len(data['seeds'])} seed(s) x {data['steps']} generator iterations per recipe, "
        "networks 3x128 ReLU, float32. Final modes covered (mean ± std over seeds): "
        + "; ".join(
            f"{d}: "
            + ", ".join(
                f"{r} {final[d][r]['modes_mean']:.1f}±{final[d][r]['modes_std']:.1f}"
                for r in RECIPES
            )
            for d in DATA
        )
        + "."
    )


def run(out: Path, *, seed: int = 0, quick: bool = False) -> StudyResult:
    data = measure(QUICK if quick else DEFAULT, seed)
    return StudyResult(NAME, claims(data), data, figures(data, out), summary(data))


def _final(seeds: list[dict[str, Any]]) -> dict[str, float]:
    """Mean and spread over seeds of the last evaluation's coverage and quality."""
    modes = [x["modes_covered"][-1] for x in seeds]
    quality = [x["high_quality_fraction"][-1] for x in seeds]
    return {
        "modes_mean": float(np.mean(modes)),
        "modes_std": float(np.std(modes)),
        "quality_mean": float(np.mean(quality)),
        "quality_std": float(np.std(quality)),
    }


def _plot(runs: dict[str, Any], path: Path, every: int) -> Path:
    plt = offscreen()
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    for column, data in enumerate(DATA):
        for recipe in RECIPES:
            covered = np.array([x["modes_covered"] for x in runs[data][recipe]], dtype=float)
            quality = np.array([x["high_quality_fraction"] for x in runs[data][recipe]])
            steps = every * np.arange(1, covered.shape[1] + 1)
            for row, values in enumerate((covered, quality)):
                mean, std = values.mean(0), values.std(0)
                axes[row, column].plot(steps, mean, label=recipe)
                axes[row, column].fill_between(steps, mean - std, mean + std, alpha=0.2)
        axes[0, column].set_title(f"{data}: modes covered")
        axes[1, column].set_title(f"{data}: high-quality fraction")
        axes[1, column].set_xlabel("generator iterations")
    axes[0, 0].legend()
    return save_figure(fig, path, dpi=90)
