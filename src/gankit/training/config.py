"""The training configuration: every setting that determines a run, its checks and its file.

:class:`TrainConfig` declares the settings and their types; it has no defaults of its own. The
values come from a recipe (``gankit.training.recipes``: one base and each recipe's changes to
it), then a TOML file, then flags (``gankit.training.configure``). The resolved configuration is
written to the run folder as ``config.toml``, led by its ``config_format``
(``gankit.training.migrate`` reads older formats).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import re
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gankit.errors import GankitError
from gankit.runfolder import atomic_write_text

__all__ = [
    "AUGMENTATIONS",
    "CHOICES",
    "FIELDS",
    "FORMAT",
    "INPUT_PENALTIES",
    "RUN_CONTROLS",
    "TrainConfig",
    "augment_policy",
    "augment_probability",
    "coerce",
    "problems",
    "toml_text",
    "write_toml",
]

# The format of config.toml (and of a checkpoint's configuration). 2: config_format is
# written, steps = 0 means "until the time limit" (format 1 wrote 10**9). 3: augment and
# augment_p (differentiable augmentation). 4: conditional (class-conditional networks).
# 5: clusters (self-conditioning on k-means clusters of the images).
FORMAT = 5
# gankit.training.augment's policies (kept here by name: this module must not import torch)
AUGMENTATIONS = ("color", "translation", "cutout")

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
# Run controls may change on resume; everything else must match the run folder.
RUN_CONTROLS = frozenset({"steps", "time_limit", "device", "log_every", "sample_every"})


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a run. 0 means "off" for the optional numbers.

    ``steps = 0`` means no step limit: the run trains until ``time_limit``.
    """

    recipe: str
    data: str  # a data spec (gankit.data), canonical once a run starts
    seed: int
    steps: int  # generator iterations; 0: until the time limit
    batch_size: int  # the global batch, shared by the processes of a torchrun job
    n_critic: int  # critic/discriminator steps per generator step
    optimizer: str
    lr_g: float
    lr_d: float
    beta1: float
    beta2: float
    clip: float  # weight clipping box [-c, c] after every critic update (wgan)
    gp_weight: float  # lambda of the gradient penalty (wgan-gp)
    lp_weight: float  # lambda of the one-sided penalty (wgan-lp)
    dragan_weight: float  # lambda of the penalty near real data (dragan)
    r1_weight: float  # gamma of R1 on real data
    r1_every: int  # lazy R1: every k-th generator step, weight k * gamma
    r2_weight: float  # gamma of R2 on generated data
    spectral_norm: bool  # critic layers divided by their largest singular value
    divergence: str  # the f-divergence of the fgan recipe
    critic_warmup: bool  # original WGAN code: 100 critic steps early and every 500th
    latent_dim: int
    width: int  # units per hidden layer (MLPs); base channels (images)
    depth: int  # hidden layers of the MLPs (image networks follow the image size)
    activation: str  # of the MLPs
    critic_norm: str  # auto: see gankit.training.state.critic_norm
    ema_decay: float  # EMA of the generator's weights; 0: none
    conditional: bool  # class-conditional networks, trained on the data's labels
    # self-conditioning: networks conditioned on K k-means clusters of the images, "0" off,
    # "auto" (resolved with the data when training starts: gankit.training.state.clusters_of)
    clusters: str
    augment: str  # DiffAugment policy, comma-separated AUGMENTATIONS; "": off
    augment_p: str  # probability of each augmentation per sample, a number or "auto" (ADA)
    log_every: int
    sample_every: int
    checkpoint_every: int
    keep_every: int  # also keep checkpoints/step_N.pt every N steps
    time_limit: float  # seconds; stops cleanly with a checkpoint
    device: str
    precision: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def takes_classes(self) -> bool:
        """True when the networks take a class: the data's labels (``conditional``) or the
        k-means clusters of the images (``clusters``, once resolved: ``auto`` is replaced by
        a count when training starts)."""
        return self.conditional or self.clusters not in ("0", "auto")

    def penalises_input_gradient(self) -> bool:
        """True when some penalty on the critic's input gradient is on (no batch norm then)."""
        return any(getattr(self, name) > 0 for name in INPUT_PENALTIES)

    @property
    def step_limit(self) -> int | None:
        """The number of generator steps to train to; None: until the time limit."""
        return self.steps or None


FIELDS: dict[str, type] = typing.get_type_hints(TrainConfig)


def coerce(name: str, value: Any) -> Any:
    """``value`` as the type of field ``name`` (a flag's text, a TOML number, ...).

    Raises:
        GankitError: ``value`` cannot be read as that type.

    Example:
        >>> coerce("steps", "30"), coerce("lr_g", 1), coerce("spectral_norm", "true")
        (30, 1.0, True)
    """
    kind = FIELDS[name]
    if name == "clusters" and not isinstance(value, bool):
        if isinstance(value, int):
            return str(value)
        if isinstance(value, str):
            return value.strip().lower()
        raise GankitError(f"clusters must be an integer or auto, got {value!r}")
    if name == "augment_p" and not isinstance(value, bool):
        with contextlib.suppress(TypeError, ValueError):  # a number as its text, else as given
            return repr(float(value))
        if isinstance(value, str):
            return value
        raise GankitError(f"augment_p must be a number in [0, 1] or auto, got {value!r}")
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
            with contextlib.suppress(ValueError):
                return int(value)
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return float(value)
    elif isinstance(value, str):
        return value
    raise GankitError(f"{name} must be {kind.__name__}, got {value!r}")


