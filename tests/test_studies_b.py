"""The data of the studies vanishing-gradients, gradient-tails, w-correlation and
lipschitz-scale, from their quick runs (shared with tests/test_studies.py, which checks their
files and claims), against values computed here independently: the logit derivatives of the
two GAN losses, moment formulas, rank correlations from sorted ranks, and W1 of a translation.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest
import torch
from test_studies import QuickRun, quick_run  # the module pytest collected: one cache

from gankit.studies._result import plain
from gankit.studies.gradient_tails import hill_index, tail_statistics
from gankit.studies.runner import run_study


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], QuickRun]:
    """Each study's quick run, by name: run once per session (tests/test_studies.py)."""
    return lambda name: quick_run(name, tmp_path_factory)


def _ranks(values: list[float]) -> np.ndarray:
    """0-based ranks of distinct values, from a double argsort."""
    return np.argsort(np.argsort(np.asarray(values)))


@pytest.mark.slow
def test_vanishing_gradients_series_saturating_falls_by_orders_of_magnitude(quick):
    series = quick("vanishing-gradients").saved["series"]
    keys = ("d_steps", "saturating", "nonsaturating", "wasserstein", "d_fake")
    lengths = {len(series[k]) for k in keys}
    assert len(lengths) == 1 and lengths.pop() >= 5
    assert series["d_steps"][0] == 0 and series["d_steps"] == sorted(series["d_steps"])
    sat, nonsat, d_fake = (np.asarray(series[k]) for k in ("saturating", "nonsaturating", "d_fake"))
    assert sat[-1] <= 1e-2 * sat[0]
    # Per sample, d/dlogit log(1 - D) = -D and d/dlogit -log D = -(1 - D): the saturating
    # gradient is the non-saturating one scaled by about D/(1 - D) at every step, so it
    # vanishes as D(G(z)) does (from 1/2, where the two agree, to below 1e-3).
    scale = (sat / nonsat) / (d_fake / (1 - d_fake))
    assert np.all((scale > 1 / 3) & (scale < 3)), scale
    assert sat[0] == pytest.approx(nonsat[0], rel=1e-2) and d_fake[-1] < 1e-3


@pytest.mark.slow
def test_gradient_tails_statistics_match_the_saved_values(quick):
    saved = quick("gradient-tails").saved
    for key in ("nonsaturating", "wasserstein"):
        values = np.asarray(saved["values"][key])
        statistics = saved["statistics"][key]
        assert statistics["n"] == len(values) > 1000
        centred = values - values.mean()
        m2, m4 = np.mean(centred**2), np.mean(centred**4)
        assert statistics["excess_kurtosis"] == pytest.approx(m4 / m2**2 - 3, rel=1e-3)
    ns, wg = saved["statistics"]["nonsaturating"], saved["statistics"]["wasserstein"]
    assert ns["excess_kurtosis"] > wg["excess_kurtosis"] and ns["hill_index"] < wg["hill_index"]


def test_hill_index_recovers_a_pareto_tail_and_fits_tell_cauchy_from_gauss():
    rng = np.random.default_rng(0)
    pareto = rng.pareto(1.5, 200_000) + 1.0  # P(X > x) = x^-1.5 for x >= 1
    assert hill_index(pareto, 0.01) == pytest.approx(1.5, rel=0.1)
    gauss, cauchy = (
        tail_statistics(rng.normal(size=20_000)),
        tail_statistics(rng.standard_cauchy(20_000)),
    )
    assert abs(gauss["excess_kurtosis"]) < 0.2 and gauss["cauchy_minus_gauss_loglik"] < 0
    assert cauchy["cauchy_minus_gauss_loglik"] > 0 and cauchy["hill_index"] < 1.5
    assert gauss["hill_index"] > 3


@pytest.mark.slow
def test_w_correlation_spearman_is_recomputable_from_the_series(quick):
    saved = quick("w-correlation").saved
    steps, estimate, exact = saved["steps"], saved["w_estimate"], saved["w1_exact"]
    assert len(steps) == len(estimate) == len(exact) >= 5 and steps == sorted(steps)
    assert len(set(estimate)) == len(estimate) and len(set(exact)) == len(exact)  # no ties
    # Spearman's rho of distinct values: 1 - 6 Σd² / (n(n² - 1)) on the rank differences d
    d, n = _ranks(estimate) - _ranks(exact), len(steps)
    assert saved["spearman"] == pytest.approx(1 - 6 * np.sum(d**2) / (n * (n**2 - 1)))
    assert saved["spearman"] >= 0.8 and all(w > 0 for w in exact)


@pytest.mark.slow
def test_lipschitz_scale_estimates_scale_with_k(quick):
    saved = quick("lipschitz-scale").saved
    scaling = saved["k_scaling"]
    assert scaling["k"] == [0.5, 1.0, 2.0, 4.0]
    assert scaling["w1"] == 1.0  # N((1, 0), I) is N(0, I) translated by a unit vector
    for k, estimate in zip(scaling["k"], scaling["estimate"], strict=True):
        assert abs(estimate - k * 1.0) <= 0.15 * k, (k, estimate)
    clipped = np.asarray(saved["weights"]["clipped"])
    assert np.abs(clipped).max() <= 0.01 + 1e-9  # every weight inside the box
    # the pile-up is at both edges of the box, +c and -c
    assert np.mean(clipped >= 0.0099) > 0.1 and np.mean(clipped <= -0.0099) > 0.1


@pytest.mark.slow
def test_a_rerun_gives_the_same_numbers_whatever_the_global_rng_and_leaves_it_alone(
    quick, tmp_path
):
    first = quick("vanishing-gradients").saved
    torch.manual_seed(12345)  # not the state the first run saw
    state = torch.get_rng_state()
    again = run_study("vanishing-gradients", tmp_path, seed=0, quick=True)
    assert torch.equal(torch.get_rng_state(), state)
    assert json.loads(json.dumps(plain(again.data["series"]))) == first["series"]
