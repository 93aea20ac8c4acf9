"""Randomness without side effects: seeded weight initialisation that leaves torch's global
random state as the caller had it.

PyTorch modules initialise their weights from the global generator. Library code must not
reseed it under the caller's feet (a user's own ``torch.manual_seed`` would stop meaning what
they think), so every seeded initialisation in gankit runs inside :func:`seeded`; every other
random draw takes an explicit ``torch.Generator`` (named ``rng``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["seeded"]


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Draws from torch's global generator inside the block start from ``seed``; afterwards the
    caller's global state is back as it was.

    Example:
        >>> state = torch.get_rng_state()
        >>> with seeded(0):
        ...     a = torch.rand(2)
        >>> with seeded(0):
        ...     b = torch.rand(2)
        >>> torch.equal(a, b), torch.equal(torch.get_rng_state(), state)
        (True, True)
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
