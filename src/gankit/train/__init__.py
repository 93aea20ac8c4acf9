"""Training: recipes, configuration, the loop (``gankit.train.loop``), checkpoints and runs.

This package's top level imports nothing heavy (no torch), so the command line stays fast;
import ``gankit.train.loop`` or ``gankit.train.runs`` for the loop itself.
"""

from gankit.train.config import TrainConfig, resolve
from gankit.train.recipes import DEFAULT_RECIPE, RECIPES, Recipe, get_recipe

__all__ = ["DEFAULT_RECIPE", "RECIPES", "Recipe", "TrainConfig", "get_recipe", "resolve"]
