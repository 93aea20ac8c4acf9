"""The study framework: registry, command line, results.json, summary and index pages."""

from __future__ import annotations

import json
from pathlib import Path

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


def test_registry_holds_the_issue_names_and_every_module_has_the_interface():
    assert set(STUDIES) == FIXED_NAMES
    for name in STUDIES:
        module = get_study(name)
        assert module.NAME == name
        assert isinstance(module.CLAIM, str) and module.CLAIM and "\n" not in module.CLAIM
        assert callable(module.run)


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


@pytest.mark.parametrize("name", ["mode-collapse"])
def test_quick_study_writes_its_files(tmp_path, name):
    result = run_study(name, tmp_path, quick=True)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["study"] == name and saved["quick"] is True
    assert all(set(c) == {"claim", "expected", "measured", "holds"} for c in saved["claims"])
    assert [c["holds"] for c in saved["claims"]] == [c.holds for c in result.claims]
    assert all((tmp_path / f).is_file() for f in saved["figures"]) and saved["figures"]
    assert "| claim | expected | measured | holds |" in (tmp_path / "summary.md").read_text()


def test_summary_table_escapes_pipes(tmp_path):
    from gankit.studies._result import write_result

    result = StudyResult("x", [Claim("JS = |theta| log 2", "|a|", 1.0, True)], {})
    write_result(result, tmp_path, "claim")
    row = [line for line in (tmp_path / "summary.md").read_text().splitlines() if "theta" in line]
    assert row == ["| JS = \\|theta\\| log 2 | \\|a\\| | 1 | yes |"]
