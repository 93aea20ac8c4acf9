"""GAN and WGAN losses: small pure functions on logits or critic scores.

Every function takes a batch of discriminator logits (GAN) or critic scores (WGAN) of shape
``(B,)`` or ``(B, 1)`` and returns a scalar tensor to **minimise**. A logit ``x`` stands for the
probability ``D = sigmoid(x)``; the log-probabilities are written with ``softplus`` and never
as ``log(sigmoid(x))``, which underflows to ``-inf`` once ``abs(x)`` passes about 100 in float32:

- ``-log D      = -log sigmoid(x)       = softplus(-x)``
- ``-log(1 - D) = -log(1 - sigmoid(x))  = softplus(x)``

The generator losses are named after what they do. ``g_loss_saturating`` is the minimax
game's own generator loss, ``log(1 - D(G(z)))``, whose gradient vanishes when the
discriminator rejects the fakes; ``g_loss_nonsaturating`` is the ``-log D(G(z))`` fix. (Some
libraries call the latter "vanilla"; it is not the minimax loss.)

Beyond the original GAN and WGAN: the hinge loss (Lim & Ye 2017; Miyato et al. 2018) and the
least-squares loss (LSGAN, Mao et al. 2017) act on raw scores like the Wasserstein critic. The
relativistic pairing losses (RpGAN: Jolicoeur-Martineau 2019; R3GAN, Huang et al. 2024) score
each real sample against the generated sample it is paired with. The f-GAN losses, one per
f-divergence, live in ``gankit.fgan``.

References:
    docs/theory.md §3 (the GAN game, saturation) and §5 (the Wasserstein critic).
"""

from __future__ import annotations

import torch

from gankit._validate import check_scores
from gankit.errors import GankitError

__all__ = [
    "critic_loss",
    "d_loss_hinge",
    "d_loss_least_squares",
    "d_loss_minimax",
    "d_loss_relativistic",
    "g_loss_least_squares",
    "g_loss_nonsaturating",
    "g_loss_relativistic",
    "g_loss_saturating",
    "g_loss_wasserstein",
]


def _softplus(x: torch.Tensor) -> torch.Tensor:
    """``softplus(x) = log(1 + exp(x))``, accurate and overflow-free in every dtype."""
    # logaddexp(x, 0) = max(x, 0) + log1p(exp(-abs(x))): no overflow, exact gradient sigmoid(x)
    # at 0 too. F.softplus returns x itself above its threshold 20, off by exp(-x) (~1e-9
    # relative in float64), which would break our exact float64 checks.
    return torch.logaddexp(x, x.new_zeros(()))


