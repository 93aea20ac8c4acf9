"""Lipschitz scale: a K-Lipschitz critic estimates K·W1; clipping against the gradient penalty.

Claim (docs/theory.md §5, the note on K-Lipschitz critics; Gulrajani et al. 2017, Figs. 1–2):
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
The modes are the ring's ``centres``; the midpoints between neighbouring modes are their
means, pushed out to the ring's radius. Every critic is fitted by
:func:`gankit.studies._common.fit` on batches of 256 from one stream.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from gankit.data import make_toy
from gankit.lipschitz import clip_weights, input_gradient_norm
from gankit.report.figures import offscreen, save_figure
from gankit.studies._common import (
    FitSettings,
    Sampler,
    critic_estimate,
    fit,
    make_critic,
    wasserstein_loss,
)
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
AXIS = np.linspace(-3, 3, 61)  # each side of the grid the critics' values are drawn on
# The critics: 3x64 ReLU MLPs on batches of 256. Clipped: RMSProp 5e-5 (Arjovsky et al. 2017,
# Alg. 1); penalty: Adam 1e-3, betas (0.5, 0.9) (Gulrajani et al. 2017, Alg. 1).
CLIPPED = FitSettings(batch_size=256, lr=5e-5, width=64, depth=3, optimizer="rmsprop")
PENALTY = FitSettings(batch_size=256, lr=1e-3, width=64, depth=3, betas=(0.5, 0.9))


@dataclass(frozen=True)
class Settings:
    k_steps: int  # critic steps for each K
    box_steps: int  # critic steps for the clipped and the penalty critic on the ring
    n_eval: int  # fresh samples for each K's estimate


DEFAULT = Settings(k_steps=500, box_steps=800, n_eval=10000)
QUICK = Settings(k_steps=350, box_steps=300, n_eval=4000)


def _gaussian(shift: float) -> Sampler:
    def sample(n: int, rng: torch.Generator) -> torch.Tensor:
        return torch.randn(n, 2, generator=rng) + torch.tensor([shift, 0.0])

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
    settings = replace(CLIPPED if clip > 0 else PENALTY, steps=steps)
    critic = make_critic(2, settings, seed)  # every critic starts from the same weights
    with torch.no_grad():
        if flat:
            [m for m in critic.modules() if isinstance(m, nn.Linear)][-1].weight.zero_()
        for parameter in critic.parameters() if clip > 0 else ():
            parameter.mul_(clip / parameter.abs().max())
    clipping = (lambda model: clip_weights(model, clip)) if clip > 0 else None
    loss = wasserstein_loss(gp_weight, target)
    return fit(critic, loss, sample_p, sample_q, settings, seed, after_step=clipping)


def _weights(critic: nn.Module) -> np.ndarray:
    return torch.cat(
        [m.weight.detach().flatten() for m in critic.modules() if isinstance(m, nn.Linear)]
    ).numpy()


def _modes_and_midpoints() -> tuple[torch.Tensor, torch.Tensor]:
    """The ring's 8 modes, and the points midway between neighbouring modes on the ring."""
    centres = make_toy("ring").centres
    between = centres + np.roll(centres, -1, axis=0)
    radius = np.linalg.norm(centres, axis=1, keepdims=True)
    between *= radius / np.linalg.norm(between, axis=1, keepdims=True)
    return (
        torch.as_tensor(centres, dtype=torch.float32),
        torch.as_tensor(between, dtype=torch.float32),
    )


def _k_scaling(s: Settings, seed: int) -> dict[str, Any]:
    """Part 1: for each K the estimate of a critic trained towards slope K, against K·W1."""
    q, p = _gaussian(SHIFT), _gaussian(0.0)
    estimates = [
        critic_estimate(
            _train(q, p, seed, s.k_steps, gp_weight=10.0 / k, target=k, flat=True),
            q,
            p,
            s.n_eval,
            seed,
        )
        for k in KS
    ]
    return {
        "k": list(KS),
        "w1": SHIFT,
        "estimate": estimates,
        "ratio": [e / SHIFT for e in estimates],
    }


def _clipping_vs_penalty(s: Settings, seed: int) -> dict[str, Any]:
    """Part 2: a clipped and a penalty critic between the ring and the ring blurred by
    N(0, I); their weights, their values on the grid and what they see of the modes."""
    ring = make_toy("ring")

    def noisy(n: int, rng: torch.Generator) -> torch.Tensor:
        return ring.sample(n, rng) + torch.randn(n, 2, generator=rng)

    critics = {
        "clipped": _train(ring.sample, noisy, seed, s.box_steps, clip=CLIP),
        "penalty": _train(ring.sample, noisy, seed, s.box_steps, gp_weight=0.1),
    }
    weights = {k: _weights(c) for k, c in critics.items()}
    grid = torch.tensor(
        np.stack([a.ravel() for a in np.meshgrid(AXIS, AXIS)], 1), dtype=torch.float32
    )
    centres, between = _modes_and_midpoints()
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
    penalty = np.abs(weights["penalty"])
    return {
        "share_at_clip_edges": float(np.mean(np.abs(weights["clipped"]) >= EDGE * CLIP)),
        "penalty_share_at_extremes": float(np.mean(penalty >= EDGE * penalty.max())),
        "mode_contrast": contrast,
        "w1_share_per_unit_slope": attained,
        "w1_real_fake": w1,
        "weights": {k: [float(f"{x:.4g}") for x in v] for k, v in weights.items()},
        "surfaces": {k: [float(f"{x:.4g}") for x in v] for k, v in surfaces.items()},
    }


