"""One training step: k critic (discriminator) steps, then one generator step.

:func:`train_step` is the step every training loop of gankit takes, the run loop and the
studies alike: the critic schedule, the critic's ascent steps, the generator's descent step
and the watch for non-finite losses. Losses come from ``gankit.losses`` and ``gankit.fgan``
through ``gankit.training.objectives``, constraints from ``gankit.lipschitz``
(docs/theory.md §3, §5). Every critic evaluation sees its images through
:func:`critic_input` (the configured augmentation, ``gankit.training.augment``). Host syncs
(``.item()``) happen only on measured steps.

A conditional run (``conditional = true``; or ``clusters = K``, whose classes are the image
clusters) draws each real batch with its labels; the
generator draws its samples of the same classes, the critic and its penalties score every
image with its class (:class:`WithLabels`), and the generator step asks for the classes of
the last critic batch.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from torch import nn

from gankit.errors import GankitError
from gankit.lipschitz import clip_weights
from gankit.training import augment, distributed, objectives
from gankit.training.config import TrainConfig, augment_policy
from gankit.training.state import RunState

__all__ = [
    "SCORES",
    "TrainingDiverged",
    "WithLabels",
    "check_finite",
    "critic_steps",
    "critic_input",
    "critic_steps_at",
    "generator_step",
    "train_step",
]


# A measured step's raw critic scores of its last critic batch, shape (batch,): not scalars to log
SCORES = ("real_scores", "fake_scores")


class TrainingDiverged(GankitError):
    """A loss became NaN or infinite; the message says which checkpoint is on disk."""


class WithLabels(nn.Module):
    """A conditional critic with its batch's labels bound: ``x -> critic(x, labels)``, the
    one-argument critic the penalties differentiate (``gankit.lipschitz``)."""

    def __init__(self, critic: nn.Module, labels: torch.Tensor) -> None:
        super().__init__()
        self.critic, self.labels = critic, labels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.critic(x, self.labels)


def _scored(critic: nn.Module, labels: torch.Tensor | None) -> nn.Module:
    """The critic as a function of images alone: bound to ``labels`` when there are any."""
    return critic if labels is None else WithLabels(critic, labels)


def train_step(run: RunState, data: Any, measure: bool) -> dict[str, Any]:
    """Generator step ``run.step`` with its critic steps; ``run.step`` goes up by one.

    ``data`` draws ``sample(n, rng)`` batches. Returns the step's losses, penalty and the
    critic's estimates as detached tensors (and, when ``measure``, the gradient norms and the
    last critic batch's raw :data:`SCORES`).
    A non-finite loss is remembered without a host sync; on a measured step the run
    raises :class:`TrainingDiverged` if one occurred since the last check (every process of a
    ``torchrun`` job at once).
    """
    values = critic_steps(run, data, critic_steps_at(run.config, run.step), measure)
    real, labels = values.pop("real_batch"), values.pop("real_labels")
    pairs = {"real": real} if objectives.pairs_real(run.config) else {}
    values.update(generator_step(run, measure, labels=labels, **pairs))
    _track_nonfinite(run, values)
    if augment_policy(run.config):
        _adapt_augmentation(run)
        values["augment_p"] = run.augment_p.clone()
        if run.config.augment_p == "auto":
            values["r_t"] = run.r_t.clone()
    run.step += 1
    if measure:
        check_finite(run)
    return values


def critic_steps_at(config: TrainConfig, step: int) -> int:
    """Critic steps before generator step ``step`` (0-based).

    With ``critic_warmup`` the original WGAN code's schedule: 100 steps for the first 25
    generator iterations and every 500th (Arjovsky et al. 2017, code; not in the paper).
    """
    if config.critic_warmup and (step < 25 or step % 500 == 0):
        return 100
    return config.n_critic


def _autocast(run: RunState) -> contextlib.AbstractContextManager[Any]:
    dtype = run.hardware.autocast_dtype
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(run.hardware.device.type, dtype=dtype)


def _noise(run: RunState, n: int) -> torch.Tensor:
    """Noise for the ``n`` samples of a global batch; with several processes, this one's rows."""
    device = run.hardware.device
    z = torch.randn(n, run.config.latent_dim, generator=run.streams["noise"], device=device)
    return distributed.local_part(z, run.dist)


