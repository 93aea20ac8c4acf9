"""Standing batch-norm statistics for sampling from a generator (Brock et al. 2019, BigGAN §3.1).

A generator with batch norm samples in eval mode from its running statistics, but those are
the statistics of the weights it was trained with. An EMA generator (averaged weights) never
ran a forward pass of its own, so its statistics must be measured for its own weights:
reset them, run a few batches of noise in train mode with a cumulative average, then
switch to eval mode. Done on a copy, so the training state is never touched. A conditional
generator (``n_classes > 0``) runs those batches with classes drawn uniformly.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

BATCHES = 4
BATCH_SIZE = 256


def standing_statistics(
    generator: nn.Module,
    latent_dim: int,
    *,
    batches: int = BATCHES,
    batch_size: int = BATCH_SIZE,
    seed: int = 0,
) -> nn.Module:
    """An eval-mode copy of ``generator`` whose batch-norm statistics are its own.

    The generator itself is never changed (not even switched to eval mode); without batch
    norm the copy's weights and buffers are the generator's.

    Example:
        >>> g = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
        >>> s = standing_statistics(g, 2)
        >>> s.training, g.training, g[1].num_batches_tracked.item(), s[1].num_batches_tracked.item()
        (False, True, 0, 4)
    """
    copied = copy.deepcopy(generator)
    if not any(isinstance(m, _BatchNorm) for m in copied.modules()):
        return copied.eval()
    device = next(copied.parameters()).device
    for module in copied.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            module.momentum = None  # a cumulative average over the batches below
    rng = torch.Generator(device=device).manual_seed(seed)
    classes = int(getattr(copied, "n_classes", 0))
    copied.train()
    with torch.no_grad():
        for _ in range(batches):
            z = torch.randn(batch_size, latent_dim, generator=rng, device=device)
            if classes:
                labels = torch.randint(classes, (batch_size,), generator=rng, device=device)
                copied(z, labels)
            else:
                copied(z)
    return copied.eval()
