"""The one validator module: checks at the boundary, messages that name what was wrong.

Every message names the parameter, the value and what was expected, on one line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np

from gankit._arrays import ArrayLike, is_torch, to_numpy
from gankit.errors import GankitError

# Probability vectors may be off by rounding; anything further is a user error.
NORMALISATION_TOL = 1e-6


def check_positive(name: str, value: Any, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float, or raise if it is not a finite number > 0 (>= 0)."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise GankitError(f"{name} must be a finite number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise GankitError(f"{name} must be {bound}, got {value!r}")
    return float(value)


def check_int(name: str, value: Any, *, minimum: int = 1) -> int:
    """Return ``value`` as an int, or raise if it is not an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise GankitError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise GankitError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_same_shape(name_a: str, a: ArrayLike, name_b: str, b: ArrayLike) -> None:
    """Raise when two arrays differ in shape."""
    if tuple(a.shape) != tuple(b.shape):
        raise GankitError(
            f"{name_a} and {name_b} must have the same shape, got {tuple(a.shape)} "
            f"and {tuple(b.shape)}"
        )


def check_finite(name: str, x: ArrayLike) -> None:
    """Raise when ``x`` holds NaN or infinity."""
    values = to_numpy(x)
    if np.isnan(values).any():
        raise GankitError(f"{name} contains NaN")
    if np.isinf(values).any():
        raise GankitError(f"{name} contains infinity")


def check_probability(name: str, x: ArrayLike, *, cell: float = 1.0) -> None:
    """Raise unless ``x`` is finite, non-negative and sums to 1 over its last axis.

    With ``cell`` (a grid's cell volume) ``x`` holds density values and ``sum(x) * cell``
    must be 1.
    """
    check_finite(name, x)
    values = to_numpy(x)
    if values.ndim == 0:
        raise GankitError(f"{name} must have at least one axis, got a scalar")
    if values.shape[-1] == 0:
        raise GankitError(f"{name} must not be empty")
    if (values < 0).any():
        raise GankitError(f"{name} has negative entries (min {values.min():.3g})")
    totals = values.sum(axis=-1) * cell
    worst = float(np.abs(totals - 1.0).max())
    if worst > NORMALISATION_TOL:
        what = "sum(density) * cell" if cell != 1.0 else "sum"
        raise GankitError(
            f"{name} is not normalised: {what} is {float(totals.flat[0]):.6g}, expected 1 "
            "(pass normalize=True to rescale)"
        )


def check_samples(name: str, x: ArrayLike) -> np.ndarray:
    """Return samples as a float64 array of shape (n, d); 1-D input becomes (n, 1)."""
    values = to_numpy(x)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise GankitError(f"{name} must have shape (n,) or (n, d), got {values.shape}")
    if values.shape[0] == 0:
        raise GankitError(f"{name} must hold at least one sample")
    check_finite(name, values)
    return values


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """Return ``value``, or raise if it is not one of ``choices`` (all listed in the message)."""
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise GankitError(f"{name} must be one of {listed}, got {value!r}")
    return value


def check_scores(name: str, x: Any) -> Any:
    """Return a batch of logits or critic scores as a 1-D tensor of shape (B,).

    Accepts a floating-point ``torch.Tensor`` of shape (B,) or (B, 1) with B >= 1. Only the
    shape and dtype are checked (no host sync), so this is cheap inside a training loop.
    """
    if not is_torch(x):
        raise GankitError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise GankitError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    shape = tuple(x.shape)
    if not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
        raise GankitError(f"{name} must have shape (B,) or (B, 1), got {shape}")
    if shape[0] == 0:
        raise GankitError(f"{name} must hold at least one score, got shape {shape}")
    return x.reshape(-1)


def check_number(name: str, value: Any) -> float:
    """Return ``value`` as a float, or raise if it is not a finite real number."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise GankitError(f"{name} must be a finite number, got {value!r}")
    return float(value)


# A covariance off by this (relative to its largest entry) is rounding, anything larger is input.
COVARIANCE_TOL = 1e-8


def check_gaussian(
    name_mu: str, mu: ArrayLike, name_cov: str, cov: ArrayLike, *, definite: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A Gaussian's mean (d,) and covariance (d, d), checked: scalars are a 1-D mean and its
    variance; the covariance must be symmetric (up to rounding, then symmetrised) and positive
    definite (``definite``) or semi-definite.

    Returns:
        ``(mu, cov, eigenvalues, eigenvectors)``, the eigenvalues clipped at 0.

    Example:
        >>> mu, cov, evals, _ = check_gaussian("mu", 0.0, "cov", 4.0, definite=True)
        >>> mu.tolist(), cov.tolist(), evals.tolist()
        ([0.0], [[4.0]], [4.0])
    """
    mu, cov = to_numpy(mu), to_numpy(cov)
    mu = mu.reshape(1) if mu.ndim == 0 else mu
    cov = cov.reshape(1, 1) if cov.ndim == 0 else cov
    if mu.ndim != 1 or mu.shape[0] == 0:
        raise GankitError(f"{name_mu} must be a scalar or have shape (d,), got {mu.shape}")
    d = mu.shape[0]
    if cov.shape != (d, d):
        raise GankitError(
            f"{name_cov} must have shape ({d}, {d}) to match the mean, got {cov.shape}"
        )
    check_finite(name_mu, mu)
    check_finite(name_cov, cov)
    tol = COVARIANCE_TOL * np.abs(cov).max()
    asymmetry = np.abs(cov - cov.T).max()
    if asymmetry > tol:
        raise GankitError(f"{name_cov} must be symmetric, got max |cov - cov.T| = {asymmetry:.3g}")
    cov = (cov + cov.T) / 2
    evals, evecs = np.linalg.eigh(cov)
    if definite and evals.min() <= 0:
        raise GankitError(f"{name_cov} must be positive definite, got eigenvalue {evals.min():.6g}")
    if evals.min() < -tol:
        raise GankitError(
            f"{name_cov} must be positive semi-definite, got eigenvalue {evals.min():.6g}"
        )
    return mu, cov, np.clip(evals, 0.0, None), evecs
