"""The resolved training configuration: recipe defaults < TOML file < command-line flags.

Every hyperparameter is a field of :class:`TrainConfig`, declared once here with its
default; recipes override some of them (``recipes.py``). The resolved configuration is
written to the run folder as ``config.toml`` and read back on resume.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from gankit.errors import GankitError
from gankit.train.recipes import DEFAULT_RECIPE, get_recipe, recipe_defaults

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CHOICES: dict[str, tuple[str, ...]] = {
    "optimizer": ("adam", "rmsprop"),
    "activation": ("relu", "leaky_relu", "elu", "tanh", "gelu", "silu"),
    "precision": ("auto", "fp32", "bf16"),
    "device": ("auto", "cpu", "cuda"),
    "critic_norm": ("auto", "none", "layer", "batch"),
    # gankit.fgan.DIVERGENCES (kept here by name: this module must not import torch)
    "divergence": (
        "kl",
        "reverse_kl",
        "pearson_chi2",
        "squared_hellinger",
        "js",
        "total_variation",
    ),
}
# The penalties on the critic's input gradient: each needs a critic without batch norm.
INPUT_PENALTIES = ("gp_weight", "lp_weight", "dragan_weight", "r1_weight", "r2_weight")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a run. 0 means "off" for the optional numbers."""

    recipe: str = DEFAULT_RECIPE
    data: str = "ring"
    seed: int = 0
    steps: int = 2000  # generator iterations
    batch_size: int = 256
    n_critic: int = 5  # critic/discriminator steps per generator step
    optimizer: str = "adam"
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.9
    clip: float = 0.0  # weight clipping box [-c, c] after every critic update (wgan)
    gp_weight: float = 0.0  # lambda of the gradient penalty (wgan-gp)
    lp_weight: float = 0.0  # lambda of the one-sided penalty (wgan-lp, Petzka et al. 2018)
    dragan_weight: float = 0.0  # lambda of the penalty near real data (Kodali et al. 2017)
    r1_weight: float = 0.0  # gamma of R1 on real data (Mescheder et al. 2018)
    r1_every: int = 1  # lazy R1: every k-th generator step, weight k * gamma (StyleGAN2)
    r2_weight: float = 0.0  # gamma of R2 on generated data (Mescheder et al. 2018)
    spectral_norm: bool = False  # critic layers divided by their top singular value (Miyato 2018)
    divergence: str = "js"  # the f-divergence of the fgan recipe (Nowozin et al. 2016)
    critic_warmup: bool = False  # original WGAN code: 100 critic steps early and every 500th
    latent_dim: int = 2  # gan_toy.py draws 2-D noise
    width: int = 512  # gan_toy.py: 3 hidden layers of 512 ReLU units; images: base channels
    depth: int = 3  # hidden layers of the MLPs (image networks follow the image size)
    activation: str = "relu"
    # auto: none for MLPs; for convolutional critics batch norm (DCGAN), layer norm with the
    # gradient penalty (Gulrajani et al. 2017, §4: batch norm breaks the per-sample gradient)
    critic_norm: str = "auto"
    ema_decay: float = 0.0  # EMA of the generator's weights, e.g. 0.999 (Yazici et al. 2019)
    log_every: int = 50
    sample_every: int = 500
    checkpoint_every: int = 500
    keep_every: int = 0  # also keep checkpoints/step_N.pt every N steps
    time_limit: float = 0.0  # seconds; stops cleanly with a checkpoint
    device: str = "auto"
    precision: str = "auto"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def penalises_input_gradient(self) -> bool:
        """True when some penalty on the critic's input gradient is on (no batch norm then)."""
        return any(getattr(self, name) > 0 for name in INPUT_PENALTIES)


FIELDS = {f.name: f for f in fields(TrainConfig)}
# The step budget of a run given a time limit but no step count: the clock stops it.
UNTIL_TIME_LIMIT = 10**9
# Run controls may change on resume; everything else must match the run folder.
RUN_CONTROLS = frozenset({"steps", "time_limit", "device", "log_every", "sample_every"})


def _coerce(name: str, value: Any, problems: list[str]) -> Any:
    """``value`` as the type of field ``name``; a problem is recorded when it is not."""
    kind = type(FIELDS[name].default)
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif isinstance(value, str):
        return value
    problems.append(f"{name} must be {kind.__name__}, got {value!r}")
    return FIELDS[name].default


