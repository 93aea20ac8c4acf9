"""The documentation that ships: its references point at things that exist, and it stands on
its own (nothing outside the repository is cited)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from gankit.studies import STUDIES

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md", ROOT / "CONTRIBUTING.md"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_cited_test_and_study_exists(page: Path):
    text = page.read_text()
    for path, name in re.findall(r"(tests/[\w/]+\.py)::(\w+)", text):
        if name == "test_name":  # the page's own example of the notation
            continue
        source = ROOT / path
        assert source.is_file(), path
        assert re.search(rf"^def {name}\b", source.read_text(), re.M), f"{path}::{name}"
    for study in re.findall(r"gankit study ([a-z][\w-]+)", text):
        assert study in STUDIES or study in ("all",), study


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_and_images_resolve(page: Path):
    for target in re.findall(r"\]\(([^)#]+)\)", page.read_text()):
        if "://" in target:
            continue
        assert (page.parent / target).exists(), f"{page.name} links to a missing {target}"


def test_the_readme_is_a_newcomers_page():
    assert (ROOT / "README.md").stat().st_size < 7 * 1024
    text = (ROOT / "README.md").read_text()
    assert "make demo" in text and "make test" in text


def test_theory_has_the_sections_the_code_cites():
    headings = re.findall(r"^## §(\d+) ", (ROOT / "docs" / "theory.md").read_text(), re.M)
    cited = set()
    for source in (ROOT / "src" / "gankit").rglob("*.py"):
        cited |= set(re.findall(r"docs/theory\.md §(\d+)", source.read_text()))
    assert cited and cited <= set(headings), sorted(cited - set(headings))


def test_nothing_in_the_repository_cites_files_outside_it():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if tracked.returncode != 0:
        pytest.skip("not a git checkout")
    pattern = re.compile(r"\.\./shared|THEORY\.md|DESIGN\.md|STYLE\.md|ENGINEERING\.md")
    for name in tracked.stdout.splitlines():
        path = ROOT / name
        if path.suffix in (".py", ".md", ".toml", ".cfg", ".txt") or path.name == "Makefile":
            assert not pattern.search(path.read_text(errors="replace")), name