def d_loss_minimax(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's loss in the minimax GAN game (binary cross-entropy).

    ``L_D = -E_x log D(x) - E_z log(1 - D(G(z)))
          = mean softplus(-real_logits) + mean softplus(fake_logits)``

    Minimising it is the discriminator's ascent on the game's value
    ``V(D, G) = E log D(x) + E log(1 - D(G(z)))``, so ``-L_D`` estimates ``V`` and, at the
    optimal discriminator, ``(log 4 - L_D) / 2`` estimates JS(p‖p_θ).

    Args:
        real_logits: logits of D on real samples, shape ``(B,)`` or ``(B, 1)``.
        fake_logits: logits of D on generated samples, shape ``(B',)`` or ``(B', 1)``;
            ``B'`` may differ from ``B``.

    Returns:
        A scalar tensor.

    Raises:
        GankitError: an argument is not a floating-point tensor of shape ``(B,)`` or ``(B, 1)``.

    References:
        Goodfellow et al. 2014, Generative Adversarial Networks, eq. 1. docs/theory.md §3.

    Example:
        >>> import torch
        >>> d_loss_minimax(torch.zeros(4), torch.zeros(4))  # D = 1/2: log 2 + log 2 = log 4
        tensor(1.3863)
    """
    real = check_scores("real_logits", real_logits)
    fake = check_scores("fake_logits", fake_logits)
    # softplus(-x) == -log(sigmoid(x)) and softplus(x) == -log(1 - sigmoid(x)), stable
    return _softplus(-real).mean() + _softplus(fake).mean()


def g_loss_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """The minimax game's own generator loss, which saturates.

    ``L_G = E_z log(1 - D(G(z))) = -mean softplus(fake_logits)``

    Its derivative in a logit ``x`` is ``-sigmoid(x)``: it vanishes as the discriminator
    confidently rejects the fakes (``x → -∞``), which is when the generator most needs a
    signal. Use it to study saturation; train with ``g_loss_nonsaturating``.

    Args:
        fake_logits: logits of D on generated samples, shape ``(B,)`` or ``(B, 1)``.

    Returns:
        A scalar tensor (always <= 0).

    Raises:
        GankitError: ``fake_logits`` is not a floating-point tensor of shape ``(B,)`` or
            ``(B, 1)``.

    References:
        Goodfellow et al. 2014, Generative Adversarial Networks, eq. 1 and §3.
        docs/theory.md §3 (saturation).

    Example:
        >>> import torch
        >>> g_loss_saturating(torch.zeros(2))  # log(1 - 1/2) = -log 2
        tensor(-0.6931)
    """
    fake = check_scores("fake_logits", fake_logits)
    # log(1 - sigmoid(x)) == -softplus(x), stable for large abs(x)
    return -_softplus(fake).mean()


def g_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss: maximise log D(G(z)) instead of minimising log(1 - D).

    ``L_G = -E_z log D(G(z)) = mean softplus(-fake_logits)``

    Its derivative in a logit ``x`` is ``-sigmoid(-x)``, which tends to ``-1`` (not 0) as
    ``x → -∞``: the generator keeps a gradient when the discriminator rejects its samples.

    Args:
        fake_logits: logits of D on generated samples, shape ``(B,)`` or ``(B, 1)``.

    Returns:
        A scalar tensor (always >= 0).

    Raises:
        GankitError: ``fake_logits`` is not a floating-point tensor of shape ``(B,)`` or
            ``(B, 1)``.

    References:
        Goodfellow et al. 2014, Generative Adversarial Networks, §3. docs/theory.md §3.

    Example:
        >>> import torch
        >>> g_loss_nonsaturating(torch.zeros(2))  # -log(1/2) = log 2
        tensor(0.6931)
        >>> g_loss_nonsaturating(torch.tensor([-100.0]))  # -log(sigmoid(-100)), no overflow
        tensor(100.)
    """
    fake = check_scores("fake_logits", fake_logits)
    # softplus(-x) == -log(sigmoid(x)), stable
    return _softplus(-fake).mean()


def critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """The Wasserstein critic's loss: the negated Kantorovich–Rubinstein objective.

    ``L_f = E_z f(G(z)) - E_x f(x) = mean fake_scores - mean real_scores``

    For a 1-Lipschitz critic ``-L_f <= W1(p, p_θ)``, with equality at the best critic; a
    K-Lipschitz critic estimates ``K·W1``. The Lipschitz constraint is not part of this loss:
    add ``gankit.lipschitz.gradient_penalty`` or call ``gankit.lipschitz.clip_weights``.

    Args:
        real_scores: critic scores on real samples, shape ``(B,)`` or ``(B, 1)``.
        fake_scores: critic scores on generated samples, shape ``(B',)`` or ``(B', 1)``.

    Returns:
        A scalar tensor.

    Raises:
        GankitError: an argument is not a floating-point tensor of shape ``(B,)`` or ``(B, 1)``.

    References:
        Arjovsky, Chintala & Bottou 2017, Wasserstein GAN, Alg. 1. docs/theory.md §5.

    Example:
        >>> import torch
        >>> critic_loss(torch.tensor([1.0, 3.0]), torch.tensor([0.0, -2.0]))  # -1 - 2
        tensor(-3.)
    """
    real = check_scores("real_scores", real_scores)
    fake = check_scores("fake_scores", fake_scores)
    return fake.mean() - real.mean()


def g_loss_wasserstein(fake_scores: torch.Tensor) -> torch.Tensor:
    """The WGAN generator's loss: raise the critic's score on generated samples.

    ``L_G = -E_z f(G(z)) = -mean fake_scores``

    Only this half of the critic objective depends on the generator, so minimising it
    minimises the critic's estimate of W1(p, p_θ).

    Args:
        fake_scores: critic scores on generated samples, shape ``(B,)`` or ``(B, 1)``.

    Returns:
        A scalar tensor.

    Raises:
        GankitError: ``fake_scores`` is not a floating-point tensor of shape ``(B,)`` or
            ``(B, 1)``.

    References:
        Arjovsky, Chintala & Bottou 2017, Wasserstein GAN, Alg. 1. docs/theory.md §5.

    Example:
        >>> import torch
        >>> g_loss_wasserstein(torch.tensor([1.0, 2.0, 3.0]))
        tensor(-2.)
    """
    fake = check_scores("fake_scores", fake_scores)
    return -fake.mean()


def d_loss_hinge(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """The hinge loss of the discriminator (geometric GAN; SN-GAN, SAGAN, BigGAN).

    ``L_D = E_x max(0, 1 - D(x)) + E_z max(0, 1 + D(G(z)))``

    Real scores above +1 and fake scores below -1 cost nothing, so the discriminator stops
    pushing once a sample is classified with margin 1. The generator's loss is then
    ``-E_z D(G(z))``, the same as the WGAN generator's: use ``g_loss_wasserstein``.

    Args:
        real_scores: discriminator scores on real samples, shape ``(B,)`` or ``(B, 1)``.
        fake_scores: scores on generated samples, shape ``(B',)`` or ``(B', 1)``.

    Returns:
        A scalar tensor (always >= 0).

    Raises:
        GankitError: an argument is not a floating-point tensor of shape ``(B,)`` or ``(B, 1)``.

    References:
        Lim & Ye 2017, Geometric GAN, eq. 11. Miyato et al. 2018, Spectral Normalization for
        Generative Adversarial Networks, eq. 16 and 17.

    Example:
        >>> import torch
        >>> d_loss_hinge(torch.tensor([2.0, 0.5]), torch.tensor([-3.0, 0.0]))  # 0.25 + 0.5
        tensor(0.7500)
    """
    real = check_scores("real_scores", real_scores)
    fake = check_scores("fake_scores", fake_scores)
    return torch.relu(1 - real).mean() + torch.relu(1 + fake).mean()


def d_loss_least_squares(
    real_scores: torch.Tensor,
    fake_scores: torch.Tensor,
    *,
    real_target: float = 1.0,
    fake_target: float = -1.0,
) -> torch.Tensor:
    """The least-squares discriminator loss of LSGAN.

    ``L_D = 1/2 E_x (D(x) - b)^2 + 1/2 E_z (D(G(z)) - a)^2``,  ``b = real_target``,
    ``a = fake_target``

    The defaults ``a = -1, b = 1`` (with the generator's target ``c = 0``) satisfy
    ``b - c = 1`` and ``b - a = 2``, for which minimising the generator's loss minimises the
    Pearson χ² divergence between ``p_data + p_g`` and ``2 p_g`` (Mao et al. 2017, §3.2.2).
    The "0-1" variant of the paper's experiments is ``a = 0, b = 1`` with ``c = 1``.

    Args:
        real_scores: discriminator scores on real samples, shape ``(B,)`` or ``(B, 1)``.
        fake_scores: scores on generated samples, shape ``(B',)`` or ``(B', 1)``.
        real_target: ``b``, the score D should give real samples.
        fake_target: ``a``, the score D should give generated samples.

    Returns:
        A scalar tensor (always >= 0).

    Raises:
        GankitError: an argument is not a floating-point tensor of shape ``(B,)`` or ``(B, 1)``.

    References:
        Mao et al. 2017, Least Squares Generative Adversarial Networks, eq. 2 and 9.

    Example:
        >>> import torch
        >>> d_loss_least_squares(torch.tensor([1.0, 3.0]), torch.tensor([0.0]))  # (0+4)/4 + 1/2
        tensor(1.5000)
    """
    real = check_scores("real_scores", real_scores)
    fake = check_scores("fake_scores", fake_scores)
    return 0.5 * ((real - real_target) ** 2).mean() + 0.5 * ((fake - fake_target) ** 2).mean()


def g_loss_least_squares(fake_scores: torch.Tensor, *, target: float = 0.0) -> torch.Tensor:
    """The least-squares generator loss of LSGAN: ``L_G = 1/2 E_z (D(G(z)) - c)^2``.

    ``c = target`` is 0 in the Pearson χ² setting (``a = -1, b = 1, c = 0``) and 1 in the
    0-1 variant; see ``d_loss_least_squares``.

    Args:
        fake_scores: discriminator scores on generated samples, shape ``(B,)`` or ``(B, 1)``.
        target: ``c``, the score the generator wants D to give its samples.

    Returns:
        A scalar tensor (always >= 0).

    Raises:
        GankitError: ``fake_scores`` is not a floating-point tensor of shape ``(B,)`` or
            ``(B, 1)``.

    References:
        Mao et al. 2017, Least Squares Generative Adversarial Networks, eq. 2 and 9.

    Example:
        >>> import torch
        >>> g_loss_least_squares(torch.tensor([-1.0, 1.0, 2.0]))  # (1 + 1 + 4) / 6
        tensor(1.)
    """
    fake = check_scores("fake_scores", fake_scores)
    return 0.5 * ((fake - target) ** 2).mean()


def _paired(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> tuple[torch.Tensor, ...]:
    real = check_scores("real_logits", real_logits).reshape(-1)
    fake = check_scores("fake_logits", fake_logits).reshape(-1)
    if real.shape != fake.shape:
        raise GankitError(
            f"relativistic losses pair real and fake samples one to one; got {real.shape[0]} "
            f"real and {fake.shape[0]} fake"
        )
    return real, fake


def d_loss_relativistic(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The relativistic pairing (RpGAN) loss of the discriminator.

    ``L_D = mean_i softplus(-(D(x_i) - D(G(z_i))))``: sample ``i`` of the real batch is
    paired with sample ``i`` of the generated batch, and ``sigmoid(D(x_i) - D(G(z_i)))`` is
    the probability that the real one is the more realistic of the pair. Only differences of
    scores count, so adding a constant to D changes nothing.

    Args:
        real_logits: D on real samples, shape ``(B,)`` or ``(B, 1)``.
        fake_logits: D on generated samples, the same ``B``.

    Returns:
        A scalar tensor.

    Raises:
        GankitError: an argument is not a floating-point score tensor, or the two batches
            differ in size.

    References:
        Jolicoeur-Martineau 2019, The relativistic discriminator: a key element missing from
        standard GAN (RpGAN). Huang et al. 2024, The GAN is dead; long live the GAN! A Modern
        GAN Baseline, eq. 2.

    Example:
        >>> import torch
        >>> d_loss_relativistic(torch.tensor([1.0, 3.0]), torch.tensor([1.0, 3.0]))  # log 2
        tensor(0.6931)
    """
    real, fake = _paired(real_logits, fake_logits)
    return _softplus(fake - real).mean()


def g_loss_relativistic(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The relativistic pairing (RpGAN) loss of the generator, the mirror of
    :func:`d_loss_relativistic`: ``L_G = mean_i softplus(-(D(G(z_i)) - D(x_i)))``.

    Args:
        real_logits: D on real samples, shape ``(B,)`` or ``(B, 1)`` (constants here).
        fake_logits: D on generated samples, the same ``B``.

    Returns:
        A scalar tensor.

    Raises:
        GankitError: as :func:`d_loss_relativistic`.

    References:
        Jolicoeur-Martineau 2019; Huang et al. 2024, eq. 2.

    Example:
        >>> import torch
        >>> g_loss_relativistic(torch.tensor([0.0]), torch.tensor([0.0]))  # log 2
        tensor(0.6931)
    """
    real, fake = _paired(real_logits, fake_logits)
    return _softplus(real - fake).mean()
