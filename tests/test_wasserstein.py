"""Wasserstein distances against scipy, POT (metric="euclidean") and closed forms."""

from __future__ import annotations

import math

import numpy as np
import ot
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import wasserstein_distance

from gankit.errors import GankitError
from gankit.wasserstein import gaussian_w2, sliced_wasserstein, wasserstein, wasserstein_1d

FAST = settings(max_examples=25, deadline=None)


def close(actual: float, expected: float, tol: float = 1e-10) -> bool:
    """The one tolerance of this file: relative, with an absolute floor for values near 0."""
    return math.isclose(actual, expected, rel_tol=tol, abs_tol=tol)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)  # gankit itself draws only from the generators it is given


def samples_1d(max_size: int = 12) -> st.SearchStrategy[np.ndarray]:
    values = st.floats(-100, 100, allow_nan=False, allow_infinity=False)
    return arrays(np.float64, st.integers(1, max_size), elements=values)


def clouds(d: int = 2, max_size: int = 8) -> st.SearchStrategy[np.ndarray]:
    values = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
    return arrays(np.float64, st.tuples(st.integers(1, max_size), st.just(d)), elements=values)


def pot_w(x: np.ndarray, y: np.ndarray, p: float = 1) -> float:
    """Reference: POT's exact solver on the Euclidean (not squared) cost."""
    cost = ot.dist(x, y, metric="euclidean") ** p
    return float(ot.emd2(ot.unif(len(x)), ot.unif(len(y)), cost)) ** (1 / p)


# ---------------------------------------------------------------- wasserstein_1d


@pytest.mark.parametrize(("n", "m"), [(1, 1), (5, 5), (7, 3), (40, 97)])
def test_wasserstein_1d_matches_scipy(n: int, m: int) -> None:
    rng = np.random.default_rng(n * 100 + m)
    x, y = rng.normal(size=n), rng.normal(1.0, 2.0, size=m)
    assert close(wasserstein_1d(x, y), wasserstein_distance(x, y))


def test_wasserstein_1d_with_weights_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=30), rng.normal(size=17) + 0.5
    wx, wy = rng.random(30), rng.random(17)
    wx[[3, 10]] = 0.0  # zero weights are allowed and must not count
    expected = wasserstein_distance(x, y, wx, wy)
    assert close(wasserstein_1d(x, y, x_weights=wx, y_weights=wy), expected)
    # Weights are normalised: scaling them changes nothing.
    assert close(wasserstein_1d(x, y, x_weights=7 * wx, y_weights=wy / 3), expected)


@pytest.mark.parametrize("p", [1.5, 2, 3])
def test_wasserstein_1d_higher_p_matches_pot(p: float) -> None:
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=23), rng.exponential(size=31)
    wx = rng.random(23)
    expected = ot.wasserstein_1d(x, y, wx / wx.sum(), p=p) ** (1 / p)  # POT returns W_p^p
    assert close(wasserstein_1d(x, y, p, x_weights=wx), expected)


def test_wasserstein_1d_hand_computed_values() -> None:
    assert wasserstein_1d([0.0, 1.0], [1.0, 2.0], p=3) == 1.0
    # δ_0 against {0, 3}: half the mass travels 3.
    assert close(wasserstein_1d([0.0], [0.0, 3.0]), 1.5)
    assert close(wasserstein_1d([0.0], [0.0, 3.0], p=2), math.sqrt(4.5))


def test_wasserstein_1d_translation_by_c_is_abs_c() -> None:
    x = np.random.default_rng(3).normal(size=50)
    for p in (1, 2):
        assert close(wasserstein_1d(x, x - 2.5, p), 2.5)


def test_wasserstein_1d_accepts_torch_and_column_vectors() -> None:
    x, y = torch.tensor([0.0, 1.0, 4.0]), torch.tensor([[1.0], [2.0], [3.0]], dtype=torch.float64)
    assert close(wasserstein_1d(x, y), wasserstein_distance([0, 1, 4], [1, 2, 3]))


@FAST
@given(samples_1d(), samples_1d())
def test_wasserstein_1d_is_symmetric_and_zero_on_itself(x: np.ndarray, y: np.ndarray) -> None:
    assert close(wasserstein_1d(x, y), wasserstein_1d(y, x))
    assert wasserstein_1d(x, x) == 0.0


