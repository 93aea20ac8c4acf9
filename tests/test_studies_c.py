"""The data of the study f-divergences, from its quick run (shared with tests/test_studies.py,
which checks its files and claims): the exact divergences against closed forms, and the
training scores' ranges and summaries."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from test_studies import QuickRun, quick_run  # the module pytest collected: one cache

from gankit import divergences
from gankit.fgan import DIVERGENCES

NAME = "f-divergences"


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> QuickRun:
    """The study's quick run: run once per session (tests/test_studies.py)."""
    return quick_run(NAME, tmp_path_factory)


def _hellinger_of_gaussians(m1: float, s1: float, m2: float, s2: float) -> float:
    """``∫ (√p - √q)² = 2 (1 - BC)`` with the Bhattacharyya coefficient of two Gaussians."""
    bc = math.sqrt(2 * s1 * s2 / (s1**2 + s2**2)) * math.exp(
        -((m1 - m2) ** 2) / (4 * (s1**2 + s2**2))
    )
    return 2 * (1 - bc)


@pytest.mark.slow
def test_estimates_are_below_the_exact_divergences(quick):
    estimates = quick.saved["estimates"]
    assert set(estimates) == set(DIVERGENCES)
    for name, e in estimates.items():
        assert e["bound"] <= e["exact"] + 1e-9, name
    # The exact values, independently: KL and squared Hellinger in closed form, JS in (0, log 2).
    assert math.isclose(
        estimates["kl"]["exact"], divergences.gaussian_kl(0, 1, 1, 2.25), rel_tol=1e-6
    )
    assert math.isclose(
        estimates["squared_hellinger"]["exact"],
        _hellinger_of_gaussians(0, 1, 1, 1.5),
        rel_tol=1e-6,
    )
    assert 0 < estimates["js"]["exact"] < math.log(2)


@pytest.mark.slow
def test_runs_hold_every_score_for_every_divergence_and_data_set(quick):
    payload = quick.saved
    steps, every = payload["steps"], payload["every"]
    assert set(payload["runs"]) == {"ring", "grid"}
    assert payload["modes_total"] == {"ring": 8, "grid": 25}
    for data, by_name in payload["runs"].items():
        assert set(by_name) == set(DIVERGENCES)
        total = payload["modes_total"][data]
        for runs in by_name.values():
            assert len(runs) == len(payload["seeds"])
            for scores in runs:
                assert len(scores["w1"]) == steps // every
                assert all(0 <= m <= total for m in scores["modes_covered"])
                assert all(0 <= q <= 1 for q in scores["high_quality_fraction"])
        for name, final in payload["final"][data].items():
            _check_final(final, [r["modes_covered"][-1] for r in by_name[name]], by_name[name])


def _check_final(final: dict[str, Any], last: list[float], runs: list[dict[str, Any]]) -> None:
    """The summary over seeds lies within the seeds' last scores, and counts the diverged."""
    assert min(last) <= final["modes_covered_mean"] <= max(last)
    assert 0 <= final["modes_covered_std"] <= (max(last) - min(last)) / 2 + 1e-12
    diverged = [r["w1"][-1] == "inf" for r in runs]  # results.json writes inf as "inf"
    assert final["diverged"] == sum(diverged)
    assert (final["w1_mean"] == "inf") == any(diverged)


@pytest.mark.slow
def test_summary_tables_the_bounds_and_the_training_runs(quick):
    summary = (quick.out / "summary.md").read_text()
    assert "| divergence | exact D_f(P‖Q) | critic's bound F | F / D_f |" in summary
    assert "| data | divergence | modes covered | high-quality fraction | W1 |" in summary
    rows = [line for line in summary.splitlines() if line.startswith(("| ring |", "| grid |"))]
    assert len(rows) == 2 * len(DIVERGENCES)
    assert sorted(quick.saved["figures"]) == ["f_divergence_bounds.png", "f_gan_training.png"]
    assert np.all([f in summary for f in quick.saved["figures"]])
