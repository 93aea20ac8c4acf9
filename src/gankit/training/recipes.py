"""The recipes: each objective with its paper's settings, as complete configurations.

Every recipe is built from one base, :data:`BASE`, by ``dataclasses.replace``: the value of a
setting is written once, in the base or in the recipe that changes it, with the paper it
comes from. A recipe carries two complete configurations: ``toy`` for 2-D (and 1-D) data and
``images`` for image sets (the DCGAN networks of :func:`_on_images` plus the image
experiments of the same paper).

Two-time-scale update rule (TTUR, Heusel et al. 2017): the critic and the generator have their
own learning rates (``lr_d``, ``lr_g``); under their assumptions a critic that learns on a
faster time scale makes one critic step per generator step converge to a local Nash
equilibrium. ``hinge`` uses it (``lr_d = 4 lr_g``, as SAGAN). docs/theory.md §3, §5, §6, §7.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from gankit.errors import GankitError
from gankit.training.config import TrainConfig

__all__ = ["BASE", "DEFAULT_RECIPE", "OBJECTIVES", "RECIPES", "Recipe", "get_recipe"]

# What the critic's (discriminator's) loss and the generator's loss can be (gankit.losses,
# gankit.fgan); gankit.training.objectives maps each name to its function.
OBJECTIVES = ("minimax", "wasserstein", "hinge", "least_squares", "fgan", "relativistic")
GENERATOR_LOSSES = (
    "saturating",
    "nonsaturating",
    "wasserstein",
    "least_squares",
    "fgan",
    "relativistic",
)

# The base of every recipe: the published WGAN-GP toy code (Gulrajani et al. 2017, gan_toy.py)
# with every penalty and option off, and the run controls.
BASE = TrainConfig(
    recipe="base",
    data="ring",
    seed=0,
    steps=2000,
    batch_size=256,  # gan_toy.py: BATCH_SIZE
    n_critic=5,  # gan_toy.py: CRITIC_ITERS (Alg. 1: n_critic = 5)
    optimizer="adam",
    lr_g=1e-4,  # gan_toy.py: Adam 1e-4, betas (0.5, 0.9)
    lr_d=1e-4,
    beta1=0.5,
    beta2=0.9,
    clip=0.0,
    gp_weight=0.0,
    lp_weight=0.0,
    dragan_weight=0.0,
    r1_weight=0.0,
    r1_every=1,
    r2_weight=0.0,
    spectral_norm=False,
    divergence="js",
    critic_warmup=False,
    latent_dim=2,  # gan_toy.py draws 2-d noise
    width=512,  # gan_toy.py: DIM = 512, three hidden ReLU layers
    depth=3,
    activation="relu",
    critic_norm="auto",
    ema_decay=0.0,
    conditional=False,  # unconditional: the labels of a set are used for evaluation only
    clusters="0",  # no self-conditioning
    augment="",  # no differentiable augmentation
    augment_p="1.0",  # DiffAugment (Zhao et al. 2020): every augmentation on every sample
    log_every=50,
    sample_every=500,
    checkpoint_every=500,
    keep_every=0,
    time_limit=0.0,
    device="auto",
    precision="auto",
)

# Goodfellow et al. 2014, Alg. 1: k = 1; Adam 2e-4 with beta1 0.5 as DCGAN (Radford et al.
# 2016), beta2 at Adam's own 0.999.
MINIMAX = replace(BASE, n_critic=1, lr_g=2e-4, lr_d=2e-4, beta2=0.999, batch_size=128)


def _on_images(toy: TrainConfig, **changes: Any) -> TrainConfig:
    """``toy`` with DCGAN's networks (Radford et al. 2016: 100-d noise, 64 base channels) and
    the paper's own image settings ``changes``."""
    return replace(toy, width=64, latent_dim=100, sample_every=200, **changes)


@dataclass(frozen=True)
class Recipe:
    """An objective and the complete configurations its paper trains it with."""

    name: str
    summary: str
    objective: str  # one of OBJECTIVES: the critic's loss
    generator_loss: str  # one of GENERATOR_LOSSES
    toy: TrainConfig
    images: TrainConfig

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES or self.generator_loss not in GENERATOR_LOSSES:
            raise ValueError(f"recipe {self.name}: unknown objective or generator loss")
        if not self.toy.recipe == self.images.recipe == self.name:
            raise ValueError(f"recipe {self.name}: its configurations name another recipe")

    def defaults(self, images: bool) -> TrainConfig:
        """The configuration for image sets (``images``) or toy data."""
        return self.images if images else self.toy


