"""Toy distributions on R¹ and R²: the mixtures, roll and segments that GAN papers test on.

Each set is a frozen dataclass whose fields are its spec keys (the defaults live there, once).
It knows its mode ``centres`` and the scale ``std`` that scores samples (a sample is high
quality within ``3 * std`` of its nearest centre, see :mod:`gankit.metrics.toy`), and it draws
samples only from the ``torch.Generator`` it is given, so sampling is reproducible and resumable.

References:
    Srivastava et al. 2017, VEEGAN, §5.1 (ring: 8 modes, radius 2, std 0.02; grid: 5 × 5,
    std 0.05). Gulrajani et al. 2017, Improved Training of Wasserstein GANs, toy code (swiss
    roll with noise 0.25, divided by 7.5). docs/theory.md §4 (parallel segments).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import Field, dataclass, field, fields
from numbers import Real
from typing import Any, ClassVar

import numpy as np
import torch
from scipy.special import logsumexp

from gankit._arrays import ArrayLike
from gankit._validate import check_int, check_number, check_positive, check_samples
from gankit.data.spec import format_spec, parse_spec, parse_value
from gankit.errors import GankitError


def _param(default: Any, kind: str, *, key: str | None = None) -> Any:
    """A dataclass field that is also a spec key; ``kind`` says how its text parses."""
    return field(default=default, metadata={"kind": kind, "key": key})


def _spec_key(f: Field[Any]) -> str:
    return f.metadata.get("key") or f.name


def _resolve(obj: object, **values: Any) -> None:
    """Store checked values on a frozen dataclass (only ever called from ``__post_init__``)."""
    for name, value in values.items():
        object.__setattr__(obj, name, value)


def _numbers(name: str, values: Any, check: Callable[[str, Any], float]) -> tuple[float, ...]:
    """A number or a sequence of numbers as a tuple of floats, each passed through ``check``."""
    if isinstance(values, Real):
        values = (values,)
    if isinstance(values, str) or not hasattr(values, "__iter__"):
        raise GankitError(f"{name} must be a number or a sequence of numbers, got {values!r}")
    items = tuple(values)
    if not items:
        raise GankitError(f"{name} must hold at least one number, got {values!r}")
    labels = [f"{name}[{i}]" for i in range(len(items))] if len(items) > 1 else [name]
    return tuple(check(label, item) for label, item in zip(labels, items, strict=True))


@dataclass(frozen=True)
class ToyDistribution(ABC):
    """A toy distribution with known mode centres; subclasses' fields are their spec keys."""

    name: ClassVar[str]
    dim: ClassVar[int]

    @property
    def spec(self) -> str:
        """The canonical spec with every parameter resolved: ``make_toy(d.spec) == d``."""
        return format_spec(self.name, {_spec_key(f): getattr(self, f.name) for f in fields(self)})

    @property
    @abstractmethod
    def centres(self) -> np.ndarray:
        """Mode centres, shape (m, dim), float64."""

    @property
    @abstractmethod
    def std(self) -> float:
        """The scoring scale: a sample is high quality within ``3 * std`` of its nearest centre."""

    @property
    def n_classes(self) -> int:
        """Classes a conditional model can ask for: the mixtures' components (the mode
        index is the class); 0 for a set without modes."""
        return 0

    def sample(self, n: int, rng: torch.Generator) -> torch.Tensor:
        """Draw ``n`` samples using only ``rng``: shape (n, dim), float32, on its device."""
        return self._sample(_checked(n, rng), rng)

    def sample_labelled(self, n: int, rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` samples and their classes (n,) int64, using only ``rng`` (the same samples as
        :meth:`sample` with the same ``rng`` state).

        Raises:
            GankitError: the set has no classes (no modes).
        """
        if not self.n_classes:
            raise GankitError(f"{self.name} has no modes, so no classes")
        return self._sample_labelled(_checked(n, rng), rng)

    def draw_labels(self, n: int, rng: torch.Generator) -> torch.Tensor:
        """``n`` classes (n,) int64 drawn as the set draws them (mixture weights)."""
        return self.sample_labelled(n, rng)[1]

    def _sample_labelled(self, n: int, rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        raise GankitError(f"{self.name} has no modes, so no classes")

    def log_density(self, x: ArrayLike) -> np.ndarray:
        """``log p(x)`` for points of shape (n, dim) ((n,) also when dim is 1); shape (n,)."""
        points = check_samples("x", x)
        if points.shape[1] != self.dim:
            raise GankitError(
                f"x must have dimension {self.dim} for {self.name}, got {points.shape[1]}"
            )
        return self._log_density(points)

    def _sample(self, n: int, rng: torch.Generator) -> torch.Tensor:
        return self._sample_labelled(n, rng)[0]  # a set without modes overrides this

    @abstractmethod
    def _log_density(self, points: np.ndarray) -> np.ndarray: ...


class _GaussianMixture(ToyDistribution):
    """``p(x) = Σ_k w_k N(x; c_k, σ_k² I)``: the sampler and density of ring, grid and gmm1d."""

    def _scales(self) -> np.ndarray:
        """σ_k, shape (m,); equal to ``std`` unless a subclass says otherwise."""
        return np.full(len(self.centres), self.std)

    def _weights(self) -> np.ndarray:
        """w_k, shape (m,), summing to 1; equal unless a subclass says otherwise."""
        m = len(self.centres)
        return np.full(m, 1.0 / m)

    @property
    def n_classes(self) -> int:
        return len(self.centres)

    def _sample_labelled(self, n: int, rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        device = rng.device
        weights = torch.as_tensor(self._weights(), device=device)
        k = torch.multinomial(weights, n, replacement=True, generator=rng)  # (n,)
        noise = torch.randn(n, self.dim, generator=rng, device=device, dtype=torch.float32)
        centres = torch.as_tensor(self.centres, dtype=torch.float32, device=device)  # (m, dim)
        scales = torch.as_tensor(self._scales(), dtype=torch.float32, device=device)  # (m,)
        return centres[k] + scales[k, None] * noise, k

    def _log_density(self, points: np.ndarray) -> np.ndarray:
        scales = self._scales()  # (m,)
        squared = ((points[:, None, :] - self.centres[None, :, :]) ** 2).sum(axis=-1)  # (n, m)
        log_normal = -0.5 * squared / scales**2 - self.dim * np.log(math.sqrt(2 * math.pi) * scales)
        # logsumexp: far from every centre each term underflows to 0, its log does not
        return np.asarray(logsumexp(log_normal + np.log(self._weights()), axis=1))


@dataclass(frozen=True)
class Ring(_GaussianMixture):
    """``modes`` equal Gaussians ``N(c_k, std² I)``, ``c_k = radius (cos 2πk/m, sin 2πk/m)``.

    Example:
        >>> Ring().spec
        'ring:modes=8,radius=2.0,std=0.02'
    """

    name: ClassVar[str] = "ring"
    dim: ClassVar[int] = 2
    modes: int = _param(8, "int")  # VEEGAN's 2-D ring
    radius: float = _param(2.0, "float")
    std: float = _param(0.02, "float")

    def __post_init__(self) -> None:
        _resolve(
            self,
            modes=check_int("modes", self.modes),
            radius=check_positive("radius", self.radius),
            std=check_positive("std", self.std),
        )

    @property
    def centres(self) -> np.ndarray:
        angles = 2 * np.pi * np.arange(self.modes) / self.modes
        return self.radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


@dataclass(frozen=True)
class Grid(_GaussianMixture):
    """``side²`` equal Gaussians ``N(c, std² I)``, ``c = ((i, j) − (side − 1)/2) · spacing``."""

    name: ClassVar[str] = "grid"
    dim: ClassVar[int] = 2
    side: int = _param(5, "int")  # VEEGAN's 2-D grid: 25 modes
    spacing: float = _param(2.0, "float")
    std: float = _param(0.05, "float")

    def __post_init__(self) -> None:
        _resolve(
            self,
            side=check_int("side", self.side),
            spacing=check_positive("spacing", self.spacing),
            std=check_positive("std", self.std),
        )

    @property
    def centres(self) -> np.ndarray:
        axis = (np.arange(self.side) - (self.side - 1) / 2) * self.spacing
        xs, ys = np.meshgrid(axis, axis, indexing="ij")
        return np.stack([xs.ravel(), ys.ravel()], axis=1)


@dataclass(frozen=True)
class GaussianMixture1D(_GaussianMixture):
    """``p(x) = Σ_k w_k N(x; means_k, std_k²)`` on R; weights are relative (normalised here).

    ``std`` in a spec is one value for every component or one per mean; the scoring ``std``
    is the largest. Unweighted specs resolve to ``weights=1.0;…`` (equal).
    """

    name: ClassVar[str] = "gmm1d"
    dim: ClassVar[int] = 1
    means: tuple[float, ...] = _param((-2.0, 2.0), "floats")
    stds: tuple[float, ...] = _param((0.5,), "floats", key="std")
    weights: tuple[float, ...] | None = _param(None, "floats")

    def __post_init__(self) -> None:
        means = _numbers("means", self.means, check_number)
        stds = _numbers("std", self.stds, check_positive)
        if len(stds) == 1:
            stds = stds * len(means)
        if len(stds) != len(means):
            raise GankitError(
                f"std must hold 1 value or one per mean ({len(means)}), got {len(stds)}"
            )
        weights = (1.0,) * len(means)
        if self.weights is not None:
            weights = _numbers("weights", self.weights, check_positive)
        if len(weights) != len(means):
            raise GankitError(
                f"weights must hold one value per mean ({len(means)}), got {len(weights)}"
            )
        _resolve(self, means=means, stds=stds, weights=weights)

    @property
    def centres(self) -> np.ndarray:
        return np.asarray(self.means)[:, None]

    @property
    def std(self) -> float:
        return max(self.stds)

    def _scales(self) -> np.ndarray:
        return np.asarray(self.stds)

    def _weights(self) -> np.ndarray:
        weights = np.asarray(self.weights)
        return weights / weights.sum()


@dataclass(frozen=True)
class Uniform1D(ToyDistribution):
    """Uniform on ``[low, high]``; one centre ``(low + high)/2``, ``std = (high − low)/√12``.

    The half-width is ``√3 · std < 3 · std``, so every sample of the support is high quality.
    """

    name: ClassVar[str] = "uniform1d"
    dim: ClassVar[int] = 1
    low: float = _param(0.0, "float")
    high: float = _param(1.0, "float")

    def __post_init__(self) -> None:
        low, high = check_number("low", self.low), check_number("high", self.high)
        if high <= low:
            raise GankitError(f"high must be > low, got low={low!r}, high={high!r}")
        _resolve(self, low=low, high=high)

    @property
    def centres(self) -> np.ndarray:
        return np.array([[(self.low + self.high) / 2]])

    @property
    def std(self) -> float:
        return (self.high - self.low) / math.sqrt(12)

    def _sample(self, n: int, rng: torch.Generator) -> torch.Tensor:
        u = torch.rand(n, 1, generator=rng, device=rng.device, dtype=torch.float32)
        return self.low + (self.high - self.low) * u

    def _log_density(self, points: np.ndarray) -> np.ndarray:
        x = points[:, 0]
        inside = (x >= self.low) & (x <= self.high)
        return np.where(inside, -math.log(self.high - self.low), -np.inf)


# The roll t ∈ [1.5π, 4.5π] of scikit-learn's make_swiss_roll, kept in the (x, z) plane.
_T_MIN, _T_MAX = 1.5 * math.pi, 4.5 * math.pi
# Floor of the scoring scale in roll units (0.02 at scale 7.5, the ring's std), so that a
# noiseless roll still gets finitely many centres (at most 297).
_MIN_ROLL_NOISE = 0.15


@dataclass(frozen=True)
class SwissRoll(ToyDistribution):
    """``x = ((t cos t, t sin t) + noise · ε) / scale``, ``t ~ U[1.5π, 4.5π]``, ``ε ~ N(0, I₂)``.

    The defaults put the roll in about [-1.4, 1.8] × [-1.6, 2.0]. Scoring: ``std =
    max(noise, 0.15) / scale`` (the noise after scaling, floored so a noiseless roll still gets
    finitely many centres), and the centres are points of the noiseless curve at the midpoints
    of ``m`` equal steps in t: cells of equal probability, so a perfect generator's mode
    histogram is uniform. ``m`` is the least count that keeps neighbouring centres at most
    ``3 · std`` apart along the curve (its speed ``√(1 + t²)`` peaks at ``t = 4.5π``), so every
    curve point lies within ``1.5 · std`` of a centre. The defaults give 179 centres.
    No closed-form density.
    """

    name: ClassVar[str] = "swissroll"
    dim: ClassVar[int] = 2
    noise: float = _param(0.25, "float")  # sklearn make_swiss_roll(noise=0.25), WGAN-GP toy code
    scale: float = _param(7.5, "float")  # WGAN-GP toy code divides the roll by 7.5

    def __post_init__(self) -> None:
        _resolve(
            self,
            noise=check_positive("noise", self.noise, allow_zero=True),
            scale=check_positive("scale", self.scale),
        )

    @property
    def std(self) -> float:
        return max(self.noise, _MIN_ROLL_NOISE) / self.scale

    @property
    def centres(self) -> np.ndarray:
        largest_step = 3 * self.std * self.scale / math.sqrt(1 + _T_MAX**2)  # in t
        m = math.ceil((_T_MAX - _T_MIN) / largest_step)
        t = _T_MIN + (np.arange(m) + 0.5) * (_T_MAX - _T_MIN) / m
        return np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / self.scale

    def _sample(self, n: int, rng: torch.Generator) -> torch.Tensor:
        device = rng.device
        u = torch.rand(n, generator=rng, device=device, dtype=torch.float32)
        t = _T_MIN + (_T_MAX - _T_MIN) * u  # (n,)
        noise = torch.randn(n, 2, generator=rng, device=device, dtype=torch.float32)
        roll = torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=1)  # (n, 2)
        return (roll + self.noise * noise) / self.scale

    def _log_density(self, points: np.ndarray) -> np.ndarray:
        raise NotImplementedError(
            "swissroll has no closed-form density (a curve convolved with Gaussian noise)"
        )


# Centres along a segment: 20 cell midpoints, 3 · std apart.
_SEGMENT_MODES = 20


@dataclass(frozen=True)
class Segments(ToyDistribution):
    """Uniform on the segment ``{theta} × [0, 1]`` in R² (docs/theory.md §4, parallel segments).

    Scoring: 20 centres ``(theta, (j + 1/2)/20)`` at the midpoints of equal cells and
    ``std = 1/60``, so neighbouring centres lie ``3 · std`` apart and every point of the
    segment is within ``1.5 · std`` of a centre. It has no density with respect to area.
    """

    name: ClassVar[str] = "segments"
    dim: ClassVar[int] = 2
    theta: float = _param(0.0, "float")

    def __post_init__(self) -> None:
        _resolve(self, theta=check_number("theta", self.theta))

    @property
    def std(self) -> float:
        return 1 / (3 * _SEGMENT_MODES)

    @property
    def centres(self) -> np.ndarray:
        heights = (np.arange(_SEGMENT_MODES) + 0.5) / _SEGMENT_MODES
        return np.stack([np.full(_SEGMENT_MODES, self.theta), heights], axis=1)

    def _sample(self, n: int, rng: torch.Generator) -> torch.Tensor:
        y = torch.rand(n, generator=rng, device=rng.device, dtype=torch.float32)
        return torch.stack([torch.full_like(y, self.theta), y], dim=1)

    def _log_density(self, points: np.ndarray) -> np.ndarray:
        raise NotImplementedError(
            "segments lies on a line segment in R²: it has no density with respect to area "
            "(docs/theory.md §4)"
        )


def _checked(n: int, rng: Any) -> int:
    n = check_int("n", n)
    if not isinstance(rng, torch.Generator):
        raise GankitError(f"rng must be a torch.Generator, got {type(rng).__name__}")
    return n


TOY_SETS: dict[str, type[ToyDistribution]] = {
    cls.name: cls for cls in (Ring, Grid, SwissRoll, Uniform1D, GaussianMixture1D, Segments)
}


def make_toy(spec: str) -> ToyDistribution:
    """Build the toy set a spec names, e.g. ``"ring:modes=8,radius=2,std=0.02"``.

    Raises:
        GankitError: malformed spec, unknown name (the message lists the known ones), unknown
            keys (it lists the accepted ones), a value that does not parse or is impossible.

    Example:
        >>> make_toy("grid:side=3").spec
        'grid:side=3,spacing=2.0,std=0.05'
    """
    name, raw = parse_spec(spec)
    if name not in TOY_SETS:
        known = ", ".join(sorted(TOY_SETS))
        raise GankitError(f"data spec {spec!r}: unknown toy data set {name!r}; known: {known}")
    cls = TOY_SETS[name]
    params = {_spec_key(f): f for f in fields(cls)}
    unknown = [key for key in raw if key not in params]
    if unknown:
        raise GankitError(
            f"data spec {spec!r}: unknown key{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(map(repr, unknown))} for {name}; accepted keys: {', '.join(params)}"
        )
    try:
        kwargs = {
            params[key].name: parse_value(params[key].metadata["kind"], key, value)
            for key, value in raw.items()
        }
        return cls(**kwargs)
    except GankitError as err:
        raise GankitError(f"data spec {spec!r}: {err}") from err


def is_toy_spec(spec: str) -> bool:
    """True when the spec's name is a toy set (the rest is not checked: see :func:`make_toy`).

    Example:
        >>> is_toy_spec("ring:modes=4"), is_toy_spec("folder:/data/faces")
        (True, False)
    """
    return isinstance(spec, str) and spec.partition(":")[0].strip() in TOY_SETS
