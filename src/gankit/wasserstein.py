"""Wasserstein distances: exact in 1-D, exact between point clouds, sliced, Gaussian.

``W_p(P, Q) = (inf_{γ ∈ Π(P, Q)} E_{(x, y) ~ γ} ‖x − y‖^p)^(1/p)`` over the couplings Π of P
and Q (Kantorovich's relaxation of Monge's problem). Every function returns W_p itself, the
p-th root, never W_p^p. With p = 1 this is the earth mover's distance that WGAN estimates.

References:
    L. Kantorovich, "On the translocation of masses", 1942.
    docs/theory.md §5 (Wasserstein distance).
"""

from __future__ import annotations

import math
import warnings
from concurrent.futures import ThreadPoolExecutor
from numbers import Real

import numpy as np
import ot
import torch
from scipy.spatial.distance import cdist

from gankit._arrays import ArrayLike, to_numpy
from gankit._validate import check_finite, check_gaussian, check_int, check_samples
from gankit.errors import GankitError

__all__ = ["wasserstein_1d", "wasserstein", "sliced_wasserstein", "gaussian_w2"]

# Float64 bit patterns read as int64 sort like the floats once negatives flip their low 63 bits.
_LOW63 = np.int64(0x7FFF_FFFF_FFFF_FFFF)
# torch radix-sorts 1-D integer tensors only when built with fbgemm (x86) and from 32768
# elements on (at::internal::GRAIN_SIZE); elsewhere numpy's sort is the faster one.
_TORCH_RADIX = "fbgemm" in torch.backends.quantized.supported_engines
_RADIX_MIN = 32_768
# Project and sort about this many values per task: ~1 MB per cloud, so a task stays in L2.
_BLOCK = 2**17


def _check_p(p: float) -> float:
    if isinstance(p, bool) or not isinstance(p, Real) or not math.isfinite(p) or p < 1:
        raise GankitError(f"p must be a finite number >= 1 (W_p is a metric only then), got {p!r}")
    return float(p)


def _check_same_dim(x: np.ndarray, y: np.ndarray) -> None:
    if x.shape[1] != y.shape[1]:
        raise GankitError(f"x and y must have the same dimension d, got x {x.shape}, y {y.shape}")


def _samples_1d(name: str, x: ArrayLike) -> np.ndarray:
    values = check_samples(name, x)
    if values.shape[1] != 1:
        raise GankitError(f"{name} must have shape (n,) or (n, 1), got {values.shape}")
    return values[:, 0]


def _cumulative(name: str, weights: ArrayLike | None, order: np.ndarray) -> np.ndarray:
    """Right ends of the quantile function's steps for samples sorted by ``order``; ends at 1."""
    n = len(order)
    if weights is None:
        return np.arange(1, n + 1) / n  # i/n correctly rounded: equal fractions stay equal
    w = to_numpy(weights)
    if w.shape != (n,):
        raise GankitError(f"{name} must have shape ({n},) to match the samples, got {w.shape}")
    check_finite(name, w)
    if (w < 0).any():
        raise GankitError(f"{name} must be non-negative, got min {w.min():.6g}")
    c = np.cumsum(w[order])
    if c[-1] <= 0:
        raise GankitError(f"{name} must have a positive sum, got {c[-1]:.6g}")
    return c / c[-1]  # exactly 1 at the end, and still non-decreasing after rounding