def _recipe(
    name: str,
    summary: str,
    objective: str,
    generator_loss: str,
    toy: TrainConfig,
    images: dict[str, Any] | None = None,
) -> Recipe:
    toy = replace(toy, recipe=name)
    return Recipe(name, summary, objective, generator_loss, toy, _on_images(toy, **images or {}))


_RECIPES = (
    _recipe(
        "gan",
        "minimax GAN, saturating generator loss log(1 - D(G(z))) (Goodfellow et al. 2014)",
        "minimax",
        "saturating",
        MINIMAX,
    ),
    _recipe(
        "nsgan",
        "non-saturating GAN, generator maximises log D(G(z)) (Goodfellow et al. 2014, 3)",
        "minimax",
        "nonsaturating",
        MINIMAX,
    ),
    _recipe(
        "wgan",
        "Wasserstein GAN, critic weights clipped to [-c, c] (Arjovsky et al. 2017, Alg. 1)",
        "wasserstein",
        "wasserstein",
        # Arjovsky et al. 2017, Alg. 1: alpha = 5e-5, c = 0.01, n_critic = 5, m = 64.
        replace(BASE, optimizer="rmsprop", lr_g=5e-5, lr_d=5e-5, clip=0.01, batch_size=64),
    ),
    _recipe(
        "wgan-gp",
        "WGAN with gradient penalty on interpolates (Gulrajani et al. 2017, Alg. 1)",
        "wasserstein",
        "wasserstein",
        # gan_toy.py: lambda 0.1 on 2-D data (lambda 10 stalls on a small ring:
        # docs/theory.md §5); the rest of the toy code's settings is BASE.
        replace(BASE, gp_weight=0.1),
        # gan_mnist.py and gan_cifar.py of Gulrajani et al. 2017: lambda 10, batch 50/64.
        {"gp_weight": 10.0, "batch_size": 64},
    ),
    _recipe(
        "fgan",
        "f-GAN, critic bound on the f-divergence --divergence (Nowozin et al. 2016)",
        "fgan",
        "fgan",
        # Nowozin et al. 2016, Alg. 1: one critic and one generator step per iteration; the
        # generator maximises E g_f(V(G(z))) (their 3.2); Adam as in DCGAN.
        MINIMAX,
    ),
    _recipe(
        "lsgan",
        "least squares GAN, a = -1, b = 1, c = 0 (Mao et al. 2017)",
        "least_squares",
        "least_squares",
        MINIMAX,  # Mao et al. 2017, 4: Adam 2e-4, beta1 0.5, as DCGAN
    ),
    _recipe(
        "hinge",
        "hinge loss, spectral norm, TTUR lr_d = 4 lr_g (Miyato et al. 2018; Zhang 2019)",
        "hinge",
        "wasserstein",  # Miyato et al. 2018, eq. 17: L_G = -E D(G(z))
        # SAGAN (Zhang et al. 2019, 5): Adam betas (0, 0.9), TTUR lr_d 4e-4 and lr_g 1e-4
        # (Heusel et al. 2017), one D step per G step; spectral norm in D (Miyato 2018).
        replace(BASE, lr_d=4e-4, beta1=0.0, n_critic=1, spectral_norm=True),
    ),
    _recipe(
        "wgan-lp",
        "WGAN with the one-sided Lipschitz penalty max(0, |grad| - 1)^2 (Petzka 2018)",
        "wasserstein",
        "wasserstein",
        # Petzka et al. 2018 train as WGAN-GP; on 2-D data the toy settings of wgan-gp.
        replace(BASE, lp_weight=0.1),
        {"lp_weight": 10.0, "batch_size": 64},
    ),
    _recipe(
        "dragan",
        "non-saturating GAN, gradient penalty near real data (Kodali et al. 2017)",
        "minimax",
        "nonsaturating",
        # DRAGAN's code: Adam 1e-4, betas (0.5, 0.9), lambda 10, batch 64, k = 1. On 2-D data
        # lambda 0.1, as wgan-gp's toy code: measured here (3x128 networks, 25 s), lambda 10
        # and 1 kept D near 1/2 on real and fake alike and left the generator on 0-1 of
        # ring's 8 modes.
        replace(BASE, n_critic=1, batch_size=64, dragan_weight=0.1),
        {"dragan_weight": 10.0},
    ),
    _recipe(
        "nsgan-r1",
        "non-saturating GAN, R1 penalty on real data (Mescheder et al. 2018)",
        "minimax",
        "nonsaturating",
        # Mescheder et al. 2018, code (GAN_stability): RMSProp 1e-4, gamma 10, batch 64.
        replace(BASE, optimizer="rmsprop", n_critic=1, batch_size=64, r1_weight=10.0),
    ),
    _recipe(
        "r3gan",
        "relativistic pairing loss with R1 and R2 (RpGAN; Huang et al. 2024, R3GAN)",
        "relativistic",
        "relativistic",
        # Huang et al. 2024 (R3GAN), §2-3: the RpGAN loss (Jolicoeur-Martineau 2019) with
        # both zero-centred penalties, R1 on real and R2 on generated data, on every step
        # (their finding: R1 alone diverges and lazy regularisation fails); gamma/2 ·
        # E‖∇D‖² each, which is gankit's r1_weight = r2_weight = gamma (gankit.lipschitz).
        # Adam with beta1 = 0, beta2 = 0.99 (their §4 and code); one D step per G step.
        # gamma 0.1 on 2-D data: gankit's toy R1 (the default recipe's, measured in
        # docs/default-recipe.md) for data of unit scale; lr 2e-4 as DCGAN.
        replace(
            BASE,
            n_critic=1,
            lr_g=2e-4,
            lr_d=2e-4,
            beta1=0.0,
            beta2=0.99,
            r1_weight=0.1,
            r2_weight=0.1,
        ),
        # Images: the paper tunes gamma per data set; on gankit's DCGAN networks gamma 10,
        # the image R1 weight the default recipe trains with (GAN_stability's code,
        # Mescheder et al. 2018), for pixels of about 100 times the toy data's squared
        # scale; batch 64 as the default recipe's image configuration.
        {"r1_weight": 10.0, "r2_weight": 10.0, "batch_size": 64},
    ),
    _recipe(
        "gankit",
        "the project's tuned default: non-saturating GAN, R1 penalty, EMA generator",
        "minimax",
        "nonsaturating",
        # Not a paper's recipe: tuned for time to quality on 2 cores with
        # benchmarks/bench_default.py (docs/default-recipe.md gives each reason). Small fast
        # networks, a large step size held steady by R1 (Mescheder et al. 2018) and an
        # average of the generator's weights (Yazici et al. 2019).
        replace(BASE, n_critic=1, lr_g=1e-3, lr_d=1e-3, width=128, r1_weight=0.1, ema_decay=0.99),
        # DCGAN networks with a critic without batch norm (R1 needs per-sample input
        # gradients), R1 gamma 10 as GAN_stability's code, Adam with beta1 0 as StyleGAN2 and
        # R3GAN beside R1 (measured better on mnist5k and Stacked MNIST) and twice DCGAN's
        # 2e-4 (measured better on mnist5k at equal steps). R1 is lazy (every 16th step at
        # 16 gamma, StyleGAN2 §3.1), so more steps fit in a time limit.
        {
            "lr_g": 4e-4,
            "lr_d": 4e-4,
            "beta1": 0.0,
            "beta2": 0.99,
            "batch_size": 64,
            "r1_weight": 10.0,
            "r1_every": 16,
            "ema_decay": 0.999,
            # Self-conditioning on k-means clusters of a large enough set (Liu et al. 2020):
            # higher precision and lower FD on mnist5k (docs/default-recipe.md).
            "clusters": "auto",
        },
    ),
)
RECIPES: dict[str, Recipe] = {recipe.name: recipe for recipe in _RECIPES}

# Without --recipe: the project's best default for the data.
DEFAULT_RECIPE = "gankit"


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``; unknown names list the known ones."""
    if name not in RECIPES:
        known = ", ".join(sorted(RECIPES))
        raise GankitError(f"unknown recipe {name!r}; expected one of: {known}")
    return RECIPES[name]