def _generated(run: RunState, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """The generator's samples of noise ``z`` (of classes ``labels``, when conditional)."""
    return run.generator(z) if labels is None else run.generator(z, labels)


def critic_input(run: RunState, images: torch.Tensor) -> torch.Tensor:
    """What the critic sees of ``images`` (this process's rows of a global batch): the
    configuration's augmentation, drawn from the run's ``augment`` stream for the whole
    batch (``gankit.training.augment``); ``images`` themselves when augmentation is off."""
    policy = augment_policy(run.config)
    if not policy or run.augment_fill is None:
        return images
    size = (images.shape[2], images.shape[3])
    params = augment.draw(policy, run.config.batch_size, size, run.streams["augment"])
    rows = {name: distributed.local_part(value, run.dist) for name, value in params.items()}
    return augment.augment(images, policy, rows, run.augment_p, run.augment_fill)


def _adapt_augmentation(run: RunState) -> None:
    """ADA: after every ``ADA_INTERVAL``-th generator step, move ``p`` by the sign of
    ``r_t - 0.6`` (``r_t`` over the critic batches since the last move, every process's)."""
    if run.config.augment_p != "auto" or (run.step + 1) % augment.ADA_INTERVAL != 0:
        return
    r_t = run.ada_signs[0] / run.ada_signs[1].clamp(min=1)
    r_t = distributed.mean_over_processes(run.dist, {"r_t": r_t}, run.hardware.device)["r_t"]
    run.augment_p = augment.ada_adjusted(run.augment_p, r_t, run.config.batch_size)
    run.r_t, run.ada_signs = r_t, torch.zeros_like(run.ada_signs)


def _grad_norm(module: nn.Module) -> torch.Tensor:
    grads = [p.grad.detach().flatten() for p in module.parameters() if p.grad is not None]
    return torch.linalg.vector_norm(torch.cat(grads)) if grads else torch.zeros(())


def critic_steps(run: RunState, data: Any, n_steps: int, measure: bool) -> dict[str, Any]:
    """``n_steps`` ascent steps of the critic (or discriminator) against a fixed generator."""
    config = run.config
    out: dict[str, Any] = {}
    for index in range(n_steps):
        labels = None
        if config.takes_classes():  # the same images as unconditional, with their classes
            batch, labels = data.sample_labelled(config.batch_size, run.streams["data"])
            labels = labels.to(run.hardware.device)
        else:
            batch = data.sample(config.batch_size, run.streams["data"])
        batch = batch.to(run.hardware.device)
        critic = _scored(run.critic, labels)
        r1_now = objectives.r1_due(config, run.step)
        # The critic and its penalties see the augmented images (gankit.training.augment).
        real = critic_input(run, batch)
        if r1_now:  # R1 differentiates this step's own D(real): no second forward
            real = real.detach().requires_grad_(True)
        with _autocast(run):  # one region per step: the weights are cast to bf16 once
            with torch.no_grad():
                fake = _generated(run, _noise(run, config.batch_size), labels).float()
            fake = critic_input(run, fake)
            real_scores, fake_scores = critic(real).float(), critic(fake).float()
            loss = objectives.critic_loss(config, real_scores, fake_scores)
            penalty = objectives.penalty(
                config,
                critic,
                real,
                fake,
                run.streams["epsilon"],
                r1_now=r1_now,
                real_scores=real_scores,
            )
        run.opt_d.zero_grad(set_to_none=True)
        (loss + penalty).backward()
        if measure and index == n_steps - 1:
            out["grad_norm_d"] = _grad_norm(run.critic)
        run.opt_d.step()
        if config.clip > 0:
            clip_weights(run.critic, config.clip)  # after the step: the critic used is in the box
        if config.augment_p == "auto":  # ADA's overfitting heuristic, without a host sync
            signs = torch.sign(objectives.realness(config, real_scores, fake_scores))
            run.ada_signs = run.ada_signs + torch.stack(
                [signs.sum(), signs.new_tensor(signs.numel())]
            )
    out["real_batch"] = batch  # the generator step pairs its samples with it (RpGAN)
    out["real_labels"] = labels  # and asks for its classes (conditional runs)
    out["d_loss"] = loss.detach()
    out["penalty"] = penalty.detach()
    out.update(objectives.critic_estimates(config, real_scores, fake_scores))
    if measure:  # the scores the logged loss and estimates came from, for histograms
        out["real_scores"] = real_scores.detach().reshape(-1)
        out["fake_scores"] = fake_scores.detach().reshape(-1)
    return out


def generator_step(
    run: RunState,
    measure: bool,
    real: torch.Tensor | None = None,
    labels: torch.Tensor | None = None,
) -> dict[str, Any]:
    """One descent step of the generator through the (frozen) critic, then the EMA update.

    ``real``, the last critic step's real batch, is what a paired loss (RpGAN) scores the
    samples against (unused otherwise); ``labels``, that batch's classes, are the classes a
    conditional generator draws (``None`` for an unconditional run).
    """
    config = run.config
    critic = _scored(run.critic, labels)
    run.critic.requires_grad_(False)  # no critic weight gradients are needed here
    try:
        with _autocast(run):
            fake = critic_input(run, _generated(run, _noise(run, config.batch_size), labels))
            scores = critic(fake).float()
            real_scores = None
            if objectives.pairs_real(config):
                if real is None:
                    raise ValueError(f"recipe {config.recipe}: the generator step needs real")
                with torch.no_grad():
                    real_scores = critic(critic_input(run, real)).float()
        loss = objectives.generator_loss(config, scores, real_scores)
        run.opt_g.zero_grad(set_to_none=True)
        loss.backward()
    finally:
        run.critic.requires_grad_(True)
    out: dict[str, Any] = {"g_loss": loss.detach()}
    if measure:
        out["grad_norm_g"] = _grad_norm(run.generator)
    run.opt_g.step()
    if run.ema is not None:
        with torch.no_grad():
            # ema <- ema + (1 - decay) * (weights - ema), all parameters in one fused call
            ema_params: list[torch.Tensor] = list(run.ema.parameters())
            weights: list[torch.Tensor] = list(run.generator.parameters())
            torch._foreach_lerp_(ema_params, weights, 1 - config.ema_decay)
    return out


def _track_nonfinite(run: RunState, values: dict[str, Any]) -> None:
    """Remember the first step whose losses were not finite, without a host sync."""
    pair = torch.stack([values["d_loss"].float(), values["g_loss"].float()])
    fresh = (~torch.isfinite(pair).all()) & (run.first_bad_step < 0)
    run.first_bad_step = torch.where(fresh, torch.tensor(run.step), run.first_bad_step)
    run.bad_losses = torch.where(fresh, pair, run.bad_losses)


def check_finite(run: RunState) -> None:
    """Raise :class:`TrainingDiverged` (in every process) if a loss was not finite in any.

    The message says what is on disk: the newest checkpoint's step (``run.saved_step``),
    which holds the last good weights, or that no checkpoint was written; and what to do: a
    resume repeats the same steps and may not change the learning rate, so a new run.
    """
    bad, d_loss, g_loss = distributed.earliest_nonfinite(
        run.dist, run.first_bad_step, run.bad_losses
    )
    if bad < 0:
        return
    if run.saved_step is None:
        kept = "no checkpoint was written before it"
    else:
        kept = f"the last good checkpoint (step {run.saved_step}) is kept"
    raise TrainingDiverged(
        f"loss became non-finite at step {bad} (d_loss={d_loss}, g_loss={g_loss}); {kept}; "
        "a resume would repeat the same steps: start a new run with a smaller --lr"
    )