@FAST
@given(samples_1d(), samples_1d(), samples_1d())
def test_wasserstein_1d_triangle_inequality(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> None:
    assert wasserstein_1d(x, z) <= wasserstein_1d(x, y) + wasserstein_1d(y, z) + 1e-9


@FAST
@given(samples_1d(), samples_1d())
def test_wasserstein_1d_matches_scipy_and_grows_with_p(x: np.ndarray, y: np.ndarray) -> None:
    w1 = wasserstein_1d(x, y)
    assert math.isclose(w1, wasserstein_distance(x, y), rel_tol=1e-9, abs_tol=1e-9)
    assert w1 <= wasserstein_1d(x, y, 2) + 1e-9  # Jensen: W1 <= W2


# ---------------------------------------------------------------- wasserstein (POT)


@pytest.mark.parametrize("p", [1, 2, 3])
def test_wasserstein_matches_pot_euclidean(p: float) -> None:
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(40, 3)), rng.normal(1.0, size=(25, 3))
    assert close(wasserstein(x, y, p), pot_w(x, y, p), 1e-9)


def test_wasserstein_is_not_pot_default_squared_metric() -> None:
    # The trap: ot.dist defaults to the squared distance, so emd2 on it gives W2², not W1.
    x, y = np.array([[0.0, 0.0], [0.0, 1.0]]), np.array([[2.0, 0.0], [2.0, 1.0]])
    squared = float(ot.emd2(ot.unif(2), ot.unif(2), ot.dist(x, y)))
    assert squared == 4.0
    assert wasserstein(x, y) == 2.0
    assert close(wasserstein(x, y, p=2), math.sqrt(squared))


def test_wasserstein_translation_by_v_is_norm_v() -> None:
    x = np.random.default_rng(5).normal(size=(60, 2))
    v = np.array([3.0, -4.0])
    assert close(wasserstein(x, x + v), 5.0, 1e-9)
    assert close(wasserstein(x, x + v, p=2), 5.0, 1e-9)


def test_wasserstein_between_two_diracs_is_their_distance() -> None:
    for p in (1, 2, 4):
        assert close(wasserstein([[1.0, 2.0, 2.0]], [[0.0, 0.0, 0.0]], p), 3.0)


def test_wasserstein_on_the_line_matches_scipy_and_accepts_torch() -> None:
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=20), rng.normal(size=13)
    assert close(wasserstein(torch.from_numpy(x), y), wasserstein_distance(x, y), 1e-9)


def test_wasserstein_raises_when_the_solver_stops_early() -> None:
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(30, 2)), rng.normal(size=(30, 2))
    with pytest.raises(RuntimeError, match="did not converge.*num_iter_max=1 "):
        wasserstein(x, y, num_iter_max=1)


@FAST
@given(clouds(), clouds())
def test_wasserstein_laws(x: np.ndarray, y: np.ndarray) -> None:
    assert close(wasserstein(x, y), wasserstein(y, x), 1e-9)
    assert wasserstein(x, x) <= 1e-12
    # POT's ot.dist(metric="euclidean") expands ‖x‖² − 2x·y + ‖y‖²: ~1e-7 off at distance 0.
    assert math.isclose(wasserstein(x, y), pot_w(x, y), rel_tol=1e-9, abs_tol=1e-6)


# ---------------------------------------------------------------- sliced_wasserstein


