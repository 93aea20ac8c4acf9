"""The notes' worked examples as a table: exact values beside gankit.divergences on a grid.

``gankit examples`` prints it. Each example is discretised on a grid of cell width ``h``
(a divisor of every theta shown), so the grid values must equal the exact ones up to
rounding. W1 on the grid comes from gankit.wasserstein: the exact 1-D quantile formula on
the gridded masses, and exact optimal transport between the segments' cell centres.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gankit.analytic import parallel_segments, shifted_uniforms
from gankit.divergences import js, kl, total_variation
from gankit.wasserstein import wasserstein, wasserstein_1d

DEFAULT_THETAS = (-2.0, -1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0, 1.5, 2.0)
CELL = 1.0 / 400  # grid cell width: every default theta is a whole number of cells


def uniform_masses(theta: float, cell: float = CELL) -> np.ndarray:
    """Masses of ``U[theta, theta + 1]`` on the cells ``[k h, (k + 1) h)`` of ``[-3, 3)``."""
    left = np.arange(-3.0, 3.0, cell)
    # A cell inside the support holds h; a partly covered cell its share.
    return np.clip(np.minimum(left + cell, theta + 1) - np.maximum(left, theta), 0.0, None)


def grid_shifted_uniforms(theta: float, cell: float = CELL) -> dict[str, float]:
    """JS, KL, TV and W1 of ``U[0,1]`` vs ``U[theta, theta+1]`` computed on the grid."""
    p, q = uniform_masses(0.0, cell), uniform_masses(theta, cell)
    centres = np.arange(-3.0, 3.0, cell) + cell / 2
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
    """The same for the parallel segments in R^2: masses on a 2-D grid of cells (flattened),
    and W1 between the two columns of cell centres (exact optimal transport)."""
    xs = np.arange(-3.0, 3.0, cell) + cell / 2
    ys = np.arange(0.0, 1.0, cell) + cell / 2
    column_p = np.abs(xs - cell / 2) < cell / 2  # the column of cells holding x = 0
    column_q = np.abs(xs - cell / 2 - theta) < cell / 2
    p = np.outer(column_p, np.ones_like(ys)).ravel()
    q = np.outer(column_q, np.ones_like(ys)).ravel()
    points_p = np.stack([np.full_like(ys, xs[column_p.argmax()]), ys], axis=1)
    points_q = np.stack([np.full_like(ys, xs[column_q.argmax()]), ys], axis=1)
    return {
        "js": js(p, q, normalize=True),
        "kl": kl(p, q, normalize=True),
        "tv": total_variation(p, q, normalize=True),
        "w1": wasserstein(points_p, points_q),
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
