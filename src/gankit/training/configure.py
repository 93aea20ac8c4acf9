"""Resolving a configuration: recipe < TOML file < flags, checked once, all problems together.

``resolve`` serves a new run (a recipe, an optional TOML file, flags) and a saved one
(``saved_config``: a run folder's ``config.toml`` or a checkpoint's configuration, brought to
the current format by ``gankit.training.migrate``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from gankit.errors import GankitError
from gankit.training.config import FIELDS, FORMAT, TrainConfig, coerce, problems
from gankit.training.migrate import migrate
from gankit.training.recipes import DEFAULT_RECIPE, get_recipe

__all__ = ["resolve", "saved_config"]


def resolve(
    recipe: str | None = None,
    file_values: Mapping[str, Any] | None = None,
    flag_values: Mapping[str, Any] | None = None,
) -> TrainConfig:
    """Merge a recipe's configuration < TOML values < flags into a checked :class:`TrainConfig`.

    The recipe comes from ``recipe``, else the TOML file's ``recipe``, else the default; its
    image configuration is used when ``data`` names an image set. A flag of ``None`` means
    "not given". A time limit without a step count trains until the time limit
    (``steps = 0``).

    Raises:
        GankitError: every problem at once (unknown keys, values of the wrong type or out of
            range, an unknown recipe), on one line.

    Example:
        >>> config = resolve("wgan", {"n_critic": 3}, {"n_critic": 7, "steps": None})
        >>> config.n_critic, config.clip, config.steps
        (7, 0.01, 2000)
        >>> resolve(flag_values={"time_limit": 60}).steps  # until the time limit
        0
    """
    file_values = dict(file_values or {})
    flag_values = {k: v for k, v in (flag_values or {}).items() if v is not None}
    found: list[str] = []
    version = file_values.pop("config_format", FORMAT)
    if version != FORMAT:  # a saved run of another format goes through saved_config
        found.append(f"config_format must be {FORMAT}, got {version!r}")
    chosen = get_recipe(str(recipe or file_values.get("recipe") or DEFAULT_RECIPE))
    from gankit.data import is_image_spec  # lazy: the data package imports torch

    data = flag_values.get("data", file_values.get("data", chosen.toy.data))
    base = chosen.defaults(images=is_image_spec(str(data)))
    given = {**file_values, **flag_values}
    given.pop("recipe", None)
    if "steps" not in given and _positive_number(given.get("time_limit")):
        given["steps"] = 0  # --time-limit without --steps: train until then
    values: dict[str, Any] = {}
    for key, value in given.items():
        if key not in FIELDS:
            found.append(f"unknown key {key!r}")
            continue
        try:
            values[key] = coerce(key, value)
        except GankitError as error:
            found.append(str(error))
    config = replace(base, **values)
    found += problems(config)
    if config.augment and not is_image_spec(config.data):
        found.append(f"augment {config.augment!r} needs image data; {config.data!r} is a toy set")
    if found:
        raise GankitError("bad configuration: " + "; ".join(found))
    return config


def saved_config(
    values: Mapping[str, Any], source: str, changes: Mapping[str, Any] | None = None
) -> TrainConfig:
    """The configuration a run folder saved (``config.toml``, a checkpoint's), in the current
    format, with ``changes`` (run controls on resume) applied over it."""
    current = migrate(values, source)
    return resolve(str(current["recipe"]), current, changes)


def _positive_number(value: Any) -> bool:
    try:
        return float(value) > 0
    except (TypeError, ValueError):
        return False  # reported by the type check