@FAST
@given(samples_1d(), samples_1d(), st.sampled_from([1, 2]))
def test_sliced_on_the_line_equals_wasserstein_1d(x: np.ndarray, y: np.ndarray, p: int) -> None:
    # Directions on the line are ±1 and W_p(-x, -y) = W_p(x, y): no dimension factor.
    sliced = sliced_wasserstein(x, y, n_projections=5, p=p)
    assert math.isclose(sliced, wasserstein_1d(x, y, p), rel_tol=1e-12, abs_tol=1e-12)
    if p == 1:
        assert math.isclose(sliced, wasserstein_distance(x, y), rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize("m", [40_000, 33_333])
def test_sliced_sorts_long_samples_exactly(m: int) -> None:
    # From 32,768 samples on, projections are radix-sorted as int64 keys: negatives, ±0 and
    # ties must come out in float order, so the result must agree with scipy's to rounding.
    rng = np.random.default_rng(12)
    x = np.concatenate([rng.normal(size=39_990), [0.0, -0.0, -0.0, 5e-324, -5e-324] * 2])
    y = np.round(rng.standard_cauchy(size=m), 2)  # heavy tails, many ties
    expected = wasserstein_distance(x, y)
    sliced = sliced_wasserstein(torch.from_numpy(x).float(), y, n_projections=3)
    assert close(sliced, wasserstein_distance(x.astype(np.float32), y), 1e-12)
    assert close(sliced_wasserstein(x, y, n_projections=3), expected, 1e-12)


@FAST
@given(clouds(d=3), clouds(d=3), st.integers(0, 2**32))
def test_sliced_w1_is_at_most_w1(x: np.ndarray, y: np.ndarray, seed: int) -> None:
    # Each projection is 1-Lipschitz, so W1 of the projections is at most W1.
    assert sliced_wasserstein(x, y, n_projections=16, seed=seed) <= wasserstein(x, y) + 1e-9


def test_sliced_of_a_translation_in_2d_is_two_over_pi_norm() -> None:
    # Along θ = (cos φ, sin φ) the clouds differ by θ·v, so SW1 = E|θ·v| = (2/π)‖v‖ and
    # SW2 = sqrt(E(θ·v)²) = ‖v‖/sqrt(2): the estimate converges there with no dimension factor.
    x = np.random.default_rng(8).normal(size=(50, 2))
    v = np.array([3.0, 4.0])
    sw1 = sliced_wasserstein(x, x + v, n_projections=20_000, seed=1)
    sw2 = sliced_wasserstein(x, x + v, n_projections=20_000, p=2, seed=1)
    assert abs(sw1 - 10 / math.pi) < 0.03
    assert abs(sw2 - 5 / math.sqrt(2)) < 0.03


def test_sliced_handles_different_sample_sizes() -> None:
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(30, 2)), rng.normal(size=(45, 2)) + 1.0
    sliced = sliced_wasserstein(x, y, n_projections=64)
    assert 0.0 < sliced <= wasserstein(x, y)
    # A cloud repeated k times is the same distribution.
    assert close(sliced_wasserstein(x, np.tile(x, (3, 1)), n_projections=8), 0.0)


def test_sliced_is_reproducible_from_its_seed() -> None:
    rng = np.random.default_rng(10)
    x, y = torch.from_numpy(rng.normal(size=(40, 3))), rng.normal(size=(40, 3))
    first = sliced_wasserstein(x, y, 8, seed=3)
    assert sliced_wasserstein(x, y, 8, seed=3) == first
    assert sliced_wasserstein(x, y, 8, seed=np.random.default_rng(3)) == first
    assert sliced_wasserstein(x, y, 8, seed=4) != first
    assert sliced_wasserstein(x, y, 8, seed=None) > 0.0


# ---------------------------------------------------------------- gaussian_w2


@pytest.mark.parametrize(("m1", "s1", "m2", "s2"), [(0, 1, 4, 4), (1.5, 0.3, -2, 2), (0, 0, 0, 5)])
def test_gaussian_w2_in_1d_is_mean_and_std_gaps(m1: float, s1: float, m2: float, s2: float) -> None:
    expected = math.sqrt((m1 - m2) ** 2 + (s1 - s2) ** 2)
    assert close(gaussian_w2(m1, s1**2, m2, s2**2), expected)
    assert close(gaussian_w2([m1], [[s1**2]], [m2], [[s2**2]]), expected)
    bures = ot.gaussian.bures_wasserstein_distance(
        np.array([m1], float), np.array([m2], float), np.eye(1) * s1**2, np.eye(1) * s2**2
    )
    assert close(gaussian_w2(m1, s1**2, m2, s2**2), float(bures), 1e-8)


def test_gaussian_w2_matches_pot_bures_in_3d() -> None:
    rng = np.random.default_rng(11)
    a, b = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    mu1, mu2, cov1, cov2 = rng.normal(size=3), rng.normal(size=3), a @ a.T, b @ b.T + np.eye(3)
    expected = float(ot.gaussian.bures_wasserstein_distance(mu1, mu2, cov1, cov2))
    assert close(gaussian_w2(mu1, cov1, mu2, cov2), expected, 1e-8)
    assert close(gaussian_w2(mu2, cov2, mu1, cov1), expected, 1e-8)
    assert gaussian_w2(torch.from_numpy(mu1), torch.from_numpy(cov1), mu1, cov1) < 1e-6


