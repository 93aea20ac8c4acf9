"""Image grids with Pillow (no torchvision): tiles of N images in [-1, 1] on a dark background."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from gankit.errors import GankitError
from gankit.runfolder import atomic_write


def image_grid(images: np.ndarray, *, columns: int | None = None, padding: int = 2) -> np.ndarray:
    """Tile images (N, C, H, W) in [-1, 1] into one uint8 picture (rows·H', cols·W', C).

    ``columns`` defaults to ⌈√N⌉; ``padding`` pixels of black separate the tiles.

    Example:
        >>> image_grid(np.zeros((5, 1, 4, 4)), padding=1).shape
        (11, 16, 1)
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[1] not in (1, 3) or len(images) == 0:
        raise GankitError(f"images must have shape (N, 1 or 3, H, W), got {images.shape}")
    n, c, h, w = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    grid = np.zeros((padding + rows * (h + padding), padding + columns * (w + padding), c))
    pixels = (np.clip(np.nan_to_num(images), -1, 1) + 1) * 127.5  # (N, C, H, W) in 0..255
    for index in range(n):
        top = padding + (index // columns) * (h + padding)
        left = padding + (index % columns) * (w + padding)
        grid[top : top + h, left : left + w] = pixels[index].transpose(1, 2, 0)
    return grid.round().astype(np.uint8)


def save_grid(
    images: np.ndarray, path: str | Path, *, columns: int | None = None, min_side: int = 256
) -> Path:
    """Write :func:`image_grid` as a PNG, upscaled (nearest) so the picture is >= ``min_side``."""
    from PIL import Image

    grid = image_grid(images, columns=columns)
    picture = Image.fromarray(grid[..., 0] if grid.shape[2] == 1 else grid)
    scale = max(1, math.ceil(min_side / max(picture.size)))
    if scale > 1:
        size = (picture.size[0] * scale, picture.size[1] * scale)
        picture = picture.resize(size, Image.Resampling.NEAREST)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda stream: picture.save(stream, format="PNG"))
    return path
