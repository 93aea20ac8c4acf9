"""Checkpoints: written atomically, loaded with ``weights_only=True``.

A checkpoint holds both models, the EMA generator, both optimisers, the step and every RNG
state the run draws from, so a resumed run continues bit-identically on the CPU.
Writes go to a temporary file in the same folder, are flushed and fsynced, then renamed
over the target: a reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from gankit.errors import GankitError

LATEST = "latest.pt"
PREVIOUS = "previous.pt"  # the checkpoint before latest: the fallback when latest is damaged


class CheckpointWarning(UserWarning):
    """A damaged latest checkpoint was skipped in favour of the previous one."""


def _write_temporary(state: dict[str, Any], folder: Path, name: str) -> Path:
    """``torch.save`` into a fresh temporary file beside ``name``, flushed and fsynced."""
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            torch.save(state, stream)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Path(temporary)


def _sync_folder(folder: Path) -> None:
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)  # make the renames themselves durable
    finally:
        os.close(directory)


def atomic_save(state: dict[str, Any], path: Path) -> None:
    """``torch.save`` to ``path`` through a temporary file, fsync and rename."""
    temporary = _write_temporary(state, path.parent, path.name)
    os.replace(temporary, path)
    _sync_folder(path.parent)


def save_checkpoint(state: dict[str, Any], folder: Path, step: int, *, keep_every: int = 0) -> Path:
    """Write ``folder/latest.pt`` (the old one becomes ``previous.pt``) and, every
    ``keep_every`` steps, ``folder/step_N.pt``.

    The new file is complete on disk before any rename; a failed write (disk full, read-only
    folder) raises a :class:`GankitError` and leaves the existing checkpoints as they were.
    """
    latest = folder / LATEST
    try:
        temporary = _write_temporary(state, folder, LATEST)
        if latest.exists():
            _keep_as_previous(latest, folder / PREVIOUS)
        os.replace(temporary, latest)  # latest is never absent, for readers of a live run
        _sync_folder(folder)
        if keep_every and step % keep_every == 0:
            atomic_save(state, folder / f"step_{step:07d}.pt")
    except OSError as error:
        raise GankitError(
            f"cannot write checkpoint in {folder}: {error.strerror or error}; "
            "the previous checkpoint is intact"
        ) from None
    return latest


def _keep_as_previous(latest: Path, previous: Path) -> None:
    """Make ``previous`` a second name of the current ``latest`` (a hard link; a copy where
    the file system has none), swapped in atomically."""
    link = previous.with_name(f".{previous.name}.link.tmp")
    link.unlink(missing_ok=True)
    try:
        os.link(latest, link)
    except OSError:
        shutil.copyfile(latest, link)
    os.replace(link, previous)


def remove_stale_temporaries(folder: Path) -> None:
    """Delete temporary files left by a process killed while writing a checkpoint."""
    for path in folder.glob(".*.tmp"):
        path.unlink(missing_ok=True)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``: tensors and plain types, never code."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise GankitError(f"no checkpoint at {path}") from None
    except (
        pickle.UnpicklingError,
        RuntimeError,
        EOFError,
        OSError,  # e.g. a truncated zip archive
        ValueError,
        zipfile.BadZipFile,
    ) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise GankitError(f"cannot load checkpoint {path}: {first}") from None
    if not isinstance(state, dict) or "step" not in state:
        raise GankitError(f"{path} is not a gankit checkpoint")
    return state


def load_latest(folder: Path) -> dict[str, Any]:
    """The newest readable checkpoint in ``folder``: ``latest.pt``, else ``previous.pt``
    with a :class:`CheckpointWarning` that says why latest was skipped."""
    try:
        return load_checkpoint(folder / LATEST)
    except GankitError as error:
        if not (folder / PREVIOUS).is_file():
            raise
        state = load_checkpoint(folder / PREVIOUS)
        warnings.warn(
            f"{error}; using the previous checkpoint (step {state['step']})",
            CheckpointWarning,
            stacklevel=2,
        )
        return state


def latest_checkpoint(run_dir: Path) -> Path:
    """The run's checkpoint folder; a clear error when the folder holds no run."""
    folder = run_dir / "checkpoints"
    has_checkpoint = (folder / LATEST).is_file() or (folder / PREVIOUS).is_file()
    if not (run_dir / "config.toml").is_file() or not has_checkpoint:
        raise GankitError(f"{run_dir} is not a gankit run folder (no config.toml or checkpoint)")
    return folder
