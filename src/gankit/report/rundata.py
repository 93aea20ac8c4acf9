"""What a report reads from a run folder: configuration, metrics, sample figures, eval.json.

Reading is forgiving, because a report may be drawn while the run is still writing: a line of
``metrics.jsonl`` cut short is skipped, and a missing or unreadable piece becomes a note.
Only a folder that is not a run at all (no ``config.toml`` and no ``checkpoints/``) is an error.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gankit.errors import GankitError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_FRAME = re.compile(r"step_(\d+)\.png")


@dataclass
class RunFolder:
    """The readable pieces of one run folder; ``notes`` says what was missing or damaged."""

    path: Path
    config: dict[str, Any] = field(default_factory=dict)
    config_comments: list[str] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    frames: list[Path] = field(default_factory=list)  # samples/step_*.png in step order
    evaluation: dict[str, Any] | None = None
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.resolve().name

    @property
    def recipe(self) -> str:
        return str(self.config.get("recipe", "?"))

    @property
    def last_step(self) -> int | None:
        if self.metrics:
            return int(self.metrics[-1]["step"])
        return sample_step(self.frames[-1]) if self.frames else None


def sample_step(path: Path) -> int:
    """The step of a ``samples/step_NNNNNNN.png`` figure.

    Example:
        >>> sample_step(Path("samples/step_0000500.png"))
        500
    """
    found = _FRAME.fullmatch(path.name)
    if found is None:
        raise ValueError(f"expected a file named step_N.png, got {path.name!r}")
    return int(found.group(1))


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The records of ``metrics.jsonl`` in step order; lines that do not parse are skipped."""
    records = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a killed or still-writing process
        if isinstance(record, dict) and isinstance(record.get("step"), int):
            records.append(record)
    return sorted(records, key=lambda r: r["step"])


def read_run_folder(path: str | Path) -> RunFolder:
    """Everything a report shows of the run in ``path``.

    Raises:
        GankitError: ``path`` is not a folder, or holds neither config.toml nor checkpoints/.
    """
    path = Path(path)
    if not path.is_dir():
        raise GankitError(f"run folder {path} does not exist or is not a folder")
    config_path, checkpoints = path / "config.toml", path / "checkpoints"
    if not config_path.is_file() and not checkpoints.is_dir():
        raise GankitError(f"{path} is not a run folder: it has no config.toml and no checkpoints/")
    run = RunFolder(path)
    if config_path.is_file():
        text = config_path.read_text(errors="replace")
        try:
            run.config = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            run.notes["config"] = f"config.toml is not valid TOML ({error})."
        comments = [line[1:].strip() for line in text.splitlines() if line.startswith("#")]
        run.config_comments = comments[1:]  # the first line is the file's own title
    else:
        run.notes["config"] = "No config.toml in this folder."
    metrics = path / "metrics.jsonl"
    run.metrics = read_metrics(metrics) if metrics.is_file() else []
    if not run.metrics:
        run.notes["metrics"] = "No metrics logged yet (metrics.jsonl is missing or empty)."
    samples = path / "samples"
    frames = [p for p in samples.glob("step_*.png") if _FRAME.fullmatch(p.name)]
    run.frames = sorted(frames, key=sample_step)
    if not run.frames:
        run.notes["samples"] = "No sample figures yet (samples/step_*.png)."
    evaluation = path / "eval.json"
    if evaluation.is_file():
        try:
            loaded = json.loads(evaluation.read_text())
        except json.JSONDecodeError:
            loaded = None
        if isinstance(loaded, dict):
            run.evaluation = loaded
        else:
            run.notes["eval"] = "eval.json is not a JSON object; run gankit eval again."
    else:
        run.notes["eval"] = f"No eval.json: run `gankit eval {path}` to measure this run."
    return run
