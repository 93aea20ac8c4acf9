"""Stopping cleanly: SIGINT and SIGTERM ask the loop to stop after the current step."""

from __future__ import annotations

import contextlib
import signal
from typing import Any

__all__ = ["StopSignals"]


class StopSignals:
    """While active, SIGINT and SIGTERM set :attr:`received` instead of killing the process,
    so the loop writes a checkpoint and stops."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.received = signum

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
