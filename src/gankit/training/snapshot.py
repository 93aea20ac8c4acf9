"""What a sample figure shows: generated and real samples (and the critic, on toy data) at one
step, computed by training and drawn by whatever figure writer the caller passes in.

The training package draws nothing itself (figures are ``gankit.report``'s job, a layer
above): the loop hands a :class:`Snapshot` to a :data:`FigureWriter`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit.data import ImageSet
from gankit.models.standing import standing_statistics
from gankit.runfolder import RunPaths
from gankit.training import distributed
from gankit.training.state import RunState

__all__ = ["FigureWriter", "Snapshot", "snapshot"]

FIGURE_SAMPLES = 1024  # points of a toy figure
GRID_SAMPLES = 64  # images of a grid
FIGURE_SEED = 12345  # the same noise and real samples in every figure, no training draw


@dataclass(frozen=True)
class Snapshot:
    """One step's sample figure, ready to draw."""

    step: int
    title: str
    fake: np.ndarray  # (n, dim) points or (n, C, H, W) images in [-1, 1], from fixed noise
    real: np.ndarray  # as many real samples, from a fixed stream
    critic: Callable[[np.ndarray], np.ndarray] | None  # toy data: scores of points (n, dim)
    path: Path  # the figure to write
    real_path: Path | None  # image sets: the grid of real images, written once


FigureWriter = Callable[[Snapshot], object]


def snapshot(run: RunState, dataset: Any, paths: RunPaths) -> Snapshot:
    """The sample figure of ``run`` at its current step (EMA weights when kept).

    Sampling uses a copy of the generator with its own batch-norm statistics, and the critic
    is scored in evaluation mode, so nothing here changes the training state (a resumed run
    still matches an uninterrupted one).
    """
    fixed = torch.Generator().manual_seed(FIGURE_SEED)
    images = isinstance(dataset, ImageSet)
    count = GRID_SAMPLES if images else FIGURE_SAMPLES
    z = torch.randn(count, run.config.latent_dim, generator=fixed)
    # The plain module: a DDP wrapper's forward may wait for the other processes.
    model = run.ema if run.ema is not None else distributed.unwrap(run.generator)
    model = standing_statistics(model, run.config.latent_dim)  # a copy: training is untouched
    with torch.no_grad():
        fake = model(z.to(run.hardware.device)).float().cpu().numpy()
    real = dataset.sample(count, fixed).numpy()
    return Snapshot(
        step=run.step,
        title=f"{run.config.recipe} on {run.config.data}, step {run.step}",
        fake=fake,
        real=real,
        critic=None if images else _scores(run),
        path=paths.figure(run.step),
        real_path=paths.real_grid if images else None,
    )


def _scores(run: RunState) -> Callable[[np.ndarray], np.ndarray]:
    """The critic as a function of points, in evaluation mode (spectral norm's power
    iteration would otherwise advance, and a resumed run would no longer match)."""

    def critic(points: np.ndarray) -> np.ndarray:
        run.critic.eval()
        try:
            with torch.no_grad():
                x = torch.as_tensor(points, dtype=torch.float32, device=run.hardware.device)
                return run.critic(x).float().cpu().numpy()
        finally:
            run.critic.train()

    return critic
