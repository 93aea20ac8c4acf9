"""Keeping a Wasserstein critic (roughly) 1-Lipschitz: weight clipping and the gradient penalty.

The Kantorovich–Rubinstein duality ``W1(p, q) = sup_{‖f‖_Lip <= 1} E_p f - E_q f`` needs a
Lipschitz critic. WGAN bounds it crudely by clamping every weight to ``[-c, c]``
(``clip_weights``); WGAN-GP asks instead that the critic's gradient *with respect to its
input* have norm 1 on points between the two distributions (``gradient_penalty``).

References:
    Arjovsky, Chintala & Bottou 2017, Wasserstein GAN.
    Gulrajani et al. 2017, Improved Training of Wasserstein GANs.
    THEORY.md §5.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from gankit._validate import check_positive, check_scores
from gankit.errors import GankitError

__all__ = ["clip_weights", "gradient_penalty", "input_gradient_norm"]

Critic = Callable[[torch.Tensor], torch.Tensor]


def clip_weights(module: nn.Module, c: float) -> None:
    """Clamp every parameter of ``module`` in place to the box ``[-c, c]``.

    ``w ← min(max(w, -c), c)`` for every entry of every parameter (buffers such as batch
    norm's running statistics are left alone).

    Call it **after** each critic optimiser step, so the critic that scores the next batch,
    and the one the generator trains against, is always inside the box. The original WGAN
    code clamps *before* the step instead (WassersteinGAN#50), so the critic it uses has
    just left the box by one update; the two orders differ only by that one step.

    Args:
        module: the critic; its parameters are modified in place.
        c: the clipping bound, > 0 (0.01 in the WGAN paper).

    Raises:
        GankitError: ``module`` is not an ``nn.Module`` or ``c`` is not a finite number > 0.

    References:
        Arjovsky, Chintala & Bottou 2017, Wasserstein GAN, Alg. 1 (c = 0.01). THEORY.md §5.

    Example:
        >>> import torch
        >>> layer = torch.nn.Linear(2, 1)
        >>> with torch.no_grad():
        ...     _ = layer.weight.copy_(torch.tensor([[0.5, -0.003]]))
        >>> clip_weights(layer, 0.01)
        >>> layer.weight
        Parameter containing:
        tensor([[ 0.0100, -0.0030]], requires_grad=True)
    """
    if not isinstance(module, nn.Module):
        raise GankitError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    bound = check_positive("c", c)
    # In-place edits of leaf parameters must not be recorded by autograd.
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.clamp_(-bound, bound)


def gradient_penalty(
    critic: Critic,
    real: torch.Tensor,
    fake: torch.Tensor,
    weight: float = 10.0,
    *,
    generator: torch.Generator | None = None,
    target: float = 1.0,
) -> torch.Tensor:
    """The WGAN-GP gradient penalty on random interpolates of real and generated samples.

    ``GP = weight · mean_i (‖∇_x f(x̂_i)‖₂ - K)²,  x̂_i = ε_i·real_i + (1 - ε_i)·fake_i,
    ε_i ~ U[0, 1]``

    with one ``ε_i`` per sample, and the gradient taken with respect to the critic's
    **input** over all non-batch dimensions (the notes' ``∇_φ`` is a slip). The result is
    built with ``create_graph=True``, so ``GP.backward()`` reaches the critic's parameters;
    add it to ``critic_loss`` for the critic update.

    The target norm ``K = target`` is 1 in the paper. A critic held near slope K estimates
    ``K·W1`` instead of ``W1`` (THEORY.md §5: same maximiser, scaled value).

    ``real`` and ``fake`` are detached here: the penalty belongs to the critic's update and
    must not send gradient into the generator (or into the data). ``ε`` is drawn as
    ``torch.rand((B, 1, ..., 1), generator=generator, dtype=real.dtype)`` on the generator's
    device (``real``'s device when ``generator`` is None, using torch's default generator),
    then moved to ``real``'s device, so a CPU generator reproduces the same ``ε`` for data
    on any device.

    The critic must treat samples independently: with batch norm, ``f(x̂_i)`` depends on the
    other samples and the gradient of ``sum_i f(x̂_i)`` is no longer the per-sample gradient,
    so such critics are refused (the WGAN-GP paper drops batch norm from the critic and
    recommends layer norm).

    The inner gradient is taken of the unscaled scores, so no AMP gradient scaler is involved;
    half-precision gradients are upcast to float32 before the norm.

    Args:
        critic: a module or function mapping ``(B, ...)`` inputs to scores of shape ``(B,)``
            or ``(B, 1)``; it must not contain batch norm.
        real: real samples, shape ``(B, ...)`` with at least two axes, e.g. ``(B, d)`` or
            ``(B, C, H, W)``.
        fake: generated samples, same shape as ``real``.
        weight: the penalty coefficient λ >= 0 (10 in the paper; its toy code uses 0.1).
        generator: the ``torch.Generator`` that draws ``ε``; ``None`` uses torch's default.
        target: the gradient norm K the penalty pulls towards, > 0 (default 1).

    Returns:
        A scalar tensor attached to the critic's parameters.

    Raises:
        GankitError: the critic contains batch norm, ``real`` and ``fake`` differ in shape or
            have fewer than two axes, ``weight`` is negative, ``target`` is not > 0, or the
            critic's output is not of shape ``(B,)`` or ``(B, 1)``.

    References:
        Gulrajani et al. 2017, Improved Training of Wasserstein GANs, eq. 3, Alg. 1 and §4
        (no batch norm in the critic). THEORY.md §5.

    Example:
        >>> import torch
        >>> critic = torch.nn.Linear(2, 1, bias=False)  # f(x) = w·x, gradient w everywhere
        >>> with torch.no_grad():
        ...     _ = critic.weight.copy_(torch.tensor([[3.0, 4.0]]))  # ‖w‖ = 5
        >>> real, fake = torch.randn(8, 2), torch.randn(8, 2)
        >>> gradient_penalty(critic, real, fake, weight=10.0).item()  # 10 · (5 - 1)²
        160.0
    """
    _refuse_batch_norm(critic)
    lam = check_positive("weight", weight, allow_zero=True)
    slope = check_positive("target", target)
    _check_batch("real", real)
    _check_batch("fake", fake)
    if tuple(real.shape) != tuple(fake.shape):
        raise GankitError(
            f"real and fake must have the same shape, got {tuple(real.shape)} "
            f"and {tuple(fake.shape)}"
        )
    # One ε per sample, broadcast over every non-batch axis: shape (B, 1, ..., 1).
    eps_shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    eps_device = generator.device if generator is not None else real.device
    eps = torch.rand(eps_shape, generator=generator, dtype=real.dtype, device=eps_device)
    eps = eps.to(real.device)
    # Detached inputs make x̂ a fresh leaf: no gradient flows into the generator or the data.
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    norms = _input_gradient(critic, x_hat, create_graph=True).flatten(1).norm(dim=1)  # (B,)
    return lam * ((norms - slope) ** 2).mean()


def input_gradient_norm(critic: Critic, x: torch.Tensor) -> torch.Tensor:
    """Per-sample norm of the critic's gradient with respect to its input, for logging.

    ``g_i = ‖∇_x f(x_i)‖₂`` over all non-batch dimensions of ``x``.

    No graph is kept and no parameter's ``.grad`` is touched, so it is safe to call between
    optimiser steps. For a critic with batch norm in training mode the values are the
    gradient of the batch's summed score, not per-sample gradients.

    Args:
        critic: a module or function mapping ``(B, ...)`` inputs to scores of shape ``(B,)``
            or ``(B, 1)``.
        x: inputs of shape ``(B, ...)`` with at least two axes.

    Returns:
        A detached tensor of shape ``(B,)``.

    Raises:
        GankitError: ``x`` has fewer than two axes or the critic's output has the wrong shape.

    References:
        Gulrajani et al. 2017, Improved Training of Wasserstein GANs, §5 (gradient norms of
        the optimal critic are 1 between the distributions).

    Example:
        >>> import torch
        >>> critic = torch.nn.Linear(2, 1, bias=False)
        >>> with torch.no_grad():
        ...     _ = critic.weight.copy_(torch.tensor([[3.0, 4.0]]))
        >>> input_gradient_norm(critic, torch.randn(3, 2))
        tensor([5., 5., 5.])
    """
    _check_batch("x", x)
    x_leaf = x.detach().requires_grad_(True)
    with torch.enable_grad():  # works under an outer torch.no_grad() too
        grad = _input_gradient(critic, x_leaf, create_graph=False)
    return grad.flatten(1).norm(dim=1).detach()


def _input_gradient(critic: Critic, x: torch.Tensor, *, create_graph: bool) -> torch.Tensor:
    """∇_x of ``sum_i f(x_i)``: for a per-sample critic, row i is ∇f(x_i)."""
    scores = check_scores("critic output", critic(x))
    if scores.shape[0] != x.shape[0]:
        raise GankitError(
            f"critic output must hold one score per sample ({x.shape[0]}), got {scores.shape[0]}"
        )
    (grad,) = torch.autograd.grad(outputs=scores.sum(), inputs=x, create_graph=create_graph)
    if grad.dtype in (torch.float16, torch.bfloat16):
        grad = grad.float()  # the norm and its square lose too much in half precision
    return grad


def _check_batch(name: str, x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor):
        raise GankitError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise GankitError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if x.ndim < 2 or x.shape[0] == 0:
        raise GankitError(
            f"{name} must have shape (B, ...) with B >= 1 and at least two axes "
            f"(use (B, 1) for 1-D data), got {tuple(x.shape)}"
        )


def _refuse_batch_norm(critic: Critic) -> None:
    if not isinstance(critic, nn.Module):
        return
    for name, layer in critic.named_modules():
        if isinstance(layer, _BatchNorm):
            where = name or "the critic itself"
            raise GankitError(
                f"gradient_penalty needs a critic without batch norm, found "
                f"{type(layer).__name__} at {where!r}: batch norm mixes the samples of a batch, "
                "so the per-sample input gradient is not defined (Gulrajani et al. 2017, §4); "
                "use layer norm or no normalisation"
            )
