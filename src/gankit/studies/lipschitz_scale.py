"""Lipschitz scale: a K-Lipschitz critic estimates K·W1; clipping against the gradient penalty.

Claim (THEORY.md §5, the note on K-Lipschitz critics; Gulrajani et al. 2017, Figs. 1–2):
``sup_{‖f‖_Lip <= K} E_p f - E_q f = K·W1(p, q)``, so a critic held at slope K estimates K·W1:
same maximiser, scaled value. And how the constraint is imposed matters: weight clipping piles
the weights up at the box edges ``±c`` and learns simpler critics than the gradient penalty.

Method, part 1: q = N((1, 0), I₂) and p = N(0, I₂), so W1 = 1 exactly (a translation). For K in
{0.5, 1, 2, 4} a critic is trained with ``gradient_penalty(..., target=K)`` and weight λ/K
(λ = 10): that makes the objective K times the K = 1 objective of ``f/K``, so the penalised
optimum among linear critics has slope ``K·(1 + W1/(2λ))``, 5% above K for every K (hence the
15% tolerance). Its output layer starts at zero: a flat critic whose first steps follow the data;
from a random initial slope the penalty for K = 4 can lock the critic into a fold (measured:
estimate about -2 instead of 4). The estimate ``E_q f - E_p f`` is taken on fresh samples.

Part 2, as the WGAN-GP paper's Fig. 1: real = ``ring``, fake = real + N(0, I₂), held fixed. A
critic clipped to ``c = 0.01`` (RMSProp 5e-5, Arjovsky et al. 2017) whose weights start spread
uniformly over the box (only 1% within 1% of ``±c``: any pile-up is the training's doing), and a
penalty critic of the same shape (λ = 0.1 and Adam as the paper's toy code; λ = 10 learns the
modes far more slowly here). Measured: the share of weight-matrix entries within 1% of ``±c``
(for the penalty critic: of its own largest ``abs(w)``); how much each critic sees the 8 modes,
``(mean f(centres) - mean f(midpoints between them)) / (range of f on [-3, 3]²)``; and the share
of W1 it attains per unit of its own slope, ``(E f(real) - E f(fake)) / (max ‖∇f‖ · W1)``, at
most 1 by the duality (max over a grid and the samples; W1 exact by POT on 1000 + 1000 points).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from gankit import losses
from gankit.data import make_toy
from gankit.lipschitz import clip_weights, gradient_penalty, input_gradient_norm
from gankit.models import MLPCritic
from gankit.studies._common import Sampler, critic_estimate, pyplot
from gankit.studies._result import Claim, StudyResult, within
from gankit.wasserstein import wasserstein

NAME = "lipschitz-scale"
CLAIM = (
    "A critic held K-Lipschitz estimates K·W1; weight clipping piles weights at ±c and learns "
    "simpler critics than the gradient penalty."
)

KS = (0.5, 1.0, 2.0, 4.0)
SHIFT = 1.0  # W1 between N((SHIFT, 0), I) and N(0, I)
K_RTOL = 0.15
CLIP = 0.01  # Arjovsky et al. 2017, Alg. 1
EDGE = 0.99  # "at the edge": abs(w) >= 0.99 of the bound
PILED = 0.25  # share at ±c after training (a uniform spread over the box puts 1% there)
SPREAD = 0.05  # share of the penalty critic's weights at its own largest abs(w)
MODES = 2.0  # the penalty critic's mode contrast is at least twice the clipped critic's


def _gaussian(shift: float) -> Sampler:
    def sample(n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.randn(n, 2, generator=generator) + torch.tensor([shift, 0.0])

    return sample


def _train(
    sample_p: Sampler,
    sample_q: Sampler,
    seed: int,
    steps: int,
    *,
    gp_weight: float = 0,
    target: float = 1.0,
    clip: float = 0.0,
    flat: bool = False,
) -> nn.Module:
    """A critic maximising ``E_p f - E_q f``, held by the penalty (towards slope ``target``)
    or by clipping to ``[-clip, clip]`` (weights first spread uniformly over that box)."""
    torch.manual_seed(seed)  # every critic starts from the same weights
    critic = MLPCritic(2, width=64, depth=3)
    with torch.no_grad():
        if flat:
            [m for m in critic.modules() if isinstance(m, nn.Linear)][-1].weight.zero_()
        for parameter in critic.parameters() if clip > 0 else ():
            parameter.mul_(clip / parameter.abs().max())
    optimizer: torch.optim.Optimizer
    if clip > 0:
        optimizer = torch.optim.RMSprop(critic.parameters(), lr=5e-5)
    else:
        optimizer = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
    stream = torch.Generator().manual_seed(seed + 1)
    for _ in range(steps):
        real, fake = sample_p(256, stream), sample_q(256, stream)
        loss = losses.critic_loss(critic(real), critic(fake))
        if gp_weight > 0:
            loss = loss + gradient_penalty(
                critic, real, fake, gp_weight, generator=stream, target=target
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if clip > 0:
            clip_weights(critic, clip)
    return critic


def _weights(critic: nn.Module) -> np.ndarray:
    return torch.cat(
        [m.weight.detach().flatten() for m in critic.modules() if isinstance(m, nn.Linear)]
    ).numpy()


def run(out: Path, *, seed: int = 0, quick: bool = False) -> StudyResult:
    k_steps, box_steps, n_eval = (350, 300, 4000) if quick else (500, 800, 10000)
    q, p = _gaussian(SHIFT), _gaussian(0.0)
    estimates = [
        critic_estimate(
            _train(q, p, seed, k_steps, gp_weight=10.0 / k, target=k, flat=True), q, p, n_eval, seed
        )
        for k in KS
    ]
    ratios = [e / SHIFT for e in estimates]

    ring = make_toy("ring")

    def noisy(n: int, generator: torch.Generator) -> torch.Tensor:
        return ring.sample(n, generator) + torch.randn(n, 2, generator=generator)

    critics = {
        "clipped": _train(ring.sample, noisy, seed, box_steps, clip=CLIP),
        "penalty": _train(ring.sample, noisy, seed, box_steps, gp_weight=0.1),
    }
    weights = {k: _weights(c) for k, c in critics.items()}
    piled = float(np.mean(np.abs(weights["clipped"]) >= EDGE * CLIP))
    spread = float(np.mean(np.abs(weights["penalty"]) >= EDGE * np.abs(weights["penalty"]).max()))
    axis = np.linspace(-3, 3, 61)
    grid = torch.tensor(
        np.stack([a.ravel() for a in np.meshgrid(axis, axis)], 1), dtype=torch.float32
    )
    angles = torch.arange(8) * 2 * torch.pi / 8
    centres = torch.stack([angles.cos(), angles.sin()], 1) * 2.0  # the ring's modes
    between = torch.stack([(angles + torch.pi / 8).cos(), (angles + torch.pi / 8).sin()], 1) * 2.0
    evaluation = torch.Generator().manual_seed(seed + 7)
    real, fake = ring.sample(1000, evaluation), noisy(1000, evaluation)
    w1 = wasserstein(real.numpy(), fake.numpy())
    surfaces, contrast, attained = {}, {}, {}
    for name, critic in critics.items():
        with torch.no_grad():
            surfaces[name] = critic(grid).numpy()
            spread_f = float(surfaces[name].max() - surfaces[name].min())
            contrast[name] = float(critic(centres).mean() - critic(between).mean()) / spread_f
            estimate = float(critic(real).mean() - critic(fake).mean())
        slope = float(torch.cat([input_gradient_norm(critic, x) for x in (grid, real, fake)]).max())
        attained[name] = estimate / (slope * w1)

    claims = [
        Claim(
            f"K = {k:g}: critic estimate / W1",
            f"{k:g} ± {K_RTOL:.0%}",
            ratio,
            within(ratio, k, rtol=K_RTOL),
        )
        for k, ratio in zip(KS, ratios, strict=True)
    ]
    claims += [
        Claim(
            f"clipped critic: share of weights within 1% of ±c (c = {CLIP:g}; they start "
            "uniform over the box, 1% there)",
            f">= {PILED:g}",
            piled,
            piled >= PILED,
        ),
        Claim(
            "penalty critic: share of weights within 1% of its largest abs(w)",
            f"<= {SPREAD:g}",
            spread,
            spread <= SPREAD,
        ),
        Claim(
            "the penalty critic sees the 8 modes, the clipped one hardly: mode contrast",
            f">= {MODES:g} x clipped ({contrast['clipped']:.3g})",
            contrast["penalty"],
            contrast["penalty"] >= MODES * contrast["clipped"],
        ),
        Claim(
            "clipping's simpler critic attains a smaller share of W1 per unit slope",
            f"< penalty's ({attained['penalty']:.3g})",
            attained["clipped"],
            attained["clipped"] < attained["penalty"],
        ),
    ]

    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(10, 8))
    shown = ring.sample(400, torch.Generator().manual_seed(seed + 3)).numpy()
    for column, name in enumerate(critics):
        axes[0, column].hist(weights[name], bins=80)
        axes[0, column].set(title=f"{name} critic: weights", xlabel="w", ylabel="count")
        axes[0, column].ticklabel_format(axis="x", style="sci", scilimits=(-2, 2))
        filled = axes[1, column].contourf(axis, axis, surfaces[name].reshape(61, 61), levels=20)
        fig.colorbar(filled, ax=axes[1, column])
        axes[1, column].scatter(shown[:, 0], shown[:, 1], s=2, c="w")
        axes[1, column].set(title=f"{name} critic: value (mode contrast {contrast[name]:.3f})")
    fig.tight_layout()
    surfaces_png = out / "clipping_vs_penalty.png"
    fig.savefig(surfaces_png, dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot([0, max(KS) * SHIFT], [0, max(KS) * SHIFT], "k--", lw=1, label="K·W1")
    ax.plot([k * SHIFT for k in KS], estimates, "o", label="critic estimate")
    ax.set(xlabel="K·W1", ylabel="estimate E_q f − E_p f", title=f"target slope K, W1 = {SHIFT:g}")
    ax.legend()
    fig.tight_layout()
    scale_png = out / "estimate_vs_k.png"
    fig.savefig(scale_png, dpi=100)
    plt.close(fig)

    summary = (
        "Estimate / W1 for K = "
        + ", ".join(f"{k:g}: {r:.3f}" for k, r in zip(KS, ratios, strict=True))
        + f". After {box_steps} steps {piled:.0%} of the clipped critic's weights sit within 1% "
        f"of ±{CLIP:g} (the penalty critic: {spread:.1%} at its own extremes). Mode contrast "
        f"{contrast['clipped']:.3f} clipped vs {contrast['penalty']:.3f} penalty; share of W1 "
        f"(= {w1:.3f}) per unit slope {attained['clipped']:.3f} vs {attained['penalty']:.3f}."
    )
    return StudyResult(
        name=NAME,
        claims=claims,
        data={
            "k_scaling": {"k": list(KS), "w1": SHIFT, "estimate": estimates, "ratio": ratios},
            "share_at_clip_edges": piled,
            "penalty_share_at_extremes": spread,
            "mode_contrast": contrast,
            "w1_share_per_unit_slope": attained,
            "w1_real_fake": w1,
            "weights": {k: [float(f"{x:.4g}") for x in v] for k, v in weights.items()},
            "settings": dict(k_steps=k_steps, box_steps=box_steps, eval_samples=n_eval),
        },
        figures=[scale_png, surfaces_png],
        summary=summary,
    )