def measure(s: Settings, seed: int) -> dict[str, Any]:
    """Both parts; ``surfaces`` holds each ring critic's value on the ``AXIS`` x ``AXIS``
    grid (for the figure)."""
    return {
        "k_scaling": _k_scaling(s, seed),
        **_clipping_vs_penalty(s, seed),
        "settings": dict(k_steps=s.k_steps, box_steps=s.box_steps, eval_samples=s.n_eval),
    }


def claims(data: dict[str, Any]) -> list[Claim]:
    """The study's verdicts, from the numbers of :func:`measure`."""
    piled, spread = data["share_at_clip_edges"], data["penalty_share_at_extremes"]
    contrast, attained = data["mode_contrast"], data["w1_share_per_unit_slope"]
    out = [
        Claim(
            f"K = {k:g}: critic estimate / W1",
            f"{k:g} ± {K_RTOL:.0%}",
            ratio,
            within(ratio, k, rtol=K_RTOL),
        )
        for k, ratio in zip(KS, data["k_scaling"]["ratio"], strict=True)
    ]
    out += [
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
    return out


def figures(data: dict[str, Any], out: Path) -> list[Path]:
    """The estimate against K·W1, and the two ring critics' weights and values: two PNGs."""
    return [_plot_scaling(data, out / "estimate_vs_k.png"), _plot_critics(data, out)]


def _plot_scaling(data: dict[str, Any], path: Path) -> Path:
    plt = offscreen()
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot([0, max(KS) * SHIFT], [0, max(KS) * SHIFT], "k--", lw=1, label="K·W1")
    ax.plot([k * SHIFT for k in KS], data["k_scaling"]["estimate"], "o", label="critic estimate")
    ax.set(xlabel="K·W1", ylabel="estimate E_q f − E_p f", title=f"target slope K, W1 = {SHIFT:g}")
    ax.legend()
    return save_figure(fig, path, dpi=100)


def _plot_critics(data: dict[str, Any], out: Path) -> Path:
    plt = offscreen()
    fig, axes = plt.subplots(2, 2, figsize=(10, 8))
    modes = make_toy("ring").centres
    for column, name in enumerate(("clipped", "penalty")):
        axes[0, column].hist(data["weights"][name], bins=80)
        axes[0, column].set(title=f"{name} critic: weights", xlabel="w", ylabel="count")
        axes[0, column].ticklabel_format(axis="x", style="sci", scilimits=(-2, 2))
        surface = np.asarray(data["surfaces"][name]).reshape(len(AXIS), len(AXIS))
        filled = axes[1, column].contourf(AXIS, AXIS, surface, levels=20)
        fig.colorbar(filled, ax=axes[1, column])
        axes[1, column].scatter(modes[:, 0], modes[:, 1], s=12, c="w", label="modes")
        contrast = data["mode_contrast"][name]
        axes[1, column].set(title=f"{name} critic: value (mode contrast {contrast:.3f})")
    return save_figure(fig, out / "clipping_vs_penalty.png", dpi=100)


def summary(data: dict[str, Any]) -> str:
    ratios = data["k_scaling"]["ratio"]
    contrast, attained = data["mode_contrast"], data["w1_share_per_unit_slope"]
    return (
        "Estimate / W1 for K = "
        + ", ".join(f"{k:g}: {r:.3f}" for k, r in zip(KS, ratios, strict=True))
        + f". After {data['settings']['box_steps']} steps {data['share_at_clip_edges']:.0%} of "
        f"the clipped critic's weights sit within 1% of ±{CLIP:g} (the penalty critic: "
        f"{data['penalty_share_at_extremes']:.1%} at its own extremes). Mode contrast "
        f"{contrast['clipped']:.3f} clipped vs {contrast['penalty']:.3f} penalty; share of W1 "
        f"(= {data['w1_real_fake']:.3f}) per unit slope {attained['clipped']:.3f} vs "
        f"{attained['penalty']:.3f}."
    )


def run(out: Path, *, seed: int = 0, quick: bool = False) -> StudyResult:
    data = measure(QUICK if quick else DEFAULT, seed)
    return StudyResult(NAME, claims(data), data, figures(data, out), summary(data))
