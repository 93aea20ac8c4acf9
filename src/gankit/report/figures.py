"""Sample figures: toy samples over the critic's contour (2-D), histograms and CDFs (1-D),
and the training loop's figure writer.

Like the WGAN-GP toy figures (Gulrajani et al. 2017, Fig. 1): real points, generated points
and the critic's (or the discriminator's) value on a grid behind them. Every figure is
written atomically (``gankit.runfolder``): a report drawn during training never reads half
a PNG.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gankit.report.grid import save_grid
from gankit.runfolder import atomic_write

if TYPE_CHECKING:
    from gankit.training.snapshot import Snapshot


class _Offscreen:
    """The three pieces of pyplot that gankit's figures use (``subplots``, ``close``,
    ``rcParams``), on plain :class:`matplotlib.figure.Figure` objects: no backend is chosen
    and pyplot's global state is never touched, so a notebook's inline plots keep working."""

    @staticmethod
    def subplots(nrows: int = 1, ncols: int = 1, *, figsize: Any = None, **options: Any) -> Any:
        from matplotlib.figure import Figure

        fig = Figure(figsize=figsize)
        return fig, fig.subplots(nrows, ncols, **options)

    @staticmethod
    def close(fig: Any) -> None:
        """Nothing to free: the figure was never registered with pyplot."""

    @property
    def rcParams(self) -> Any:  # noqa: N802 - pyplot's name
        import matplotlib

        return matplotlib.rcParams


def offscreen() -> _Offscreen:
    """A pyplot-like factory of figures that are only ever saved, never shown."""
    return _Offscreen()


def plot_toy_samples(
    real: np.ndarray,
    fake: np.ndarray,
    path: str | Path,
    *,
    critic: Callable[[np.ndarray], np.ndarray] | None = None,
    title: str = "",
    fake_labels: np.ndarray | None = None,
) -> Path:
    """Save a PNG of real vs generated samples; 2-D over the critic's contour, 1-D as
    histograms and empirical CDFs. ``critic`` maps points ``(n, d)`` to scores ``(n,)``;
    ``fake_labels`` (a conditional run's classes) colour the generated 2-D points by class."""
    plt = offscreen()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    real, fake = np.asarray(real), np.asarray(fake)
    if real.shape[1] == 2:
        fig, ax = plt.subplots(figsize=(5.5, 5))
        both = np.concatenate([real, fake])
        low, high = np.percentile(both, 0.5, axis=0), np.percentile(both, 99.5, axis=0)
        pad = 0.15 * (high - low).max() + 1e-3
        low, high = low - pad, high + pad
        if critic is not None:
            xs, ys = np.linspace(low[0], high[0], 120), np.linspace(low[1], high[1], 120)
            grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
            values = critic(grid).reshape(len(ys), len(xs))
            shade = ax.contourf(xs, ys, values, levels=20, cmap="coolwarm", alpha=0.55)
            fig.colorbar(shade, ax=ax, label="critic / discriminator")
        ax.scatter(real[:, 0], real[:, 1], s=4, c="tab:orange", alpha=0.5, label="real")
        if fake_labels is None:
            ax.scatter(fake[:, 0], fake[:, 1], s=4, c="tab:green", alpha=0.6, label="generated")
        else:
            colours = np.asarray(fake_labels) % 20  # tab20 repeats its 20 colours
            ax.scatter(
                fake[:, 0],
                fake[:, 1],
                s=5,
                c=colours,
                cmap="tab20",
                vmin=0,
                vmax=19,
                alpha=0.8,
                label="generated (colour: requested class)",
            )
        ax.set_xlim(low[0], high[0])
        ax.set_ylim(low[1], high[1])
        ax.set_aspect("equal")
        ax.legend(loc="upper right", markerscale=3)
    else:
        fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
        bins = np.histogram_bin_edges(np.concatenate([real[:, 0], fake[:, 0]]), bins=60)
        left.hist(real[:, 0], bins=bins, alpha=0.5, density=True, label="real")
        left.hist(fake[:, 0], bins=bins, alpha=0.5, density=True, label="generated")
        left.set_title("histograms")
        left.legend()
        for values, label in ((real[:, 0], "real"), (fake[:, 0], "generated")):
            ordered = np.sort(values)
            right.plot(ordered, np.arange(1, len(ordered) + 1) / len(ordered), label=label)
        right.set_title("empirical CDFs")
        right.legend()
    fig.suptitle(title)
    return save_figure(fig, path, dpi=90)


def save_figure(fig: Any, path: Path, *, dpi: int) -> Path:
    """Lay out a matplotlib figure, write it to ``path`` as a PNG (atomically), close it."""
    fig.tight_layout()
    atomic_write(path, lambda stream: fig.savefig(stream, format="png", dpi=dpi))
    offscreen().close(fig)
    return path


def write_snapshot(snapshot: Snapshot) -> Path:
    """Draw a training step's sample figure (the loop's ``figures`` writer): a grid of
    images (and, once, of real ones beside it), or toy samples over the critic's contour."""
    if snapshot.fake.ndim == 4:
        save_grid(snapshot.fake, snapshot.path, columns=snapshot.columns)
        if snapshot.real_path is not None and not snapshot.real_path.exists():
            save_grid(snapshot.real, snapshot.real_path)
        return snapshot.path
    return plot_toy_samples(
        snapshot.real,
        snapshot.fake,
        snapshot.path,
        critic=snapshot.critic,
        title=snapshot.title,
        fake_labels=snapshot.labels,
    )
