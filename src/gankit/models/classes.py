"""Class conditioning: the generator's class embedding and the critic's projection.

- Generator: ``G(z, y) = G'([z, e_y])``, the noise concatenated with a learned embedding
  ``e_y`` of the class (Mirza & Osindero 2014, with an embedding in place of the one-hot code);
  a convolutional generator also normalises with class-conditional batch norm
  (:class:`ClassBatchNorm`; de Vries et al. 2017, Miyato & Koyama 2018).
- Critic: the projection discriminator (Miyato & Koyama 2018, eq. 3),
  ``f(x, y) = ψ(φ(x)) + ⟨v_y, φ(x)⟩``: the unconditional score ``ψ(φ(x))`` plus the inner
  product of a learned class vector ``v_y`` with the critic's features ``φ(x)``: the input of
  its last linear layer (an MLP's last hidden layer, a convolutional critic's flattened last
  feature map; gankit's critics are shallow, so a global pooling, as in Miyato & Koyama's
  ResNets, would leave the class little to read).

Labels are class indices ``0 … n_classes − 1``, shape ``(B,)``, int64.
"""

from __future__ import annotations

import torch
from torch import nn

from gankit._validate import check_int
from gankit.errors import GankitError

__all__ = ["CLASS_EMBEDDING", "ClassBatchNorm", "Projection", "class_embedding", "check_labels"]

CLASS_EMBEDDING = 32  # dimensions of the generator's class embedding


def class_embedding(n_classes: int, dim: int = CLASS_EMBEDDING) -> nn.Embedding:
    """The generator's embedding ``e_y`` of ``n_classes`` classes, ``N(0, 1)`` entries
    (torch's default), concatenated to the noise."""
    return nn.Embedding(check_int("n_classes", n_classes), dim)


def check_labels(labels: torch.Tensor | None, n_classes: int, batch: int) -> torch.Tensor | None:
    """``labels`` checked against a network with ``n_classes`` classes (0: unconditional) and
    a batch of ``batch`` inputs, by shape and type only (no host sync).

    Raises:
        GankitError: labels given to an unconditional network, or missing, or of another
            shape or type than ``(batch,)`` integers.
    """
    if not n_classes:
        if labels is not None:
            raise GankitError("this network is unconditional: it takes no labels")
        return None
    if labels is None:
        raise GankitError(f"this network is conditional ({n_classes} classes): give labels")
    if labels.shape != (batch,) or labels.dtype not in (torch.int64, torch.int32):
        raise GankitError(
            f"labels must be integers of shape ({batch},), got {labels.dtype} "
            f"of shape {tuple(labels.shape)}"
        )
    return labels


class Projection(nn.Module):
    """``⟨v_y, φ⟩``: one learned vector per class, dotted with the features ``φ`` (B, F).

    The vectors start at ``N(0, 1/F)``, so the projection starts at the scale of a linear
    score of the features.

    Example:
        >>> p = Projection(3, 4)
        >>> p(torch.ones(2, 4), torch.tensor([0, 2])).shape
        torch.Size([2])
    """

    def __init__(self, n_classes: int, features: int) -> None:
        super().__init__()
        self.vectors = nn.Embedding(check_int("n_classes", n_classes), check_int("F", features))
        nn.init.normal_(self.vectors.weight, std=features**-0.5)

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return (self.vectors(labels).to(features.dtype) * features).sum(dim=1)  # (B,)


class ClassBatchNorm(nn.Module):
    """Class-conditional batch norm: ``γ_y · BN(h) + β_y``, batch norm without its own affine
    map followed by a gain and a bias learned per class (starting at 1 and 0, plain BN).

    Example:
        >>> norm = ClassBatchNorm(4, 3, dims=2)
        >>> norm(torch.randn(5, 4, 2, 2), torch.tensor([0, 1, 2, 0, 1])).shape
        torch.Size([5, 4, 2, 2])
    """

    def __init__(self, features: int, n_classes: int, *, dims: int) -> None:
        super().__init__()
        norm = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d}[dims]
        self.norm = norm(check_int("features", features), affine=False)
        self.gain = nn.Embedding(check_int("n_classes", n_classes), features)
        self.bias = nn.Embedding(n_classes, features)
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, h: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        shape = (len(h), -1) + (1,) * (h.ndim - 2)  # (B, F) or (B, F, 1, 1)
        gain = self.gain(labels).to(h.dtype).view(shape)
        bias = self.bias(labels).to(h.dtype).view(shape)
        return gain * self.norm(h) + bias
