"""The notes' worked examples: exact values, and the same values from divergences on a grid."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gankit.analytic import parallel_segments, shifted_uniforms
from gankit.examples import (
    CELL,
    DEFAULT_THETAS,
    examples_table,
    grid_parallel_segments,
    grid_shifted_uniforms,
    segment_masses,
    uniform_masses,
)
from tests.conftest import close

LOG2 = math.log(2.0)


@pytest.mark.parametrize("theta", [-2.0, -1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0, 1.5, 2.0])
def test_shifted_uniforms_match_their_grid(theta):
    exact, grid = shifted_uniforms(theta), grid_shifted_uniforms(theta)
    for key in ("js", "kl", "tv", "w1"):
        assert close(grid[key], exact[key], rel=1e-9, abs_=1e-9), key


@pytest.mark.parametrize("theta", [-1.0, -0.25, 0.0, 0.5, 2.0])
def test_parallel_segments_match_their_grid(theta):
    exact, grid = parallel_segments(theta), grid_parallel_segments(theta)
    for key in ("js", "kl", "tv", "w1"):
        assert close(grid[key], exact[key], rel=1e-9, abs_=1e-9), key


@pytest.mark.parametrize("theta", DEFAULT_THETAS)
def test_grid_masses_fill_whole_cells_exactly(theta):
    # U[theta, theta + 1]: 1/h cells of mass exactly h, at theta a whole number of cells
    masses = uniform_masses(theta)
    assert np.count_nonzero(masses) == 400 and np.all(masses[masses > 0] == CELL)
    assert np.flatnonzero(masses)[0] == round((theta + 3.0) / CELL)
    # the segment {theta} x [0, 1]: one column of 1/h cells of equal mass, summing to 1
    segment = segment_masses(theta).reshape(-1, 400)
    assert np.flatnonzero(segment.sum(axis=1)).tolist() == [round((theta + 3.0) / CELL)]
    assert segment.sum() == pytest.approx(1.0, abs=1e-12)


def test_shifted_uniforms_closed_form():
    assert shifted_uniforms(0.3)["js"] == pytest.approx(0.3 * LOG2, rel=1e-15)
    assert shifted_uniforms(-0.3)["js"] == pytest.approx(0.3 * LOG2, rel=1e-15)
    assert shifted_uniforms(1.7)["js"] == LOG2  # saturated
    assert shifted_uniforms(1.7)["w1"] == 1.7  # not saturated
    assert shifted_uniforms(0.0) == {"js": 0.0, "kl": 0.0, "reverse_kl": 0.0, "tv": 0.0, "w1": 0.0}
    assert shifted_uniforms(0.1)["kl"] == math.inf


def test_parallel_segments_js_jumps_while_w1_is_continuous():
    # docs/theory.md §4: JS = 0 at theta = 0 and log 2 elsewhere (the notes print it swapped).
    assert parallel_segments(0.0)["js"] == 0.0
    for theta in (1e-12, -0.3, 5.0):
        values = parallel_segments(theta)
        assert values["js"] == LOG2
        assert values["kl"] == math.inf and values["reverse_kl"] == math.inf
        assert values["tv"] == 1.0
        assert values["w1"] == abs(theta)


@pytest.mark.parametrize("bad", [math.nan, math.inf, "1", None, True])
def test_bad_theta(bad):
    with pytest.raises(ValueError, match="theta must be a finite number"):
        shifted_uniforms(bad)
    with pytest.raises(ValueError, match="theta must be a finite number"):
        parallel_segments(bad)


def test_examples_table_lists_every_theta_for_both_examples():
    table = examples_table([0.0, 0.5])
    rows = [line for line in table.splitlines() if line.startswith(("shifted", "parallel"))]
    assert len(rows) == 4
    assert "0.34657" in rows[1]  # JS of the shifted uniforms at theta = 0.5: log(2) / 2
    assert np.isclose(float(rows[3].split()[3]), LOG2, atol=1e-5)
