"""Fully connected generators and critics for toy (low-dimensional) data.

The recipes' toy networks (``gankit.training.recipes``) are these with ReLU, a linear
output and no normalisation: the WGAN-GP toy code's three hidden layers of 512 units
(Gulrajani et al. 2017, ``gan_toy.py``), or 3 x 128 for the default recipe. Width and depth
are always given: the recipes hold them. With ``n_classes`` the generator and critic are
class-conditional (:mod:`gankit.models.classes`: a class embedding beside the noise, a
projection of the critic's last hidden layer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from gankit._validate import check_choice, check_int
from gankit.errors import GankitError
from gankit.models.classes import CLASS_EMBEDDING, Projection, check_labels, class_embedding

__all__ = ["MLP", "MLPCritic", "MLPGenerator"]

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),  # the DCGAN slope (Radford et al. 2016)
    "elu": nn.ELU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
}

# "batch" suits a GAN discriminator only: gradient_penalty refuses a critic with batch norm.
NORMS: tuple[str | None, ...] = (None, "layer", "batch")


class MLP(nn.Module):
    """A multilayer perceptron: ``depth`` hidden blocks, then a linear output layer.

    ``h_0 = x,  h_k = act(norm(W_k h_{k-1} + b_k)) for k = 1..depth,  y = W_out h_depth + b_out``

    Args:
        in_dim: input features, >= 1.
        out_dim: output features, >= 1.
        width: units per hidden layer, >= 1.
        depth: number of hidden layers, >= 1.
        activation: one of ``"relu"``, ``"leaky_relu"`` (slope 0.2), ``"elu"``, ``"tanh"``,
            ``"gelu"``, ``"silu"``.
        norm: ``None``, ``"layer"`` (``nn.LayerNorm``) or ``"batch"`` (``nn.BatchNorm1d``,
            not for critics trained with the gradient penalty), applied before the activation.

    Raises:
        GankitError: a size is not an integer >= 1, or ``activation``/``norm`` is unknown.

    Example:
        >>> net = MLP(2, 1, width=8, depth=2)
        >>> sum(p.numel() for p in net.parameters())  # (2·8 + 8) + (8·8 + 8) + (8 + 1)
        105
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        *,
        width: int,
        depth: int,
        activation: str = "relu",
        norm: str | None = None,
    ) -> None:
        super().__init__()
        self.in_dim = check_int("in_dim", in_dim)
        self.out_dim = check_int("out_dim", out_dim)
        self.width = check_int("width", width)
        self.depth = check_int("depth", depth)
        self.activation = check_choice("activation", activation, tuple(ACTIVATIONS))
        self.norm = check_choice("norm", norm, NORMS)
        layers: list[nn.Module] = []
        features = self.in_dim
        for _ in range(self.depth):
            layers.append(nn.Linear(features, self.width))
            if self.norm == "layer":
                layers.append(nn.LayerNorm(self.width))
            elif self.norm == "batch":
                layers.append(nn.BatchNorm1d(self.width))
            layers.append(ACTIVATIONS[self.activation]())
            features = self.width
        layers.append(nn.Linear(features, self.out_dim))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)  # (B, in_dim) -> (B, out_dim)

    @property
    def config(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this network's architecture."""
        return {
            "width": self.width,
            "depth": self.depth,
            "activation": self.activation,
            "norm": self.norm,
        }


class MLPGenerator(nn.Module):
    """A generator ``G: R^latent_dim -> R^data_dim`` with a linear output (unbounded samples).

    Args:
        latent_dim: dimension of the noise ``z``, >= 1.
        data_dim: dimension of a sample, >= 1.
        **mlp_kwargs: ``width``, ``depth``, ``activation``, ``norm`` of ``MLP``.

    Raises:
        GankitError: as ``MLP``.

    Example:
        >>> import torch
        >>> g = MLPGenerator(2, 3, width=16, depth=3)
        >>> g(torch.zeros(5, 2)).shape
        torch.Size([5, 3])
        >>> MLPGenerator(**g.config).config == g.config
        True
    """

    def __init__(
        self, latent_dim: int, data_dim: int, *, n_classes: int = 0, **mlp_kwargs: Any
    ) -> None:
        super().__init__()
        self.latent_dim = check_int("latent_dim", latent_dim)
        self.n_classes = check_int("n_classes", n_classes, minimum=0)
        inputs = self.latent_dim + (CLASS_EMBEDDING if self.n_classes else 0)
        self.net = MLP(inputs, data_dim, **mlp_kwargs)
        self.data_dim = self.net.out_dim
        if self.n_classes:
            self.embed = class_embedding(self.n_classes)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        _check_input("z", z, self.latent_dim)
        labels = check_labels(labels, self.n_classes, len(z))
        if labels is not None:
            z = torch.cat([z, self.embed(labels).to(z.dtype)], dim=1)
        return self.net(z)  # (B, latent_dim) -> (B, data_dim)

    @property
    def config(self) -> dict[str, Any]:
        """The arguments that rebuild this generator: ``MLPGenerator(**g.config)``."""
        config = {"latent_dim": self.latent_dim, "data_dim": self.data_dim, **self.net.config}
        return {**config, "n_classes": self.n_classes} if self.n_classes else config


class MLPCritic(nn.Module):
    """A critic or discriminator ``f: R^data_dim -> R``: one score (or logit) per sample.

    No sigmoid at the end: GAN losses take logits, WGAN losses take raw scores.

    Args:
        data_dim: dimension of a sample, >= 1.
        **mlp_kwargs: ``width``, ``depth``, ``activation``, ``norm`` of ``MLP``. Leave
            ``norm`` at ``None`` or ``"layer"`` for a critic trained with the gradient penalty.

    Raises:
        GankitError: as ``MLP``.

    Example:
        >>> import torch
        >>> f = MLPCritic(2, width=16, depth=3)
        >>> f(torch.zeros(5, 2)).shape
        torch.Size([5])
    """

    def __init__(self, data_dim: int, *, n_classes: int = 0, **mlp_kwargs: Any) -> None:
        super().__init__()
        self.net = MLP(data_dim, 1, **mlp_kwargs)
        self.data_dim = self.net.in_dim
        self.n_classes = check_int("n_classes", n_classes, minimum=0)
        if self.n_classes:
            self.projection = Projection(self.n_classes, self.net.width)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        _check_input("x", x, self.data_dim)
        labels = check_labels(labels, self.n_classes, len(x))
        if labels is None:
            return self.net(x).squeeze(-1)  # (B, data_dim) -> (B, 1) -> (B,)
        hidden = self.net.layers[:-1](x)  # (B, width), the last hidden layer
        score = self.net.layers[-1](hidden).squeeze(-1)
        return score + self.projection(hidden, labels)  # (B,)

    @property
    def config(self) -> dict[str, Any]:
        """The arguments that rebuild this critic: ``MLPCritic(**f.config)``."""
        config = {"data_dim": self.data_dim, **self.net.config}
        return {**config, "n_classes": self.n_classes} if self.n_classes else config


def _check_input(name: str, x: torch.Tensor, dim: int) -> None:
    # Shape only (no host sync): a wrong shape here would otherwise be a bare matmul error.
    if x.ndim != 2 or x.shape[1] != dim:
        raise GankitError(f"{name} must have shape (B, {dim}), got {tuple(x.shape)}")
