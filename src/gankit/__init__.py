"""gankit: train and study adversarial generative models, with exact reference values.

Importing the package is cheap; the heavy modules (torch, scipy, POT) load on first use:
``from gankit.divergences import js``.
"""

__version__ = "0.2.0"

__all__ = ["__version__"]
