"""f-GAN: train a generator by any f-divergence, through the divergence's variational bound.

For a convex ``f`` with ``f(1) = 0`` and its convex conjugate ``f*(t) = sup_u (u t - f(u))``,

``D_f(P || Q) = ∫ q f(p / q) dx  >=  sup_T  E_{x~P}[T(x)] - E_{x~Q}[f*(T(x))]``

with equality at ``T*(x) = f'(p(x) / q(x))`` (Nguyen, Wainwright & Jordan 2010). f-GAN writes
the critic as ``T = g_f(V(x))``: ``V`` is the network's raw output and the *output activation*
``g_f`` maps it into the domain of ``f*``. The critic maximises the bound
``F = E_P[g_f(V(x))] - E_Q[f*(g_f(V(x)))]``; the generator ``Q`` minimises it.

Each divergence below takes its ``f`` from ``gankit.divergences.GENERATORS``, so the bound and
the exact divergences of that module are of one and the same ``f`` (``P`` = data, ``Q`` =
model: ``kl`` is KL(P‖Q), the mass-covering direction; ``reverse_kl`` is KL(Q‖P)).
``g_f`` and ``f*`` are those of Nowozin et al. 2016, Table 6, except for Jensen–Shannon:

- **Jensen–Shannon.** gankit's JS is ``KL(p‖m)/2 + KL(q‖m)/2`` (in [0, log 2]), with
  ``f(t) = (t/2) log t - ((t+1)/2) log((t+1)/2)``; the paper's Table 1 ``f`` is twice that.
  For ``f = f_paper / 2``, ``f*(t) = f_paper*(2t) / 2`` and ``g_f = g_paper / 2``:
  ``g_f(v) = (log 2 - log(1 + exp(-v))) / 2`` and ``f*(t) = -log(2 - exp(2t)) / 2``. The bound
  is then ``(log 4 - d_loss_minimax(V(real), V(fake))) / 2``, the JS estimate of docs/theory.md §3.
  (The paper's separate "GAN" row is ``2·JS - log 4``, the minimax GAN's own value.)
- **Total variation** is ``1/2 ∫ abs(p - q)`` here and in the paper: ``f(t) = abs(t - 1)/2``,
  ``g_f(v) = tanh(v)/2``, ``f*(t) = t`` on ``[-1/2, 1/2]``.
- **Pearson χ².** ``f*(t) = t²/4 + t`` is the conjugate of ``(t - 1)²`` extended to all of R
  (as in the paper); over ``u > 0`` only, it holds for ``t >= -2``.

``f*(g_f(v))`` is written out per divergence (e.g. ``v - 1`` for reverse KL, ``exp(v) - 1``
for squared Hellinger) so that no ``log`` or division of the composition can overflow.

References:
    Nowozin, Cseke & Tomioka 2016, f-GAN: Training Generative Neural Samplers using
    Variational Divergence Minimization, eq. 4-6, Tables 1 and 6 (Table 2 in the
    conference version) and §3.2. docs/theory.md §2 (the f table).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from gankit._validate import check_choice, check_scores
from gankit.divergences import GENERATORS, FGenerator
from gankit.losses import _softplus

__all__ = ["DIVERGENCES", "FGanDivergence", "d_loss_fgan", "g_loss_fgan", "variational_bound"]

LOG2 = math.log(2.0)
Elementwise = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class FGanDivergence:
    """One row of f-GAN's table: ``f``, the output activation ``g_f`` and the conjugate ``f*``.

    Attributes:
        name: the key of ``gankit.divergences.GENERATORS`` (and of :data:`DIVERGENCES`).
        f: the generator ``f`` itself, from ``gankit.divergences``.
        activation: ``g_f``, mapping a raw output ``v`` in R into ``dom f*``.
        conjugate: ``f*(t)`` for ``t`` in ``dom f*``.
        conjugate_of_activation: ``f*(g_f(v))``, written so it cannot overflow on its own.
        domain: ``dom f*`` as ``(low, high)`` (``±inf`` where unbounded).
    """

    name: str
    f: FGenerator
    activation: Elementwise
    conjugate: Elementwise
    conjugate_of_activation: Elementwise
    domain: tuple[float, float]


def _row(
    name: str, g: Elementwise, conj: Elementwise, conj_g: Elementwise, domain: tuple[float, float]
) -> FGanDivergence:
    return FGanDivergence(name, GENERATORS[name], g, conj, conj_g, domain)


INF = math.inf
DIVERGENCES: dict[str, FGanDivergence] = {
    row.name: row
    for row in (
        # KL(P‖Q): f = t log t; g = v, f*(t) = exp(t - 1) (overflows past v = 89 in float32:
        # the bound itself is that large there)
        _row(
            "kl",
            lambda v: v,
            lambda t: torch.exp(t - 1),
            lambda v: torch.exp(v - 1),
            (-INF, INF),
        ),
        # KL(Q‖P): f = -log t; g = -exp(-v), f*(t) = -1 - log(-t); f*(g(v)) = v - 1
        _row(
            "reverse_kl",
            lambda v: -torch.exp(-v),
            lambda t: -1 - torch.log(-t),
            lambda v: v - 1,
            (-INF, 0.0),
        ),
        # f = (t - 1)^2; g = v, f*(t) = t^2/4 + t
        _row(
            "pearson_chi2",
            lambda v: v,
            lambda t: t**2 / 4 + t,
            lambda v: v**2 / 4 + v,
            (-INF, INF),
        ),
        # f = (sqrt t - 1)^2; g = 1 - exp(-v), f*(t) = t / (1 - t); f*(g(v)) = exp(v) - 1
        _row(
            "squared_hellinger",
            lambda v: -torch.expm1(-v),
            lambda t: t / (1 - t),
            torch.expm1,
            (-INF, 1.0),
        ),
        # half the paper's f (module docstring); f*(g(v)) = softplus(v)/2 - log(2)/2
        _row(
            "js",
            lambda v: (LOG2 - _softplus(-v)) / 2,
            lambda t: -torch.log(2 - torch.exp(2 * t)) / 2,
            lambda v: (_softplus(v) - LOG2) / 2,
            (-INF, LOG2 / 2),
        ),
        # f = abs(t - 1)/2; g = tanh(v)/2, f*(t) = t on [-1/2, 1/2]
        _row(
            "total_variation",
            lambda v: torch.tanh(v) / 2,
            lambda t: t,
            lambda v: torch.tanh(v) / 2,
            (-0.5, 0.5),
        ),
    )
}


def _divergence(name: str) -> FGanDivergence:
    return DIVERGENCES[check_choice("divergence", name, tuple(DIVERGENCES))]


def variational_bound(
    real_outputs: torch.Tensor, fake_outputs: torch.Tensor, divergence: str
) -> torch.Tensor:
    """The f-GAN critic's lower bound on ``D_f(P || Q)``.

    ``F = mean_i g_f(V(x_i)) - mean_j f*(g_f(V(x̃_j))),  x_i ~ P (data), x̃_j ~ Q (model)``

    ``F <= D_f(P || Q)`` in expectation for any ``V``, with equality when
    ``g_f(V(x)) = f'(p(x)/q(x))``.

    Args:
        real_outputs: the critic's raw outputs ``V`` on real samples, shape ``(B,)`` or
            ``(B, 1)``.
        fake_outputs: raw outputs on generated samples, shape ``(B',)`` or ``(B', 1)``.
        divergence: a key of :data:`DIVERGENCES`: ``"kl"``, ``"reverse_kl"``,
            ``"pearson_chi2"``, ``"squared_hellinger"``, ``"js"`` or ``"total_variation"``.

    Returns:
        A scalar tensor.

    Raises:
        GankitError: an unknown divergence, or outputs that are not floating-point tensors
            of shape ``(B,)`` or ``(B, 1)``.

    References:
        Nowozin et al. 2016, f-GAN, eq. 6. docs/theory.md §2.

    Example:
        >>> import torch
        >>> # the optimal KL critic on P = (1/2, 1/2), Q = (1/4, 3/4): T = 1 + log(p/q)
        >>> p, q = torch.tensor([0.5, 0.5]), torch.tensor([0.25, 0.75])
        >>> t = 1 + torch.log(p / q)  # g_f(v) = v for KL
        >>> real, fake = t[[0, 1]], t[[0, 1, 1, 1]]  # both points weighted by p resp. q
        >>> round(variational_bound(real, fake, "kl").item(), 6)  # = KL(P‖Q) = log(4/3)/2
        0.143841
    """
    row = _divergence(divergence)
    real = check_scores("real_outputs", real_outputs)
    fake = check_scores("fake_outputs", fake_outputs)
    return row.activation(real).mean() - row.conjugate_of_activation(fake).mean()


def d_loss_fgan(
    real_outputs: torch.Tensor, fake_outputs: torch.Tensor, divergence: str
) -> torch.Tensor:
    """The f-GAN critic's loss: the negated variational bound.

    ``L_V = -(E_P[g_f(V(x))] - E_Q[f*(g_f(V(G(z))))])``

    so ``-L_V`` estimates ``D_f(P || Q)`` from below (see :func:`variational_bound`).

    Args:
        real_outputs: raw critic outputs on real samples, shape ``(B,)`` or ``(B, 1)``.
        fake_outputs: raw outputs on generated samples, shape ``(B',)`` or ``(B', 1)``.
        divergence: a key of :data:`DIVERGENCES`.

    Returns:
        A scalar tensor.

    Raises:
        GankitError: as :func:`variational_bound`.

    References:
        Nowozin et al. 2016, f-GAN, eq. 6 and Alg. 1.

    Example:
        >>> import torch
        >>> from gankit.losses import d_loss_minimax
        >>> real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
        >>> js_loss = d_loss_fgan(real, fake, "js")  # (d_loss_minimax - log 4) / 2
        >>> bool(torch.isclose(js_loss, (d_loss_minimax(real, fake) - 2 * LOG2) / 2))
        True
    """
    return -variational_bound(real_outputs, fake_outputs, divergence)


def g_loss_fgan(
    fake_outputs: torch.Tensor, divergence: str, *, saddle: bool = False
) -> torch.Tensor:
    """The f-GAN generator's loss.

    - ``saddle=False`` (default; the paper's experiments, §3.2): ``L_G = -E_Q[g_f(V(G(z)))]``,
      the analogue of the non-saturating GAN loss.
    - ``saddle=True``: ``L_G = -E_Q[f*(g_f(V(G(z))))]``, the generator's half of the saddle
      objective, i.e. the bound ``F`` minus a term that does not depend on the generator.

    For total variation (``f*(t) = t``) the two coincide. The default is the one to train
    with: the saddle loss can point the wrong way where ``f*`` is not monotone (Pearson χ²:
    ``t²/4 + t`` decreases below ``t = -2``). For JS, ``saddle=False`` gives
    ``(g_loss_nonsaturating - log 2) / 2``: the non-saturating GAN, halved and shifted.

    Args:
        fake_outputs: raw critic outputs on generated samples, shape ``(B,)`` or ``(B, 1)``.
        divergence: a key of :data:`DIVERGENCES`.
        saddle: use the saddle-point loss instead of the paper's alternative.

    Returns:
        A scalar tensor.

    Raises:
        GankitError: an unknown divergence, or outputs of the wrong type or shape.

    References:
        Nowozin et al. 2016, f-GAN, eq. 6 (saddle) and §3.2 (the alternative update).

    Example:
        >>> import torch
        >>> g_loss_fgan(torch.tensor([0.0, 2.0]), "reverse_kl")  # mean exp(-v) = (1 + e^-2)/2
        tensor(0.5677)
        >>> g_loss_fgan(torch.tensor([1.0, 5.0]), "reverse_kl", saddle=True)  # -mean(v - 1)
        tensor(-2.)
    """
    row = _divergence(divergence)
    fake = check_scores("fake_outputs", fake_outputs)
    if saddle:
        return -row.conjugate_of_activation(fake).mean()
    return -row.activation(fake).mean()
