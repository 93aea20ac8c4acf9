"""One writer per run folder: ``DIR/.lock`` holds the process id and host name of the run
writing it.

A second ``train`` pointed at a folder in use refuses instead of interleaving its writes.
A lock left by a process of this machine that no longer exists (killed with -9) is taken
over. A lock of another machine (a run folder on a shared file system, several machines
under ``torchrun``) cannot be checked from here, so it is refused, with the file to delete
if its process is gone.
"""

from __future__ import annotations

import contextlib
import os
import socket
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


def _holder(path: Path) -> tuple[int, str] | None:
    """The lock's (process id, host name); a lock that holds a pid alone is this host's."""
    try:
        pid, _, host = path.read_text().strip().partition(" ")
        return int(pid or "0"), host.strip() or socket.gethostname()
    except (FileNotFoundError, ValueError):
        return None


def _in_use(paths: RunPaths) -> str | None:
    """Why the folder is in use by another live process (None if it is not)."""
    holder = _holder(paths.lock)
    if holder is None:
        return None
    pid, host = holder
    if host != socket.gethostname():
        return (
            f"{paths.root} is in use by another gankit process (pid {pid} on {host}); "
            f"if that process is gone, delete {paths.lock}"
        )
    if pid and pid != os.getpid() and _alive(pid):
        return f"{paths.root} is in use by another gankit process (pid {pid})"
    return None


def refuse_if_in_use(paths: RunPaths) -> None:
    """The error :func:`run_lock` would give while another live process holds the folder,
    without taking the lock or making anything."""
    reason = _in_use(paths)
    if reason is not None:
        raise GankitError(reason)


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
            reason = _in_use(paths)
            if reason is not None:
                raise GankitError(reason) from None
            path.unlink(missing_ok=True)  # stale: its writer is gone
    else:
        raise GankitError(f"cannot take the lock {path}")
    with os.fdopen(handle, "w") as stream:
        stream.write(f"{os.getpid()} {socket.gethostname()}")
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
