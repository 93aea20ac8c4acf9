"""What a report reads from a run folder: configuration, metrics, sample figures, eval.json.

Reading is forgiving, because a report may be drawn while the run is still writing: a line of
``metrics.jsonl`` cut short is skipped, and a missing or unreadable piece becomes a note.
Only a folder that is not a run at all (no ``config.toml`` and no ``checkpoints/``) is an error.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gankit.errors import GankitError
from gankit.runfolder import RunPaths, figure_step, read_metrics
from gankit.training.config import FORMAT
from gankit.training.migrate import migrate

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


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
    def paths(self) -> RunPaths:
        return RunPaths(self.path)

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
        return figure_step(self.frames[-1]) if self.frames else None


def _as_current(config: dict[str, Any], paths: RunPaths) -> dict[str, Any]:
    """A run's configuration as the current format reads it (an older folder's keys get the
    values its run trained with), or as written when it is not a whole configuration."""
    try:
        return {"config_format": FORMAT, **migrate(config, str(paths.config))}
    except GankitError:
        return config


def read_run_folder(path: str | Path) -> RunFolder:
    """Everything a report shows of the run in ``path``.

    Raises:
        GankitError: ``path`` is not a folder, or holds neither config.toml nor checkpoints/.
    """
    paths = RunPaths(Path(path))
    if not paths.root.is_dir():
        raise GankitError(f"run folder {paths.root} does not exist or is not a folder")
    if not paths.config.is_file() and not paths.checkpoints.is_dir():
        raise GankitError(
            f"{paths.root} is not a run folder: it has no config.toml and no checkpoints/"
        )
    run = RunFolder(paths.root)
    if paths.config.is_file():
        text = paths.config.read_text(errors="replace")
        try:
            run.config = _as_current(tomllib.loads(text), paths)
        except tomllib.TOMLDecodeError as error:
            run.notes["config"] = f"config.toml is not valid TOML ({error})."
        comments = [line[1:].strip() for line in text.splitlines() if line.startswith("#")]
        run.config_comments = comments[1:]  # the first line is the file's own title
    else:
        run.notes["config"] = "No config.toml in this folder."
    run.metrics = read_metrics(paths.metrics)
    if not run.metrics:
        run.notes["metrics"] = "No metrics logged yet (metrics.jsonl is missing or empty)."
    run.frames = paths.figures()
    if not run.frames:
        run.notes["samples"] = "No sample figures yet (samples/step_*.png)."
    if paths.eval.is_file():
        try:
            loaded = json.loads(paths.eval.read_text())
        except json.JSONDecodeError:
            loaded = None
        if isinstance(loaded, dict):
            run.evaluation = loaded
        else:
            run.notes["eval"] = "eval.json is not a JSON object; run gankit eval again."
    else:
        run.notes["eval"] = f"No eval.json: run `gankit eval {paths.root}` to measure this run."
    return run
