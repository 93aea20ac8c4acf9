"""The recipes: each objective with its paper's defaults, declared once.

A recipe names the losses and the Lipschitz constraint and carries the hyperparameters of
the paper it comes from; ``TrainConfig`` fields not set by a recipe keep their defaults.

References:
    Goodfellow et al. 2014 (gan, nsgan); Radford et al. 2015, DCGAN (Adam 2e-4, beta1 0.5);
    Arjovsky, Chintala & Bottou 2017 (wgan: RMSProp 5e-5, clip 0.01, 5 critic steps, batch 64);
    Gulrajani et al. 2017 (wgan-gp: Adam 1e-4, 5 critic steps, lambda 10; the published toy
    code gan_toy.py uses lambda 0.1, betas (0.5, 0.9), batch 256 and 3x512 ReLU MLPs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gankit.errors import GankitError


@dataclass(frozen=True)
class Recipe:
    """An objective and the hyperparameters its paper trains it with."""

    name: str
    summary: str
    objective: str  # "minimax" (D on logits) or "wasserstein" (critic on scores)
    generator_loss: str  # "saturating", "nonsaturating" or "wasserstein"
    defaults: dict[str, Any]
    # Changes on image data, on top of IMAGE_NETWORK (the image experiments of the same paper).
    image_defaults: dict[str, Any] = field(default_factory=dict)


# Every recipe on images: DCGAN networks (Radford et al. 2016: 100-d noise, 64 base channels).
IMAGE_NETWORK: dict[str, Any] = {"width": 64, "latent_dim": 100, "sample_every": 200}

# Goodfellow et al. 2014, Alg. 1: k = 1; Adam as in DCGAN (Radford et al. 2015).
MINIMAX_DEFAULTS: dict[str, Any] = {
    "optimizer": "adam",
    "lr_g": 2e-4,
    "lr_d": 2e-4,
    "beta1": 0.5,
    "beta2": 0.999,
    "n_critic": 1,
    "batch_size": 128,
}

RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe(
            "gan",
            "minimax GAN, saturating generator loss log(1 - D(G(z))) (Goodfellow et al. 2014)",
            "minimax",
            "saturating",
            MINIMAX_DEFAULTS,
        ),
        Recipe(
            "nsgan",
            "non-saturating GAN, generator maximises log D(G(z)) (Goodfellow et al. 2014, 3)",
            "minimax",
            "nonsaturating",
            MINIMAX_DEFAULTS,
        ),
        Recipe(
            "wgan",
            "Wasserstein GAN, critic weights clipped to [-c, c] (Arjovsky et al. 2017, Alg. 1)",
            "wasserstein",
            "wasserstein",
            # Arjovsky et al. 2017, Alg. 1: alpha = 5e-5, c = 0.01, n_critic = 5, m = 64.
            {
                "optimizer": "rmsprop",
                "lr_g": 5e-5,
                "lr_d": 5e-5,
                "clip": 0.01,
                "n_critic": 5,
                "batch_size": 64,
            },
        ),
        Recipe(
            "wgan-gp",
            "WGAN with gradient penalty on interpolates (Gulrajani et al. 2017, Alg. 1)",
            "wasserstein",
            "wasserstein",
            # gan_toy.py of Gulrajani et al. 2017: lambda 0.1 on 2-D data (lambda 10 stalls
            # on a small ring, THEORY.md 5), Adam 1e-4 with betas (0.5, 0.9), batch 256.
            {
                "optimizer": "adam",
                "lr_g": 1e-4,
                "lr_d": 1e-4,
                "beta1": 0.5,
                "beta2": 0.9,
                "gp_weight": 0.1,
                "n_critic": 5,
                "batch_size": 256,
            },
            # gan_mnist.py and gan_cifar.py of Gulrajani et al. 2017: lambda 10, batch 50/64.
            {"gp_weight": 10.0, "batch_size": 64},
        ),
    )
}

# Without --recipe. Measured with benchmarks/bench_recipes.py (60 s each, seed 0, AMD EPYC
# with AVX512-BF16, bf16): on ring both cover 8/8 modes (W1 0.21); on grid wgan-gp reaches
# W1 0.75 with 12/25 modes while nsgan, sharper sooner, drops modes (16/25, W1 1.60).
# WGAN-GP's critic keeps the mass spread over every mode, so it is the default.
DEFAULT_RECIPE = "wgan-gp"


def recipe_defaults(recipe: Recipe, images: bool) -> dict[str, Any]:
    """The values a recipe sets: its paper's toy defaults, or those for images."""
    if not images:
        return dict(recipe.defaults)
    return {**recipe.defaults, **IMAGE_NETWORK, **recipe.image_defaults}


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``; unknown names list the known ones."""
    if name not in RECIPES:
        known = ", ".join(sorted(RECIPES))
        raise GankitError(f"unknown recipe {name!r}; expected one of: {known}")
    return RECIPES[name]
