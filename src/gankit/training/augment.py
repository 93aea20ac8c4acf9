"""Differentiable augmentation of the critic's inputs (DiffAugment) and ADA's adaptive p.

DiffAugment (Zhao et al. 2020, Differentiable Augmentation for Data-Efficient GAN Training)
shows the critic only augmented images, real and generated alike, at every evaluation: the
critic steps, the generator step (whose gradient flows back through the augmentation to the
generator) and the penalties, which gankit computes on the augmented inputs the critic
scores (R1 differentiates D at the augmented real images; WGAN-GP interpolates between
augmented real and augmented fake ones), so the constraint holds where the critic is
evaluated (StyleGAN2-ADA's code instead differentiates through the augmentation, with respect
to the un-augmented image). The policies, on images in [-1, 1]:

- ``color``: brightness (add U[-0.5, 0.5]), saturation (scale the deviation from the channel
  mean by U[0, 2]), contrast (scale the deviation from the image mean by U[0.5, 1.5]). On
  one-channel images saturation is the identity (the channel mean is the pixel itself), so
  only brightness and contrast change them.
- ``translation``: shift by up to 1/8 of the size in each direction, whole pixels.
- ``cutout``: blank a square of half the size at a random place (clipped at the edges).

Translation and cutout fill with the data's background, :func:`background` (not 0, which is
mid-grey on [-1, 1]). Each augmentation is applied to each sample with probability ``p``;
the draws come from the run's own ``augment`` stream only, and as many of them whatever ``p``
is. Sampling and evaluation never augment.

ADA (Karras et al. 2020, Training Generative Adversarial Networks with Limited Data, §3):
``augment_p = auto`` starts at ``p = 0`` and every :data:`ADA_INTERVAL` generator steps
moves ``p`` by ``sign(r_t - 0.6) · batch · interval / ramp``, clamped to [0, 1], where
``r_t = E sign D(real)`` over those steps' critic batches. ADA's ramp is 500k images, sized
for runs of tens of millions of images; gankit's CPU image runs see about 10^5, so
:data:`ADA_RAMP_IMAGES` is 20k: at batch 64, ``p`` can cross [0, 1] in about 300 steps.
"""

from __future__ import annotations

import torch

__all__ = [
    "ADA_INTERVAL",
    "ADA_RAMP_IMAGES",
    "ADA_TARGET",
    "ada_adjusted",
    "augment",
    "background",
    "draw",
]

ADA_TARGET = 0.6  # Karras et al. 2020, §3: r_t target
ADA_INTERVAL = 4  # generator steps between adjustments (ADA: every 4 minibatches)
ADA_RAMP_IMAGES = 20_000  # images for p to cross [0, 1] (ADA: 500k; see the module text)
TRANSLATION_RATIO = 0.125  # DiffAugment's code: shift up to 1/8 of the size
CUTOUT_RATIO = 0.5  # DiffAugment's code: a square of half the size


def background(images: torch.Tensor) -> torch.Tensor:
    """The data's background, per channel: the median of every image's one-pixel border,
    shape ``(C,)`` (-1 for MNIST, whose borders are black).

    Example:
        >>> x = torch.full((2, 1, 4, 4), -1.0)
        >>> x[:, :, 1:3, 1:3] = 1.0
        >>> background(x)
        tensor([-1.])
    """
    c = images.shape[1]
    edges = [images[:, :, 0], images[:, :, -1], images[:, :, :, 0], images[:, :, :, -1]]
    border = torch.cat([edge.transpose(0, 1).reshape(c, -1) for edge in edges], dim=1)
    return border.float().median(dim=1).values


