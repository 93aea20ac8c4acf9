"""Image metrics: class coverage, Fréchet and kernel distances, improved precision and recall.

- Class coverage (the mode-collapse number): the histogram q of the classes a classifier
  predicts for generated images; a class is covered when it holds at least 1 % of them, and
  ``class_kl_uniform = KL(q ‖ u) = log K − H(q)`` (0 for a perfect spread, log K for a
  generator that draws a single class).
- Fréchet distance (Heusel et al. 2017, FID) between Gaussians fitted to two feature sets:
  ``‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^½)``, the squared 2-Wasserstein distance of the two
  Gaussians, computed as ``gankit.wasserstein.gaussian_w2`` squared.
- Kernel distance (Bińkowski et al. 2018, KID): the unbiased MMD² with the kernel
  ``k(x, y) = (xᵀy / d + 1)³``, averaged over random subsets.
- Improved precision and recall (Kynkäänniemi et al. 2019): each set's manifold is the union
  of balls around its points reaching their k-th nearest neighbour (k = 3); precision is the
  fraction of generated points inside the real manifold, recall the fraction of real points
  inside the generated one.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from gankit._arrays import ArrayLike
from gankit._validate import check_choice, check_int, check_samples
from gankit.divergences import kl
from gankit.errors import GankitError

COVERED_FRACTION = 0.01  # a class is covered by >= 1 % of the samples (docs/theory.md §8)
NEIGHBOURS = 3  # Kynkäänniemi et al. 2019 use k = 3


def class_coverage(predicted: ArrayLike, n_classes: int) -> dict[str, Any]:
    """Classes covered and KL(histogram ‖ uniform) of predicted class labels.

    Example:
        >>> stats = class_coverage([1] * 100, 10)
        >>> stats["classes_covered"], round(stats["class_kl_uniform"], 6) == round(math.log(10), 6)
        (1, True)
    """
    labels = np.asarray(predicted, dtype=np.int64).ravel()
    if labels.size == 0:
        raise GankitError("predicted must hold at least one label")
    counts = np.bincount(labels, minlength=n_classes)[:n_classes]
    return {
        "classes_total": n_classes,
        "classes_covered": int(np.count_nonzero(counts >= COVERED_FRACTION * labels.size)),
        "class_kl_uniform": float(kl(counts, np.ones(n_classes), normalize=True)),
        "class_counts": counts.tolist(),
    }


def frechet_distance(a: ArrayLike, b: ArrayLike) -> float:
    """FID-style Fréchet distance between Gaussians fitted to feature sets (n, d) and (m, d).

    ``FD = W2(N(μ₁, Σ₁), N(μ₂, Σ₂))²``, the squared 2-Wasserstein distance of the Gaussians
    with the sets' means and covariances (Dowson & Landau 1982; Heusel et al. 2017):
    :func:`gankit.wasserstein.gaussian_w2`, squared. docs/theory.md §8.

    Example:
        >>> x = np.random.default_rng(0).normal(size=(500, 3))
        >>> abs(frechet_distance(x, x)) < 1e-9, round(frechet_distance(x, x + 1.0), 6)
        (True, 3.0)
    """
    from gankit.wasserstein import gaussian_w2  # lazy: POT loads only when it is needed

    x, y = check_samples("a", a), check_samples("b", b)
    if x.shape[1] != y.shape[1] or len(x) < 2 or len(y) < 2:
        raise GankitError(
            f"need two sets of >= 2 points of one dimension, got {x.shape}, {y.shape}"
        )
    cov_x, cov_y = np.atleast_2d(np.cov(x, rowvar=False)), np.atleast_2d(np.cov(y, rowvar=False))
    return gaussian_w2(x.mean(axis=0), cov_x, y.mean(axis=0), cov_y) ** 2


def kernel_distance(
    a: ArrayLike, b: ArrayLike, *, subsets: int = 10, subset_size: int = 1000, seed: int = 0
) -> float:
    """KID: the unbiased MMD² with ``k(x, y) = (xᵀy/d + 1)³``, mean over random subsets.

    Unbiased, so it can be slightly negative for two samples of one distribution.
    """
    x, y = check_samples("a", a), check_samples("b", b)
    if x.shape[1] != y.shape[1]:
        raise GankitError(f"a and b must have one dimension, got {x.shape[1]} and {y.shape[1]}")
    m = min(check_int("subset_size", subset_size), len(x), len(y))
    if m < 2:
        raise GankitError("kernel_distance needs at least 2 points in each set")
    rng = np.random.default_rng(seed)
    d = x.shape[1]
    values = []
    for _ in range(check_int("subsets", subsets)):
        xs = x[rng.choice(len(x), m, replace=False)]
        ys = y[rng.choice(len(y), m, replace=False)]
        kxx = (xs @ xs.T / d + 1) ** 3
        kyy = (ys @ ys.T / d + 1) ** 3
        kxy = (xs @ ys.T / d + 1) ** 3
        off = m * (m - 1)
        values.append(
            (kxx.sum() - np.trace(kxx)) / off + (kyy.sum() - np.trace(kyy)) / off - 2 * kxy.mean()
        )
    return float(np.mean(values))


def _kth_neighbour_radius(points: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each point to its k-th nearest other point, shape (n,)."""
    radii = []
    for chunk in points.split(1000):
        distances = torch.cdist(chunk, points)  # (c, n), the point itself at distance 0
        radii.append(distances.kthvalue(k + 1, dim=1).values)
    return torch.cat(radii)


