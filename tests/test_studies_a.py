"""The studies inverse-cdf, uniform-shift, parallel-segments and optimal-discriminator in quick
mode: their files, the results.json schema, their named data, and the claims quick mode
supports (every claim not marked "not expected to hold in quick mode")."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from gankit.studies import get_study
from gankit.studies.runner import run_study

QUICK_EXCEPTION = "not expected to hold in quick mode"
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
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Each study run once in quick mode: its folder and its parsed results.json."""
    done = {}
    for name in ("inverse-cdf", "uniform-shift", "parallel-segments", "optimal-discriminator"):
        out = tmp_path_factory.mktemp(name)
        run_study(name, out, seed=0, quick=True)
        done[name] = (out, json.loads((out / "results.json").read_text()))
    return done


@pytest.mark.parametrize(
    "name", ["inverse-cdf", "uniform-shift", "parallel-segments", "optimal-discriminator"]
)
def test_study_writes_results_figures_and_summary(results: dict, name: str) -> None:
    out, payload = results[name]
    assert payload["study"] == name and payload["quick"] is True and payload["seed"] == 0
    assert payload["claim"] == get_study(name).CLAIM
    assert payload["claims"], "a study must check at least one claim"
    for claim in payload["claims"]:
        assert set(claim) == {"claim", "expected", "measured", "holds"}
        assert isinstance(claim["holds"], bool)
        # a "|" would split the claim's row of the Markdown table in summary.md
        assert "|" not in claim["claim"] + str(claim["expected"]), claim["claim"]
    pngs = sorted(out.glob("*.png"))
    assert pngs and [p.name for p in pngs] == sorted(payload["figures"])
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    summary = (out / "summary.md").read_text()
    assert summary.startswith(f"# Study `{name}`") and "| claim |" in summary


@pytest.mark.parametrize(
    "name", ["inverse-cdf", "uniform-shift", "parallel-segments", "optimal-discriminator"]
)
def test_claims_quick_mode_supports_hold(results: dict, name: str) -> None:
    supported = [c for c in results[name][1]["claims"] if QUICK_EXCEPTION not in c["claim"]]
    assert supported
    failing = [(c["claim"], c["measured"]) for c in supported if not c["holds"]]
    assert not failing


@pytest.mark.parametrize("name", ["uniform-shift", "parallel-segments"])
def test_curves_hold_every_named_list_and_its_derivative(results: dict, name: str) -> None:
    curves = results[name][1]["curves"]
    n = len(curves["theta"])
    assert n >= 5 and 0.0 in curves["theta"]
    for key in CURVE_KEYS[name]:
        assert len(curves[key]) == n, key
    for key in CURVE_KEYS[name]:
        if key != "kl_grid":
            assert len(curves["d_" + key]) == n, key


def test_uniform_shift_curves_match_the_closed_form(results: dict) -> None:
    curves = results["uniform-shift"][1]["curves"]
    for theta, js, w1 in zip(
        curves["theta"], curves["js_analytic"], curves["w1_analytic"], strict=True
    ):
        assert math.isclose(js, min(abs(theta), 1.0) * math.log(2), abs_tol=1e-12)
        assert w1 == abs(theta)


def test_parallel_segments_kl_is_written_as_inf_string_off_zero(results: dict) -> None:
    curves = results["parallel-segments"][1]["curves"]
    for theta, kl in zip(curves["theta"], curves["kl_grid"], strict=True):
        assert kl == ("inf" if theta != 0 else 0.0)


def test_inverse_cdf_data(results: dict) -> None:
    payload = results["inverse-cdf"][1]
    assert payload["direction"] in ("increasing", "decreasing")
    curve = payload["map"]
    assert len(curve["u"]) == len(curve["z"]) == len(curve["learned"]) == len(curve["ideal"])
    assert all(a < b for a, b in zip(curve["ideal"], curve["ideal"][1:], strict=False)) == (
        payload["direction"] == "increasing"
    )
    assert 0 < payload["w1_noise_floor"] < 0.1 and 0 < payload["w1"]


def test_optimal_discriminator_data(results: dict) -> None:
    payload = results["optimal-discriminator"][1]
    grid = payload["grid"]
    assert len(grid["x"]) == len(grid["d"]) == len(grid["d_star"]) == len(grid["p"])
    # D* = p/(p+q), re-checked from the written densities
    for p, q, d_star in zip(grid["p"], grid["q"], grid["d_star"], strict=True):
        assert math.isclose(d_star, p / (p + q), rel_tol=1e-9)
    low, high = payload["region"]["x"]
    assert low < 0.0 < 1.5 < high
    assert 0 < payload["js_exact"] < math.log(2)
