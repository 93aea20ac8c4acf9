"""The Stacked MNIST protocol (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018).

Each channel of a generated image is labelled by gankit's MNIST classifier; the three digits
name one of the 1,000 triples. ``modes_covered`` counts the triples seen at least once and
``reverse_kl_modes = KL(p ‖ u) = Σ p log(1000 p)`` over the seen triples, p the triple
histogram of the generated images and u uniform: the direction VEEGAN and PacGAN report (the
generator's mode distribution first, hence "reverse"; as gankit's toy ``reverse_kl_modes``),
in nats, between 0 and log 1000 ≈ 6.91. A perfect generator does not
score 0: a multinomial histogram of N draws over K cells has E KL ≈ (K − 1) / (2N), about 0.019
at N = 26,000.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from gankit._arrays import ArrayLike
from gankit.data.stacked import triple_labels
from gankit.errors import GankitError

SEED_OFFSET = 1_000_003  # the real images of the distances never repeat the sample's seed


def mode_statistics(triples: ArrayLike, modes: int = 1000) -> dict[str, Any]:
    """Modes seen at least once and KL(histogram ‖ uniform) in nats, of class labels 0..modes-1.

    Example:
        >>> stats = mode_statistics([7] * 50)
        >>> stats["modes_covered"], round(stats["reverse_kl_modes"], 4)  # log 1000
        (1, 6.9078)
    """
    labels = np.asarray(triples, dtype=np.int64).ravel()
    if labels.size == 0 or labels.min() < 0 or labels.max() >= modes:
        raise GankitError(f"triples must be at least one label in 0..{modes - 1}")
    p = np.bincount(labels, minlength=modes) / labels.size
    seen = p > 0
    return {
        "modes_covered": int(seen.sum()),
        "modes_total": modes,
        "reverse_kl_modes": float(np.sum(p[seen] * np.log(p[seen] * modes))),
    }


def channel_digits(net: Any, images: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """The classifier's digit of each channel, (N, 3), and its features side by side, (N, 384)."""
    n, c, h, w = images.shape
    digits, features = [], []
    with torch.no_grad():
        for chunk in images.reshape(n * c, 1, h, w).split(1500):
            hidden = net.features(chunk)
            digits.append(net.head(hidden).argmax(dim=1))
            features.append(hidden)
    return (
        torch.cat(digits).reshape(n, c).numpy(),
        torch.cat(features).reshape(n, -1).double().numpy(),
    )


def evaluate_stacked(
    samples: torch.Tensor,
    dataset: Any,
    *,
    seed: int = 0,
    log: Any = print,
    features: str = "classifier",
    progress: bool = True,
) -> dict[str, Any]:
    """``gankit eval``'s scores of generated Stacked MNIST images (N, 3, 28, 28) in [-1, 1].

    The triple modes and their KL (:func:`mode_statistics`), the MNIST classifier's held-out
    accuracy, and the Fréchet and kernel distances to as many real stacks (drawn with
    ``seed``) in the classifier's features of the three channels side by side.

    Raises:
        GankitError: ``features`` other than ``"classifier"``, samples of the wrong shape.
    """
    from gankit.metrics.classifier import load_classifier
    from gankit.metrics.images import frechet_distance, kernel_distance

    if features != "classifier":
        raise GankitError(
            f"features {features!r} is not offered on {dataset.spec}: it is scored in the "
            "features of gankit's MNIST classifier (features 'classifier')"
        )
    if tuple(samples.shape[1:]) != dataset.shape:
        raise GankitError(f"samples have shape {tuple(samples.shape[1:])}, data {dataset.shape}")
    if not torch.isfinite(samples).all():
        raise GankitError("the samples hold NaN or infinite values")
    net, accuracy = load_classifier(dataset.digits, log=log, progress=progress)
    digits, feats_fake = channel_digits(net, samples)
    real, _ = dataset.draw(len(samples), torch.Generator().manual_seed(seed + SEED_OFFSET))
    _, feats_real = channel_digits(net, real)
    result: dict[str, Any] = {"n": len(samples)}
    result.update(mode_statistics(triple_labels(digits)))
    result.update(
        classifier_accuracy=accuracy,
        fid_features=frechet_distance(feats_fake, feats_real),
        kid_features=kernel_distance(feats_fake, feats_real, seed=seed),
        features="classifier",
    )
    return result
