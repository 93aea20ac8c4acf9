"""gankit.divergences against scipy, closed forms and the laws every divergence obeys."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon
from scipy.special import rel_entr

from gankit.divergences import (
    GENERATORS,
    f_divergence,
    gaussian_kl,
    js,
    js_distance,
    kl,
    pearson_chi2,
    reverse_kl,
    squared_hellinger,
    total_variation,
)
from tests.conftest import close

LOG2 = math.log(2.0)
NAMED = [kl, reverse_kl, total_variation, js, pearson_chi2, squared_hellinger]


def probability_vectors(n: int, *, allow_zeros: bool = True):
    """Pairs of probability vectors of length n (some entries may be exactly 0)."""
    # Entries are exactly 0 or at least 1e-3: subnormal masses overflow p/q in float64.
    entry = st.floats(1e-3, 10.0)
    if allow_zeros:
        entry = st.one_of(st.just(0.0), entry)
    weights = st.lists(entry, min_size=n, max_size=n).filter(lambda w: sum(w) > 1e-3)
    return weights.map(lambda w: np.asarray(w) / np.sum(w))


P = np.array([0.1, 0.2, 0.3, 0.4])
Q = np.array([0.4, 0.3, 0.2, 0.1])


# --- against independent implementations and hand computations -------------------------


def test_kl_matches_scipy_rel_entr():
    assert close(kl(P, Q), rel_entr(P, Q).sum())
    assert close(reverse_kl(P, Q), rel_entr(Q, P).sum())


def test_js_is_the_square_of_scipys_jensenshannon():
    # scipy returns the distance sqrt(JS); ours is the divergence.
    assert close(js(P, Q), jensenshannon(P, Q) ** 2, rel=1e-12)
    assert close(js_distance(P, Q), jensenshannon(P, Q), rel=1e-12)


def test_js_equals_mean_kl_to_the_mixture():
    m = (P + Q) / 2
    assert close(js(P, Q), 0.5 * rel_entr(P, m).sum() + 0.5 * rel_entr(Q, m).sum())


def test_total_variation_pearson_hellinger_by_hand():
    assert close(total_variation(P, Q), 0.5 * np.abs(P - Q).sum())
    assert close(pearson_chi2(P, Q), ((P - Q) ** 2 / Q).sum())
    assert close(squared_hellinger(P, Q), ((np.sqrt(P) - np.sqrt(Q)) ** 2).sum())


def test_hand_computed_two_point_values():
    # p = (1/2, 1/2), q = (1/4, 3/4): KL = 1/2 log 2 + 1/2 log(2/3).
    assert close(kl([0.5, 0.5], [0.25, 0.75]), 0.5 * math.log(2) + 0.5 * math.log(2 / 3))
    assert close(pearson_chi2([0.5, 0.5], [0.25, 0.75]), 1 / 3)
    assert close(total_variation([0.5, 0.5], [0.25, 0.75]), 0.25)


def test_f_divergence_with_a_plain_callable_matches_the_named_one():
    def f(t):
        return t * np.log(t)

    assert close(f_divergence(P, Q, f), kl(P, Q))


# --- edges of the support ---------------------------------------------------------------


def test_disjoint_supports():
    p, q = [0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.3, 0.7]
    assert js(p, q) == LOG2
    assert kl(p, q) == math.inf
    assert reverse_kl(p, q) == math.inf
    assert total_variation(p, q) == 1.0
    assert squared_hellinger(p, q) == 2.0
    assert pearson_chi2(p, q) == math.inf


def test_zero_in_p_only_uses_f_at_zero():
    # p = (0, 1), q = (1/2, 1/2): KL = log 2; reverse KL = inf; JS via its mixture.
    p, q = np.array([0.0, 1.0]), np.array([0.5, 0.5])
    assert close(kl(p, q), LOG2)
    assert reverse_kl(p, q) == math.inf
    m = (p + q) / 2
    assert close(js(p, q), 0.5 * rel_entr(p, m).sum() + 0.5 * rel_entr(q, m).sum())


def test_cells_empty_in_both_contribute_nothing():
    assert close(kl([0.5, 0.0, 0.5], [0.25, 0.0, 0.75]), kl([0.5, 0.5], [0.25, 0.75]))


def test_callable_without_slope_refuses_mass_where_q_is_zero():
    with pytest.raises(ValueError, match="slope_at_inf"):
        f_divergence([0.5, 0.5], [1.0, 0.0], lambda t: t * np.log(t))
    value = f_divergence([0.5, 0.5], [1.0, 0.0], lambda t: (t - 1) ** 2 / 2, slope_at_inf=0.5)
    assert close(value, 0.5 * 0.5 + 1.0 * (0.5 - 1) ** 2 / 2)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generators_are_zero_at_one_and_have_the_stated_limits(name):
    g = GENERATORS[name]
    assert g(np.array(1.0)) == pytest.approx(0.0, abs=1e-15)
    with np.errstate(divide="ignore"):
        near_zero = float(g(np.array(1e-12)))
    assert close(near_zero, g.at_zero, rel=1e-4, abs_=1e-4) or (
        math.isinf(g.at_zero) and near_zero > 20
    )
    big = 1e12
    slope = float(g(np.array(big))) / big
    assert close(slope, g.slope_at_inf, rel=1e-3, abs_=1e-3) or (
        math.isinf(g.slope_at_inf) and slope > 20
    )


# --- batches, grids and torch -----------------------------------------------------------


def test_batches_reduce_over_the_last_axis():
    p = np.stack([P, Q, P])
    q = np.stack([Q, Q, P])
    values = js(p, q)
    assert values.shape == (3,)
    assert close(values[0], js(P, Q)) and values[1] == 0.0 and values[2] == 0.0


def test_grid_densities_with_a_cell_volume():
    # Densities of N(0,1) and N(1,1) on a fine grid: KL = 1/2 exactly in the limit.
    x = np.arange(-12.0, 13.0, 0.01)
    p = np.exp(-(x**2) / 2) / math.sqrt(2 * math.pi)
    q = np.exp(-((x - 1) ** 2) / 2) / math.sqrt(2 * math.pi)
    assert close(kl(p, q, cell=0.01, normalize=True), 0.5, rel=1e-6)
    assert close(kl(p / p.sum() / 0.01, q / q.sum() / 0.01, cell=0.01), 0.5, rel=1e-6)


def test_shifted_uniform_densities_on_a_grid_give_theta_log2():
    cell = 1 / 200
    x = np.arange(-2, 3, cell) + cell / 2
    for theta in (0.25, 0.5, 1.0, 1.5):
        p = ((x > 0) & (x < 1)).astype(float)
        q = ((x > theta) & (x < theta + 1)).astype(float)
        assert close(js(p, q, cell=cell), min(theta, 1) * LOG2, rel=1e-9)


def test_torch_inputs_keep_autograd_and_agree_with_numpy():
    p = torch.tensor(P, requires_grad=True)
    q = torch.tensor(Q)
    value = kl(p, q)
    assert isinstance(value, torch.Tensor) and value.requires_grad
    value.backward()
    # d/dp_i sum p log(p/q) = log(p_i/q_i) + 1
    assert torch.allclose(p.grad, torch.log(p.detach() / q) + 1)
    assert close(float(js(torch.tensor(P), q)), js(P, Q), rel=1e-12)


def test_torch_gradient_is_finite_with_zeros_in_the_support():
    p = torch.tensor([0.5, 0.5, 0.0], requires_grad=True)
    q = torch.tensor([0.0, 0.5, 0.5])
    js(p, q).backward()
    assert torch.isfinite(p.grad).all()


@pytest.mark.parametrize("divergence", [kl, js, squared_hellinger, pearson_chi2])
def test_gradcheck(divergence):
    logits = torch.tensor([0.3, -0.2, 0.9, 0.1], dtype=torch.float64, requires_grad=True)
    q = torch.tensor([0.2, 0.3, 0.1, 0.4], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda z: divergence(torch.softmax(z, -1), q), (logits,))


# --- laws ---------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(probability_vectors(5), probability_vectors(5))
def test_divergences_are_nonnegative_and_zero_on_equal_inputs(p, q):
    for divergence in NAMED:
        assert divergence(p, q) >= -1e-12
        assert divergence(p, p) == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(probability_vectors(5), probability_vectors(5))
def test_js_symmetric_and_bounded_by_log2(p, q):
    assert js(p, q) == pytest.approx(js(q, p), abs=1e-12)
    assert js(p, q) <= LOG2 + 1e-12
    assert total_variation(p, q) <= 1 + 1e-12


@settings(max_examples=80, deadline=None)
@given(probability_vectors(4), probability_vectors(4), probability_vectors(4))
def test_js_distance_triangle_inequality(p, q, r):
    assert js_distance(p, r) <= js_distance(p, q) + js_distance(q, r) + 1e-9


@settings(max_examples=40, deadline=None)
@given(probability_vectors(6, allow_zeros=False), probability_vectors(6, allow_zeros=False))
def test_known_inequalities_between_divergences(p, q):
    # Pinsker: TV <= sqrt(KL / 2); Hellinger^2 <= TV... (H^2 <= 2 TV); KL <= chi^2.
    assert total_variation(p, q) <= math.sqrt(kl(p, q) / 2) + 1e-12
    assert squared_hellinger(p, q) <= 2 * total_variation(p, q) + 1e-12
    assert kl(p, q) <= pearson_chi2(p, q) + 1e-12


def test_zero_iff_equal():
    assert js(P, P) == 0.0
    assert js(P, P + np.array([1e-3, -1e-3, 0, 0])) > 0


# --- Gaussian KL ---------------------------------------------------------------------------


def test_gaussian_kl_one_dimensional_closed_form():
    m1, s1, m2, s2 = 0.3, 0.5, -1.0, 2.0
    expected = math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5
    assert close(gaussian_kl(m1, s1**2, m2, s2**2), expected, rel=1e-12)


def test_gaussian_kl_matches_a_grid_integral():
    x = np.arange(-15, 15, 0.002)
    p = np.exp(-((x - 0.3) ** 2) / (2 * 0.25))
    q = np.exp(-((x + 1) ** 2) / (2 * 4.0))
    assert close(gaussian_kl(0.3, 0.25, -1.0, 4.0), kl(p, q, normalize=True), rel=1e-6)


def test_gaussian_kl_multivariate_against_monte_carlo_free_formula():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 3))
    b = rng.normal(size=(3, 3))
    s1, s2 = a @ a.T + np.eye(3), b @ b.T + np.eye(3)
    m1, m2 = rng.normal(size=3), rng.normal(size=3)
    # Independent route: KL = E_p[log p - log q] from scipy's entropy and cross-entropy.
    from scipy.stats import multivariate_normal

    entropy = multivariate_normal(m1, s1).entropy()
    inv2 = np.linalg.inv(s2)
    cross = 0.5 * (
        3 * math.log(2 * math.pi)
        + np.linalg.slogdet(s2)[1]
        + np.trace(inv2 @ s1)
        + (m1 - m2) @ inv2 @ (m1 - m2)
    )
    assert close(gaussian_kl(m1, s1, m2, s2), cross - entropy, rel=1e-10)
    assert gaussian_kl(m1, s1, m1, s1) == pytest.approx(0.0, abs=1e-12)


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "q", "message"),
    [
        ([0.5, 0.5], [1.0], "same shape"),
        ([0.5, np.nan], [0.5, 0.5], "p contains NaN"),
        ([0.5, 0.5], [np.inf, 0.5], "q contains infinity"),
        ([1.5, -0.5], [0.5, 0.5], "p has negative entries"),
        ([0.5, 0.5], [0.2, 0.2], "q is not normalised"),
        ([], [], "must not be empty"),
    ],
)
@pytest.mark.parametrize("divergence", NAMED)
def test_bad_input_is_named(divergence, p, q, message):
    with pytest.raises(ValueError, match=message):
        divergence(p, q)


def test_normalize_rescales_but_still_refuses_negatives():
    assert close(kl([1, 1], [1, 3], normalize=True), kl([0.5, 0.5], [0.25, 0.75]))
    with pytest.raises(ValueError, match="negative"):
        kl([1, -1], [1, 3], normalize=True)
    with pytest.raises(ValueError, match="zero total mass"):
        kl([0, 0], [1, 3], normalize=True)


def test_bad_cell_and_bad_gaussians():
    with pytest.raises(ValueError, match="cell must be"):
        kl([0.5, 0.5], [0.5, 0.5], cell=0)
    with pytest.raises(ValueError, match="cov1 must be positive definite"):
        gaussian_kl([0, 0], [[1, 0], [0, -1]], [0, 0], np.eye(2))
    with pytest.raises(ValueError, match="cov2 must be symmetric"):
        gaussian_kl([0, 0], np.eye(2), [0, 0], [[1, 0.5], [0, 1]])
    with pytest.raises(ValueError, match=r"cov1 must have shape \(2, 2\)"):
        gaussian_kl([0, 0], np.eye(3), [0, 0], np.eye(2))
    with pytest.raises(ValueError, match="mu1 and mu2 must have the same shape"):
        gaussian_kl([0, 0], np.eye(2), [0], np.eye(1))
