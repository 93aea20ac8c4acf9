"""The recipes: each objective with its paper's defaults, declared once.

A recipe names the losses and the Lipschitz constraint and carries the hyperparameters of
the paper it comes from; ``TrainConfig`` fields not set by a recipe keep their defaults.

Two-time-scale update rule (TTUR, Heusel et al. 2017): the critic and the generator have
their own learning rates (``lr_d``, ``lr_g``); Heusel et al. prove that, under their
assumptions, a critic that learns on a faster time scale makes one critic step per generator
step converge to a local Nash equilibrium. ``hinge`` uses it (lr_d = 4 lr_g, as SAGAN).

References:
    Goodfellow et al. 2014 (gan, nsgan); Radford et al. 2015, DCGAN (Adam 2e-4, beta1 0.5);
    Arjovsky, Chintala & Bottou 2017 (wgan: RMSProp 5e-5, clip 0.01, 5 critic steps, batch 64);
    Gulrajani et al. 2017 (wgan-gp: Adam 1e-4, 5 critic steps, lambda 10; the published toy
    code gan_toy.py uses lambda 0.1, betas (0.5, 0.9), batch 256 and 3x512 ReLU MLPs);
    Nowozin et al. 2016 (fgan); Mao et al. 2017 (lsgan); Lim & Ye 2017, Miyato et al. 2018,
    Zhang et al. 2019 (hinge); Petzka et al. 2018 (wgan-lp); Kodali et al. 2017 (dragan);
    Mescheder et al. 2018 (nsgan-r1); Heusel et al. 2017 (TTUR).
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
    # "minimax" (D on logits), "wasserstein" (critic on scores), "hinge", "least_squares"
    # or "fgan" (critic loss of the f-divergence config.divergence)
    objective: str
    # "saturating", "nonsaturating", "wasserstein" (-E D(G(z)), also hinge's),
    # "least_squares" or "fgan"
    generator_loss: str
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

# gan_toy.py of Gulrajani et al. 2017: lambda 0.1 on 2-D data (lambda 10 stalls on a small
# ring, THEORY.md 5), Adam 1e-4 with betas (0.5, 0.9), 5 critic steps, batch 256.
WGAN_GP_TOY: dict[str, Any] = {
    "optimizer": "adam",
    "lr_g": 1e-4,
    "lr_d": 1e-4,
    "beta1": 0.5,
    "beta2": 0.9,
    "gp_weight": 0.1,
    "n_critic": 5,
    "batch_size": 256,
}

# The default's settings on toy data (Mescheder et al. 2018 for R1; Yazici et al. 2019 for
# the EMA): small fast networks, a large step size held steady by R1, and an average of the
# generator's weights, which removes most of the jitter that puts samples between modes.
GANKIT_TOY: dict[str, Any] = {
    "optimizer": "adam",
    "lr_g": 1e-3,
    "lr_d": 1e-3,
    "beta1": 0.5,
    "beta2": 0.9,
    "n_critic": 1,
    "batch_size": 256,
    "width": 128,
    "r1_weight": 0.1,
    "ema_decay": 0.99,
}
# On images: DCGAN networks with a critic without batch norm (R1 needs per-sample input
# gradients), R1 gamma 10 as GAN_stability's code, DCGAN's Adam 2e-4. R1 is lazy (every 16th
# step at 16 gamma, StyleGAN2 §3.1): its double backward runs on one step in 16, so more
# steps fit in a time limit.
GANKIT_IMAGES: dict[str, Any] = {
    "lr_g": 2e-4,
    "lr_d": 2e-4,
    "beta2": 0.99,
    "batch_size": 64,
    "r1_weight": 10.0,
    "r1_every": 16,
    "ema_decay": 0.999,
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
            WGAN_GP_TOY,
            # gan_mnist.py and gan_cifar.py of Gulrajani et al. 2017: lambda 10, batch 50/64.
            {"gp_weight": 10.0, "batch_size": 64},
        ),
        Recipe(
            "fgan",
            "f-GAN, critic bound on the f-divergence --divergence (Nowozin et al. 2016)",
            "fgan",
            "fgan",
            # Nowozin et al. 2016, Alg. 1: one critic and one generator step per iteration;
            # the generator maximises E g_f(V(G(z))) (their 3.2); Adam as in DCGAN.
            MINIMAX_DEFAULTS,
        ),
        Recipe(
            "lsgan",
            "least squares GAN, a = -1, b = 1, c = 0 (Mao et al. 2017)",
            "least_squares",
            "least_squares",
            # Mao et al. 2017, 4: Adam 2e-4, beta1 0.5, as DCGAN.
            MINIMAX_DEFAULTS,
        ),
        Recipe(
            "hinge",
            "hinge loss, spectral norm, TTUR lr_d = 4 lr_g (Miyato et al. 2018; Zhang 2019)",
            "hinge",
            "wasserstein",  # Miyato et al. 2018, eq. 17: L_G = -E D(G(z))
            # SAGAN (Zhang et al. 2019, 5): Adam betas (0, 0.9), TTUR lr_d 4e-4 and lr_g 1e-4
            # (Heusel et al. 2017), one D step per G step; spectral norm in D (Miyato 2018).
            {
                "optimizer": "adam",
                "lr_g": 1e-4,
                "lr_d": 4e-4,
                "beta1": 0.0,
                "beta2": 0.9,
                "n_critic": 1,
                "batch_size": 256,
                "spectral_norm": True,
            },
        ),
        Recipe(
            "wgan-lp",
            "WGAN with the one-sided Lipschitz penalty max(0, |grad| - 1)^2 (Petzka 2018)",
            "wasserstein",
            "wasserstein",
            # Petzka et al. 2018 train as WGAN-GP; on 2-D data the toy settings of wgan-gp.
            WGAN_GP_TOY | {"gp_weight": 0.0, "lp_weight": 0.1},
            {"lp_weight": 10.0, "batch_size": 64},
        ),
        Recipe(
            "dragan",
            "non-saturating GAN, gradient penalty near real data (Kodali et al. 2017)",
            "minimax",
            "nonsaturating",
            # DRAGAN's code: Adam 1e-4, betas (0.5, 0.9), lambda 10, batch 64, k = 1. On 2-D
            # data lambda 0.1, as wgan-gp's toy code: measured here (3x128 networks, 25 s),
            # lambda 10 and 1 kept D near 1/2 on real and fake alike and left the generator
            # on 0-1 of ring's 8 modes.
            {
                "optimizer": "adam",
                "lr_g": 1e-4,
                "lr_d": 1e-4,
                "beta1": 0.5,
                "beta2": 0.9,
                "n_critic": 1,
                "batch_size": 64,
                "dragan_weight": 0.1,
            },
            {"dragan_weight": 10.0},
        ),
        Recipe(
            "nsgan-r1",
            "non-saturating GAN, R1 penalty on real data (Mescheder et al. 2018)",
            "minimax",
            "nonsaturating",
            # Mescheder et al. 2018, code (GAN_stability): RMSProp 1e-4, gamma 10, batch 64.
            {
                "optimizer": "rmsprop",
                "lr_g": 1e-4,
                "lr_d": 1e-4,
                "n_critic": 1,
                "batch_size": 64,
                "r1_weight": 10.0,
            },
        ),
        Recipe(
            "gankit",
            "the project's tuned default: non-saturating GAN, R1 penalty, EMA generator",
            "minimax",
            "nonsaturating",
            # Not a paper's recipe: tuned for time to quality on 2 cores with
            # benchmarks/bench_default.py (README, "The default recipe", gives each reason).
            GANKIT_TOY,
            GANKIT_IMAGES,
        ),
    )
}

# Without --recipe (DESIGN.md: "the project's best default for the data").
DEFAULT_RECIPE = "gankit"


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
