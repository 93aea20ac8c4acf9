"""gankit: train and study adversarial generative models, with exact reference values.

Importing the package is cheap; the heavy modules (torch, scipy, POT) load on first use.
The Python API (``gankit.api``)::

    import gankit
    run = gankit.train("wgan-gp", data="ring", steps=2000, out="runs/ring", seed=0)
    run = gankit.load("runs/ring")     # a run folder; run.sample(n), run.evaluate(), run.plot()
    gankit.study("uniform-shift", out="studies/us")

and the math, module by module: ``from gankit.divergences import js``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

__all__ = ["Run", "__version__", "load", "resume", "study", "train"]

if TYPE_CHECKING:
    from gankit.api import Run, load, resume, study, train

_API = frozenset({"Run", "load", "resume", "study", "train"})


def __getattr__(name: str) -> Any:
    """``gankit.train`` and the rest of the API, imported (with torch) on first use."""
    if name in _API:
        from gankit import api

        return getattr(api, name)
    raise AttributeError(f"module 'gankit' has no attribute {name!r}")
