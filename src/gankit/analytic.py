"""Exact values of the worked examples of docs/theory.md §4 (Arjovsky et al. 2017, Example 1).

Both examples return a dict with the keys ``"js"``, ``"kl"``, ``"reverse_kl"``, ``"tv"`` and
``"w1"``; ``kl`` is ``KL(p || p_theta)`` and ``reverse_kl`` is ``KL(p_theta || p)``.
"""

from __future__ import annotations

import math
from numbers import Real

from gankit.errors import GankitError

__all__ = ["shifted_uniforms", "parallel_segments"]

LOG2 = math.log(2.0)


def _theta(theta: object) -> float:
    if isinstance(theta, bool) or not isinstance(theta, Real) or not math.isfinite(theta):
        raise GankitError(f"theta must be a finite number, got {theta!r}")
    return float(theta)


def shifted_uniforms(theta: float) -> dict[str, float]:
    """``p = U[0, 1]`` against ``p_theta = U[theta, theta + 1]`` on the real line.

    With overlap ``1 - abs(theta)`` (for ``abs(theta) <= 1``): ``JS = min(abs(theta), 1) log 2``,
    ``TV = min(abs(theta), 1)``, ``KL = reverse KL = inf`` for ``theta != 0`` (each puts mass
    where the other has none), and ``W1 = abs(theta)`` for every theta.

    Example:
        >>> shifted_uniforms(0.5)["js"] == 0.5 * math.log(2)
        True
        >>> shifted_uniforms(3.0)["w1"]
        3.0
    """
    shift = abs(_theta(theta))
    apart = 0.0 if shift == 0 else math.inf
    return {
        "js": min(shift, 1.0) * LOG2,
        "kl": apart,
        "reverse_kl": apart,
        "tv": min(shift, 1.0),
        "w1": shift,
    }


def parallel_segments(theta: float) -> dict[str, float]:
    """``p`` uniform on ``{0} x [0, 1]`` against ``p_theta`` uniform on ``{theta} x [0, 1]``.

    The segments meet only when ``theta = 0``: ``JS = 0`` there and ``log 2`` elsewhere
    (lecture notes often print the two cases swapped), ``KL = inf`` and ``TV = 1`` for
    ``theta != 0``, while ``W1 = abs(theta)`` is continuous.

    Example:
        >>> parallel_segments(0.0)["js"], parallel_segments(1e-9)["js"] == math.log(2)
        (0.0, True)
    """
    shift = abs(_theta(theta))
    if shift == 0:
        return {"js": 0.0, "kl": 0.0, "reverse_kl": 0.0, "tv": 0.0, "w1": 0.0}
    return {"js": LOG2, "kl": math.inf, "reverse_kl": math.inf, "tv": 1.0, "w1": shift}
