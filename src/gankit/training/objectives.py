"""What a recipe optimises, as a training step calls it: losses, penalties, logged estimates.

The math lives in ``gankit.losses``, ``gankit.fgan`` and ``gankit.lipschitz``; this module
only picks the functions a configuration's recipe names, from one table per role, so that
``gankit.training.step`` reads the same for every recipe. A name missing from a table is an
error, never a fallback. Every penalty receives the critic module as an argument (a plain
module in a distributed run too, whose input gradient can be taken twice).
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
    "pairs_real",
    "penalty",
    "r1_due",
    "realness",
]

Scores = torch.Tensor
T = TypeVar("T")

# objective -> the critic's loss on (real scores, fake scores, config)
CRITIC_LOSSES: dict[str, Callable[[Scores, Scores, TrainConfig], Scores]] = {
    "minimax": lambda real, fake, _: losses.d_loss_minimax(real, fake),
    "relativistic": lambda real, fake, _: losses.d_loss_relativistic(real, fake),
    "wasserstein": lambda real, fake, _: losses.critic_loss(real, fake),
    "hinge": lambda real, fake, _: losses.d_loss_hinge(real, fake),
    "least_squares": lambda real, fake, _: losses.d_loss_least_squares(real, fake),
    "fgan": lambda real, fake, config: fgan.d_loss_fgan(real, fake, config.divergence),
}
# generator loss -> the generator's loss on (fake scores, real scores or None, config); only
# the losses in PAIRED_GENERATOR_LOSSES read the real scores
GENERATOR_LOSSES: dict[str, Callable[[Scores, Scores | None, TrainConfig], Scores]] = {
    "saturating": lambda fake, _real, _: losses.g_loss_saturating(fake),
    "nonsaturating": lambda fake, _real, _: losses.g_loss_nonsaturating(fake),
    "wasserstein": lambda fake, _real, _: losses.g_loss_wasserstein(fake),
    "least_squares": lambda fake, _real, _: losses.g_loss_least_squares(fake),
    "fgan": lambda fake, _real, config: fgan.g_loss_fgan(fake, config.divergence),
    "relativistic": lambda fake, real, _: losses.g_loss_relativistic(_needed(real), fake),
}
PAIRED_GENERATOR_LOSSES = frozenset({"relativistic"})


def _needed(real: Scores | None) -> Scores:
    if real is None:
        raise ValueError("the relativistic generator loss needs the real scores it pairs with")
    return real


def _wasserstein_estimate(real: Scores, fake: Scores, _: TrainConfig) -> dict[str, Scores]:
    return {"w_estimate": real.mean() - fake.mean()}


# objective -> what its last critic batch says about the two distributions:
# - minimax: d_real, d_fake, the mean probabilities sigmoid(logit);
# - wasserstein and hinge: w_estimate = mean D(real) - mean D(fake) (for hinge a lower bound
#   on W1 when the critic is 1-Lipschitz, e.g. with spectral norm);
# - least_squares: score_real, score_fake, the mean scores (targets 1 and -1);
# - fgan: f_estimate, the variational lower bound on D_f(P‖Q);
# - relativistic: pair_margin = mean (D(x_i) - D(G(z_i))), the pairs' mean score difference.
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
    "relativistic": lambda real, fake, _: {"pair_margin": (real - fake).mean()},
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


def generator_loss(
    config: TrainConfig, fake_scores: Scores, real_scores: Scores | None = None
) -> Scores:
    """The generator's loss of ``config``'s recipe on the critic's scores of its samples (and,
    for a paired loss, :func:`pairs_real`, of the real batch its samples are paired with)."""
    kind = get_recipe(config.recipe).generator_loss
    return _pick(GENERATOR_LOSSES, kind, "generator loss")(fake_scores, real_scores, config)


def pairs_real(config: TrainConfig) -> bool:
    """Whether the generator's loss pairs its samples with real ones (RpGAN): the generator
    step then scores the last critic batch's real samples too."""
    return get_recipe(config.recipe).generator_loss in PAIRED_GENERATOR_LOSSES


def realness(config: TrainConfig, real_scores: Scores, fake_scores: Scores) -> Scores:
    """What ADA's ``r_t = E sign(...)`` reads (Karras et al. 2020, §3): ``D(real)``, or for the
    relativistic objective, whose scores mean nothing but their differences,
    ``D(x_i) - D(G(z_i))``."""
    if get_recipe(config.recipe).objective == "relativistic":
        return real_scores.detach() - fake_scores.detach()
    return real_scores.detach()


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
