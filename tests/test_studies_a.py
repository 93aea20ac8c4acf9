"""The data of the studies inverse-cdf, uniform-shift, parallel-segments and
optimal-discriminator, from their quick runs (shared with tests/test_studies.py, which checks
their files and claims), against values computed here independently."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from test_studies import QuickRun, quick_run  # the module pytest collected: one cache

from gankit.divergences import js, kl
from gankit.studies import parallel_segments, uniform_shift

CURVE_KEYS = {
    "uniform-shift": ["js_analytic", "js_grid", "js_classifier", "w1_analytic", "w1_critic"],
    "parallel-segments": [
        "js_analytic",
        "js_grid",
        "js_classifier",
        "kl_grid",
        "w1_analytic",
        "w1_exact",
        "w1_critic",
    ],
}


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], QuickRun]:
    """Each study's quick run, by name: run once per session (tests/test_studies.py)."""
    return lambda name: quick_run(name, tmp_path_factory)


def _normal_pdf(x: float, mean: float, std: float) -> float:
    return math.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


def _mixture_cdf(x: float) -> float:
    """The CDF of inverse-cdf's target 0.7·N(-1, 0.3²) + 0.3·N(2, 0.8²), by math.erf."""
    return sum(
        w * 0.5 * (1 + math.erf((x - m) / (s * math.sqrt(2))))
        for w, m, s in ((0.7, -1.0, 0.3), (0.3, 2.0, 0.8))
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", ["uniform-shift", "parallel-segments"])
def test_curves_hold_every_named_list_and_its_derivative(quick, name: str) -> None:
    curves = quick(name).saved["curves"]
    n = len(curves["theta"])
    assert n >= 5 and 0.0 in curves["theta"]
    for key in CURVE_KEYS[name]:
        assert len(curves[key]) == n, key
    for key in CURVE_KEYS[name]:
        if key != "kl_grid":
            assert len(curves["d_" + key]) == n, key


@pytest.mark.slow
def test_uniform_shift_curves_match_the_closed_form(quick) -> None:
    curves = quick("uniform-shift").saved["curves"]
    for theta, js_exact, js_grid, w1 in zip(
        curves["theta"],
        curves["js_analytic"],
        curves["js_grid"],
        curves["w1_analytic"],
        strict=True,
    ):
        assert math.isclose(js_exact, min(abs(theta), 1.0) * math.log(2), abs_tol=1e-12)
        assert math.isclose(js_grid, min(abs(theta), 1.0) * math.log(2), abs_tol=1e-12)
        assert w1 == abs(theta)


@pytest.mark.slow
def test_parallel_segments_kl_is_written_as_inf_string_off_zero(quick) -> None:
    curves = quick("parallel-segments").saved["curves"]
    for theta, kl_grid in zip(curves["theta"], curves["kl_grid"], strict=True):
        assert kl_grid == ("inf" if theta != 0 else 0.0)


def test_the_studies_grids_give_the_closed_forms_at_whole_numbers_of_cells() -> None:
    for theta in (-2.0, -0.75, -0.0025, 0.0, 0.5, 1.25):  # on the grid, in the study or not
        expected = min(abs(theta), 1) * math.log(2)
        assert math.isclose(uniform_shift.grid_js(theta), expected, abs_tol=1e-13), theta
    columns = round((parallel_segments.HIGH - parallel_segments.LOW) / parallel_segments.CELL)
    for theta in (-1.0, -0.02, 0.0, 0.01, 0.5):
        masses = parallel_segments.grid_masses(theta)
        assert masses.shape == (columns * parallel_segments.ROWS,)
        # one column of ROWS equal cells, the one starting at theta
        cells = np.flatnonzero(masses)
        column = round((theta - parallel_segments.LOW) / parallel_segments.CELL)
        assert cells.tolist() == list(range(column * 50, (column + 1) * 50))
        assert np.all(masses[cells] == 1 / 50)
        p = parallel_segments.grid_masses(0.0)
        assert float(js(p, masses)) == pytest.approx(0.0 if theta == 0 else math.log(2), abs=1e-15)
        assert float(kl(p, masses)) == (0.0 if theta == 0 else math.inf)


@pytest.mark.slow
def test_inverse_cdf_data(quick) -> None:
    payload = quick("inverse-cdf").saved
    assert payload["direction"] in ("increasing", "decreasing")
    curve = payload["map"]
    assert len(curve["u"]) == len(curve["z"]) == len(curve["learned"]) == len(curve["ideal"])
    assert all(a < b for a, b in zip(curve["ideal"], curve["ideal"][1:], strict=False)) == (
        payload["direction"] == "increasing"
    )
    # the ideal map, checked against the target's CDF written out here: F(x) = u (or 1 - u)
    levels = curve["u"] if payload["direction"] == "increasing" else curve["u"][::-1]
    for level, x in zip(levels, curve["ideal"], strict=True):
        assert _mixture_cdf(x) == pytest.approx(level, abs=1e-9)
    # z is the standard normal quantile of u
    for level, z in zip(curve["u"], curve["z"], strict=True):
        assert 0.5 * (1 + math.erf(z / math.sqrt(2))) == pytest.approx(level, abs=1e-12)
    assert 0 < payload["w1_noise_floor"] < 0.1 and 0 < payload["w1"]
    histogram = payload["generated_histogram"]
    widths = np.diff(histogram["edges"])
    assert len(histogram["density"]) == len(widths) == 120
    assert np.sum(np.asarray(histogram["density"]) * widths) == pytest.approx(1.0)


@pytest.mark.slow
def test_optimal_discriminator_data(quick) -> None:
    payload = quick("optimal-discriminator").saved
    grid = payload["grid"]
    assert len(grid["x"]) == len(grid["d"]) == len(grid["d_star"]) == len(grid["p"])
    # D* = p/(p+q) with p = N(0, 1) and q = N(1.5, 0.7²) written out here
    for x, p, q, d_star in zip(grid["x"], grid["p"], grid["q"], grid["d_star"], strict=True):
        p_x, q_x = _normal_pdf(x, 0.0, 1.0), _normal_pdf(x, 1.5, 0.7)
        assert p == pytest.approx(p_x, rel=1e-9) and q == pytest.approx(q_x, rel=1e-9)
        assert d_star == pytest.approx(p_x / (p_x + q_x), rel=1e-9)
    low, high = payload["region"]["x"]
    assert low < 0.0 < 1.5 < high
    assert 0 < payload["js_exact"] < math.log(2)
