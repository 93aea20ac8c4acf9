"""Training curves from ``metrics.jsonl``: one PNG per panel, for one run or several overlaid.

A panel groups the logged keys that belong together (both losses, D(real) and D(fake), both
gradient norms); it is drawn when at least one run logged one of its keys. Non-finite values
(a diverging run) leave gaps instead of breaking the axes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gankit.report.figures import offscreen


@dataclass(frozen=True)
class Panel:
    """One figure: a title and the metric keys drawn in it."""

    title: str
    keys: tuple[str, ...]
    log_scale: bool = False


PANELS = (
    Panel("losses", ("d_loss", "g_loss")),
    Panel("critic's W estimate, mean D(real) - mean D(fake)", ("w_estimate",)),
    Panel("D(real) and D(fake)", ("d_real", "d_fake")),
    Panel("mean scores D(real) and D(fake) (lsgan targets 1 and -1)", ("score_real", "score_fake")),
    Panel("f-GAN critic's lower bound on D_f(P||Q)", ("f_estimate",)),
    Panel("relativistic pairs' mean score margin D(x_i) - D(G(z_i))", ("pair_margin",)),
    Panel(
        "augmentation probability p and ADA's r_t = E sign D(real) (target 0.6)",
        ("augment_p", "r_t"),
    ),
    Panel("gradient norms", ("grad_norm_d", "grad_norm_g"), log_scale=True),
    Panel("gradient penalty", ("penalty",)),
)
_STYLES = ("-", "--", ":")


@dataclass(frozen=True)
class Series:
    """The metric records of one run and how to label its lines."""

    label: str
    records: Sequence[dict[str, Any]]


def column(records: Sequence[dict[str, Any]], key: str) -> tuple[np.ndarray, np.ndarray]:
    """Steps and values of ``key`` over the records that hold it; non-finite values as NaN.

    Example:
        >>> column([{"step": 1, "a": 2.0}, {"step": 2}, {"step": 3, "a": None}], "a")
        (array([1., 3.]), array([ 2., nan]))
    """
    rows = [r for r in records if key in r]
    steps = np.array([float(r["step"]) for r in rows])
    values = np.array(
        [r[key] if isinstance(r[key], (int, float)) else np.nan for r in rows], dtype=float
    )
    return steps, np.where(np.isfinite(values), values, np.nan)


def _drawn(panel: Panel, runs: Sequence[Series]) -> bool:
    """A panel is drawn when some run logged one of its keys with a finite, non-zero value.

    (A recipe without a penalty logs ``penalty = 0`` at every step: nothing to see.)
    """
    for run in runs:
        for key in panel.keys:
            values = column(run.records, key)[1]
            if np.any(np.nan_to_num(values) != 0):
                return True
    return False


def curve_panels(runs: Sequence[Series]) -> list[tuple[str, bytes]]:
    """``(title, PNG bytes)`` for every panel that some run has data for; one colour per run."""
    plt = offscreen()
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    figures = []
    for panel in PANELS:
        if not _drawn(panel, runs):
            continue
        fig, ax = plt.subplots(figsize=(6.4, 3.6))
        positive = True
        for index, run in enumerate(runs):
            for k, key in enumerate(panel.keys):
                steps, values = column(run.records, key)
                if steps.size == 0:
                    continue
                positive = positive and bool(np.all(np.nan_to_num(values, nan=1.0) > 0))
                if len(runs) == 1:  # one run: a colour per key
                    colour, style, label = colours[k % len(colours)], "-", key
                else:  # several: a colour per run, a line style per key
                    colour, style = colours[index % len(colours)], _STYLES[k % len(_STYLES)]
                    label = f"{run.label}: {key}"
                ax.plot(steps, values, style, color=colour, label=label, linewidth=1.3)
        if panel.log_scale and positive:
            ax.set_yscale("log")
        ax.set_title(panel.title)
        ax.set_xlabel("generator step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=90)
        plt.close(fig)
        figures.append((panel.title, buffer.getvalue()))
    return figures
