"""Generators, discriminators and critics.

``MLPGenerator`` and ``MLPCritic`` default to the published WGAN-GP toy networks (3 hidden
layers of 512 units, ReLU). A critic returns one score (or logit) per sample, shape ``(B,)``.
"""

from gankit.models.conv import ConvCritic, ConvGenerator
from gankit.models.mlp import MLP, MLPCritic, MLPGenerator

__all__ = ["ConvCritic", "ConvGenerator", "MLP", "MLPCritic", "MLPGenerator"]
