"""Training: recipes, configuration, the training step, the run loop, checkpoints, launching.

This package's top level imports nothing heavy (no torch), so the command line stays fast;
import ``gankit.training.launch`` (start or resume a run folder), ``gankit.training.loop``
(the run loop) or ``gankit.training.step`` (one training step) for the rest.
"""

from gankit.training.config import TrainConfig
from gankit.training.configure import resolve
from gankit.training.recipes import DEFAULT_RECIPE, RECIPES, Recipe, get_recipe

__all__ = ["DEFAULT_RECIPE", "RECIPES", "Recipe", "TrainConfig", "get_recipe", "resolve"]
