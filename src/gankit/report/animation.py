"""An animated GIF of training from the run's sample figures, one frame per figure."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gankit.runfolder import atomic_write

FRAME_MS = 400  # each figure on screen for 0.4 s
LAST_FRAME_MS = 2000  # the final state lingers before the loop starts again
MAX_FRAMES = 120  # keeps a long run's embedded GIF to a few megabytes


def spread(items: Sequence[Path], limit: int) -> list[Path]:
    """At most ``limit`` evenly spaced items, always keeping the first and the last.

    Example:
        >>> [p.name for p in spread([Path(str(i)) for i in range(10)], 4)]
        ['0', '3', '6', '9']
    """
    if len(items) <= limit:
        return list(items)
    picks = sorted({round(i * (len(items) - 1) / (limit - 1)) for i in range(limit)})
    return [items[i] for i in picks]


def write_gif(frames: Sequence[Path], path: str | Path, *, max_frames: int = MAX_FRAMES) -> Path:
    """Write the PNG ``frames`` (in the given order) as a looping GIF at ``path``.

    Frames of another size than the first are scaled to it. Unreadable frames (a figure
    still being written) are skipped.

    Raises:
        ValueError: no frame could be read, or ``max_frames`` < 2.
    """
    from PIL import Image

    if max_frames < 2:
        raise ValueError(f"max_frames must be >= 2, got {max_frames}")
    images = []
    for frame in spread(frames, max_frames):
        try:
            with Image.open(frame) as image:
                images.append(image.convert("RGB"))
        except OSError:
            continue
    if not images:
        raise ValueError("no readable frame to animate")
    size = images[0].size
    images = [im if im.size == size else im.resize(size) for im in images]
    durations = [FRAME_MS] * (len(images) - 1) + [LAST_FRAME_MS]
    path = Path(path)

    def write(stream: Any) -> None:
        images[0].save(
            stream,
            format="GIF",
            save_all=True,
            append_images=images[1:],
            duration=durations,
            loop=0,
            optimize=False,
        )

    return atomic_write(path, write)
