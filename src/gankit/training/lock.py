"""One writer per run folder: ``DIR/.lock`` holds the process id of the run writing it.

A second ``train`` pointed at a folder in use refuses instead of interleaving its writes.
A lock left by a process that no longer exists (killed with -9) is taken over.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from gankit.errors import GankitError
from gankit.runfolder import RunPaths, make_folder


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _holder(path: Path) -> int | None:
    try:
        return int(path.read_text().strip() or "0")
    except (FileNotFoundError, ValueError):
        return None


def _in_use(run_dir: Path, pid: int) -> str:
    return f"{run_dir} is in use by another gankit process (pid {pid})"


def refuse_if_in_use(paths: RunPaths) -> None:
    """The error :func:`run_lock` would give while another live process holds the folder,
    without taking the lock or making anything."""
    pid = _holder(paths.lock)
    if pid and pid != os.getpid() and _alive(pid):
        raise GankitError(_in_use(paths.root, pid))


@contextlib.contextmanager
def run_lock(paths: RunPaths) -> Iterator[None]:
    """Hold the run folder's ``.lock`` for the duration of the block."""
    run_dir, path = paths.root, paths.lock
    make_folder(run_dir, f"the run folder {run_dir}")
    for _ in range(2):
        try:
            handle = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            pid = _holder(path)
            if pid and pid != os.getpid() and _alive(pid):
                raise GankitError(_in_use(run_dir, pid)) from None
            path.unlink(missing_ok=True)  # stale: its writer is gone
    else:
        raise GankitError(f"cannot take the lock {path}")
    with os.fdopen(handle, "w") as stream:
        stream.write(str(os.getpid()))
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
