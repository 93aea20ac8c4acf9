"""``stackedmnist``: three independent MNIST digits as the three channels of one image.

The mode-collapse benchmark of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018):
each image stacks three digits drawn independently and uniformly as its channels (R, G, B),
so the set has 10³ = 1,000 modes, the triples ``(d_R, d_G, d_B)``, labelled as the one class
``100·d_R + 10·d_G + d_B``.

The stacks are drawn on the fly from the 5,000 ``mnist5k`` digits (500 per class, so a
uniform digit index is a uniform digit): ``sample(n, rng)`` draws 3·n digit indices from
``rng`` alone. A fixed set of stacked images would cost 9.4 KB each (3 × 28 × 28 float32),
245 MB for the 26,000 of the protocol, and would repeat: drawing on the fly holds only the
15.7 MB of digits and covers all 5,000³ stacks. Training draws its batches with the run's
own checkpointed stream, so a resumed run still draws the same batches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gankit.data.images import ImageSet

MODES = 1000  # 10 digits in each of 3 channels
EVAL_SAMPLES = 26_000  # generated images scored, as VEEGAN and PacGAN do


@dataclass(frozen=True, eq=False)
class StackedMnist(ImageSet):
    """Stacked MNIST, drawn on the fly: ``images`` and ``labels`` hold the 5,000 source digits
    (N, 1, 28, 28); ``shape`` is (3, 28, 28), ``n_classes`` 1,000 triples."""

    eval_samples = EVAL_SAMPLES  # the sample count ``gankit eval`` uses by default

    @property
    def shape(self) -> tuple[int, int, int]:
        _, h, w = self.images.shape[1:]
        return 3, int(h), int(w)

    @property
    def n_classes(self) -> int:
        return MODES

    @property
    def digits(self) -> ImageSet:
        """The source digits as a plain image set (what the evaluation classifier learns)."""
        return ImageSet("mnist5k", self.images, self.labels, self.digits_fingerprint)

    @property
    def digits_fingerprint(self) -> str:
        return self.fingerprint.partition("+")[2]

    def draw(self, n: int, rng: torch.Generator) -> tuple[torch.Tensor, np.ndarray]:
        """``n`` stacked images (n, 3, 28, 28) and their triple labels, using only ``rng``."""
        assert self.labels is not None
        index = torch.randint(len(self.images), (n, 3), generator=rng)
        images = self.images[index.flatten()].reshape(n, 3, *self.images.shape[2:])
        digits = self.labels[index.numpy()]
        return images, triple_labels(digits)

    def sample(self, n: int, rng: torch.Generator) -> torch.Tensor:
        return self.draw(n, rng)[0]

    def sample_labelled(self, n: int, rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        images, triples = self.draw(n, rng)
        return images, torch.from_numpy(triples)


def triple_labels(digits: np.ndarray) -> np.ndarray:
    """The class ``100·d_R + 10·d_G + d_B`` of each row of digits (n, 3).

    Example:
        >>> triple_labels(np.array([[1, 2, 3], [0, 0, 7]])).tolist()
        [123, 7]
    """
    digits = np.asarray(digits, dtype=np.int64)
    return digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]


def stacked_mnist(digits: ImageSet) -> StackedMnist:
    """Stacked MNIST over a set of labelled 1-channel digits (``mnist5k``)."""
    fingerprint = f"stacked+{digits.fingerprint}"
    return StackedMnist("stackedmnist", digits.images, digits.labels, fingerprint)
