"""What a recipe optimises, as the training loop calls it: losses, penalties, logged estimates.

The math lives in ``gankit.losses``, ``gankit.fgan`` and ``gankit.lipschitz``; this module only
picks the functions a configuration asks for, so that ``critic_steps`` and ``generator_step``
in ``gankit.train.loop`` read the same for every recipe. Every penalty receives the critic
module as an argument (a distributed run passes the unwrapped module, whose input gradient
can be taken twice).
"""

from __future__ import annotations

from typing import Any

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
from gankit.train.config import TrainConfig
from gankit.train.recipes import get_recipe

__all__ = ["critic_estimates", "critic_loss", "generator_loss", "penalty", "r1_due"]


def critic_loss(
    config: TrainConfig, real_scores: torch.Tensor, fake_scores: torch.Tensor
) -> torch.Tensor:
    """The critic's (discriminator's) loss of ``config``'s recipe, without penalties."""
    objective = get_recipe(config.recipe).objective
    if objective == "wasserstein":
        return losses.critic_loss(real_scores, fake_scores)
    if objective == "hinge":
        return losses.d_loss_hinge(real_scores, fake_scores)
    if objective == "least_squares":
        return losses.d_loss_least_squares(real_scores, fake_scores)
    if objective == "fgan":
        return fgan.d_loss_fgan(real_scores, fake_scores, config.divergence)
    return losses.d_loss_minimax(real_scores, fake_scores)


def generator_loss(config: TrainConfig, fake_scores: torch.Tensor) -> torch.Tensor:
    """The generator's loss of ``config``'s recipe on the critic's scores of its samples."""
    kind = get_recipe(config.recipe).generator_loss
    if kind == "saturating":
        return losses.g_loss_saturating(fake_scores)
    if kind == "nonsaturating":
        return losses.g_loss_nonsaturating(fake_scores)
    if kind == "least_squares":
        return losses.g_loss_least_squares(fake_scores)
    if kind == "fgan":
        return fgan.g_loss_fgan(fake_scores, config.divergence)
    return losses.g_loss_wasserstein(fake_scores)


def penalty(
    config: TrainConfig,
    critic: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    generator: torch.Generator,
    *,
    r1_now: bool = True,
    real_scores: torch.Tensor | None = None,
) -> torch.Tensor:
    """The sum of the penalties ``config`` turns on (0 when none is), for the critic's update.

    ``generator`` draws the random points of the penalties that need them (WGAN-GP and
    WGAN-LP interpolates, DRAGAN perturbations), in that order. R1 is added when ``r1_now``
    (see :func:`r1_due`), with weight ``r1_every · γ``: lazy regularisation (Karras et al.
    2020, StyleGAN2 §3.1); ``real_scores``, ``D(real)`` computed with ``real`` requiring grad,
    saves its forward pass (unused when R1 is not due).
    """
    total = torch.zeros((), device=real.device)
    if config.gp_weight > 0:
        total = total + gradient_penalty(critic, real, fake, config.gp_weight, generator=generator)
    if config.lp_weight > 0:
        total = total + lipschitz_penalty(critic, real, fake, config.lp_weight, generator=generator)
    if config.dragan_weight > 0:
        total = total + dragan_penalty(critic, real, config.dragan_weight, generator=generator)
    if config.r1_weight > 0 and r1_now:
        weight = config.r1_every * config.r1_weight
        total = total + r1_penalty(critic, real, weight, scores=real_scores)
    if config.r2_weight > 0:
        total = total + r2_penalty(critic, fake, config.r2_weight)
    return total


def r1_due(config: TrainConfig, step: int) -> bool:
    """Whether the critic steps before generator step ``step`` carry the R1 penalty."""
    return config.r1_weight > 0 and step % config.r1_every == 0


def critic_estimates(
    config: TrainConfig, real_scores: torch.Tensor, fake_scores: torch.Tensor
) -> dict[str, Any]:
    """What the last critic batch says about the two distributions, as detached tensors.

    - minimax: ``d_real``, ``d_fake``, the mean probabilities ``sigmoid(logit)``;
    - wasserstein and hinge: ``w_estimate = mean D(real) - mean D(fake)`` (for hinge a lower
      bound on W1 when the critic is 1-Lipschitz, e.g. with spectral norm);
    - least_squares: ``score_real``, ``score_fake``, the mean scores (targets 1 and -1);
    - fgan: ``f_estimate``, the variational lower bound on ``D_f(P‖Q)``.
    """
    objective = get_recipe(config.recipe).objective
    real, fake = real_scores.detach(), fake_scores.detach()
    if objective in ("wasserstein", "hinge"):
        return {"w_estimate": real.mean() - fake.mean()}
    if objective == "least_squares":
        return {"score_real": real.mean(), "score_fake": fake.mean()}
    if objective == "fgan":
        return {"f_estimate": fgan.variational_bound(real, fake, config.divergence)}
    return {"d_real": torch.sigmoid(real).mean(), "d_fake": torch.sigmoid(fake).mean()}
