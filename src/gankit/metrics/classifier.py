"""A small classifier trained on the real images: the judge of class coverage and the feature map.

The image metrics need a network that knows the data: its predicted classes give the class
histogram of generated samples (the mode-collapse number) and its penultimate layer gives the
feature space of the Fréchet and kernel distances. Inception weights would need a download, so
gankit trains this network itself on the labelled real data (90 % to fit, 10 % held out for
the reported accuracy; 4,500 / 500 on ``mnist5k``, where it holds out about 99 %) and caches
the weights under the user's cache folder, keyed by a hash of the data, so a second ``eval``
on the same data reuses them. Training: Adam with a one-cycle learning rate (Smith & Topin
2019) and random shifts of up to ``size // 14`` pixels (at least 1) as augmentation.

Cache folder: ``$GANKIT_CACHE``, else ``$XDG_CACHE_HOME/gankit``, else ``~/.cache/gankit``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from gankit._progress import progress_bar
from gankit._random import seeded
from gankit.data.images import ImageSet
from gankit.errors import GankitError
from gankit.runfolder import atomic_write

VERSION = 2  # bump when the network or its training changes: old cache entries are ignored
FEATURES = 128
EPOCHS = 30
BATCH = 128
HELD_OUT = 0.1
PEAK_LR = 2e-3
DROPOUT = 0.3


def cache_dir() -> Path:
    """Where gankit keeps what it computes once per data set (classifier weights)."""
    if os.environ.get("GANKIT_CACHE"):
        return Path(os.environ["GANKIT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gankit"


class Classifier(nn.Module):
    """Two ``conv3×3 -> batch norm -> ReLU -> maxpool2`` blocks (32, 64 channels), a 128-unit
    layer (the features), dropout, logits.

    Example:
        >>> net = Classifier((1, 28, 28), 10)
        >>> net(torch.zeros(2, 1, 28, 28)).shape, net.features(torch.zeros(2, 1, 28, 28)).shape
        (torch.Size([2, 10]), torch.Size([2, 128]))
    """

    def __init__(self, shape: tuple[int, int, int], n_classes: int) -> None:
        super().__init__()
        channels, size, _ = shape
        self.body = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * (size // 4) ** 2, FEATURES),
            nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Dropout(DROPOUT), nn.Linear(FEATURES, n_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)  # (B, 128)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))  # (B, n_classes) logits


def shifted(images: torch.Tensor, most: int, rng: torch.Generator) -> torch.Tensor:
    """Each image moved by its own random (dy, dx) in ``-most..most`` pixels, drawn from
    ``rng``; the uncovered border is background (-1).

    Example:
        >>> x = torch.zeros(1, 1, 3, 3); x[0, 0, 1, 1] = 1
        >>> bool(shifted(x, 1, torch.Generator().manual_seed(0)).max() == 1)
        True
    """
    n, _, h, w = images.shape
    padded = nn.functional.pad(images, (most,) * 4, value=-1.0)
    dy, dx = torch.randint(0, 2 * most + 1, (2, n), generator=rng).tolist()
    return torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)])


def _fit(dataset: ImageSet, seed: int, log: Any, progress: bool) -> tuple[Classifier, float]:
    """Train on 90 % of the labelled images (with ``progress``, a bar over every batch of
    every epoch); return the net and its held-out accuracy."""
    assert dataset.labels is not None
    rng = torch.Generator().manual_seed(seed)
    images, labels = dataset.images, torch.from_numpy(dataset.labels)
    order = torch.randperm(len(images), generator=rng)
    n_test = max(1, int(len(images) * HELD_OUT))
    test, train = order[:n_test], order[n_test:]
    shift = max(1, dataset.shape[1] // 14)
    log(f"gankit: training the evaluation classifier on {len(train)} images of {dataset.spec}")
    total = EPOCHS * -(-len(train) // BATCH)
    with seeded(seed), progress_bar(total, "classifier", unit="batch", enabled=progress) as bar:
        net = Classifier(dataset.shape, dataset.n_classes)  # init and dropout: global stream
        optimiser = torch.optim.Adam(net.parameters(), lr=PEAK_LR)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, PEAK_LR, total_steps=total)
        for epoch in range(EPOCHS):
            bar.set_postfix_str(f"epoch {epoch + 1}/{EPOCHS}", refresh=False)
            for batch in torch.randperm(len(train), generator=rng).split(BATCH):
                index = train[batch]
                logits = net(shifted(images[index], shift, rng))
                loss = nn.functional.cross_entropy(logits, labels[index])
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                schedule.step()
                bar.update(1)
    net.eval()
    with torch.no_grad():
        accuracy = (predict(net, images[test]) == labels[test].numpy()).mean()
    return net, float(accuracy)


def load_classifier(
    dataset: ImageSet, *, seed: int = 0, log: Any = print, progress: bool = True
) -> tuple[Classifier, float]:
    """The classifier of a labelled set and its held-out accuracy, trained once (with
    ``progress``, a bar on stderr) then cached.

    Raises:
        GankitError: the set has no labels.
    """
    from gankit.data.stacked import StackedMnist

    if isinstance(dataset, StackedMnist):
        dataset = dataset.digits  # its channels are read by the classifier of its digits
    if dataset.labels is None:
        raise GankitError(f"{dataset.spec} has no labels: no classifier can be trained")
    path = cache_dir() / "classifiers" / f"{dataset.fingerprint}-v{VERSION}-s{seed}.pt"
    if path.is_file():
        with seeded(seed):  # the cached weights are loaded over these
            net = Classifier(dataset.shape, dataset.n_classes)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            net.load_state_dict(state["weights"])
            net.eval()
            return net, float(state["accuracy"])
        except Exception:  # noqa: BLE001 - a damaged cache entry is retrained, not fatal
            pass
    net, accuracy = _fit(dataset, seed, log, progress)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        cached = {"weights": net.state_dict(), "accuracy": accuracy}
        atomic_write(path, lambda stream: torch.save(cached, stream))
    except OSError:
        pass  # a read-only cache only costs a retrain next time
    return net, accuracy


def _batches(net: Classifier, images: torch.Tensor, method: str) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([getattr(net, method)(chunk) for chunk in images.split(500)])


def predict(net: Classifier, images: torch.Tensor) -> np.ndarray:
    """Predicted class per image, shape (N,)."""
    return _batches(net, images, "forward").argmax(dim=1).numpy()


def features(net: Classifier, images: torch.Tensor) -> np.ndarray:
    """Penultimate-layer features, shape (N, 128), float64."""
    return _batches(net, images, "features").double().numpy()
