"""Shared test fixtures: a fixed seed and a private cache folder for every test, one tolerance
helper, and the headless Chromium that renders the HTML pages (with a line in pytest's summary
saying whether it ran)."""

from __future__ import annotations

import math
import os
import shutil
import subprocess

import numpy as np
import pytest
import torch


@pytest.fixture(scope="session")
def _cache_folder(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("gankit-cache")


@pytest.fixture(autouse=True)
def _private_cache(_cache_folder, monkeypatch: pytest.MonkeyPatch) -> None:
    """Classifier weights go to a folder of this test session, never the user's cache."""
    monkeypatch.setenv("GANKIT_CACHE", str(_cache_folder))


@pytest.fixture(autouse=True)
def _seed_everything() -> None:
    """Tests that forget to pass a generator still run the same way every time."""
    torch.manual_seed(0)
    np.random.seed(0)  # noqa: NPY002 - the legacy global RNG, in case a library uses it


CHROMIUM_MISSING = "no chromium on PATH"
_CHROMIUM_VERSION = pytest.StashKey[str]()
_CHROMIUM_TESTS = pytest.StashKey[set[str]]()


@pytest.fixture(scope="session")
def _chromium_found(pytestconfig: pytest.Config) -> str:
    """The browser's path; skip without one, or fail where GANKIT_REQUIRE_CHROMIUM=1 (CI)."""
    names = ("chromium", "chromium-browser", "google-chrome")
    browser = next((path for path in map(shutil.which, names) if path), None)
    if browser is None:
        if os.environ.get("GANKIT_REQUIRE_CHROMIUM") == "1":
            pytest.fail(f"{CHROMIUM_MISSING}, and GANKIT_REQUIRE_CHROMIUM=1 requires it")
        pytest.skip(CHROMIUM_MISSING)
    version = subprocess.run([browser, "--version"], capture_output=True, text=True, timeout=60)
    pytestconfig.stash[_CHROMIUM_VERSION] = version.stdout.strip() or browser
    return browser


@pytest.fixture
def chromium(_chromium_found: str, request: pytest.FixtureRequest) -> str:
    """Headless Chromium's path, for a test that renders a page."""
    request.config.stash.setdefault(_CHROMIUM_TESTS, set()).add(request.node.nodeid)
    return _chromium_found


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    """One line: how many tests rendered pages in which Chromium, or how to make them run."""
    stats = terminalreporter.stats
    skipped = [r for r in stats.get("skipped", []) if CHROMIUM_MISSING in str(r.longrepr)]
    if skipped:
        terminalreporter.write_line(
            f"headless-browser check skipped ({len(skipped)} tests): install Debian's chromium "
            "(apt-get install chromium) to run it"
        )
    ran = config.stash.get(_CHROMIUM_TESTS, set())
    if ran:
        passed = sum(r.nodeid in ran and r.when == "call" for r in stats.get("passed", []))
        terminalreporter.write_line(
            f"headless-browser check: {passed} of {len(ran)} tests passed in "
            f"{config.stash[_CHROMIUM_VERSION]}"
        )


def close(actual: float, expected: float, *, rel: float = 1e-9, abs_: float = 1e-12) -> bool:
    """The one tolerance rule: equal infinities, or within ``rel``/``abs_`` of each other."""
    if math.isinf(expected) or math.isinf(actual):
        return actual == expected
    return math.isclose(actual, expected, rel_tol=rel, abs_tol=abs_)


def tensors(tree: object) -> list[torch.Tensor]:
    """Every tensor of a nested checkpoint (dicts by sorted key, lists in order), flattened."""
    if isinstance(tree, torch.Tensor):
        return [tree]
    if isinstance(tree, dict):
        return [t for key in sorted(tree, key=str) for t in tensors(tree[key])]
    if isinstance(tree, (list, tuple)):
        return [t for item in tree for t in tensors(item)]
    return []


def straight_and_resumed(straight, half, folder) -> tuple[dict, dict]:
    """Train ``straight`` in ``folder/a``; train ``half``, then resume it to ``straight``, in
    ``folder/b``. Returns the two final checkpoints, which a bit-exact resume makes equal."""
    from gankit.training import loop
    from gankit.training.checkpoint import load_checkpoint

    loop.train(straight, folder / "a", progress=False)
    loop.train(half, folder / "b", progress=False)
    loop.train(straight, folder / "b", resume=True, progress=False)
    a = load_checkpoint(folder / "a" / "checkpoints" / "latest.pt")
    b = load_checkpoint(folder / "b" / "checkpoints" / "latest.pt")
    return a, b
