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