def _quantile_grid(cx: np.ndarray, cy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lengths du and indices ix, iy: on each merged step F^{-1} = xs[ix], G^{-1} = ys[iy]."""
    u = np.sort(np.concatenate([cx, cy]))
    du = np.diff(u, prepend=0.0)
    keep = du > 0
    u, du = u[keep], du[keep]
    # F^{-1}(u) = xs[i] for the first i with cx[i] >= u; constant on (u_{k-1}, u_k].
    ix = np.minimum(np.searchsorted(cx, u, side="left"), len(cx) - 1)
    iy = np.minimum(np.searchsorted(cy, u, side="left"), len(cy) - 1)
    return du, ix, iy


def _wpp_sorted(xs: np.ndarray, ys: np.ndarray, grid: tuple | None, p: float) -> np.ndarray:
    """W_p^p between sorted rows xs (..., n) and ys (..., m); grid None means n == m, uniform."""
    if grid is None:
        cost = np.abs(xs - ys)
    else:
        _, ix, iy = grid
        cost = np.abs(xs[..., ix] - ys[..., iy])
    if p != 1:
        cost **= p
    return cost.mean(axis=-1) if grid is None else cost @ grid[0]


def _sort_rows(a: np.ndarray) -> np.ndarray:
    """Sort each row of the C-contiguous float64 array ``a`` (b, n) in place, exactly.

    Why not always ``np.sort``: torch radix-sorts long 1-D int64 tensors faster than numpy
    sorts float64 (1.4 vs 4.0 ms for 100,000 values on an AVX-512 AMD EPYC), and the
    order-preserving int64 keys round-trip bit for bit.
    """
    if not _TORCH_RADIX or a.shape[1] < _RADIX_MIN:
        a.sort(axis=1)
        return a
    keys = a.view(np.int64)
    keys ^= (keys >> 63) & _LOW63  # negatives flip their low 63 bits: int order == float order
    for row in torch.from_numpy(keys):
        row.copy_(torch.sort(row).values)
    keys ^= (keys >> 63) & _LOW63  # the same flip undoes itself
    return a


def _generator(seed: int | np.random.Generator | None) -> np.random.Generator:
    if seed is None or isinstance(seed, np.random.Generator):
        return np.random.default_rng(seed)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise GankitError(f"seed must be an int >= 0, a numpy Generator or None, got {seed!r}")
    return np.random.default_rng(int(seed))


def wasserstein_1d(
    x: ArrayLike,
    y: ArrayLike,
    p: float = 1,
    *,
    x_weights: ArrayLike | None = None,
    y_weights: ArrayLike | None = None,
) -> float:
    """Exact W_p between two 1-D samples, through their quantile functions.

    ``W_p^p = ∫_0^1 |F^{-1}(u) − G^{-1}(u)|^p du``, evaluated exactly: both quantile functions
    are step functions, constant between the merged breakpoints of the cumulative weights.

    Args:
        x: samples of P, shape (n,) or (n, 1); numpy array or torch tensor.
        y: samples of Q, shape (m,) or (m, 1).
        p: order, >= 1.
        x_weights: non-negative weights of x, shape (n,), normalised here; uniform if None.
        y_weights: non-negative weights of y, shape (m,).

    Returns:
        W_p(P, Q) as a float (the p-th root of the integral).

    Raises:
        GankitError: empty, NaN or wrongly shaped samples or weights, negative weights, p < 1.

    References:
        Kantorovich 1942; docs/theory.md §5 ("1-D").

    Example:
        >>> wasserstein_1d([0.0, 1.0], [1.0, 2.0])
        1.0
    """
    x, y, p = _samples_1d("x", x), _samples_1d("y", y), _check_p(p)
    ox, oy = np.argsort(x), np.argsort(y)
    cx, cy = _cumulative("x_weights", x_weights, ox), _cumulative("y_weights", y_weights, oy)
    xs, ys = x[ox], y[oy]
    uniform_square = x_weights is None and y_weights is None and len(xs) == len(ys)
    grid = None if uniform_square else _quantile_grid(cx, cy)
    return float(_wpp_sorted(xs, ys, grid, p)) ** (1 / p)


def wasserstein(
    x: ArrayLike, y: ArrayLike, p: float = 1, *, num_iter_max: int = 100_000_000
) -> float:
    """Exact W_p between two point clouds with uniform weights, by POT's network simplex.

    ``W_p^p = min_{γ ≥ 0, γ1 = 1/n, γᵀ1 = 1/m} Σ_ij γ_ij ‖x_i − y_j‖₂^p``. The cost is the
    Euclidean distance to the power p, not POT's default squared distance (which gives W2²).

    Args:
        x: points of P, shape (n, d) or (n,); numpy array or torch tensor.
        y: points of Q, shape (m, d) or (m,).
        p: order, >= 1.
        num_iter_max: the network simplex's iteration limit.

    Returns:
        W_p(P, Q) as a float.

    Raises:
        GankitError: empty, NaN or wrongly shaped input, different dimensions, p < 1.
        RuntimeError: the solver stopped before optimality (raise ``num_iter_max``).

    References:
        Kantorovich 1942; Bonneel et al., "Displacement interpolation using Lagrangian mass
        transport", 2011 (the solver); docs/theory.md §5.

    Example:
        >>> wasserstein([[0.0, 0.0], [1.0, 0.0]], [[3.0, 4.0], [4.0, 4.0]])
        5.0
    """
    x, y, p = check_samples("x", x), check_samples("y", y), _check_p(p)
    _check_same_dim(x, y)
    num_iter_max = check_int("num_iter_max", num_iter_max)
    # cdist: the same cost as ot.dist(metric="euclidean"), from exact differences and faster.
    cost = np.ascontiguousarray(cdist(x, y, metric="euclidean"))
    if p != 1:
        cost **= p
    a, b = np.full(len(x), 1 / len(x)), np.full(len(y), 1 / len(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # POT warns; result_code says the same
        value, log = ot.emd2(a, b, cost, numItermax=num_iter_max, log=True)
    if log["result_code"] != 1:
        raise RuntimeError(
            f"exact Wasserstein solver did not converge ({log['warning']}); "
            f"num_iter_max={num_iter_max} for {len(x)} x {len(y)} points, raise it"
        )
    return max(float(value), 0.0) ** (1 / p)


def sliced_wasserstein(
    x: ArrayLike,
    y: ArrayLike,
    n_projections: int = 128,
    p: float = 1,
    *,
    seed: int | np.random.Generator | None = 0,
) -> float:
    """Sliced W_p: the 1-D distance of projections, averaged over random directions.

    ``SW_p(P, Q) = (E_{θ ~ U(S^{d−1})} W_p^p(θᵀx, θᵀy))^(1/p)``, estimated with
    ``n_projections`` directions (normalised Gaussian draws), with no dimension factor, so for
    1-D inputs (θ = ±1) it equals :func:`wasserstein_1d`. Each projection is exact.

    Args:
        x: points of P, shape (n, d) or (n,); numpy array or torch tensor.
        y: points of Q, shape (m, d) or (m,); n and m may differ.
        n_projections: number of directions L, >= 1.
        p: order, >= 1.
        seed: int, numpy Generator or None (fresh entropy) for the directions.

    Returns:
        The estimate of SW_p(P, Q) as a float.

    Raises:
        GankitError: empty, NaN or wrongly shaped input, different dimensions, p < 1,
            n_projections < 1, a bad seed.

    References:
        Bonneel, Rabin, Peyré and Pfister, "Sliced and Radon Wasserstein barycenters of
        measures", 2015; docs/theory.md §5.

    Example:
        >>> sliced_wasserstein([0.0, 1.0], [1.0, 2.0])
        1.0
    """
    x, y, p = check_samples("x", x), check_samples("y", y), _check_p(p)
    _check_same_dim(x, y)
    n_projections = check_int("n_projections", n_projections)
    L, (n, m) = n_projections, (len(x), len(y))
    theta = _generator(seed).standard_normal((L, x.shape[1]))
    theta /= np.linalg.norm(theta, axis=1, keepdims=True)  # (L, d), uniform on the sphere
    grid = None if n == m else _quantile_grid(np.arange(1, n + 1) / n, np.arange(1, m + 1) / m)
    workers = torch.get_num_threads()
    rows = max(1, min(_BLOCK // max(n, m), -(-L // workers)))  # directions per task

    def block_wpp(t: np.ndarray) -> np.ndarray:  # W_p^p of the projections on t (b, d): (b,)
        return _wpp_sorted(_sort_rows(t @ x.T), _sort_rows(t @ y.T), grid, p)

    # Blocks of directions go to threads: numpy and torch release the GIL while sorting.
    with ThreadPoolExecutor(max_workers=workers) as pool:
        wpp = np.concatenate(list(pool.map(block_wpp, np.split(theta, range(rows, L, rows)))))
    return float(np.mean(wpp)) ** (1 / p)


def gaussian_w2(mu1: ArrayLike, cov1: ArrayLike, mu2: ArrayLike, cov2: ArrayLike) -> float:
    """Closed-form W2 between two Gaussians N(mu1, cov1) and N(mu2, cov2).

    ``W2² = ‖μ1 − μ2‖² + tr(Σ1 + Σ2 − 2 (Σ2^½ Σ1 Σ2^½)^½)``, with symmetric PSD square roots.
    In 1-D (scalars: mean and variance) this is ``sqrt((m1 − m2)² + (s1 − s2)²)``.

    Args:
        mu1: mean of the first Gaussian, shape (d,) or a scalar.
        cov1: its covariance, shape (d, d), or a variance for a scalar mean.
        mu2: mean of the second Gaussian, shape (d,) or a scalar.
        cov2: its covariance, shape (d, d) or a scalar.

    Returns:
        W2 (not squared) as a float.

    Raises:
        GankitError: wrong shapes, different dimensions, NaN, asymmetric or not PSD covariance.

    References:
        Dowson and Landau, "The Fréchet distance between multivariate normal distributions",
        1982; Givens and Shortt, "A class of Wasserstein metrics for probability
        distributions", 1984; docs/theory.md §5 ("Gaussians").

    Example:
        >>> gaussian_w2(0.0, 1.0, 4.0, 16.0)
        5.0
    """
    mu1, cov1, _, _ = check_gaussian("mu1", mu1, "cov1", cov1, definite=False)
    mu2, cov2, evals2, evecs2 = check_gaussian("mu2", mu2, "cov2", cov2, definite=False)
    if mu1.shape != mu2.shape:
        raise GankitError(
            f"mu1 and mu2 must have the same dimension, got {mu1.shape} and {mu2.shape}"
        )
    root2 = (evecs2 * np.sqrt(evals2)) @ evecs2.T  # Σ2^½
    inner = root2 @ cov1 @ root2
    cross = np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0.0, None)).sum()
    w2_squared = np.sum((mu1 - mu2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2 * cross
    return math.sqrt(max(float(w2_squared), 0.0))