def draw(
    policy: tuple[str, ...], n: int, size: tuple[int, int], rng: torch.Generator
) -> dict[str, torch.Tensor]:
    """The random parameters of ``policy`` for ``n`` images of ``size`` (H, W), from ``rng``
    alone (a fixed number of draws, whatever ``p`` is); rows can be split between processes.

    ``gate_<name>`` holds one uniform per sample: the augmentation applies where it is < p.
    """
    device = rng.device
    h, w = size

    def uniform(*shape: int) -> torch.Tensor:
        return torch.rand(n, *shape, generator=rng, device=device)

    def integers(low: int, high: int) -> torch.Tensor:
        return torch.randint(low, high, (n,), generator=rng, device=device)

    params: dict[str, torch.Tensor] = {}
    for name in policy:
        params[f"gate_{name}"] = uniform()
        if name == "color":
            params["color"] = uniform(3)
        elif name == "translation":
            sy, sx = int(h * TRANSLATION_RATIO + 0.5), int(w * TRANSLATION_RATIO + 0.5)
            params["shift"] = torch.stack([integers(-sy, sy + 1), integers(-sx, sx + 1)], 1)
        elif name == "cutout":
            ch, cw = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
            offset = [integers(0, h + (1 - ch % 2)), integers(0, w + (1 - cw % 2))]
            params["cutout"] = torch.stack(offset, 1)
    return params


def augment(
    x: torch.Tensor,
    policy: tuple[str, ...],
    params: dict[str, torch.Tensor],
    p: torch.Tensor | float,
    fill: torch.Tensor,
) -> torch.Tensor:
    """``x`` (N, C, H, W) with ``policy`` applied, each augmentation to each sample with
    probability ``p``, with the parameters :func:`draw` made for these rows; differentiable
    in ``x``. ``fill`` (C,) is what translation and cutout uncover."""
    fill = fill.to(x.device, x.dtype).view(1, -1, 1, 1)
    for name in policy:
        if name == "color":
            changed = _color(x, params["color"])
        elif name == "translation":
            changed = _translation(x, params["shift"], fill)
        else:
            changed = _cutout(x, params["cutout"], fill)
        chosen = (params[f"gate_{name}"] < p).view(-1, 1, 1, 1)
        x = torch.where(chosen, changed, x)
    return x


def _color(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """DiffAugment's brightness, saturation and contrast (one-channel: saturation is x)."""
    brightness, saturation, contrast = u.to(x.dtype).view(-1, 3, 1, 1, 1).unbind(1)
    x = x + (brightness - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (saturation * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (contrast + 0.5) + mean


def _translation(x: torch.Tensor, shift: torch.Tensor, fill: torch.Tensor) -> torch.Tensor:
    """Each image shifted by its (dy, dx) whole pixels, the uncovered pixels ``fill``."""
    n, c, h, w = x.shape
    pad = max(int(h * TRANSLATION_RATIO + 0.5), int(w * TRANSLATION_RATIO + 0.5))
    padded = fill.expand(n, c, h + 2 * pad, w + 2 * pad).clone()
    padded[:, :, pad : pad + h, pad : pad + w] = x
    rows = torch.arange(h, device=x.device).view(1, h) + pad - shift[:, :1]
    cols = torch.arange(w, device=x.device).view(1, w) + pad - shift[:, 1:]
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    picked = padded[batch, :, rows.view(n, h, 1), cols.view(n, 1, w)]  # (N, H, W, C)
    return picked.permute(0, 3, 1, 2)


def _cutout(x: torch.Tensor, offset: torch.Tensor, fill: torch.Tensor) -> torch.Tensor:
    """Each image with a square of half its size centred at ``offset`` set to ``fill``."""
    _, _, h, w = x.shape
    ch, cw = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
    top, left = (offset[:, 0] - ch // 2).view(-1, 1, 1), (offset[:, 1] - cw // 2).view(-1, 1, 1)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    box = (rows >= top) & (rows < top + ch) & (cols >= left) & (cols < left + cw)
    return torch.where(box.unsqueeze(1), fill, x)


def ada_adjusted(p: torch.Tensor, r_t: torch.Tensor, batch_size: int) -> torch.Tensor:
    """ADA's step of ``p`` toward ``r_t = E sign D(real) = 0.6``, clamped to [0, 1].

    Example:
        >>> ada_adjusted(torch.tensor(0.5), torch.tensor(0.9), 5000)  # 5000 · 4 / 20000 = 1
        tensor(1.)
    """
    step = batch_size * ADA_INTERVAL / ADA_RAMP_IMAGES
    return (p + torch.sign(r_t - ADA_TARGET) * step).clamp(0.0, 1.0)
