"""Inception-v3 features through torch-fidelity, for Fréchet and kernel distances comparable
with published FID and KID figures (``gankit eval --features inception``).

Optional and never required: it needs the ``torch-fidelity`` package and its Inception
weights already on disk (torch hub's cache, or the file named by ``$GANKIT_INCEPTION_WEIGHTS``).
gankit downloads nothing, so a missing package or file is a clear error, not a download.
Images in [-1, 1] are turned into the 0..255 ``uint8`` RGB tensors the extractor expects
(grey images are repeated over three channels); it resizes them to 299 × 299 itself.

References:
    Szegedy et al. 2016 (Inception-v3); Heusel et al. 2017 (FID uses its 2048-d pool features);
    Obukhov et al., torch-fidelity (the TensorFlow-compatible port of those weights).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit.errors import GankitError

WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"  # torch-fidelity's file name
BATCH = 100


def weights_path() -> Path:
    """Where the Inception weights must already be: ``$GANKIT_INCEPTION_WEIGHTS``, else torch
    hub's checkpoint cache (where torch-fidelity itself keeps them)."""
    named = os.environ.get("GANKIT_INCEPTION_WEIGHTS")
    if named:
        return Path(named)
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILE


def load_extractor() -> Any:
    """torch-fidelity's Inception-v3 feature extractor (2048-d pool features), on the CPU."""
    try:
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    except Exception as err:  # ImportError, or torchvision failing inside it
        raise GankitError(
            "--features inception needs the torch-fidelity package, which could not be "
            f"imported ({type(err).__name__}: {err}); use --features classifier"
        ) from None
    path = weights_path()
    if not path.is_file():
        raise GankitError(
            f"--features inception needs torch-fidelity's Inception weights at {path} "
            "(gankit downloads nothing; set GANKIT_INCEPTION_WEIGHTS to the file)"
        )
    extractor = FeatureExtractorInceptionV3(
        "inception-v3-compat", ["2048"], feature_extractor_weights_path=str(path)
    )
    return extractor.eval()


def to_uint8_rgb(images: torch.Tensor) -> torch.Tensor:
    """(N, 1 or 3, H, W) in [-1, 1] -> (N, 3, H, W) ``uint8`` in 0..255."""
    scaled = ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return scaled.expand(-1, 3, -1, -1) if scaled.shape[1] == 1 else scaled


def inception_features(images: torch.Tensor, extractor: Any | None = None) -> np.ndarray:
    """2048-d Inception pool features of images in [-1, 1], shape (N, 2048), float64."""
    extractor = extractor if extractor is not None else load_extractor()
    parts = []
    with torch.no_grad():
        for start in range(0, len(images), BATCH):
            (pool,) = extractor(to_uint8_rgb(images[start : start + BATCH]).contiguous())
            parts.append(pool.double().reshape(len(pool), -1))
    return torch.cat(parts).numpy()
