"""Shared test fixtures: a fixed seed and a private cache folder for every test, one tolerance
helper."""

from __future__ import annotations

import math

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


def close(actual: float, expected: float, *, rel: float = 1e-9, abs_: float = 1e-12) -> bool:
    """The one tolerance rule: equal infinities, or within ``rel``/``abs_`` of each other."""
    if math.isinf(expected) or math.isinf(actual):
        return actual == expected
    return math.isclose(actual, expected, rel_tol=rel, abs_tol=abs_)
