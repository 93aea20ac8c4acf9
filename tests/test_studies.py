"""The study framework: registry, command line, results.json, summary and index pages, and every
study in quick mode (its files, their schema, and the claims quick mode supports).

Each study runs once per test session in quick mode (:func:`quick_run`); the study-specific
tests of tests/test_studies_a.py, _b.py and _c.py read the same runs.
"""

from __future__ import annotations

import ast
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gankit.cli import main
from gankit.studies import STUDIES, get_study
from gankit.studies._result import Claim, StudyResult, finite_differences, plain, within
from gankit.studies.runner import run_study, write_index

FIXED_NAMES = {
    "inverse-cdf",
    "uniform-shift",
    "parallel-segments",
    "optimal-discriminator",
    "vanishing-gradients",
    "gradient-tails",
    "mode-collapse",
    "w-correlation",
    "lipschitz-scale",
    "f-divergences",
}
QUICK_EXCEPTION = "not expected to hold in quick mode"
PNG = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class QuickRun:
    """A study's quick run at seed 0: its folder and its parsed results.json."""

    out: Path
    saved: dict[str, Any]


def quick_run(name: str, factory: pytest.TempPathFactory) -> QuickRun:
    """Study ``name`` in quick mode at seed 0, run at most once per test session.

    The run's folder lies under the session's base temporary folder, so every test module
    that asks for the same study reads the same files, whichever module asks first.
    """
    out = factory.getbasetemp() / "quick-studies" / name
    if not (out / "results.json").is_file():  # written last, atomically, by run_study
        run_study(name, out, seed=0, quick=True)
    return QuickRun(out, json.loads((out / "results.json").read_text()))


@pytest.fixture(scope="session")
def quick_studies(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], QuickRun]:
    """Each study's quick run, by name (see :func:`quick_run`)."""
    return lambda name: quick_run(name, tmp_path_factory)


def test_registry_holds_the_ten_studies_and_every_module_has_the_interface():
    assert set(STUDIES) == FIXED_NAMES
    for name in STUDIES:
        module = get_study(name)
        assert module.NAME == name
        assert isinstance(module.CLAIM, str) and module.CLAIM and "\n" not in module.CLAIM
        for function in ("run", "measure", "claims", "figures", "summary"):
            assert callable(getattr(module, function)), (name, function)
        assert module.DEFAULT != module.QUICK, name


def _calls(module: object) -> set[str]:
    """The dotted names of every function a module's source calls."""
    names = set()
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.Call):
            names.add(ast.unparse(node.func))
    return names


def test_no_study_reseeds_torch_or_steps_a_generator_itself():
    for name in STUDIES:
        calls = _calls(get_study(name))
        assert "torch.manual_seed" not in calls, name  # weights come from `with seeded(seed)`
        stepping = {c for c in calls if c.split(".")[-1] in {"critic_steps", "generator_step"}}
        stepping |= {c for c in calls if c.endswith("opt_g.step")}
        assert not stepping, (name, stepping)  # generators train only through train_step


def test_study_list_and_errors(capsys):
    assert main(["study", "--list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == list(STUDIES)
    assert main(["study", "no-such-study", "--out", "x"]) == 2
    assert "unknown study 'no-such-study'" in capsys.readouterr().err
    assert main(["study", "uniform-shift"]) == 2
    assert "study needs NAME and --out DIR" in capsys.readouterr().err


def test_plain_makes_strict_json():
    import numpy as np

    text = json.dumps(
        plain(
            {
                "a": float("inf"),
                "b": np.float32(0.5),
                "c": np.arange(2),
                "d": (np.bool_(True), Path("x/y.png")),
            }
        ),
        allow_nan=False,
    )
    assert json.loads(text) == {"a": "inf", "b": 0.5, "c": [0, 1], "d": [True, "y.png"]}


def test_within_and_finite_differences():
    assert within(1.05, 1.0, atol=0.1) and not within(1.2, 1.0, atol=0.1)
    assert within(2.1, 2.0, rtol=0.06) and not within(float("inf"), 1.0, atol=10)
    assert finite_differences([0, 1, 2, 3], [0, 2, 4, 6]) == [2.0, 2.0, 2.0, 2.0]


def test_index_links_every_study_and_embeds_its_figures(tmp_path):
    from PIL import Image

    (tmp_path / "a").mkdir()
    Image.new("RGB", (4, 4), "red").save(tmp_path / "a" / "f.png")
    results = [
        StudyResult("a", [Claim("x holds", 1, 1, True)], {}, [tmp_path / "a" / "f.png"]),
        StudyResult("b", [Claim("y fails", 1, 2, False)], {}, [tmp_path / "b" / "gone.png"]),
    ]
    write_index(results, tmp_path)
    page = (tmp_path / "index.html").read_text()
    assert 'href="a/summary.md"' in page and "y fails" in page
    assert page.count('src="data:image/png;base64,') == 1 and "gone.png is missing" in page
    table = (tmp_path / "index.md").read_text()
    assert "| [a](a/summary.md) | 1/1 | yes |" in table and "| **no** |" in table


def test_summary_table_escapes_pipes(tmp_path):
    from gankit.studies._result import write_result

    result = StudyResult("x", [Claim("JS = |theta| log 2", "|a|", 1.0, True)], {})
    write_result(result, tmp_path, "claim")
    row = [line for line in (tmp_path / "summary.md").read_text().splitlines() if "theta" in line]
    assert row == ["| JS = \\|theta\\| log 2 | \\|a\\| | 1 | yes |"]


@pytest.mark.slow
@pytest.mark.parametrize("name", list(STUDIES))
def test_quick_study_writes_its_files_and_the_claims_quick_mode_supports_hold(quick_studies, name):
    run = quick_studies(name)
    saved = run.saved
    assert saved["study"] == name and saved["claim"] == get_study(name).CLAIM
    assert saved["seed"] == 0 and saved["quick"] is True
    assert saved["claims"], "a study must check at least one claim"
    for claim in saved["claims"]:
        assert set(claim) == {"claim", "expected", "measured", "holds"}
        assert isinstance(claim["holds"], bool)
        # a "|" would split the claim's row of the Markdown table in summary.md
        assert "|" not in claim["claim"] + str(claim["expected"]), claim["claim"]
    figures = saved["figures"]
    assert figures and sorted(figures) == sorted(p.name for p in run.out.glob("*.png"))
    assert all((run.out / f).read_bytes()[:8] == PNG for f in figures)
    summary = (run.out / "summary.md").read_text()
    assert summary.startswith(f"# Study `{name}`")
    assert "| claim | expected | measured | holds |" in summary
    assert all(f"]({f})" in summary for f in figures)

    supported = [c for c in saved["claims"] if QUICK_EXCEPTION not in c["claim"]]
    assert supported
    failing = [(c["claim"], c["expected"], c["measured"]) for c in supported if not c["holds"]]
    assert not failing
