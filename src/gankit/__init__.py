"""gankit: train and study adversarial generative models, with exact reference values.

Importing the package is cheap; the heavy modules (torch, scipy, POT) load on first use.
The Python API (``gankit.api``, imported on first use)::

    import gankit
    run = gankit.train("wgan-gp", data="ring", steps=2000, out="runs/ring", seed=0)
    run = gankit.load("runs/ring")     # a run folder; run.sample(n), run.evaluate(), run.plot()
    gankit.study("uniform-shift", out="studies/us")

and the math, module by module: ``from gankit.divergences import js``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

# The API's names are not in __all__: listing them would import torch with `import *`.
__all__ = ["__version__"]

if TYPE_CHECKING:
    from gankit.api import Run as Run
    from gankit.api import load as load
    from gankit.api import resume as resume
    from gankit.api import study as study
    from gankit.api import train as train

_API = frozenset({"Run", "load", "resume", "study", "train"})


def __getattr__(name: str) -> Any:
    """``gankit.train`` and the rest of the API, imported (with torch) on first use."""
    if name in _API:
        from gankit import api

        return getattr(api, name)
    raise AttributeError(f"module 'gankit' has no attribute {name!r}")
