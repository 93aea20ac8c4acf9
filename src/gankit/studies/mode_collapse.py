"""Study ``mode-collapse`` (THEORY.md §3, §5): which objectives drop modes, measured.

Method: gan, nsgan, wgan and wgan-gp on ``ring`` (8 modes) and ``grid`` (25 modes) with the
same 3x128 ReLU networks, batch 128, learning rate 1e-3 and number of generator iterations,
for three seeds; each recipe keeps its optimiser, critic steps, clipping or penalty. Every
few iterations the generator's samples are scored as ``gankit eval`` scores them
(gankit.metrics.mode_stats): modes covered and the fraction of high-quality samples (within
3 std of a mode). The claims compare the objectives' mean coverage at the end; the spread
over seeds is reported beside it.

References: Goodfellow et al. 2014; Arjovsky et al. 2017; Gulrajani et al. 2017 (Fig. 2);
Metz et al. 2017 (the 8-Gaussian mode-collapse benchmark).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit.data import make_toy
from gankit.metrics import mode_stats
from gankit.studies._common import pyplot
from gankit.studies._result import Claim, StudyResult
from gankit.train.config import resolve
from gankit.train.hardware import resolve_hardware
from gankit.train.loop import critic_steps, generator_step, new_run

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


def train_and_score(recipe: str, data: str, seed: int, steps: int, every: int) -> dict[str, Any]:
    """One run, scored every ``every`` generator iterations on 1000 fixed-noise samples."""
    config = resolve(recipe, {**SHARED, "data": data, "seed": seed, "steps": steps})
    run = new_run(config, resolve_hardware("cpu", "fp32"))
    dataset = make_toy(config.data)
    z = torch.randn(1000, config.latent_dim, generator=torch.Generator().manual_seed(seed + 99))
    covered, quality = [], []
    for step in range(1, steps + 1):
        critic_steps(run, dataset, config.n_critic, False)
        generator_step(run, False)
        run.step = step
        if step % every == 0:
            with torch.no_grad():
                samples = run.generator(z).numpy()
            stats = mode_stats(samples, dataset.centres, dataset.std)
            covered.append(stats["modes_covered"])
            quality.append(stats["high_quality_fraction"])
    return {
        "modes_covered": covered,
        "high_quality_fraction": quality,
        "modes_total": len(dataset.centres),
    }


def run(out: Path, *, seed: int = 0, quick: bool = False) -> StudyResult:
    seeds = [seed] if quick else [seed, seed + 1, seed + 2]
    steps, every = (60, 20) if quick else (400, 100)
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for data in DATA:
        runs[data] = {
            r: [train_and_score(r, data, s, steps, every) for s in seeds] for r in RECIPES
        }
    final = {data: {r: _final(runs[data][r]) for r in RECIPES} for data in DATA}
    claims = []
    for data in DATA:
        gp, gan = final[data]["wgan-gp"], final[data]["gan"]
        claims.append(
            Claim(
                f"{data}: wgan-gp covers more modes than the minimax gan (mean over seeds)",
                f"> {gan['modes_mean']:.2f}",
                gp["modes_mean"],
                gp["modes_mean"] > gan["modes_mean"],
            )
        )
        claims.append(
            Claim(
                f"{data}: wgan-gp's high-quality fraction is at least the minimax gan's (mean)",
                f">= {gan['quality_mean']:.3f}",
                gp["quality_mean"],
                gp["quality_mean"] >= gan["quality_mean"],
            )
        )
    figure = _plot(runs, out / "mode_collapse.png", every)
    summary = (
        f"{len(seeds)} seed(s) x {steps} generator iterations per recipe, networks 3x128 ReLU, "
        "float32. Final modes covered (mean ± std over seeds): "
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
    data_out = {"seeds": seeds, "steps": steps, "every": every, "runs": runs, "final": final}
    return StudyResult(NAME, claims, data_out, [figure], summary)


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
    plt = pyplot()
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
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
