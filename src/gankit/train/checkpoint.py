"""Checkpoints: written atomically, loaded with ``weights_only=True``.

A checkpoint holds both models, the EMA generator, both optimisers, the step and every RNG
state the run draws from, so a resumed run continues bit-identically on the CPU.
Writes go to a temporary file in the same folder, are flushed and fsynced, then renamed
over the target: a reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch

from gankit.errors import GankitError

LATEST = "latest.pt"


def atomic_save(state: dict[str, Any], path: Path) -> None:
    """``torch.save`` to ``path`` through a temporary file, fsync and rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            torch.save(state, stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # make the rename itself durable
    finally:
        os.close(directory)


def save_checkpoint(state: dict[str, Any], folder: Path, step: int, *, keep_every: int = 0) -> Path:
    """Write ``folder/latest.pt`` and, every ``keep_every`` steps, ``folder/step_N.pt``."""
    latest = folder / LATEST
    atomic_save(state, latest)
    if keep_every and step % keep_every == 0:
        atomic_save(state, folder / f"step_{step:07d}.pt")
    return latest


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``: tensors and plain types, never code."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise GankitError(f"no checkpoint at {path}") from None
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise GankitError(f"cannot load checkpoint {path}: {first}") from None
    if not isinstance(state, dict) or "step" not in state:
        raise GankitError(f"{path} is not a gankit checkpoint")
    return state


def latest_checkpoint(run_dir: Path) -> Path:
    """The run's latest checkpoint; a clear error when the folder holds no run."""
    path = run_dir / "checkpoints" / LATEST
    if not (run_dir / "config.toml").is_file() or not path.is_file():
        raise GankitError(f"{run_dir} is not a gankit run folder (no config.toml or checkpoint)")
    return path
