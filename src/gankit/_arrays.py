"""The numpy/torch boundary: one place that knows which backend an array belongs to.

Library functions accept ``numpy.ndarray`` or ``torch.Tensor``; numpy inputs are computed
in float64, torch inputs keep their dtype, device and autograd graph.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import numpy as np

try:  # torch is a dependency, but keep numpy-only use working without importing it eagerly
    import torch
except ImportError:  # pragma: no cover - torch is required by pyproject
    torch = None  # type: ignore[assignment]

ArrayLike: TypeAlias = Any  # np.ndarray | torch.Tensor | nested sequences of floats


def is_torch(x: object) -> bool:
    """True when ``x`` is a ``torch.Tensor``."""
    return torch is not None and isinstance(x, torch.Tensor)


def as_array(x: ArrayLike, like: ArrayLike | None = None) -> ArrayLike:
    """Return ``x`` as a float tensor (when ``x`` or ``like`` is torch) or a float64 ndarray."""
    if is_torch(x):
        return x if x.is_floating_point() else x.double()
    if like is not None and is_torch(like):
        return torch.as_tensor(
            np.asarray(x, dtype=np.float64), dtype=like.dtype, device=like.device
        )
    return np.asarray(x, dtype=np.float64)


def to_numpy(x: ArrayLike) -> np.ndarray:
    """A float64 numpy copy of ``x`` (detached from any autograd graph)."""
    if is_torch(x):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def xp(x: ArrayLike) -> Any:
    """The array namespace of ``x``: the ``torch`` module for tensors, ``numpy`` otherwise."""
    return torch if is_torch(x) else np


def sum_last(x: ArrayLike) -> ArrayLike:
    """Sum over the last axis, in either backend."""
    return x.sum(dim=-1) if is_torch(x) else x.sum(axis=-1)


def full_like(x: ArrayLike, value: float) -> ArrayLike:
    """An array shaped like ``x`` filled with ``value``, in ``x``'s backend."""
    return torch.full_like(x, value) if is_torch(x) else np.full_like(x, value)


def finish(x: ArrayLike) -> Any:
    """Return a 0-d numpy result as a Python float; anything else unchanged."""
    if isinstance(x, np.ndarray) and x.ndim == 0:
        return float(x)
    if isinstance(x, np.floating):
        return float(x)
    return x
