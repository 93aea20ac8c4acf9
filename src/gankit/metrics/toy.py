"""Mode coverage and sample quality on toy sets whose mode centres are known.

A sample is *high quality* when it lies within ``3 · std`` of its nearest mode centre
(Euclidean); a mode is *covered* when it is the nearest centre of at least one high-quality
sample; ``reverse_kl_modes`` compares the histogram q of the high-quality samples over the m
modes with the uniform distribution u (the generated distribution comes first, hence
"reverse"):

    KL(q ‖ u) = Σ_k q_k log(m q_k) = log m − H(q),    0 ≤ KL(q ‖ u) ≤ log m.

With no high-quality sample q is empty and the KL undefined; we report its supremum ``log m``
(the value of a total collapse onto one mode), so the score stays finite (valid JSON), bounded
and monotone: losing the last high-quality sample never improves it. ``modes_covered == 0``
and ``high_quality_fraction == 0`` tell this case apart from a collapse.

References:
    Srivastava et al. 2017, VEEGAN, §5.1 (high-quality samples, modes captured).
    Lin et al. 2018, PacGAN, §5 (reverse KL of the mode histogram on the ring and the grid).
    docs/theory.md §8; docs/guide.md, "Evaluating a run".
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.spatial import KDTree

from gankit._arrays import ArrayLike
from gankit._validate import check_positive, check_samples
from gankit.divergences import kl
from gankit.errors import GankitError

if TYPE_CHECKING:
    from gankit.data.toy import ToyDistribution

# A sample within this many standard deviations of its nearest centre is high quality (VEEGAN).
HIGH_QUALITY_STDS = 3.0


def mode_stats(samples: ArrayLike, centres: ArrayLike, std: float) -> dict[str, Any]:
    """Mode coverage, sample quality and the reverse KL of the mode histogram.

    Args:
        samples: generated samples, shape (n, d) or (n,) for d = 1.
        centres: mode centres, shape (m, d) or (m,) for d = 1.
        std: the data set's scale; high quality means within ``3 * std`` of the nearest centre.

    Returns:
        ``modes_total`` (m), ``modes_covered``, ``high_quality_fraction``,
        ``reverse_kl_modes`` (KL(q ‖ u), natural log; ``log m`` when no sample is high
        quality) and ``mode_counts`` (high-quality samples per mode, a list of m ints).

    Raises:
        GankitError: empty or non-finite arrays, dimensions that differ, ``std <= 0``.

    Example:
        >>> stats = mode_stats([0.0, 0.1, 5.0, 9.0], [0.0, 5.0], std=0.1)
        >>> stats["mode_counts"], stats["high_quality_fraction"], stats["modes_covered"]
        ([2, 1], 0.75, 2)
        >>> round(stats["reverse_kl_modes"], 6)  # (2/3) log(4/3) + (1/3) log(2/3)
        0.056633
    """
    points = check_samples("samples", samples)  # (n, d)
    modes = check_samples("centres", centres)  # (m, d)
    if points.shape[1] != modes.shape[1]:
        raise GankitError(
            f"samples and centres must have the same dimension, got {points.shape[1]} "
            f"and {modes.shape[1]}"
        )
    std = check_positive("std", std)
    distance, nearest = KDTree(modes).query(points)  # (n,), (n,)
    high_quality = distance <= HIGH_QUALITY_STDS * std
    counts = np.bincount(nearest[high_quality], minlength=len(modes))  # (m,)
    if counts.sum() == 0:
        reverse_kl = math.log(len(modes))  # empty histogram: the supremum, see the module doc
    else:
        reverse_kl = float(kl(counts, np.ones(len(modes)), normalize=True))
    return {
        "modes_total": len(modes),
        "modes_covered": int(np.count_nonzero(counts)),
        "high_quality_fraction": float(high_quality.mean()),
        "reverse_kl_modes": reverse_kl,
        "mode_counts": counts.tolist(),
    }


def evaluate_toy(samples: ArrayLike, dataset: ToyDistribution, real: ArrayLike) -> dict[str, Any]:
    """Score generated samples of a toy set: the keys of ``gankit eval --json``.

    ``w1`` is the exact earth mover's distance between the generated and the real point
    clouds (uniform weights, Euclidean cost); ``sliced_w1`` averages W1 over 128 random
    directions (seed 0), so ``sliced_w1 <= w1``.

    Args:
        samples: generated samples, shape (n, dim) or (n,) for a 1-D set.
        dataset: the toy set; its ``centres`` and ``std`` score the samples.
        real: fresh samples of ``dataset``, shape (n', dim) (``gankit eval`` draws n' = n).

    Returns:
        ``modes_total``, ``modes_covered``, ``high_quality_fraction``, ``reverse_kl_modes``
        (see :func:`mode_stats`), ``w1``, ``sliced_w1``, ``n`` (generated samples) and
        ``mode_counts``.

    Raises:
        GankitError: empty or non-finite samples, or samples of the wrong dimension.
    """
    fake = check_samples("samples", samples)
    real_points = check_samples("real", real)
    for name, points in (("samples", fake), ("real", real_points)):
        if points.shape[1] != dataset.dim:
            raise GankitError(
                f"{name} must have dimension {dataset.dim} for {dataset.name}, "
                f"got {points.shape[1]}"
            )
    # Lazy: POT loads only when a run is evaluated.
    from gankit.wasserstein import sliced_wasserstein, wasserstein

    stats = mode_stats(fake, dataset.centres, dataset.std)
    return {
        "modes_total": stats["modes_total"],
        "modes_covered": stats["modes_covered"],
        "high_quality_fraction": stats["high_quality_fraction"],
        "reverse_kl_modes": stats["reverse_kl_modes"],
        "w1": float(wasserstein(fake, real_points, p=1)),
        "sliced_w1": float(sliced_wasserstein(fake, real_points, n_projections=128, p=1, seed=0)),
        "n": len(fake),
        "mode_counts": stats["mode_counts"],
    }
