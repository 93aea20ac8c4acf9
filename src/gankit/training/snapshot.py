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
from gankit.training.state import RunState

__all__ = ["FigureWriter", "Snapshot", "snapshot"]

FIGURE_SAMPLES = 1024  # points of a toy figure
GRID_SAMPLES = 64  # images of a grid
FIGURE_SEED = 12345  # the same noise and real samples in every figure, no training draw
GRID_COLUMNS = 8  # a conditional grid: one row of this many images per class shown
GRID_CLASSES = 16  # classes a conditional grid shows at most (evenly spaced beyond that)


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
    labels: np.ndarray | None = None  # a conditional run: the class of each fake sample
    columns: int | None = None  # a conditional grid: images per row (one row per class)


FigureWriter = Callable[[Snapshot], object]


def snapshot(run: RunState, dataset: Any, paths: RunPaths) -> Snapshot:
    """The sample figure of ``run`` at its current step (EMA weights when kept).

    Sampling uses a copy of the generator with its own batch-norm statistics, and the critic
    is scored in evaluation mode, so nothing here changes the training state (a resumed run
    still matches an uninterrupted one). A conditional run's grid has one row per class (at
    most :data:`GRID_CLASSES`); its toy figure colours the samples by class, without the
    critic (which needs a class).
    """
    fixed = torch.Generator().manual_seed(FIGURE_SEED)
    images = isinstance(dataset, ImageSet)
    conditional = run.config.takes_classes()
    labels = columns = None
    if conditional and images:
        labels, columns = grid_classes(dataset.n_classes), GRID_COLUMNS
    elif conditional:
        labels = dataset.draw_labels(FIGURE_SAMPLES, fixed)
    count = len(labels) if labels is not None else GRID_SAMPLES if images else FIGURE_SAMPLES
    z = torch.randn(count, run.config.latent_dim, generator=fixed)
    model = run.ema if run.ema is not None else run.generator
    model = standing_statistics(model, run.config.latent_dim)  # a copy: training untouched
    device = run.hardware.device
    with torch.no_grad():
        z = z.to(device)
        fake = model(z) if labels is None else model(z, labels.to(device))
    real = dataset.sample(count, fixed).numpy()
    return Snapshot(
        step=run.step,
        title=f"{run.config.recipe} on {run.config.data}, step {run.step}",
        fake=fake.float().cpu().numpy(),
        real=real,
        critic=None if images or conditional else _scores(run),
        path=paths.figure(run.step),
        real_path=paths.real_grid if images else None,
        labels=None if labels is None else labels.numpy(),
        columns=columns,
    )


def grid_classes(n_classes: int, columns: int = GRID_COLUMNS) -> torch.Tensor:
    """The classes of a conditional grid, row by row: ``columns`` of each class shown (every
    class up to :data:`GRID_CLASSES`, else that many evenly spaced).

    Example:
        >>> grid_classes(3, columns=2).tolist()
        [0, 0, 1, 1, 2, 2]
    """
    shown = torch.arange(n_classes)
    if n_classes > GRID_CLASSES:
        shown = torch.linspace(0, n_classes - 1, GRID_CLASSES).round().long()
    return shown.repeat_interleave(columns)


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
