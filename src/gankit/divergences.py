"""f-divergences between discrete (or gridded) distributions, and the Gaussian KL.

``D_f(p || q) = sum_i q_i f(p_i / q_i)`` for a convex ``f`` with ``f(1) = 0``
(docs/theory.md §2; Csiszár 1967, Ali & Silvey 1966, Nowozin et al. 2016). Natural log.

Inputs are probability vectors (numpy arrays or torch tensors) reduced over the last axis,
so a batch of pairs gives an array of divergences. Torch inputs keep autograd. With
``cell=h`` the inputs are density values on a grid of cell volume ``h`` and the sum becomes
the Riemann sum ``h * sum_i q_i f(p_i / q_i)``.

Edge conventions (docs/theory.md §2): a cell with ``q = 0 < p`` contributes ``p * f'(inf)``
where ``f'(inf) = lim_{t->inf} f(t)/t``; a cell with ``p = 0 < q`` contributes ``q * f(0)``;
a cell with ``p = q = 0`` contributes nothing. So disjoint supports give KL = inf, JS = log 2
and TV = 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gankit import _arrays
from gankit._arrays import ArrayLike
from gankit._validate import check_gaussian, check_probability, check_same_shape
from gankit.errors import GankitError

__all__ = [
    "FGenerator",
    "GENERATORS",
    "f_divergence",
    "kl",
    "reverse_kl",
    "total_variation",
    "js",
    "js_distance",
    "pearson_chi2",
    "squared_hellinger",
    "gaussian_kl",
]

LOG2 = math.log(2.0)


@dataclass(frozen=True)
class FGenerator:
    """A convex generator ``f`` with ``f(1) = 0`` and its two limits at the support's edges.

    Attributes:
        name: short name, e.g. ``"kl"``.
        f: the function, applied elementwise to a numpy array or torch tensor of ratios > 0.
        at_zero: ``f(0) = lim_{t->0+} f(t)`` (may be ``inf``).
        slope_at_inf: ``f'(inf) = lim_{t->inf} f(t) / t`` (may be ``inf``).
    """

    name: str
    f: Callable[[Any], Any]
    at_zero: float
    slope_at_inf: float

    def __call__(self, t: Any) -> Any:
        return self.f(t)


def _log(t: Any) -> Any:
    return _arrays.xp(t).log(t)


def _sqrt(t: Any) -> Any:
    return _arrays.xp(t).sqrt(t)


def _abs(t: Any) -> Any:
    return _arrays.xp(t).abs(t)


# The table of docs/theory.md §2. Ratios reaching f are always > 0 (edges are handled separately).
GENERATORS: dict[str, FGenerator] = {
    g.name: g
    for g in (
        FGenerator("kl", lambda t: t * _log(t), at_zero=0.0, slope_at_inf=math.inf),
        FGenerator("reverse_kl", lambda t: -_log(t), at_zero=math.inf, slope_at_inf=0.0),
        FGenerator("total_variation", lambda t: 0.5 * _abs(t - 1), at_zero=0.5, slope_at_inf=0.5),
        FGenerator(
            "js",
            lambda t: 0.5 * t * _log(t) - 0.5 * (t + 1) * _log((t + 1) / 2),
            at_zero=0.5 * LOG2,
            slope_at_inf=0.5 * LOG2,
        ),
        FGenerator("pearson_chi2", lambda t: (t - 1) ** 2, at_zero=1.0, slope_at_inf=math.inf),
        FGenerator(
            "squared_hellinger", lambda t: (_sqrt(t) - 1) ** 2, at_zero=1.0, slope_at_inf=1.0
        ),
    )
}


def _edge_limits(f: Callable[[Any], Any]) -> tuple[float, float | None]:
    """``(f(0), f'(inf))`` for a generator; a plain callable gets ``f(0)`` evaluated, no slope."""
    if isinstance(f, FGenerator):
        return f.at_zero, f.slope_at_inf
    with np.errstate(all="ignore"):
        at_zero = float(np.asarray(f(np.array(0.0))))
    return at_zero, None


def _prepare(p: ArrayLike, q: ArrayLike, cell: float, normalize: bool) -> tuple[Any, Any]:
    """Validate and (when asked) normalise ``p`` and ``q``; returns arrays of one backend."""
    if _arrays.is_torch(q) and not _arrays.is_torch(p):
        p = _arrays.as_array(p, like=q)
    p = _arrays.as_array(p)
    q = _arrays.as_array(q, like=p)
    check_same_shape("p", p, "q", q)
    if not (isinstance(cell, (int, float)) and math.isfinite(cell) and cell > 0):
        raise GankitError(f"cell must be a finite number > 0, got {cell!r}")
    if normalize:
        for name, x in (("p", p), ("q", q)):
            values = _arrays.to_numpy(x)
            if np.isnan(values).any() or (values < 0).any():
                check_probability(name, x)  # raises with the precise reason
            if (values.sum(axis=-1) <= 0).any():
                raise GankitError(f"{name} has zero total mass and cannot be normalised")
        p = p / (_arrays.sum_last(p)[..., None] * cell)
        q = q / (_arrays.sum_last(q)[..., None] * cell)
    check_probability("p", p, cell=cell)
    check_probability("q", q, cell=cell)
    return p, q


def f_divergence(
    p: ArrayLike,
    q: ArrayLike,
    f: Callable[[Any], Any],
    *,
    cell: float = 1.0,
    normalize: bool = False,
    slope_at_inf: float | None = None,
) -> Any:
    """The f-divergence ``D_f(p || q) = sum_i q_i f(p_i / q_i)``.

    Args:
        p: probabilities, shape ``[..., n]`` (numpy or torch); with ``cell``, density values.
        q: same shape as ``p``.
        f: convex with ``f(1) = 0``, elementwise on arrays: an :class:`FGenerator` from
            :data:`GENERATORS` or any callable written with the backend's own functions.
        cell: the grid's cell volume when ``p`` and ``q`` are density values on a grid.
        normalize: rescale ``p`` and ``q`` to total mass 1 instead of rejecting them.
        slope_at_inf: ``lim_{t->inf} f(t)/t``, needed for a plain callable only when some
            cell has ``q = 0 < p``.

    Returns:
        A float (one pair) or an array/tensor of shape ``[...]`` (a batch).

    Raises:
        ValueError: mismatched shapes, NaN or infinity, negative entries, or a vector that
            does not sum to 1 (unless ``normalize``).

    References:
        Csiszár 1967; Nowozin et al. 2016, f-GAN, Table 1; docs/theory.md §2.

    Example:
        >>> round(f_divergence([0.5, 0.5], [0.25, 0.75], lambda t: (t - 1) ** 2), 12)
        0.333333333333
    """
    p, q = _prepare(p, q, cell, normalize)
    at_zero, slope = _edge_limits(f)
    if slope_at_inf is not None:
        slope = float(slope_at_inf)
    p_pos, q_pos = p > 0, q > 0
    # Double-where: f only ever sees ratios of cells where both are positive (others get
    # ratio 1), so no NaN or inf can leak into the values or the autograd graph.
    both = p_pos & q_pos
    one = _arrays.full_like(p, 1.0)
    ratio = _arrays.xp(p).where(both, p, one) / _arrays.xp(p).where(both, q, one)
    inner = _arrays.xp(p).where(both, q * f(ratio), 0 * p)
    only_p = p_pos & ~q_pos
    only_q = q_pos & ~p_pos
    if bool(only_p.any()):
        if slope is None:
            raise GankitError(
                "q is 0 where p > 0; pass slope_at_inf = lim f(t)/t for this callable f"
            )
        inner = inner + _edge_term(p, only_p, slope)
    if bool(only_q.any()):
        inner = inner + _edge_term(q, only_q, at_zero)
    return _arrays.finish(_arrays.sum_last(inner) * cell)


def _edge_term(mass: Any, mask: Any, limit: float) -> Any:
    """``mass * limit`` on ``mask``, 0 elsewhere (``0 * inf`` counts as 0)."""
    if math.isinf(limit):
        return _arrays.xp(mass).where(mask, _arrays.full_like(mass, limit), 0 * mass)
    return _arrays.xp(mass).where(mask, mass * limit, 0 * mass)


def kl(p: ArrayLike, q: ArrayLike, *, cell: float = 1.0, normalize: bool = False) -> Any:
    """Kullback–Leibler divergence ``KL(p || q) = sum p log(p/q)``; ``f(t) = t log t``.

    Infinite when ``q = 0 < p`` somewhere. Kullback & Leibler 1951; docs/theory.md §2.

    Example:
        >>> round(kl([1.0, 0.0], [0.5, 0.5]), 12) == round(math.log(2), 12)
        True
    """
    return f_divergence(p, q, GENERATORS["kl"], cell=cell, normalize=normalize)


def reverse_kl(p: ArrayLike, q: ArrayLike, *, cell: float = 1.0, normalize: bool = False) -> Any:
    """Reverse KL, ``KL(q || p) = sum q log(q/p)``; ``f(t) = -log t``. docs/theory.md §2.

    Example:
        >>> reverse_kl([1.0, 0.0], [0.5, 0.5])
        inf
    """
    return f_divergence(p, q, GENERATORS["reverse_kl"], cell=cell, normalize=normalize)


def total_variation(
    p: ArrayLike, q: ArrayLike, *, cell: float = 1.0, normalize: bool = False
) -> Any:
    """Total variation ``TV(p, q) = 1/2 sum abs(p - q)``, in [0, 1]; ``f(t) = abs(t - 1)/2``.

    Example:
        >>> total_variation([1.0, 0.0], [0.0, 1.0])
        1.0
    """
    return f_divergence(p, q, GENERATORS["total_variation"], cell=cell, normalize=normalize)


def js(p: ArrayLike, q: ArrayLike, *, cell: float = 1.0, normalize: bool = False) -> Any:
    """Jensen–Shannon divergence ``JS = KL(p || m)/2 + KL(q || m)/2``, ``m = (p + q)/2``.

    In [0, log 2] (natural log); ``log 2`` exactly when the supports are disjoint. This is the
    divergence itself, not scipy's ``jensenshannon`` (which returns its square root).
    Lin 1991; Goodfellow et al. 2014; docs/theory.md §2.

    Example:
        >>> js([1.0, 0.0], [0.0, 1.0]) == math.log(2)
        True
    """
    return f_divergence(p, q, GENERATORS["js"], cell=cell, normalize=normalize)


def js_distance(p: ArrayLike, q: ArrayLike, *, cell: float = 1.0, normalize: bool = False) -> Any:
    """The Jensen–Shannon distance ``sqrt(JS(p, q))``, a metric (Endres & Schindelin 2003).

    Example:
        >>> js_distance([0.5, 0.5], [0.5, 0.5])
        0.0
    """
    value = js(p, q, cell=cell, normalize=normalize)
    # Clamp rounding below zero before the root (JS >= 0 exactly).
    if _arrays.is_torch(value):
        return value.clamp_min(0.0).sqrt()
    return _arrays.finish(np.sqrt(np.maximum(value, 0.0)))


def pearson_chi2(p: ArrayLike, q: ArrayLike, *, cell: float = 1.0, normalize: bool = False) -> Any:
    """Pearson chi-squared ``sum (p - q)^2 / q``; ``f(t) = (t - 1)^2``. Pearson 1900.

    Example:
        >>> round(pearson_chi2([0.5, 0.5], [0.25, 0.75]), 12)
        0.333333333333
    """
    return f_divergence(p, q, GENERATORS["pearson_chi2"], cell=cell, normalize=normalize)


def squared_hellinger(
    p: ArrayLike, q: ArrayLike, *, cell: float = 1.0, normalize: bool = False
) -> Any:
    """Squared Hellinger ``sum (sqrt p - sqrt q)^2``, in [0, 2]; ``f(t) = (sqrt t - 1)^2``.

    Example:
        >>> squared_hellinger([1.0, 0.0], [0.0, 1.0])
        2.0
    """
    return f_divergence(p, q, GENERATORS["squared_hellinger"], cell=cell, normalize=normalize)


def gaussian_kl(mu1: ArrayLike, cov1: ArrayLike, mu2: ArrayLike, cov2: ArrayLike) -> float:
    """``KL(N(mu1, cov1) || N(mu2, cov2))`` in closed form.

    ``1/2 [tr(S2^-1 S1) + (mu2 - mu1)^T S2^-1 (mu2 - mu1) - k + log det S2 - log det S1]``.

    Args:
        mu1, mu2: means, shape ``(k,)`` or scalars.
        cov1, cov2: covariances, shape ``(k, k)``, symmetric positive definite; scalars
            are variances of 1-D Gaussians.

    Raises:
        ValueError: shapes that disagree, or a covariance that is not symmetric positive
            definite.

    Example:
        >>> round(gaussian_kl(0.0, 1.0, 1.0, 1.0), 12)
        0.5
    """
    m1, s1, _, _ = check_gaussian("mu1", mu1, "cov1", cov1, definite=True)
    m2, s2, _, _ = check_gaussian("mu2", mu2, "cov2", cov2, definite=True)
    if m1.shape != m2.shape:
        raise GankitError(f"mu1 and mu2 must have the same shape, got {m1.shape} and {m2.shape}")
    chol2 = np.linalg.cholesky(s2)
    diff = np.linalg.solve(chol2, m2 - m1)
    trace = np.trace(np.linalg.solve(s2, s1))
    logdet = 2 * (np.log(np.diag(chol2)).sum() - np.log(np.diag(np.linalg.cholesky(s1))).sum())
    return float(0.5 * (trace + diff @ diff - m1.size + logdet))