def test_gaussian_w2_of_diagonal_covariances_is_std_gaps() -> None:
    var1, var2 = np.array([1.0, 4.0, 0.0]), np.array([9.0, 1.0, 2.0])
    expected = math.sqrt(1.0 + np.sum((np.sqrt(var1) - np.sqrt(var2)) ** 2))
    got = gaussian_w2([0.0, 0.0, 1.0], np.diag(var1), [0.0, 0.0, 0.0], np.diag(var2))
    assert close(got, expected)


# ---------------------------------------------------------------- bad input

X2 = np.zeros((3, 2))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: wasserstein_1d([], [1.0]), r"^x must hold at least one sample$"),
        (lambda: wasserstein_1d([1.0], [np.nan]), r"^y contains NaN$"),
        (lambda: wasserstein_1d(X2, [1.0]), r"x must have shape \(n,\) or \(n, 1\), got \(3, 2\)"),
        (lambda: wasserstein_1d([1.0], [2.0], p=0.5), r"p must be a finite number >= 1 .*got 0\.5"),
        (
            lambda: wasserstein_1d([1.0], [2.0], p=math.inf),
            r"p must be a finite number >= 1 .*got inf",
        ),
        (
            lambda: wasserstein_1d([1.0, 2.0], [2.0], x_weights=[1.0, -1.0]),
            r"x_weights must be non-negative, got min -1",
        ),
        (
            lambda: wasserstein_1d([1.0, 2.0], [2.0], x_weights=[1.0]),
            r"x_weights must have shape \(2,\) to match the samples, got \(1,\)",
        ),
        (
            lambda: wasserstein_1d([1.0], [2.0], y_weights=[0.0]),
            r"y_weights must have a positive sum, got 0",
        ),
        (lambda: wasserstein_1d([1.0], [2.0], y_weights=[np.nan]), r"y_weights contains NaN"),
        (lambda: wasserstein(np.zeros((2, 2, 2)), X2), r"x must have shape \(n,\) or \(n, d\)"),
        (
            lambda: wasserstein(X2, np.zeros((3, 3))),
            r"same dimension d, got x \(3, 2\), y \(3, 3\)",
        ),
        (lambda: wasserstein(X2, X2, p=0), r"p must be a finite number >= 1 .*got 0$"),
        (lambda: wasserstein(X2, X2, num_iter_max=0), r"num_iter_max must be an integer >= 1"),
        (lambda: sliced_wasserstein(X2, np.ones((0, 2))), r"y must hold at least one sample"),
        (lambda: sliced_wasserstein(X2, X2, 0), r"n_projections must be an integer >= 1, got 0"),
        (lambda: sliced_wasserstein(X2, X2, 2.5), r"n_projections must be an integer >= 1"),
        (lambda: sliced_wasserstein(X2, X2, seed=-1), r"seed must be an int >= 0.*got -1"),
        (lambda: sliced_wasserstein(X2, X2, seed="a"), r"seed must be .*None, got 'a'"),
        (lambda: gaussian_w2([0.0], [[1.0]], [0.0, 0.0], np.eye(2)), r"mu1 and mu2 must have"),
        (lambda: gaussian_w2([0.0, 0.0], np.eye(3), 0.0, 1.0), r"cov1 must have shape \(2, 2\)"),
        (lambda: gaussian_w2(np.zeros((2, 2)), 1.0, 0.0, 1.0), r"mu1 must be a scalar or"),
        (lambda: gaussian_w2(0.0, 1.0, np.nan, 1.0), r"mu2 contains NaN"),
        (
            lambda: gaussian_w2([0.0, 0.0], [[1.0, 0.5], [0.0, 1.0]], [0.0, 0.0], np.eye(2)),
            r"cov1 must be symmetric, got max \|cov - cov\.T\| = 0\.5",
        ),
        (
            lambda: gaussian_w2([0.0, 0.0], np.eye(2), [0.0, 0.0], [[1.0, 2.0], [2.0, 1.0]]),
            r"cov2 must be positive semi-definite, got eigenvalue -1",
        ),
        (lambda: gaussian_w2(0.0, -1.0, 0.0, 1.0), r"cov1 must be positive semi-definite"),
    ],
)
def test_bad_input_is_a_value_error_that_says_what(call, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        call()
    assert isinstance(caught.value, GankitError)