POSITIVE_INTS = (
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


def problems(config: TrainConfig) -> list[str]:
    """Every problem with a configuration, as short phrases (none when it is usable)."""
    found: list[str] = []
    if config.steps < 0 or (config.steps == 0 and not config.time_limit > 0):
        why = " (0 means until the time limit, and time_limit is 0)" if config.steps == 0 else ""
        found.append(f"steps must be >= 1, got {config.steps}{why}")
    for name in POSITIVE_INTS:
        if getattr(config, name) < 1:
            found.append(f"{name} must be >= 1, got {getattr(config, name)}")
    for name in ("lr_g", "lr_d"):
        value = getattr(config, name)
        if not (math.isfinite(value) and value > 0):
            found.append(f"{name} must be > 0, got {value}")
    for name in ("clip", *INPUT_PENALTIES, "time_limit"):
        value = getattr(config, name)
        if not (math.isfinite(value) and value >= 0):
            found.append(f"{name} must be >= 0, got {value}")
    for name in ("beta1", "beta2", "ema_decay"):
        value = getattr(config, name)
        if not (0 <= value < 1):
            found.append(f"{name} must be in [0, 1), got {value}")
    penalties = [name for name in INPUT_PENALTIES if getattr(config, name) > 0]
    if penalties and config.critic_norm == "batch":
        found.append(
            f"critic_norm batch cannot be used with {', '.join(penalties)} (batch norm mixes "
            "the samples, so the per-sample input gradient is undefined); use layer or none"
        )
    if config.keep_every < 0:
        found.append(f"keep_every must be >= 0, got {config.keep_every}")
    if config.seed < 0:
        found.append(f"seed must be >= 0, got {config.seed}")
    if config.clusters != "auto" and not re.fullmatch(r"0|[2-9]|[1-9][0-9]+", config.clusters):
        found.append(f"clusters must be 0 (off), >= 2 or auto, got {config.clusters!r}")
    elif config.clusters not in ("0", "auto") and config.conditional:
        found.append(
            "clusters and conditional both choose the classes the networks take (k-means "
            "clusters or the data's labels): use one"
        )
    for name, choices in CHOICES.items():
        if getattr(config, name) not in choices:
            found.append(
                f"{name} must be one of {', '.join(choices)}, got {getattr(config, name)!r}"
            )
    if not all(name in AUGMENTATIONS for name in augment_policy(config)):
        found.append(
            f"augment must be a comma-separated list of {', '.join(AUGMENTATIONS)} (or empty "
            f"for none), got {config.augment!r}"
        )
    if config.augment_p != "auto":
        try:
            p = float(config.augment_p)
        except ValueError:
            p = math.nan
        if not 0 <= p <= 1:
            found.append(f"augment_p must be a number in [0, 1] or auto, got {config.augment_p!r}")
    return found


def augment_policy(config: TrainConfig) -> tuple[str, ...]:
    """The augmentations ``config`` turns on, in order (none: ``()``).

    Example:
        >>> from gankit.training.recipes import BASE
        >>> augment_policy(dataclasses.replace(BASE, augment="color, cutout"))
        ('color', 'cutout')
    """
    return tuple(name.strip() for name in config.augment.split(",") if name.strip())


def augment_probability(config: TrainConfig) -> float | None:
    """The fixed probability of each augmentation per sample; None for ``auto`` (ADA)."""
    return None if config.augment_p == "auto" else float(config.augment_p)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    return repr(value)


def toml_text(config: TrainConfig, facts: dict[str, Any] | None = None) -> str:
    """``config`` as flat TOML, led by its format; ``facts`` become comment lines.

    Example:
        >>> from gankit.training.recipes import get_recipe
        >>> text = toml_text(get_recipe("wgan").toy)
        >>> text.splitlines()[1:3]
        ['config_format = 5', 'recipe = "wgan"']
    """
    lines = ["# gankit run configuration, fully resolved (recipe < TOML < flags)"]
    lines += [f"# {key}: {value}" for key, value in (facts or {}).items()]
    lines.append(f"config_format = {FORMAT}")
    for key, value in config.to_dict().items():
        line = f"{key} = {_toml_value(value)}"
        if key == "steps" and value == 0:
            line += "  # no step limit: trains until time_limit"
        lines.append(line)
    return "\n".join(lines) + "\n"


def write_toml(config: TrainConfig, path: Path, facts: dict[str, Any] | None = None) -> None:
    """Write :func:`toml_text` to ``path`` atomically.

    Raises:
        GankitError: the file cannot be written (a read-only or full disk); any old file is
            left as it was.
    """
    try:
        atomic_write_text(Path(path), toml_text(config, facts))
    except OSError as error:
        raise GankitError(f"cannot write {path}: {error.strerror or error}") from None
