"""The run report (``gankit report DIR``) and the comparison page (``gankit compare``).

A report shows one run folder: its resolved configuration, training curves, the newest sample
figure, an animation of the sample figures over training (also written as ``training.gif``)
and ``eval.json``. A comparison overlays several runs' curves and sets their final samples and
evaluations side by side. Missing pieces become a short note, never an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gankit.errors import GankitError
from gankit.report import page
from gankit.report.animation import write_gif
from gankit.report.curves import PANELS, Series, curve_panels
from gankit.report.rundata import RunFolder, read_run_folder
from gankit.runfolder import figure_step, output_file


def _curves(runs: Sequence[Series], missing: str) -> str:
    panels = curve_panels(runs)
    if not panels:
        return page.note(missing)
    drawn = {title for title, _ in panels}
    skipped = [panel.title for panel in PANELS if panel.title not in drawn]
    body = "<div class=grid>" + "".join(page.figure(png, title) for title, png in panels)
    body += "</div>"
    if skipped:
        body += page.note(f"Not drawn (not logged by the recipe, or zero): {'; '.join(skipped)}.")
    return body


def _progress(run: RunFolder) -> str:
    """One line: recipe, data, steps reached, time."""
    parts = [f"{run.recipe} on {run.config.get('data', '?')}"]
    if run.last_step is not None:
        parts.append(f"step {run.last_step} {_budget(run.config)}")
    if run.metrics and isinstance(run.metrics[-1].get("time"), (int, float)):
        parts.append(f"{run.metrics[-1]['time']:.1f} s of training")
    return f"<p>{page.escape(', '.join(parts))}</p>"


def _budget(config: dict[str, Any]) -> str:
    """``of N`` steps, or the time limit that ends a run without a step limit.

    Example:
        >>> _budget({"steps": 2000}), _budget({"steps": 0, "time_limit": 600.0}), _budget({})
        ('of 2000', 'of a run until its 600 s time limit', 'of ?')
    """
    steps = config.get("steps", "?")
    if steps == 0:
        return f"of a run until its {config.get('time_limit', '?'):g} s time limit"
    return f"of {steps}"


def _samples(run: RunFolder) -> str:
    """The newest sample figure and, from two figures on, the animation of all of them."""
    if not run.frames:
        return page.note(run.notes["samples"])
    newest = run.frames[-1]
    shown = [page.figure(newest, f"samples at step {figure_step(newest)} ({newest.name})")]
    if len(run.frames) >= 2:
        gif = write_gif(run.frames, run.paths.gif)
        shown.append(page.figure(gif, f"training.gif: {len(run.frames)} sample figures in order"))
    body = "<div class=grid>" + "".join(shown) + "</div>"
    if len(run.frames) < 2:
        body += page.note("One sample figure only: no animation yet.")
    return body


def report_page(run: RunFolder) -> str:
    """The HTML of the report of ``run``."""
    if run.config:
        config = page.table(["key", "value"], list(run.config.items()))
        config += "".join(page.note(c) for c in run.config_comments)
    else:
        config = page.note(run.notes["config"])
    if run.evaluation is not None:
        evaluation = page.table(["metric", "value"], list(run.evaluation.items()))
    else:
        evaluation = page.note(run.notes["eval"])
    missing = run.notes.get("metrics", "No curve to draw: every logged value is zero or missing.")
    body = (
        _progress(run)
        + page.section("configuration (config.toml)", config)
        + page.section(
            "training curves (metrics.jsonl)", _curves([Series(run.name, run.metrics)], missing)
        )
        + page.section("samples", _samples(run))
        + page.section("evaluation (eval.json)", evaluation)
    )
    return page.shell(f"gankit run {run.name}", body)


def write_report(run_dir: str | Path) -> Path:
    """Write ``run_dir/report.html`` (and ``run_dir/training.gif``); returns the page's path.

    Raises:
        GankitError: ``run_dir`` is not a run folder.
    """
    run = read_run_folder(run_dir)
    return page.write_page(run.paths.report, report_page(run))


def _labels(runs: Sequence[RunFolder]) -> list[str]:
    """``folder (recipe)`` per run; the path as given where folder names repeat."""
    names = [run.name for run in runs]
    if len(set(names)) < len(names):
        names = [str(run.path) for run in runs]
    return [f"{name} ({run.recipe})" for name, run in zip(names, runs, strict=True)]


def _side_by_side(
    first: str, keys: Sequence[str], columns: Sequence[dict[str, Any]], labels: list[str]
) -> str:
    """A table with a row per key and a column per run; blank where a run lacks the key."""
    rows = [[key] + [column.get(key, "") for column in columns] for key in keys]
    return page.table([first, *labels], rows)


def compare_page(runs: Sequence[RunFolder]) -> str:
    """The HTML of the comparison of ``runs``."""
    labels = _labels(runs)
    configs = [run.config for run in runs]
    keys = list(dict.fromkeys(k for config in configs for k in config))
    differ = [k for k in keys if len({repr(c.get(k)) for c in configs}) > 1]
    config = (
        _side_by_side("key", differ, configs, labels)
        if differ
        else page.note("Same configuration.")
    )
    samples = "".join(
        page.figure(run.frames[-1], f"{label}, step {figure_step(run.frames[-1])}")
        if run.frames
        else page.note(f"{label}: no sample figure.")
        for label, run in zip(labels, runs, strict=True)
    )
    evaluations = [run.evaluation or {} for run in runs]
    metrics = list(dict.fromkeys(k for e in evaluations for k in e))
    if metrics:
        evaluation = _side_by_side("metric", metrics, evaluations, labels)
    else:
        evaluation = page.note("No run has an eval.json: run `gankit eval DIR` on each.")
    overview = [
        [label, str(run.path), run.config.get("data", "?"), run.last_step]
        for label, run in zip(labels, runs, strict=True)
    ]
    series = [Series(label, run.metrics) for label, run in zip(labels, runs, strict=True)]
    body = (
        page.table(["run", "folder", "data", "last step"], overview)
        + page.section("configuration (keys that differ)", config)
        + page.section("training curves", _curves(series, "No run has logged metrics yet."))
        + page.section("final samples", f"<div class=grid>{samples}</div>")
        + page.section("evaluation (eval.json)", evaluation)
    )
    return page.shell(f"gankit comparison of {len(runs)} runs", body)


def write_compare(run_dirs: Sequence[str | Path], out: str | Path) -> Path:
    """Write the comparison page of ``run_dirs`` to ``out``; returns its path.

    Raises:
        GankitError: fewer than two folders, one that is not a run folder, or an ``out``
            that is a folder or under a file (its missing folders are made).
    """
    if len(run_dirs) < 2:
        raise GankitError(f"compare needs at least 2 run folders, got {len(run_dirs)}")
    runs = [read_run_folder(d) for d in run_dirs]
    return page.write_page(output_file(out), compare_page(runs))
