"""Scores of a class-conditional generator: does it draw the class it is asked for?

- Class accuracy: the fraction of samples asked for class k in which a classifier recognises
  class k, per class, their mean and the worst class. On images the classifier is gankit's
  (:mod:`gankit.metrics.classifier`; on ``stackedmnist``, its MNIST classifier on each
  channel, the triple as the class); on toy data the nearest mode centre.
- Fréchet distance within each class: the FD (:func:`gankit.metrics.images.frechet_distance`)
  between the samples asked for class k and the real images of class k, in the classifier's
  features; its mean over the classes and the worst (largest). A class is scored when both
  sides hold at least :data:`MIN_CLASS_SAMPLES` images; the others are ``None``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from gankit._arrays import ArrayLike
from gankit.errors import GankitError

__all__ = [
    "MIN_CLASS_SAMPLES",
    "class_accuracy",
    "evaluate_conditional_images",
    "evaluate_conditional_toy",
    "fd_within_classes",
]

MIN_CLASS_SAMPLES = 50  # fewer samples make a 128-feature covariance too noisy to compare


def class_accuracy(predicted: ArrayLike, requested: ArrayLike, n_classes: int) -> dict[str, Any]:
    """Per-class fraction of ``predicted == requested``, its mean and worst over the classes
    that were requested (a class never asked for is ``None``).

    Example:
        >>> scores = class_accuracy([0, 0, 1, 2], [0, 0, 1, 1], 3)
        >>> scores["class_accuracy_per_class"], scores["class_accuracy"]
        ([1.0, 0.5, None], 0.75)
    """
    predicted = np.asarray(predicted, dtype=np.int64).ravel()
    requested = np.asarray(requested, dtype=np.int64).ravel()
    if predicted.shape != requested.shape or predicted.size == 0:
        raise GankitError(
            f"predicted and requested must be equal, non-empty lists, got {predicted.size} "
            f"and {requested.size}"
        )
    per_class: list[float | None] = []
    for k in range(n_classes):
        asked = requested == k
        per_class.append(float((predicted[asked] == k).mean()) if asked.any() else None)
    scored = [value for value in per_class if value is not None]
    return {
        "class_accuracy": float(np.mean(scored)),
        "class_accuracy_worst": float(min(scored)),
        "class_accuracy_per_class": per_class,
    }


def fd_within_classes(
    fake: ArrayLike,
    fake_classes: ArrayLike,
    real: ArrayLike,
    real_classes: ArrayLike,
    n_classes: int,
    *,
    min_samples: int = MIN_CLASS_SAMPLES,
) -> dict[str, Any]:
    """The Fréchet distance between the features of each class's samples and real images;
    the mean and the worst (largest) over the classes both sides hold ``min_samples`` of."""
    from gankit.metrics.images import frechet_distance

    fake, real = np.asarray(fake, dtype=np.float64), np.asarray(real, dtype=np.float64)
    fake_classes, real_classes = np.asarray(fake_classes), np.asarray(real_classes)
    per_class: list[float | None] = []
    for k in range(n_classes):
        mine, theirs = fake[fake_classes == k], real[real_classes == k]
        enough = min(len(mine), len(theirs)) >= min_samples
        per_class.append(frechet_distance(mine, theirs) if enough else None)
    scored = [value for value in per_class if value is not None]
    return {
        "fd_within_class": float(np.mean(scored)) if scored else None,
        "fd_within_class_worst": float(max(scored)) if scored else None,
        "fd_within_class_per_class": per_class,
    }


def evaluate_conditional_images(
    samples: torch.Tensor,
    requested: torch.Tensor,
    dataset: Any,
    *,
    log: Any = print,
    progress: bool = True,
) -> dict[str, Any]:
    """Class accuracy and within-class FD of images ``samples`` asked for ``requested``
    classes, on a labelled image set (``stackedmnist``: class accuracy of the triples only,
    its 26 samples per class being too few for a within-class FD)."""
    from gankit.data.stacked import StackedMnist, triple_labels
    from gankit.metrics.classifier import features, load_classifier, predict

    requested_np = requested.numpy()
    net, _ = load_classifier(dataset, log=log, progress=progress)
    if isinstance(dataset, StackedMnist):
        from gankit.metrics.stacked import channel_digits

        digits, _ = channel_digits(net, samples)
        result = class_accuracy(triple_labels(digits), requested_np, dataset.n_classes)
        result.update(fd_within_class=None, fd_within_class_worst=None)
        return result
    result = class_accuracy(predict(net, samples), requested_np, dataset.n_classes)
    result.update(
        fd_within_classes(
            features(net, samples),
            requested_np,
            features(net, dataset.images),
            dataset.labels,
            dataset.n_classes,
        )
    )
    return result


def evaluate_conditional_toy(
    samples: ArrayLike, requested: ArrayLike, centres: ArrayLike
) -> dict[str, Any]:
    """Class accuracy of toy samples: a sample is recognised as the class of the mode
    centre nearest to it."""
    points, centres = np.asarray(samples, dtype=np.float64), np.asarray(centres, np.float64)
    nearest = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=-1).argmin(axis=1)
    return class_accuracy(nearest, requested, len(centres))
