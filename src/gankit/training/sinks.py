"""Where a run's logged numbers go: ``metrics.jsonl``, TensorBoard and the progress bar.

TensorBoard gets every logged scalar, the resolved configuration (the text of ``config.toml``,
at the step each call of the loop starts from), histograms of the critic's raw scores of the
real and generated batch on every logged step (``critic/real``, ``critic/fake``), and each
sample figure (``samples``), read back from the PNG the figure writer wrote.

Only rank 0 writes (under ``torchrun`` the other processes get a :class:`Sinks` that does
nothing). :class:`Sinks` is a context manager: it closes the TensorBoard writer and the bar
however the loop ends, so a run that diverged or was interrupted still flushes its events.
"""

from __future__ import annotations

import importlib.util
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit._progress import progress_bar
from gankit.runfolder import RunPaths, append_metrics
from gankit.training.state import RunState

__all__ = ["Sinks"]


class Sinks:
    """The records of one call of the training loop.

    Args:
        paths: the run folder.
        run: the run, at the step training starts from (0, or the checkpoint's on resume);
            only its process 0 writes.
        progress: show a progress bar.
        resumed: events TensorBoard holds past the starting step are purged (they are redone).
        started: ``time.perf_counter()`` when training started: records hold ``time`` since.

    ``paths.config`` must already be written: TensorBoard shows it.
    """

    def __init__(
        self, paths: RunPaths, run: RunState, *, progress: bool, resumed: bool, started: float
    ) -> None:
        main, start = run.dist.is_main, run.step
        self._metrics = paths.metrics if main else None
        self._board = _open_board(paths, start if resumed else None) if main else None
        if self._board is not None:
            config = paths.config.read_text(encoding="utf-8")
            self._board.add_text("config", f"```toml\n{config}\n```", start)
        # total None (no step limit): the clock, not a count, ends the run
        total = run.config.step_limit
        self._bar = progress_bar(total, "train", initial=start) if progress and main else None
        self._started = self._interval_start = started
        self._interval_steps = 0

    def __enter__(self) -> Sinks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def after_step(
        self,
        step: int,
        values: dict[str, Any] | None,
        scores: dict[str, torch.Tensor] | None = None,
    ) -> None:
        """Count a finished step; with ``values`` (a measured step) log them as one record,
        with ``sec_per_step`` over the steps since the last record, and the step's critic
        ``scores`` (``gankit.training.step.SCORES``) as histograms."""
        self._interval_steps += 1
        if values is not None:
            now = time.perf_counter()
            record = {"step": step, **{k: float(v) for k, v in values.items()}}
            record["sec_per_step"] = (now - self._interval_start) / self._interval_steps
            record["time"] = now - self._started
            self._interval_start, self._interval_steps = now, 0
            self._write(record)
        if scores is not None and self._board is not None:
            for key, tag in _HISTOGRAMS.items():
                self._board.add_histogram(tag, scores[key].float().cpu(), step)
        if self._bar is not None:
            self._bar.update(1)

    def after_figure(self, step: int, path: Path) -> None:
        """Show the sample figure of ``step``, a PNG the figure writer has just written to
        ``path``, in TensorBoard (nothing if it wrote none)."""
        if self._board is None or not path.is_file():
            return
        from PIL import Image

        with Image.open(path) as picture:
            pixels = np.asarray(picture.convert("RGB"))
        self._board.add_image("samples", pixels, step, dataformats="HWC")

    def _write(self, record: dict[str, Any]) -> None:
        if self._metrics is not None:
            append_metrics(self._metrics, record)
        if self._board is not None:
            for key, value in record.items():
                self._board.add_scalar(key, value, record["step"])
        if self._bar is not None:
            self._bar.set_postfix(_postfix(record), refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self._board is not None:
            self._board.close()
            self._board = None


_HISTOGRAMS = {"real_scores": "critic/real", "fake_scores": "critic/fake"}


def _open_board(paths: RunPaths, resumed_at: int | None) -> Any:
    """A TensorBoard writer under ``tensorboard/`` when tensorboard is installed.

    On resume, events logged after the checkpoint's step are purged (they will be redone);
    those of the step itself stay, as its record stays in ``metrics.jsonl``.
    """
    if importlib.util.find_spec("tensorboard") is None:
        return None
    from torch.utils.tensorboard import SummaryWriter

    # TensorBoard hides the events at and after purge_step: the first step redone.
    purge_step = None if resumed_at is None else resumed_at + 1
    return SummaryWriter(str(paths.tensorboard), purge_step=purge_step)


def _postfix(record: dict[str, Any]) -> dict[str, str]:
    shown = {"d": record["d_loss"], "g": record["g_loss"]}
    if "w_estimate" in record:
        shown["W"] = record["w_estimate"]
    return {k: f"{v:.3g}" if math.isfinite(v) else str(v) for k, v in shown.items()}
