"""Checkpoints: written atomically, loaded with ``weights_only=True``.

A checkpoint holds both models, the EMA generator, both optimisers, the step and every RNG
stream the run draws from (``gankit.training.state.state_dict``), so a resumed run continues
bit-identically on the CPU. Each is written through ``gankit.runfolder``'s temporary file,
fsync and rename: a reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import pickle
import shutil
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from gankit.errors import GankitError
from gankit.runfolder import LATEST, RunPaths, atomic_write, commit, write_temporary

__all__ = ["CheckpointWarning", "load_checkpoint", "load_latest", "save_checkpoint"]


class CheckpointWarning(UserWarning):
    """A damaged latest checkpoint was skipped in favour of the previous one."""


def save_checkpoint(state: dict[str, Any], paths: RunPaths, *, keep_every: int = 0) -> Path:
    """Write ``checkpoints/latest.pt`` (the old one becomes ``previous.pt``) and, every
    ``keep_every`` steps (step 0, the initial weights, excepted), ``checkpoints/step_N.pt``.

    The new file is complete on disk before any rename; a failed write (disk full, read-only
    folder) raises a :class:`GankitError` and leaves the existing checkpoints as they were.
    """
    step = int(state["step"])

    def write(stream: Any) -> None:
        torch.save(state, stream)

    try:
        temporary = write_temporary(paths.checkpoints, LATEST, write)
        if paths.latest.exists():
            _keep_as_previous(paths.latest, paths.previous)
        commit(temporary, paths.latest)  # latest is never absent, for readers of a live run
        if keep_every and step > 0 and step % keep_every == 0:
            atomic_write(paths.kept_checkpoint(step), write)
    except OSError as error:
        raise GankitError(
            f"cannot write checkpoint in {paths.checkpoints}: {error.strerror or error}; "
            "the previous checkpoint is intact"
        ) from None
    return paths.latest


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


def load_latest(paths: RunPaths) -> dict[str, Any]:
    """The newest readable checkpoint of a run: ``latest.pt``, else ``previous.pt`` with a
    :class:`CheckpointWarning` that says why latest was skipped."""
    try:
        return load_checkpoint(paths.latest)
    except GankitError as error:
        if not paths.previous.is_file():
            raise
        state = load_checkpoint(paths.previous)
        warnings.warn(
            f"{error}; using the previous checkpoint (step {state['step']})",
            CheckpointWarning,
            stacklevel=2,
        )
        return state


def require_run(paths: RunPaths) -> None:
    """A clear error when the folder holds no run (no config.toml or no checkpoint)."""
    if not paths.config.is_file() or not paths.has_checkpoint():
        raise GankitError(f"{paths.root} is not a gankit run folder (no config.toml or checkpoint)")
