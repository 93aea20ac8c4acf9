"""Clusters of an image set, as the classes of a self-conditioned run (``clusters = K``).

A GAN whose data lie on several disconnected pieces must stretch one continuous generator
across the gaps between them, and the samples it puts in the gaps are off the data (low
precision). Conditioning both networks on a cluster of the data lets each cluster have its own
piece of the generator's output, without any labels: the self-conditioned GAN of Liu et al.
2020 ("Diverse Image Generation via Self-Conditioned GANs"), which clusters the
discriminator's features and re-clusters as it trains. gankit clusters the pixels once,
before training, with k-means (Lloyd's algorithm from k-means++ seeds, Arthur &
Vassilvitskii 2007), and keeps the assignment in the run's checkpoints.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch

from gankit.data.images import ImageSet
from gankit.errors import GankitError

__all__ = ["ITERATIONS", "RESTARTS", "kmeans", "with_clusters", "within_cluster_sum"]

ITERATIONS = 100  # Lloyd iterations at most; it stops earlier once no point moves
RESTARTS = 4  # k-means++ seedings; the clustering of the lowest within-cluster sum is kept
CHUNK = 4096  # rows whose distances to the centres are computed at once


def _nearest(points: torch.Tensor, centres: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For each point: its nearest centre and the squared distance to it (float64).

    ``|x - c|² = |x|² - 2 x·c + |c|²``, taken in float64 so that the assignment does not hang
    on the rounding of a float32 product.
    """
    centres = centres.double()
    centre_norms = (centres * centres).sum(1)
    index, distance = [], []
    for part in points.split(CHUNK):
        part = part.double()
        squared = (part * part).sum(1, keepdim=True) - 2 * part @ centres.T + centre_norms
        best, arg = squared.min(1)
        index.append(arg)
        distance.append(best.clamp(min=0))
    return torch.cat(index), torch.cat(distance)


def _seeds(points: torch.Tensor, k: int, rng: torch.Generator) -> torch.Tensor:
    """k-means++: the first centre uniformly, each next one with probability proportional to
    its squared distance to the nearest centre chosen so far."""
    first = int(torch.randint(len(points), (1,), generator=rng))
    chosen = [first]
    _, distance = _nearest(points, points[first : first + 1])
    for _ in range(1, k):
        pick = int(torch.multinomial(distance, 1, generator=rng))
        chosen.append(pick)
        distance = torch.minimum(distance, _nearest(points, points[pick : pick + 1])[1])
    return points[chosen].double()


def _filled(nearest: torch.Tensor, distance: torch.Tensor, k: int) -> torch.Tensor:
    """``nearest`` with each empty cluster given the point farthest from its centre among
    the clusters of more than one point (there is one while a cluster is empty)."""
    sizes = torch.bincount(nearest, minlength=k)
    for empty in (sizes == 0).nonzero().flatten().tolist():
        far = int(torch.where(sizes[nearest] > 1, distance, -1.0).argmax())
        sizes[nearest[far]] -= 1
        sizes[empty] += 1
        nearest[far], distance[far] = empty, 0.0
    return nearest


def _lloyd(points: torch.Tensor, centres: torch.Tensor, k: int) -> torch.Tensor:
    """Lloyd's iterations from ``centres``: each point to its nearest centre, each centre to
    its points' mean, until no point moves (at most :data:`ITERATIONS`)."""
    assignment = torch.full((len(points),), -1, dtype=torch.int64)
    for _ in range(ITERATIONS):
        nearest = _filled(*_nearest(points, centres), k)
        if torch.equal(nearest, assignment):
            break
        assignment = nearest
        sums = torch.zeros_like(centres).index_add_(0, assignment, points.double())
        centres = sums / torch.bincount(assignment, minlength=k).double()[:, None]
    return assignment


def kmeans(images: torch.Tensor, k: int, seed: int = 0) -> torch.Tensor:
    """The cluster (N,) int64 of each of ``images`` (N, ...) among ``k`` k-means clusters of
    their pixels, numbered from the largest cluster down; the same for the same input and seed.
    The best of :data:`RESTARTS` seedings (the lowest :func:`within_cluster_sum`) is kept.

    A cluster left empty by an update is given the point farthest from its centre, so all
    ``k`` are used (:func:`_filled`).

    Raises:
        GankitError: ``k`` < 2, or more clusters than distinct images.
    """
    points = images.reshape(len(images), -1).float()
    distinct = len(torch.unique(points, dim=0)) if k > 1 else 0
    if k < 2 or k > distinct:
        raise GankitError(
            f"clusters must be from 2 to the number of distinct images ({distinct}), got {k}"
        )
    rng = torch.Generator().manual_seed(seed)
    best, best_sum = None, math.inf
    for _ in range(RESTARTS):
        assignment = _lloyd(points, _seeds(points, k, rng), k)
        total = within_cluster_sum(points, assignment)
        if total < best_sum:
            best, best_sum = assignment, total
    assert best is not None
    assignment = best
    sizes = torch.bincount(assignment, minlength=k)
    order = sorted(range(k), key=lambda c: (-int(sizes[c]), c))  # largest first, ties by index
    renumber = torch.empty(k, dtype=torch.int64)
    renumber[torch.tensor(order)] = torch.arange(k)
    return renumber[assignment]


def within_cluster_sum(images: torch.Tensor, assignment: torch.Tensor) -> float:
    """k-means' objective: the sum of squared distances of the points to their cluster's mean."""
    points = images.reshape(len(images), -1).double()
    k = int(assignment.max()) + 1
    sums = torch.zeros(k, points.shape[1], dtype=torch.float64).index_add_(0, assignment, points)
    means = sums / torch.bincount(assignment, minlength=k).double()[:, None]
    return float(((points - means[assignment]) ** 2).sum())


def with_clusters(dataset: ImageSet, assignment: torch.Tensor | np.ndarray) -> ImageSet:
    """``dataset`` with the clusters of ``assignment`` (N,) as its labels: what a
    self-conditioned run trains and samples on (its evaluation uses the true labels)."""
    labels = np.asarray(assignment, dtype=np.int64)
    if len(labels) != len(dataset.images):
        raise GankitError(
            f"the run's clusters cover {len(labels)} images and {dataset.spec} has "
            f"{len(dataset.images)}: the data changed since the run started"
        )
    return dataclasses.replace(
        dataset, labels=labels, fingerprint=f"{dataset.fingerprint}:clusters{labels.max() + 1}"
    )
