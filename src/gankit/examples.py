"""The worked examples of docs/theory.md §4: exact values beside gankit.divergences on a grid.

``gankit examples`` prints it. Each example is discretised on a grid of cell width ``h``
(a divisor of every theta shown), so the grid values must equal the exact ones up to
rounding. W1 on the grid comes from gankit.wasserstein: the exact 1-D quantile formula on
the gridded masses, and exact optimal transport between the segments' cell centres.

This module is the one discretisation of the two examples (docs/theory.md §4): the studies
``uniform-shift`` and ``parallel-segments`` take their grid values from
:func:`uniform_masses` and :func:`segment_masses`, on grids of their own extent.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gankit.analytic import parallel_segments, shifted_uniforms
from gankit.divergences import js, kl, total_variation
from gankit.wasserstein import wasserstein, wasserstein_1d

DEFAULT_THETAS = (-2.0, -1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0, 1.5, 2.0)
CELL = 1.0 / 400  # grid cell width: every default theta is a whole number of cells
LOW, HIGH = -3.0, 3.0  # the grid's extent in x: every default support lies inside


def cell_edges(cell: float = CELL, low: float = LOW, high: float = HIGH) -> np.ndarray:
    """The left edges ``low + k h`` of the cells ``[low + k h, low + (k + 1) h)`` of
    ``[low, high)``.

    Example:
        >>> cell_edges(0.5, -1.0, 1.0).tolist()
        [-1.0, -0.5, 0.0, 0.5]
    """
    return np.arange(low, high, cell)


def uniform_masses(
    theta: float, cell: float = CELL, low: float = LOW, high: float = HIGH
) -> np.ndarray:
    """Masses of ``U[theta, theta + 1]`` on the cells of ``[low, high)`` (:func:`cell_edges`).

    A cell inside the support holds ``h``, a partly covered cell its share; the masses sum to
    1 when the support lies inside ``[low, high)``. The overlaps are measured in units of cells
    (cell ``k`` is ``[k, k + 1)``), so a cell inside the support holds exactly ``1 · h``: with
    ``theta`` a whole number of cells from ``low``, only rounding slivers of about 1e-13 cells
    remain at the support's edges, and JS on the grid is exact to about 1e-14.

    Example:
        >>> uniform_masses(0.5, cell=0.5, low=-1.0, high=2.0).tolist()
        [0.0, 0.0, 0.0, 0.5, 0.5, 0.0]
    """
    k = np.arange(len(cell_edges(cell, low, high)))
    start, stop = (theta - low) / cell, (theta + 1 - low) / cell  # the support, in cells
    return cell * np.clip(np.minimum(k + 1, stop) - np.maximum(k, start), 0.0, None)


def segment_column(
    theta: float, cell: float = CELL, low: float = LOW, high: float = HIGH
) -> np.ndarray:
    """Which column of cells holds the segment ``{theta} x [0, 1]``: the one whose left edge
    is nearest ``theta`` (exactly on it when ``theta - low`` is a whole number of cells), as a
    boolean mask over the columns of ``[low, high)``."""
    return np.abs(cell_edges(cell, low, high) - theta) < cell / 2


def segment_masses(
    theta: float,
    cell: float = CELL,
    rows: int | None = None,
    low: float = LOW,
    high: float = HIGH,
) -> np.ndarray:
    """Masses of the uniform measure on the segment ``{theta} x [0, 1]`` in R^2 on a grid:
    columns of width ``cell`` over ``[low, high)`` in x (:func:`segment_column`), ``rows``
    equal cells over [0, 1] in y (``1 / cell`` of them by default). Flattened column by
    column, shape ``(columns * rows,)``; they sum to 1.

    Example:
        >>> segment_masses(0.5, cell=0.5, rows=2, low=-1.0, high=1.0).tolist()
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.5]
    """
    rows = round(1.0 / cell) if rows is None else rows
    column = segment_column(theta, cell, low, high)
    return np.outer(column, np.full(rows, 1.0 / rows)).ravel()


def grid_shifted_uniforms(theta: float, cell: float = CELL) -> dict[str, float]:
    """JS, KL, TV and W1 of ``U[0,1]`` vs ``U[theta, theta+1]`` computed on the grid."""
    p, q = uniform_masses(0.0, cell), uniform_masses(theta, cell)
    centres = cell_edges(cell) + cell / 2
    keep_p, keep_q = p > 0, q > 0
    return {
        "js": js(p, q, normalize=True),
        "kl": kl(p, q, normalize=True),
        "tv": total_variation(p, q, normalize=True),
        "w1": wasserstein_1d(
            centres[keep_p], centres[keep_q], x_weights=p[keep_p], y_weights=q[keep_q]
        ),
    }


def grid_parallel_segments(theta: float, cell: float = CELL) -> dict[str, float]:
    """The same for the parallel segments in R^2: masses on a 2-D grid of cells
    (:func:`segment_masses`), and W1 between the two columns of cell centres (exact optimal
    transport)."""
    p, q = segment_masses(0.0, cell), segment_masses(theta, cell)
    xs = cell_edges(cell) + cell / 2
    ys = cell_edges(cell, 0.0, 1.0) + cell / 2

    def centres(t: float) -> np.ndarray:
        return np.stack([np.full_like(ys, xs[segment_column(t, cell).argmax()]), ys], axis=1)

    return {
        "js": js(p, q, normalize=True),
        "kl": kl(p, q, normalize=True),
        "tv": total_variation(p, q, normalize=True),
        "w1": wasserstein(centres(0.0), centres(theta)),
    }


def examples_table(thetas: Sequence[float] | None = None) -> str:
    """The table printed by ``gankit examples`` (and ``make demo``)."""
    thetas = DEFAULT_THETAS if thetas is None else tuple(thetas)
    header = (
        f"{'example':<18}{'theta':>7}  {'JS exact':>9} {'JS grid':>9}  {'KL exact':>9} "
        f"{'KL grid':>9}  {'TV exact':>9} {'TV grid':>9}  {'W1 exact':>9} {'W1 grid':>9}"
    )
    lines = [header, "-" * len(header)]
    for label, exact_fn, grid_fn in (
        ("shifted uniforms", shifted_uniforms, grid_shifted_uniforms),
        ("parallel segments", parallel_segments, grid_parallel_segments),
    ):
        for theta in thetas:
            exact, grid = exact_fn(theta), grid_fn(theta)
            cells = "  ".join(
                f"{exact[key]:>9.5f} {grid[key]:>9.5f}" for key in ("js", "kl", "tv", "w1")
            )
            lines.append(f"{label:<18}{theta:>7.2f}  {cells}")
    lines.append("")
    lines.append(
        "JS in nats (log 2 = 0.69315). JS saturates at log 2 once the supports stop "
        "overlapping; W1 keeps growing with abs(theta)."
    )
    return "\n".join(lines)
