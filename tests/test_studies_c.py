"""The study f-divergences in quick mode: its files, the results.json schema, its named data
re-checked against gankit.divergences, and the claims quick mode supports (every claim not
marked "not expected to hold in quick mode")."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from gankit import divergences
from gankit.fgan import DIVERGENCES
from gankit.studies import get_study
from gankit.studies.f_divergences import exact_divergence
from gankit.studies.runner import run_study

NAME = "f-divergences"
QUICK_EXCEPTION = "not expected to hold in quick mode"


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp(NAME)
    run_study(NAME, out, seed=0, quick=True)
    return out, json.loads((out / "results.json").read_text())


def test_study_writes_results_figures_and_summary(quick):
    out, payload = quick
    assert payload["study"] == NAME and payload["quick"] is True and payload["seed"] == 0
    assert payload["claim"] == get_study(NAME).CLAIM
    for claim in payload["claims"]:
        assert set(claim) == {"claim", "expected", "measured", "holds"}
        assert isinstance(claim["holds"], bool)
        assert "|" not in claim["claim"] + str(claim["expected"]), claim["claim"]
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == 2 and [p.name for p in pngs] == sorted(payload["figures"])
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    summary = (out / "summary.md").read_text()
    assert summary.startswith(f"# Study `{NAME}`") and "| claim |" in summary
    assert "| data | divergence | modes covered | high-quality fraction | W1 |" in summary


def test_claims_quick_mode_supports_hold(quick):
    supported = [c for c in quick[1]["claims"] if QUICK_EXCEPTION not in c["claim"]]
    assert len(supported) == len(DIVERGENCES)  # one estimation claim per divergence
    failing = [(c["claim"], c["measured"]) for c in supported if not c["holds"]]
    assert not failing


def test_estimates_are_below_the_exact_divergences(quick):
    estimates = quick[1]["estimates"]
    assert set(estimates) == set(DIVERGENCES)
    for name, e in estimates.items():
        assert e["bound"] <= e["exact"] + 1e-9, name
    # The exact values, independently: KL in closed form, JS within [0, log 2].
    assert math.isclose(
        estimates["kl"]["exact"], divergences.gaussian_kl(0, 1, 1, 2.25), rel_tol=1e-6
    )
    assert 0 < estimates["js"]["exact"] < math.log(2)
    assert estimates["kl"]["exact"] == exact_divergence("kl")


def test_runs_hold_every_score_for_every_divergence_and_data_set(quick):
    payload = quick[1]
    steps, every = payload["steps"], payload["every"]
    assert set(payload["runs"]) == {"ring", "grid"}
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
            last = [r["modes_covered"][-1] for r in by_name[name]]
            assert final["modes_covered_mean"] == pytest.approx(sum(last) / len(last))