def _inside(queries: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor) -> torch.Tensor:
    """Whether each query lies in some ball ``‖q − c_j‖ ≤ r_j``, shape (n_queries,)."""
    hits = []
    for chunk in queries.split(1000):
        hits.append((torch.cdist(chunk, centres) <= radii[None, :]).any(dim=1))
    return torch.cat(hits)


def precision_recall(real: ArrayLike, fake: ArrayLike, *, k: int = NEIGHBOURS) -> dict[str, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) with k-NN balls.

    Example:
        >>> x = np.random.default_rng(0).normal(size=(200, 4))
        >>> precision_recall(x, x)
        {'precision': 1.0, 'recall': 1.0}
    """
    r = torch.from_numpy(check_samples("real", real))
    f = torch.from_numpy(check_samples("fake", fake))
    k = check_int("k", k)
    if min(len(r), len(f)) <= k:
        raise GankitError(f"precision_recall needs more than k = {k} points in each set")
    real_radii, fake_radii = _kth_neighbour_radius(r, k), _kth_neighbour_radius(f, k)
    return {
        "precision": float(_inside(f, r, real_radii).double().mean()),
        "recall": float(_inside(r, f, fake_radii).double().mean()),
    }


FEATURES = ("classifier", "inception")


def evaluate_images(
    samples: torch.Tensor,
    dataset: Any,
    *,
    seed: int = 0,
    log: Any = print,
    features: str = "classifier",
    progress: bool = True,
) -> dict[str, Any]:
    """``gankit eval``'s metrics of generated images (N, C, H, W) in [-1, 1] against the set.

    The real side is as many images as ``samples`` (drawn without replacement with ``seed``;
    all of them when the set is smaller), so the k-NN radii of both sets are comparable.
    With labels: class coverage from the classifier. The Fréchet and kernel distances and
    precision/recall are taken in the classifier's features (``features="classifier"``) or in
    Inception-v3's (``"inception"``, :mod:`gankit.metrics.inception`, optional). A set without
    labels has no classifier: its class metrics are ``None`` and, unless Inception is asked
    for, only sliced W1 and pixel-space precision/recall are given. ``progress``: a bar on
    stderr while the classifier trains (once per data set: it is cached). ``stackedmnist`` is
    scored by :func:`gankit.metrics.stacked.evaluate_stacked`.
    """
    from gankit.data.stacked import StackedMnist
    from gankit.wasserstein import sliced_wasserstein

    if isinstance(dataset, StackedMnist):  # its own protocol: modes of the digit triples
        from gankit.metrics.stacked import evaluate_stacked

        return evaluate_stacked(
            samples, dataset, seed=seed, log=log, features=features, progress=progress
        )
    features = str(check_choice("features", features, FEATURES))
    real = dataset.images
    if len(samples) < len(real):
        pick = torch.randperm(len(real), generator=torch.Generator().manual_seed(seed))
        real = real[pick[: len(samples)]]
    if tuple(samples.shape[1:]) != tuple(real.shape[1:]):
        raise GankitError(f"samples have shape {tuple(samples.shape[1:])}, data {dataset.shape}")
    pixels_fake = samples.flatten(1).double().numpy()
    pixels_real = real.flatten(1).double().numpy()
    result: dict[str, Any] = {
        "sliced_w1": float(
            sliced_wasserstein(pixels_fake, pixels_real, n_projections=128, p=1, seed=seed)
        ),
        "n": len(samples),
    }
    net = None
    if dataset.labels is None:
        result.update(classes_total=None, classes_covered=None, class_kl_uniform=None)
    else:
        from gankit.metrics.classifier import load_classifier, predict

        net, accuracy = load_classifier(dataset, log=log, progress=progress)
        coverage = class_coverage(predict(net, samples), dataset.n_classes)
        result.update({key: coverage[key] for key in ("classes_total", "classes_covered")})
        result.update(class_kl_uniform=coverage["class_kl_uniform"])
    if features == "inception":
        from gankit.metrics.inception import inception_features, load_extractor

        extractor = load_extractor()
        feats_fake = inception_features(samples, extractor)
        feats_real = inception_features(real, extractor)
    elif net is not None:
        from gankit.metrics.classifier import features as classifier_features

        feats_fake, feats_real = classifier_features(net, samples), classifier_features(net, real)
    else:
        features, feats_fake, feats_real = "pixels", pixels_fake, pixels_real
    if features == "pixels":
        result.update(fid_features=None, kid_features=None)
    else:
        result.update(
            fid_features=frechet_distance(feats_fake, feats_real),
            kid_features=kernel_distance(feats_fake, feats_real, seed=seed),
        )
        if not math.isfinite(result["fid_features"]):
            raise GankitError("the Fréchet distance is not finite: the samples hold NaN")
    result.update(precision_recall(feats_real, feats_fake))
    if net is None:
        reason = f"{dataset.spec} has no labels"
        result["class_metrics"] = f"unavailable: {reason} (no classifier; features: {features})"
    else:
        result.update(class_counts=coverage["class_counts"], classifier_accuracy=accuracy)
    result["features"] = features
    return result
