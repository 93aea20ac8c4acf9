"""Where a run's logged numbers go: ``metrics.jsonl``, TensorBoard and the progress bar.

Only rank 0 writes (under ``torchrun`` the other processes get a :class:`Sinks` that does
nothing). :class:`Sinks` is a context manager: it closes the TensorBoard writer and the bar
however the loop ends, so a run that diverged or was interrupted still flushes its events.
"""

from __future__ import annotations

import importlib.util
import math
import time
from typing import Any

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
    """

    def __init__(
        self, paths: RunPaths, run: RunState, *, progress: bool, resumed: bool, started: float
    ) -> None:
        main, start = run.dist.is_main, run.step
        self._metrics = paths.metrics if main else None
        self._board = _open_board(paths, start if resumed else None) if main else None
        # total None (no step limit): the clock, not a count, ends the run
        total = run.config.step_limit
        self._bar = progress_bar(total, "train", initial=start) if progress and main else None
        self._started = self._interval_start = started
        self._interval_steps = 0

    def __enter__(self) -> Sinks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def after_step(self, step: int, values: dict[str, Any] | None) -> None:
        """Count a finished step; with ``values`` (a measured step) log them as one record,
        with ``sec_per_step`` over the steps since the last record."""
        self._interval_steps += 1
        if values is not None:
            now = time.perf_counter()
            record = {"step": step, **{k: float(v) for k, v in values.items()}}
            record["sec_per_step"] = (now - self._interval_start) / self._interval_steps
            record["time"] = now - self._started
            self._interval_start, self._interval_steps = now, 0
            self._write(record)
        if self._bar is not None:
            self._bar.update(1)

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


def _open_board(paths: RunPaths, resumed_at: int | None) -> Any:
    """A TensorBoard writer under ``tensorboard/`` when tensorboard is installed.

    On resume, events logged after the checkpoint's step are purged (they will be redone).
    """
    if importlib.util.find_spec("tensorboard") is None:
        return None
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(str(paths.tensorboard), purge_step=resumed_at)


def _postfix(record: dict[str, Any]) -> dict[str, str]:
    shown = {"d": record["d_loss"], "g": record["g_loss"]}
    if "w_estimate" in record:
        shown["W"] = record["w_estimate"]
    return {k: f"{v:.3g}" if math.isfinite(v) else str(v) for k, v in shown.items()}
