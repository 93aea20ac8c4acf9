"""What a recipe optimises, as a training step calls it: losses, penalties, logged estimates.

The math lives in ``gankit.losses``, ``gankit.fgan`` and ``gankit.lipschitz``; this module
only picks the functions a configuration's recipe names, from one table per role, so that
``gankit.training.step`` reads the same for every recipe. A name missing from a table is an
error, never a fallback. Every penalty receives the critic module as an argument (a
distributed run passes the unwrapped module, whose input gradient can be taken twice).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import torch
from torch import nn

from gankit import fgan, losses
from gankit.lipschitz import (
    dragan_penalty,
    gradient_penalty,
    lipschitz_penalty,
    r1_penalty,
    r2_penalty,
)
from gankit.training.config import TrainConfig
from gankit.training.recipes import get_recipe

__all__ = [
    "CRITIC_ESTIMATES",
    "CRITIC_LOSSES",
    "GENERATOR_LOSSES",
    "critic_estimates",
    "critic_loss",
    "generator_loss",
    "penalty",
    "r1_due",
]

Scores = torch.Tensor
T = TypeVar("T")

# objective -> the critic's loss on (real scores, fake scores, config)
CRITIC_LOSSES: dict[str, Callable[[Scores, Scores, TrainConfig], Scores]] = {
    "minimax": lambda real, fake, _: losses.d_loss_minimax(real, fake),
    "wasserstein": lambda real, fake, _: losses.critic_loss(real, fake),
    "hinge": lambda real, fake, _: losses.d_loss_hinge(real, fake),
    "least_squares": lambda real, fake, _: losses.d_loss_least_squares(real, fake),
    "fgan": lambda real, fake, config: fgan.d_loss_fgan(real, fake, config.divergence),
}
# generator loss -> the generator's loss on (fake scores, config)
GENERATOR_LOSSES: dict[str, Callable[[Scores, TrainConfig], Scores]] = {
    "saturating": lambda fake, _: losses.g_loss_saturating(fake),
    "nonsaturating": lambda fake, _: losses.g_loss_nonsaturating(fake),
    "wasserstein": lambda fake, _: losses.g_loss_wasserstein(fake),
    "least_squares": lambda fake, _: losses.g_loss_least_squares(fake),
    "fgan": lambda fake, config: fgan.g_loss_fgan(fake, config.divergence),
}


def _wasserstein_estimate(real: Scores, fake: Scores, _: TrainConfig) -> dict[str, Scores]:
    return {"w_estimate": real.mean() - fake.mean()}


# objective -> what its last critic batch says about the two distributions:
# - minimax: d_real, d_fake, the mean probabilities sigmoid(logit);
# - wasserstein and hinge: w_estimate = mean D(real) - mean D(fake) (for hinge a lower bound
#   on W1 when the critic is 1-Lipschitz, e.g. with spectral norm);
# - least_squares: score_real, score_fake, the mean scores (targets 1 and -1);
# - fgan: f_estimate, the variational lower bound on D_f(P‖Q).
CRITIC_ESTIMATES: dict[str, Callable[[Scores, Scores, TrainConfig], dict[str, Scores]]] = {
    "minimax": lambda real, fake, _: {
        "d_real": torch.sigmoid(real).mean(),
        "d_fake": torch.sigmoid(fake).mean(),
    },
    "wasserstein": _wasserstein_estimate,
    "hinge": _wasserstein_estimate,
    "least_squares": lambda real, fake, _: {"score_real": real.mean(), "score_fake": fake.mean()},
    "fgan": lambda real, fake, config: {
        "f_estimate": fgan.variational_bound(real, fake, config.divergence)
    },
}


def _pick(table: Mapping[str, T], name: str, role: str) -> T:
    """``table[name]``; a name the table lacks is a recipe bug, reported as such."""
    if name not in table:
        raise ValueError(f"no {role} for {name!r}; known: {', '.join(table)}")
    return table[name]


def critic_loss(config: TrainConfig, real_scores: Scores, fake_scores: Scores) -> Scores:
    """The critic's (discriminator's) loss of ``config``'s recipe, without penalties."""
    objective = get_recipe(config.recipe).objective
    return _pick(CRITIC_LOSSES, objective, "critic loss")(real_scores, fake_scores, config)


def generator_loss(config: TrainConfig, fake_scores: Scores) -> Scores:
    """The generator's loss of ``config``'s recipe on the critic's scores of its samples."""
    kind = get_recipe(config.recipe).generator_loss
    return _pick(GENERATOR_LOSSES, kind, "generator loss")(fake_scores, config)


def critic_estimates(
    config: TrainConfig, real_scores: Scores, fake_scores: Scores
) -> dict[str, Any]:
    """What the last critic batch says about the two distributions, as detached tensors
    (see :data:`CRITIC_ESTIMATES`)."""
    objective = get_recipe(config.recipe).objective
    estimate = _pick(CRITIC_ESTIMATES, objective, "critic estimate")
    return estimate(real_scores.detach(), fake_scores.detach(), config)


def penalty(
    config: TrainConfig,
    critic: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    rng: torch.Generator,
    *,
    r1_now: bool = True,
    real_scores: torch.Tensor | None = None,
) -> torch.Tensor:
    """The sum of the penalties ``config`` turns on (0 when none is), for the critic's update.

    ``rng`` draws the random points of the penalties that need them (WGAN-GP and WGAN-LP
    interpolates, DRAGAN perturbations), in that order. R1 is added when ``r1_now``
    (see :func:`r1_due`), with weight ``r1_every · γ``: lazy regularisation (Karras et al.
    2020, StyleGAN2 §3.1); ``real_scores``, ``D(real)`` computed with ``real`` requiring grad,
    saves its forward pass (unused when R1 is not due).
    """
    total = torch.zeros((), device=real.device)
    if config.gp_weight > 0:
        total = total + gradient_penalty(critic, real, fake, config.gp_weight, rng=rng)
    if config.lp_weight > 0:
        total = total + lipschitz_penalty(critic, real, fake, config.lp_weight, rng=rng)
    if config.dragan_weight > 0:
        total = total + dragan_penalty(critic, real, config.dragan_weight, rng=rng)
    if config.r1_weight > 0 and r1_now:
        weight = config.r1_every * config.r1_weight
        total = total + r1_penalty(critic, real, weight, scores=real_scores)
    if config.r2_weight > 0:
        total = total + r2_penalty(critic, fake, config.r2_weight)
    return total


def r1_due(config: TrainConfig, step: int) -> bool:
    """Whether the critic steps before generator step ``step`` carry the R1 penalty."""
    return config.r1_weight > 0 and step % config.r1_every == 0
