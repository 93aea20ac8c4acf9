"""The run folder: the name of every file in it, and the one way each file is written and read.

A run folder holds::

    config.toml        the fully resolved configuration (config_format, then every key)
    metrics.jsonl      one JSON object per logged step, each with an integer "step"
    checkpoints/       latest.pt, previous.pt, and step_NNNNNNN.pt every keep_every steps
    samples/           step_NNNNNNN.png figures, and real.png (image sets)
    tensorboard/       event files, when tensorboard is installed
    eval.json          written by ``gankit eval``
    report.html        written by ``gankit report``, with training.gif beside it
    .lock              the process id and host name of the run writing the folder

Every writer and reader of these names goes through :class:`RunPaths`, and every file is written
with :func:`atomic_write`: to a temporary file in the same folder, flushed and fsynced, then
renamed over the target, so a reader (a report drawn while the run trains, a resume after a
crash) sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from gankit.errors import GankitError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "RunPaths",
    "append_metrics",
    "atomic_write",
    "atomic_write_text",
    "commit",
    "figure_step",
    "make_folder",
    "named_path",
    "output_file",
    "output_folder",
    "read_metrics",
    "read_toml",
    "remove_temporaries",
    "trim_metrics",
    "write_temporary",
]

LATEST = "latest.pt"
PREVIOUS = "previous.pt"  # the checkpoint before latest: the fallback when latest is damaged
_FIGURE = re.compile(r"step_(\d+)\.png")


@dataclass(frozen=True)
class RunPaths:
    """The paths of one run folder.

    Example:
        >>> paths = RunPaths(Path("runs/ring"))
        >>> paths.figure(500).as_posix(), paths.kept_checkpoint(1000).name
        ('runs/ring/samples/step_0000500.png', 'step_0001000.pt')
    """

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def latest(self) -> Path:
        return self.checkpoints / LATEST

    @property
    def previous(self) -> Path:
        return self.checkpoints / PREVIOUS

    @property
    def samples(self) -> Path:
        return self.root / "samples"

    @property
    def real_grid(self) -> Path:
        """The grid of real images drawn beside the generated ones (image sets)."""
        return self.samples / "real.png"

    @property
    def tensorboard(self) -> Path:
        return self.root / "tensorboard"

    @property
    def eval(self) -> Path:
        return self.root / "eval.json"

    @property
    def report(self) -> Path:
        return self.root / "report.html"

    @property
    def gif(self) -> Path:
        return self.root / "training.gif"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    def kept_checkpoint(self, step: int) -> Path:
        """The checkpoint kept at ``step`` (``keep_every``)."""
        return self.checkpoints / f"step_{step:07d}.pt"

    def figure(self, step: int) -> Path:
        """The sample figure drawn at ``step``."""
        return self.samples / f"step_{step:07d}.png"

    def figures(self) -> list[Path]:
        """Every ``samples/step_N.png`` in step order."""
        found = [p for p in self.samples.glob("step_*.png") if figure_step(p) is not None]
        return sorted(found, key=lambda p: figure_step(p) or 0)

    def has_checkpoint(self) -> bool:
        return self.latest.is_file() or self.previous.is_file()


def figure_step(path: Path) -> int | None:
    """The step of a ``step_NNNNNNN.png`` figure; None for any other name.

    Example:
        >>> figure_step(Path("samples/step_0000500.png")), figure_step(Path("real.png"))
        (500, None)
    """
    found = _FIGURE.fullmatch(path.name)
    return int(found.group(1)) if found else None


# --- output paths ------------------------------------------------------------------------------


def named_path(value: str | os.PathLike[str], name: str, kind: str = "folder") -> Path:
    """``value`` as a path; a blank one is refused (``Path("")`` is the current folder)."""
    if not os.fspath(value).strip():
        raise GankitError(f"{name} must name a {kind}, got {os.fspath(value)!r}")
    return Path(value)


def make_folder(path: Path, label: str) -> Path:
    """Create the folder ``path`` with its parents; a file in the way (or any other reason it
    cannot be made) is a :class:`GankitError` that names ``label`` and the reason."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        in_the_way = next((p for p in (path, *path.parents) if p.is_file()), None)
        why = f"{in_the_way} is a file" if in_the_way else error.strerror or str(error)
        raise GankitError(f"cannot create {label}: {why}") from None
    return path