def _check(config: TrainConfig) -> list[str]:
    """Every problem with a configuration, as short phrases."""
    problems: list[str] = []
    positive_ints = (
        "steps",
        "batch_size",
        "n_critic",
        "r1_every",
        "latent_dim",
        "width",
        "depth",
        "log_every",
        "sample_every",
        "checkpoint_every",
    )
    for name in positive_ints:
        if getattr(config, name) < 1:
            problems.append(f"{name} must be >= 1, got {getattr(config, name)}")
    for name in ("lr_g", "lr_d"):
        value = getattr(config, name)
        if not (math.isfinite(value) and value > 0):
            problems.append(f"{name} must be > 0, got {value}")
    for name in ("clip", *INPUT_PENALTIES, "time_limit"):
        value = getattr(config, name)
        if not (math.isfinite(value) and value >= 0):
            problems.append(f"{name} must be >= 0, got {value}")
    for name in ("beta1", "beta2", "ema_decay"):
        value = getattr(config, name)
        if not (0 <= value < 1):
            problems.append(f"{name} must be in [0, 1), got {value}")
    penalties = [name for name in INPUT_PENALTIES if getattr(config, name) > 0]
    if penalties and config.critic_norm == "batch":
        problems.append(
            f"critic_norm batch cannot be used with {', '.join(penalties)} (batch norm mixes "
            "the samples, so the per-sample input gradient is undefined); use layer or none"
        )
    if config.keep_every < 0:
        problems.append(f"keep_every must be >= 0, got {config.keep_every}")
    if config.seed < 0:
        problems.append(f"seed must be >= 0, got {config.seed}")
    for name, choices in CHOICES.items():
        if getattr(config, name) not in choices:
            problems.append(
                f"{name} must be one of {', '.join(choices)}, got {getattr(config, name)!r}"
            )
    return problems


def saved_values(values: dict[str, Any]) -> dict[str, Any]:
    """A saved run's configuration (``config.toml`` or a checkpoint's) with every key it lacks
    at its class default: a key added after the run was made keeps the older behaviour
    (e.g. ``r1_every = 1``), never a recipe's newer value."""
    defaults = {name: spec.default for name, spec in FIELDS.items() if name != "recipe"}
    return {**defaults, **values}


def _positive_number(value: Any) -> bool:
    try:
        return float(value) > 0
    except (TypeError, ValueError):
        return False  # reported by the type check


def resolve(
    recipe: str | None = None,
    file_values: dict[str, Any] | None = None,
    flag_values: dict[str, Any] | None = None,
) -> TrainConfig:
    """Merge recipe defaults < TOML values < flags into a checked :class:`TrainConfig`.

    The recipe comes from ``recipe``, else the TOML file's ``recipe``, else the default.
    A time limit without a step count trains until the time limit (``UNTIL_TIME_LIMIT``).
    All problems are collected and raised as one :class:`GankitError`.
    """
    file_values = dict(file_values or {})
    flag_values = {k: v for k, v in (flag_values or {}).items() if v is not None}
    name = recipe or file_values.get("recipe") or DEFAULT_RECIPE
    from gankit.data import is_image_spec  # lazy: the data package imports torch

    chosen = get_recipe(str(name))
    data = flag_values.get("data", file_values.get("data", TrainConfig.data))
    merged: dict[str, Any] = {
        **recipe_defaults(chosen, is_image_spec(str(data))),
        **file_values,
        **flag_values,
        "recipe": chosen.name,
    }
    if "steps" not in merged and _positive_number(merged.get("time_limit")):
        merged["steps"] = UNTIL_TIME_LIMIT  # --time-limit without --steps: train until then
    problems = [f"unknown key {key!r}" for key in merged if key not in FIELDS]
    values = {k: _coerce(k, v, problems) for k, v in merged.items() if k in FIELDS}
    config = TrainConfig(**values)
    problems += _check(config)
    if problems:
        raise GankitError("bad configuration: " + "; ".join(problems))
    return config


def read_toml(path: str | Path) -> dict[str, Any]:
    """The key/value pairs of a TOML configuration file (flat, or under ``[train]``)."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            values = tomllib.load(handle)
    except FileNotFoundError:
        raise GankitError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise GankitError(f"cannot read config file {path}: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise GankitError(f"config file {path} is not valid TOML: {error}") from None
    if set(values) == {"train"} and isinstance(values["train"], dict):
        values = values["train"]
    nested = [key for key, value in values.items() if isinstance(value, dict)]
    if nested:
        raise GankitError(f"config file {path}: unexpected table(s) {', '.join(nested)}")
    return values


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    return repr(value)


def write_toml(config: TrainConfig, path: str | Path, extra: dict[str, Any] | None = None) -> None:
    """Write ``config`` (and ``extra`` facts, as comments) as a flat TOML file."""
    lines = ["# gankit run configuration, fully resolved (recipe < TOML < flags)"]
    for key, value in (extra or {}).items():
        lines.append(f"# {key}: {value}")
    lines += [f"{key} = {_toml_value(value)}" for key, value in config.to_dict().items()]
    Path(path).write_text("\n".join(lines) + "\n")
