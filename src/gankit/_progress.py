"""Progress bars on stderr (tqdm), one look for every long task: redrawn often in a terminal,
rarely in a log file, so CI logs stay readable."""

from __future__ import annotations

import sys
from typing import Any


def progress_bar(
    total: int | None, desc: str, *, unit: str = "it", initial: int = 0, enabled: bool = True
) -> Any:
    """A tqdm bar on stderr (``total=None``: a count without an end); does nothing unless
    ``enabled``."""
    from tqdm import tqdm

    interactive = sys.stderr.isatty()
    return tqdm(
        total=total,
        initial=initial,
        unit=unit,
        desc=desc,
        dynamic_ncols=True,
        mininterval=0.1 if interactive else 15.0,
        file=sys.stderr,
        disable=not enabled,
    )