def output_folder(value: str | os.PathLike[str], name: str = "--out") -> Path:
    """The folder ``value`` to write into, made with its parents.

    Raises:
        GankitError: ``value`` is blank, a file, or under a file.
    """
    path = named_path(value, name)
    if path.exists() and not path.is_dir():
        raise GankitError(f"{name} {path} exists and is not a folder")
    return make_folder(path, f"{name} {path}")


def output_file(value: str | os.PathLike[str], name: str = "--out") -> Path:
    """The file ``value`` to write, its folder made with its parents.

    Raises:
        GankitError: ``value`` is blank, a folder, or under a file.
    """
    path = named_path(value, name, "file")
    if path.is_dir():
        raise GankitError(f"{name} {path} is a folder; expected a file")
    make_folder(path.parent, f"the folder of {name} {path}")
    return path


# --- atomic writes ---------------------------------------------------------------------------


def write_temporary(folder: Path, name: str, write: Callable[[IO[bytes]], object]) -> Path:
    """Call ``write`` on a fresh temporary file beside ``folder/name``, flush and fsync it.

    The file is removed again if ``write`` fails; :func:`commit` renames it into place.
    """
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Path(temporary)


def commit(temporary: Path, path: Path) -> Path:
    """Rename ``temporary`` over ``path`` and make the rename itself durable."""
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return path


def atomic_write(path: Path, write: Callable[[IO[bytes]], object]) -> Path:
    """Write ``path`` through a temporary file: ``write(stream)``, fsync, rename."""
    return commit(write_temporary(path.parent, path.name, write), path)


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda stream: stream.write(text.encode("utf-8")))


def remove_temporaries(folder: Path) -> None:
    """Delete the temporary files of writes cut short (a process killed while writing)."""
    for path in folder.glob(".*.tmp"):
        path.unlink(missing_ok=True)


# --- metrics.jsonl ---------------------------------------------------------------------------


def append_metrics(path: Path, record: dict[str, Any]) -> None:
    """Append one record as a line of JSON."""
    with path.open("a") as handle:
        handle.write(json.dumps(record) + "\n")


def _records(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(line, record)`` for every line that is a JSON object with an integer ``step``.

    Other lines are skipped: the last one may have been cut short by a killed process, or be
    still being written.
    """
    if not path.is_file():
        return
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        step = record.get("step") if isinstance(record, dict) else None
        if isinstance(step, int) and not isinstance(step, bool):
            yield line, record


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The records of ``metrics.jsonl`` in step order (none when the file is missing)."""
    return sorted((record for _, record in _records(path)), key=lambda r: r["step"])


def trim_metrics(path: Path, step: int) -> None:
    """Keep the records up to ``step``: those logged after the checkpoint a resume starts from
    will be logged again."""
    if path.exists():
        kept = [line for line, record in _records(path) if record["step"] <= step]
        atomic_write_text(path, "".join(line + "\n" for line in kept))


# --- TOML ------------------------------------------------------------------------------------


def read_toml(path: Path) -> dict[str, Any]:
    """The key/value pairs of a flat TOML file (or of its one ``[train]`` table).

    Raises:
        GankitError: the file is missing, unreadable, not TOML, or holds other tables.
    """
    try:
        with path.open("rb") as handle:
            values = tomllib.load(handle)
    except FileNotFoundError:
        raise GankitError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise GankitError(f"cannot read config file {path}: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise GankitError(f"config file {path} is not valid TOML: {error}") from None
    if set(values) == {"train"} and isinstance(values["train"], dict):
        values = values["train"]
    nested = [key for key, value in values.items() if isinstance(value, dict)]
    if nested:
        raise GankitError(f"config file {path}: unexpected table(s) {', '.join(nested)}")
    return values
