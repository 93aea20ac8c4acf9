"""DCGAN-style convolutional generator and critic for square images (8, 16, 28, 32, 64 pixels).

Radford et al. 2016 (DCGAN): strided convolutions instead of pooling, batch norm in the
generator, ReLU in the generator and LeakyReLU(0.2) in the discriminator, tanh output, no
fully connected hidden layers. The spatial plan halves the image while it stays even and at
least 4 pixels: 28 → 14 → 7, 32 → 16 → 8 → 4, 64 → … → 4, 8 → 4. Channels double at each
halving in the critic (``width``, ``2·width``, …) and mirror that in the generator.

The critic's normalisation is a choice: ``"batch"`` for a GAN discriminator (DCGAN),
``"layer"`` (layer norm over C×H×W, i.e. ``GroupNorm(1, C)``) or ``None`` for a critic trained
with the gradient penalty, where batch norm would couple the samples (Gulrajani et al. 2017, §4).

With ``n_classes`` the networks are class-conditional (:mod:`gankit.models.classes`): the
generator reads a class embedding beside the noise and normalises with class-conditional
batch norm, the critic adds a projection of its last feature map (flattened, the features its
unconditional score reads).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gankit._validate import check_choice, check_int
from gankit.errors import GankitError
from gankit.models.classes import (
    CLASS_EMBEDDING,
    ClassBatchNorm,
    Projection,
    check_labels,
    class_embedding,
)

__all__ = ["ConvCritic", "ConvGenerator", "spatial_plan"]

CRITIC_NORMS: tuple[str | None, ...] = (None, "layer", "batch")


def spatial_plan(size: int) -> list[int]:
    """Side lengths from the image down to the smallest feature map.

    Example:
        >>> spatial_plan(28), spatial_plan(32), spatial_plan(8)
        ([28, 14, 7], [32, 16, 8, 4], [8, 4])
    """
    size = check_int("size", size)
    plan = [size]
    while plan[-1] % 2 == 0 and plan[-1] // 2 >= 4:
        plan.append(plan[-1] // 2)
    if len(plan) < 2:
        raise GankitError(f"image size {size} is too small or odd: need an even size >= 8")
    return plan


def _check_shape(shape: Any) -> tuple[int, int, int]:
    if len(shape) != 3 or shape[1] != shape[2] or shape[0] not in (1, 3):
        raise GankitError(f"image shape must be (C, S, S) with C 1 or 3, got {tuple(shape)}")
    return int(shape[0]), int(shape[1]), int(shape[2])


class ConvGenerator(nn.Module):
    """``G: z -> image``: a linear map to the smallest feature map, then transposed convolutions.

    Each upsampling block is ``ConvTranspose2d(4, stride 2, pad 1) -> BatchNorm -> ReLU``; the
    last one maps to the image channels and ends in ``tanh`` (images live in [-1, 1]).

    Example:
        >>> g = ConvGenerator(16, (1, 28, 28), width=8)
        >>> g(torch.zeros(3, 16)).shape
        torch.Size([3, 1, 28, 28])
    """

    def __init__(self, latent_dim: int, shape: Any, *, width: int, n_classes: int = 0) -> None:
        super().__init__()
        self.latent_dim = check_int("latent_dim", latent_dim)
        self.shape = _check_shape(shape)
        self.width = check_int("width", width)
        self.n_classes = check_int("n_classes", n_classes, minimum=0)
        plan = spatial_plan(self.shape[1])
        ups = len(plan) - 1
        channels = [self.width * 2 ** (ups - 1 - i) for i in range(ups)]  # deepest first
        self.start = (channels[0], plan[-1], plan[-1])
        inputs = self.latent_dim + (CLASS_EMBEDDING if self.n_classes else 0)
        self.project = nn.Sequential(
            nn.Linear(inputs, channels[0] * plan[-1] ** 2),
            self._norm(channels[0] * plan[-1] ** 2, dims=1),
            nn.ReLU(),
        )
        blocks: list[nn.Module] = []
        for i in range(ups - 1):
            blocks += [
                nn.ConvTranspose2d(channels[i], channels[i + 1], 4, 2, 1, bias=False),
                self._norm(channels[i + 1], dims=2),
                nn.ReLU(),
            ]
        blocks += [nn.ConvTranspose2d(channels[-1], self.shape[0], 4, 2, 1), nn.Tanh()]
        self.blocks = nn.Sequential(*blocks)
        if self.n_classes:
            self.embed = class_embedding(self.n_classes)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise GankitError(f"z must have shape (B, {self.latent_dim}), got {tuple(z.shape)}")
        labels = check_labels(labels, self.n_classes, len(z))
        if labels is None:
            return self.blocks(self.project(z).view(len(z), *self.start))  # (B, C, S, S)
        h = torch.cat([z, self.embed(labels).to(z.dtype)], dim=1)
        for layer in (*self.project, None, *self.blocks):  # None: the reshape to a map
            if layer is None:
                h = h.view(len(z), *self.start)
            else:
                h = layer(h, labels) if isinstance(layer, ClassBatchNorm) else layer(h)
        return h  # (B, C, S, S)

    def _norm(self, features: int, *, dims: int) -> nn.Module:
        """Batch norm; class-conditional batch norm in a conditional generator."""
        if self.n_classes:
            return ClassBatchNorm(features, self.n_classes, dims=dims)
        return nn.BatchNorm1d(features) if dims == 1 else nn.BatchNorm2d(features)

    @property
    def config(self) -> dict[str, Any]:
        config = {"latent_dim": self.latent_dim, "shape": self.shape, "width": self.width}
        return {**config, "n_classes": self.n_classes} if self.n_classes else config


class ConvCritic(nn.Module):
    """``f: image -> R``: strided convolutions, LeakyReLU(0.2), then one linear score per image.

    Blocks are ``Conv2d(4, stride 2, pad 1) -> norm -> LeakyReLU(0.2)`` (no norm on the first,
    as in DCGAN); an odd last map (7 × 7 for 28-pixel images) is handled by the final linear.

    Example:
        >>> f = ConvCritic((3, 32, 32), width=8, norm="layer")
        >>> f(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2])
    """

    def __init__(self, shape: Any, *, width: int, norm: str | None, n_classes: int = 0) -> None:
        super().__init__()
        self.shape = _check_shape(shape)
        self.width = check_int("width", width)
        self.norm = check_choice("norm", norm, CRITIC_NORMS)
        self.n_classes = check_int("n_classes", n_classes, minimum=0)
        plan = spatial_plan(self.shape[1])
        layers: list[nn.Module] = []
        features = self.shape[0]
        for i in range(len(plan) - 1):
            out = self.width * 2**i
            layers.append(nn.Conv2d(features, out, 4, 2, 1, bias=i == 0 or self.norm is None))
            if i > 0 and self.norm == "batch":
                layers.append(nn.BatchNorm2d(out))
            elif i > 0 and self.norm == "layer":
                layers.append(nn.GroupNorm(1, out))
            layers.append(nn.LeakyReLU(0.2))
            features = out
        layers += [nn.Flatten(), nn.Linear(features * plan[-1] ** 2, 1)]
        self.layers = nn.Sequential(*layers)
        if self.n_classes:  # φ: the flattened last map, as the unconditional score reads it
            self.projection = Projection(self.n_classes, features * plan[-1] ** 2)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if x.ndim != 4 or tuple(x.shape[1:]) != self.shape:
            raise GankitError(f"x must have shape (B, {self.shape}), got {tuple(x.shape)}")
        labels = check_labels(labels, self.n_classes, len(x))
        if labels is None:
            return self.layers(x).squeeze(-1)  # (B,)
        phi = self.layers[:-1](x)  # (B, F·s·s), the flattened last feature map
        return self.layers[-1](phi).squeeze(-1) + self.projection(phi, labels)  # (B,)

    @property
    def config(self) -> dict[str, Any]:
        config = {"shape": self.shape, "width": self.width, "norm": self.norm}
        return {**config, "n_classes": self.n_classes} if self.n_classes else config
