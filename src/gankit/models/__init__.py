"""Generators, discriminators and critics.

MLPs for toy data, DCGAN-style convolutional networks for images; their sizes come from the
recipes (``gankit.training.recipes``). A critic returns one score (or logit) per sample,
shape ``(B,)``.
"""

from gankit.models.conv import ConvCritic, ConvGenerator
from gankit.models.mlp import MLP, MLPCritic, MLPGenerator

__all__ = ["ConvCritic", "ConvGenerator", "MLP", "MLPCritic", "MLPGenerator"]
