"""Keeping a critic (roughly) Lipschitz or smooth: clipping, gradient penalties, spectral norm.

The Kantorovich–Rubinstein duality ``W1(p, q) = sup_{‖f‖_Lip <= 1} E_p f - E_q f`` needs a
Lipschitz critic. WGAN bounds it crudely by clamping every weight to ``[-c, c]``
(``clip_weights``); WGAN-GP asks instead that the critic's gradient *with respect to its
input* have norm 1 on points between the two distributions (``gradient_penalty``).

The stabilisers that followed penalise the same input gradient elsewhere or differently:
only where its norm exceeds 1 (``lipschitz_penalty``, WGAN-LP), around the real data
(``dragan_penalty``), or its squared norm on real or on generated samples (``r1_penalty``,
``r2_penalty``); ``spectral_normalize`` instead divides every layer's weight by its largest
singular value. Every penalty takes the critic module as its first argument and draws its
randomness (if any) from an optional ``torch.Generator``, ``rng``.

References:
    Arjovsky, Chintala & Bottou 2017, Wasserstein GAN.
    Gulrajani et al. 2017, Improved Training of Wasserstein GANs.
    Petzka, Fischer & Lukovnicov 2018; Kodali et al. 2017; Mescheder, Geiger & Nowozin 2018;
    Miyato et al. 2018 (see each function). docs/theory.md §5.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from gankit._validate import check_int, check_positive, check_scores
from gankit.errors import GankitError

__all__ = [
    "clip_weights",
    "dragan_penalty",
    "gradient_penalty",
    "input_gradient_norm",
    "lipschitz_penalty",
    "r1_penalty",
    "r2_penalty",
    "spectral_normalize",
]

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
        Arjovsky, Chintala & Bottou 2017, Wasserstein GAN, Alg. 1 (c = 0.01). docs/theory.md §5.

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
    rng: torch.Generator | None = None,
    target: float = 1.0,
) -> torch.Tensor:
    """The WGAN-GP gradient penalty on random interpolates of real and generated samples.

    ``GP = weight · mean_i (‖∇_x f(x̂_i)‖₂ - K)²,  x̂_i = ε_i·real_i + (1 - ε_i)·fake_i,
    ε_i ~ U[0, 1]``

    with one ``ε_i`` per sample, and the gradient taken with respect to the critic's
    **input** over all non-batch dimensions (not the parameters' ``∇_φ``: docs/theory.md §5).
    The result is built with ``create_graph=True``, so ``GP.backward()`` reaches the critic's
    parameters; add it to ``critic_loss`` for the critic update.

    The target norm ``K = target`` is 1 in the paper. A critic held near slope K estimates
    ``K·W1`` instead of ``W1`` (docs/theory.md §5: same maximiser, scaled value).

    ``real`` and ``fake`` are detached here: the penalty belongs to the critic's update and
    must not send gradient into the generator (or into the data). ``ε`` is drawn as
    ``torch.rand((B, 1, ..., 1), generator=rng, dtype=real.dtype)`` on ``rng``'s device
    (``real``'s device when ``rng`` is None, using torch's default generator), then moved
    to ``real``'s device, so a CPU ``rng`` reproduces the same ``ε`` for data
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
        rng: the ``torch.Generator`` that draws ``ε``; ``None`` uses torch's default.
        target: the gradient norm K the penalty pulls towards, > 0 (default 1).

    Returns:
        A scalar tensor attached to the critic's parameters.

    Raises:
        GankitError: the critic contains batch norm, ``real`` and ``fake`` differ in shape or
            have fewer than two axes, ``weight`` is negative, ``target`` is not > 0, or the
            critic's output is not of shape ``(B,)`` or ``(B, 1)``.

    References:
        Gulrajani et al. 2017, Improved Training of Wasserstein GANs, eq. 3, Alg. 1 and §4
        (no batch norm in the critic). docs/theory.md §5.

    Example:
        >>> import torch
        >>> critic = torch.nn.Linear(2, 1, bias=False)  # f(x) = w·x, gradient w everywhere
        >>> with torch.no_grad():
        ...     _ = critic.weight.copy_(torch.tensor([[3.0, 4.0]]))  # ‖w‖ = 5
        >>> real, fake = torch.randn(8, 2), torch.randn(8, 2)
        >>> gradient_penalty(critic, real, fake, weight=10.0).item()  # 10 · (5 - 1)²
        160.0
    """
    _refuse_batch_norm(critic, "gradient_penalty")
    lam = check_positive("weight", weight, allow_zero=True)
    slope = check_positive("target", target)
    x_hat = _interpolates(real, fake, rng)
    norms = _input_gradient(critic, x_hat, create_graph=True).flatten(1).norm(dim=1)  # (B,)
    return lam * ((norms - slope) ** 2).mean()


def lipschitz_penalty(
    critic: Critic,
    real: torch.Tensor,
    fake: torch.Tensor,
    weight: float = 10.0,
    *,
    rng: torch.Generator | None = None,
) -> torch.Tensor:
    """The one-sided Lipschitz penalty of WGAN-LP, on the interpolates of WGAN-GP.

    ``LP = weight · mean_i max(0, ‖∇_x f(x̂_i)‖₂ - 1)²,  x̂_i = ε_i·real_i + (1 - ε_i)·fake_i``

    Only slopes above 1 are penalised: the Lipschitz constraint ``‖∇f‖ <= 1`` itself, where
    WGAN-GP's two-sided ``(‖∇f‖ - 1)²`` also pushes flat regions of the critic up to slope 1.
    ``ε`` is drawn exactly as in :func:`gradient_penalty` (one per sample, from
    ``rng``); the inputs are detached and the critic must not contain batch norm.

    Args:
        critic: a module or function mapping ``(B, ...)`` inputs to scores ``(B,)``/``(B, 1)``.
        real: real samples, shape ``(B, ...)`` with at least two axes.
        fake: generated samples, same shape as ``real``.
        weight: the penalty coefficient λ >= 0.
        rng: the ``torch.Generator`` that draws ``ε``; ``None`` uses torch's default.

    Returns:
        A scalar tensor attached to the critic's parameters.

    Raises:
        GankitError: as :func:`gradient_penalty`.

    References:
        Petzka, Fischer & Lukovnicov 2018, On the regularization of Wasserstein GANs, eq. 8.

    Example:
        >>> import torch
        >>> critic = torch.nn.Linear(2, 1, bias=False)
        >>> with torch.no_grad():
        ...     _ = critic.weight.copy_(torch.tensor([[0.3, 0.4]]))  # ‖w‖ = 0.5 < 1: no penalty
        >>> lipschitz_penalty(critic, torch.randn(4, 2), torch.randn(4, 2)).item()
        0.0
    """
    _refuse_batch_norm(critic, "lipschitz_penalty")
    lam = check_positive("weight", weight, allow_zero=True)
    x_hat = _interpolates(real, fake, rng)
    norms = _input_gradient(critic, x_hat, create_graph=True).flatten(1).norm(dim=1)  # (B,)
    return lam * (torch.relu(norms - 1) ** 2).mean()


def dragan_penalty(
    critic: Critic,
    real: torch.Tensor,
    weight: float = 10.0,
    *,
    rng: torch.Generator | None = None,
    scale: float = 0.5,
) -> torch.Tensor:
    """DRAGAN's gradient penalty on random points near the real data.

    ``R = weight · mean_i (‖∇_x D(x̂_i)‖₂ - 1)²,  x̂_i = x_i + α_i·δ_i,
    δ_i = scale·std(x)·u_i,  u_i ~ U[0, 1]^d,  α_i ~ U[0, 1]``

    ``std(x)`` is the standard deviation of all entries of the real batch (population form, as
    numpy's ``X.std()``); ``u_i`` has one entry per feature and ``α_i`` one per sample. This is
    the authors' reference code: the paper writes ``x + δ``, the code moves a random fraction
    ``α`` of the way to the perturbed point. ``α`` is drawn first, then ``u``, both from
    ``rng`` (on its device, then moved to ``real``'s). Only ``real`` is used: the
    penalty keeps the discriminator's slope near 1 around the data, where mode collapse starts
    (sharp gradients around real points), whatever the generator does.

    Args:
        critic: the discriminator, mapping ``(B, ...)`` inputs to logits ``(B,)``/``(B, 1)``;
            no batch norm.
        real: real samples, shape ``(B, ...)`` with at least two axes.
        weight: λ >= 0 (10 in the paper's code).
        rng: the ``torch.Generator`` that draws ``α`` and ``u``; ``None`` uses torch's
            default.
        scale: the perturbation's size in units of ``std(x)`` (0.5 in the paper's code), >= 0.

    Returns:
        A scalar tensor attached to the critic's parameters.

    Raises:
        GankitError: the critic contains batch norm, ``real`` has fewer than two axes,
            ``weight`` or ``scale`` is negative, or the critic's output has the wrong shape.

    References:
        Kodali, Abernethy, Hays & Kira 2017, On Convergence and Stability of GANs (DRAGAN),
        §5 and its code (``X + 0.5 * X.std() * np.random.random(X.shape)``, λ = 10).

    Example:
        >>> import torch
        >>> critic = torch.nn.Linear(2, 1, bias=False)
        >>> with torch.no_grad():
        ...     _ = critic.weight.copy_(torch.tensor([[3.0, 4.0]]))  # slope 5 everywhere
        >>> dragan_penalty(critic, torch.randn(8, 2), weight=10.0).item()  # 10 · (5 - 1)²
        160.0
    """
    _refuse_batch_norm(critic, "dragan_penalty")
    lam = check_positive("weight", weight, allow_zero=True)
    size = check_positive("scale", scale, allow_zero=True)
    _check_batch("real", real)
    x = real.detach()
    alpha = _uniform((x.shape[0],) + (1,) * (x.ndim - 1), x, rng)  # (B, 1, ..., 1)
    u = _uniform(tuple(x.shape), x, rng)  # (B, ...)
    x_hat = (x + alpha * size * x.std(correction=0) * u).requires_grad_(True)
    norms = _input_gradient(critic, x_hat, create_graph=True).flatten(1).norm(dim=1)  # (B,)
    return lam * ((norms - 1) ** 2).mean()


def r1_penalty(
    critic: Critic,
    real: torch.Tensor,
    weight: float = 10.0,
    *,
    scores: torch.Tensor | None = None,
) -> torch.Tensor:
    """The R1 penalty: the squared input-gradient norm of the discriminator on real data.

    ``R1 = weight/2 · mean_i ‖∇_x D(x_i)‖₂²,  x_i ~ p_data``

    ``D`` is the discriminator's logit. At the equilibrium ``p_g = p_data`` the ideal
    discriminator is constant on the data, so R1 vanishes there and does not move the
    equilibrium; Mescheder et al. prove that gradient descent on the GAN game with it
    converges locally, where the unregularised game can circle. No square root is taken,
    so the penalty is smooth even where the gradient is 0.

    Args:
        critic: the discriminator, mapping ``(B, ...)`` inputs to logits ``(B,)``/``(B, 1)``;
            no batch norm.
        real: real samples, shape ``(B, ...)`` with at least two axes (detached here).
        weight: γ >= 0 (10 in the paper's image experiments).
        scores: ``critic(real)`` already computed on a ``real`` that requires grad (a training
            step's own ``D(real)``): the gradient is taken through it, saving a forward pass.

    Returns:
        A scalar tensor attached to the critic's parameters.

    Raises:
        GankitError: the critic contains batch norm, ``real`` has fewer than two axes,
            ``weight`` is negative, the critic's output has the wrong shape, or ``scores``
            is given for a ``real`` that does not require grad.

    References:
        Mescheder, Geiger & Nowozin 2018, Which Training Methods for GANs do actually
        Converge?, eq. 9.

    Example:
        >>> import torch
        >>> critic = torch.nn.Linear(2, 1, bias=False)
        >>> with torch.no_grad():
        ...     _ = critic.weight.copy_(torch.tensor([[3.0, 4.0]]))  # ‖∇D‖² = 25
        >>> r1_penalty(critic, torch.randn(8, 2), weight=10.0).item()  # 10/2 · 25
        125.0
    """
    _refuse_batch_norm(critic, "r1_penalty")
    if scores is not None and not real.requires_grad:
        raise GankitError("r1_penalty: scores were given but real does not require grad")
    return _squared_gradient_norm(critic, "real", real, weight, scores)


def r2_penalty(critic: Critic, fake: torch.Tensor, weight: float = 10.0) -> torch.Tensor:
    """The R2 penalty: R1's squared input-gradient norm, on generated samples instead.

    ``R2 = weight/2 · mean_j ‖∇_x D(x̃_j)‖₂²,  x̃_j = G(z_j)``

    ``fake`` is detached: the penalty trains the discriminator only.

    Args:
        critic: the discriminator, mapping ``(B, ...)`` inputs to logits ``(B,)``/``(B, 1)``;
            no batch norm.
        fake: generated samples, shape ``(B, ...)`` with at least two axes.
        weight: γ >= 0.

    Returns:
        A scalar tensor attached to the critic's parameters.

    Raises:
        GankitError: as :func:`r1_penalty`.

    References:
        Mescheder, Geiger & Nowozin 2018, Which Training Methods for GANs do actually
        Converge?, eq. 10.

    Example:
        >>> import torch
        >>> critic = torch.nn.Linear(2, 1, bias=False)
        >>> with torch.no_grad():
        ...     _ = critic.weight.copy_(torch.tensor([[1.0, 1.0]]))  # ‖∇D‖² = 2
        >>> r2_penalty(critic, torch.randn(8, 2), weight=3.0).item()  # 3/2 · 2
        3.0
    """
    _refuse_batch_norm(critic, "r2_penalty")
    return _squared_gradient_norm(critic, "fake", fake, weight)


def spectral_normalize(module: nn.Module, *, n_power_iterations: int = 1) -> nn.Module:
    """Spectral normalisation of every linear and convolutional layer of ``module``, in place.

    ``W_SN = W / σ(W)``, with ``σ(W)`` the largest singular value of the weight (for a
    convolution, of the weight reshaped to ``(out_channels, in_channels·k·k)``, as in the
    paper), estimated by power iteration: in training mode each forward pass runs
    ``n_power_iterations`` steps ``v ← Wᵀu/‖Wᵀu‖, u ← Wv/‖Wv‖`` from the previous ``u``, then
    ``σ ≈ uᵀWv``. With 1-Lipschitz activations (ReLU, LeakyReLU, tanh) the whole critic is
    then at most 1-Lipschitz (a bound, not an equality). Uses
    ``torch.nn.utils.parametrizations.spectral_norm``: the weight's parameter becomes
    ``parametrizations.weight.original`` and ``u``, ``v`` are buffers saved in the state dict.

    Call it once, right after building the critic and before creating its optimiser. In
    evaluation mode the stored ``u``, ``v`` are used without an update.

    Args:
        module: the critic; its ``nn.Linear`` and ``nn.Conv1d/2d/3d`` layers are wrapped.
        n_power_iterations: power-iteration steps per forward pass, >= 1 (1 in the paper).

    Returns:
        ``module`` itself.

    Raises:
        GankitError: ``module`` is not an ``nn.Module``, ``n_power_iterations`` is not an
            integer >= 1, or a layer is already spectrally normalised.

    References:
        Miyato, Kataoka, Koyama & Yoshida 2018, Spectral Normalization for Generative
        Adversarial Networks, eq. 8 and Alg. 1.

    Example:
        >>> import torch
        >>> layer = torch.nn.Linear(2, 2, bias=False)
        >>> with torch.no_grad():
        ...     _ = layer.weight.copy_(torch.tensor([[3.0, 0.0], [0.0, 1.0]]))  # σ = 3
        >>> spectral_normalize(layer).eval().weight.diagonal().tolist()  # W / 3
        [1.0, 0.3333333432674408]
    """
    if not isinstance(module, nn.Module):
        raise GankitError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    steps = check_int("n_power_iterations", n_power_iterations)
    for name, layer in list(module.named_modules()):
        if isinstance(layer, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            if parametrize.is_parametrized(layer, "weight"):
                raise GankitError(
                    f"layer {name or 'module'!r} is already spectrally normalised (or "
                    "otherwise parametrised); apply spectral_normalize once"
                )
            spectral_norm(layer, n_power_iterations=steps)
    return module


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


def _uniform(shape: tuple[int, ...], like: torch.Tensor, rng: torch.Generator | None):
    """U[0, 1) draws of ``shape`` from ``rng`` on its own device, moved to ``like``'s.

    Drawing on ``rng``'s device means a CPU ``rng`` gives the same numbers for data
    on any device.
    """
    device = rng.device if rng is not None else like.device
    draws = torch.rand(shape, generator=rng, dtype=like.dtype, device=device)
    return draws.to(like.device)


def _interpolates(
    real: torch.Tensor, fake: torch.Tensor, rng: torch.Generator | None
) -> torch.Tensor:
    """``x̂ = ε·real + (1 - ε)·fake`` with one ``ε ~ U[0, 1]`` per sample, as a fresh leaf."""
    _check_batch("real", real)
    _check_batch("fake", fake)
    if tuple(real.shape) != tuple(fake.shape):
        raise GankitError(
            f"real and fake must have the same shape, got {tuple(real.shape)} "
            f"and {tuple(fake.shape)}"
        )
    # One ε per sample, broadcast over every non-batch axis: shape (B, 1, ..., 1).
    eps = _uniform((real.shape[0],) + (1,) * (real.ndim - 1), real, rng)
    # Detached inputs make x̂ a fresh leaf: no gradient flows into the generator or the data.
    return (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)


def _squared_gradient_norm(
    critic: Critic, name: str, x: torch.Tensor, weight: float, scores: torch.Tensor | None = None
) -> torch.Tensor:
    """``weight/2 · mean_i ‖∇_x f(x_i)‖²`` at the samples ``x`` (detached, unless ``scores``
    holds ``f(x)`` already computed from an ``x`` that requires grad)."""
    lam = check_positive("weight", weight, allow_zero=True)
    _check_batch(name, x)
    if scores is None:
        x = x.detach().requires_grad_(True)
        with _constant_masks(critic):
            scores = critic(x)
    grad = _gradient_of(check_scores("critic output", scores), x, create_graph=True)
    return lam / 2 * grad.flatten(1).pow(2).sum(dim=1).mean()


def _input_gradient(critic: Critic, x: torch.Tensor, *, create_graph: bool) -> torch.Tensor:
    """∇_x of ``sum_i f(x_i)``: for a per-sample critic, row i is ∇f(x_i)."""
    masks = _constant_masks(critic) if create_graph else contextlib.nullcontext()
    with masks:
        scores = critic(x)
    return _gradient_of(check_scores("critic output", scores), x, create_graph=create_graph)


@contextlib.contextmanager
def _constant_masks(critic: Critic) -> Iterator[None]:
    """Inside, each ``nn.ReLU`` and ``nn.LeakyReLU`` of ``critic`` returns ``x · m`` with its
    mask ``m = 1 where x > 0, else the slope`` held constant: the same values and the same
    input gradient.

    What changes is the penalty's backward. The gradient of ``‖∇_x f‖`` with respect to the
    weights also runs through the masks; their derivative is 0 almost everywhere, and
    autograd computes it as zero tensors, then carries those zeros back through the whole
    forward pass of the penalised points (two matrix products a layer). With the masks
    constant that pass is not in the graph: the same gradients, without 4 of the 26 large
    matrix products (and 2 small ones) of a WGAN-GP critic step on the toy 3 x 512 MLP. Other
    layers (smooth activations, layer norm), whose second derivatives are not zero, are left
    as they are, and a pass back through layer norm still runs.
    """
    modules = critic.modules() if isinstance(critic, nn.Module) else ()
    handles = [
        m.register_forward_hook(_masked)
        for m in modules
        if isinstance(m, (nn.ReLU, nn.LeakyReLU)) and not m.inplace
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _masked(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor):
    """Forward hook of :func:`_constant_masks`: ``x · m(x)`` in place of ``act(x)``, bit for bit.

    ``m`` is built from ``sign(relu(x))`` (1 where x > 0, else 0; NaN stays NaN), without a
    gradient. A leaky slope ``s`` in [0, 1) enters as ``max(m, s)``, applied in float32, as the
    activation's own half-precision kernel does, and rounded to ``act(x)``'s dtype once.
    """
    x = inputs[0]
    if isinstance(module, nn.ReLU):
        return x * output.detach().sign()
    slope = float(module.negative_slope)  # type: ignore[arg-type]
    if not 0 <= slope < 1:
        return None  # keep the activation as it is
    mask = torch.relu(x.detach()).sign().float().clamp(min=slope)
    return (x * mask).to(output.dtype)


def _gradient_of(scores: torch.Tensor, x: torch.Tensor, *, create_graph: bool) -> torch.Tensor:
    """∇_x of ``sum_i scores_i`` for scores already computed from ``x``."""
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


def _refuse_batch_norm(critic: Critic, penalty: str) -> None:
    if not isinstance(critic, nn.Module):
        return
    for name, layer in critic.named_modules():
        if isinstance(layer, _BatchNorm):
            where = name or "the critic itself"
            raise GankitError(
                f"{penalty} needs a critic without batch norm, found "
                f"{type(layer).__name__} at {where!r}: batch norm mixes the samples of a batch, "
                "so the per-sample input gradient is not defined (Gulrajani et al. 2017, §4); "
                "use layer norm or no normalisation"
            )
