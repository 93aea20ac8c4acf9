"""Older run folders: what their configuration implies, brought to the current format.

``config.toml`` and the configuration inside each checkpoint start with ``config_format``
(:data:`gankit.training.config.FORMAT`). Format 1 had no such key: it is every run folder
written before it, and it may lack the keys added after the first release, which then held
the values in :data:`FORMAT_1_IMPLIED` (the behaviour those runs had). Format 1 also wrote a
run trained until its time limit as ``steps = 1000000000``; format 2 writes ``steps = 0``.
Formats 1 and 2 lack the augmentation keys of format 3: :data:`FORMAT_2_IMPLIED`; formats 1
to 3 lack format 4's ``conditional``: :data:`FORMAT_3_IMPLIED`; formats 1 to 4 lack format
5's ``clusters``: :data:`FORMAT_4_IMPLIED`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gankit.errors import GankitError
from gankit.training.config import FIELDS, FORMAT

__all__ = [
    "FORMAT_1_IMPLIED",
    "FORMAT_2_IMPLIED",
    "FORMAT_3_IMPLIED",
    "FORMAT_4_IMPLIED",
    "migrate",
]

# Keys that a format-1 run folder may lack, with the value its run trained with.
FORMAT_1_IMPLIED: dict[str, Any] = {
    "critic_norm": "auto",  # added with image sets; "auto" is what every run used before
    "lp_weight": 0.0,  # the stabilisers (WGAN-LP, DRAGAN, R1, R2, spectral norm) and f-GAN
    "dragan_weight": 0.0,  # arrived together: off in every earlier run
    "r1_weight": 0.0,
    "r2_weight": 0.0,
    "spectral_norm": False,
    "divergence": "js",  # the fgan recipe's divergence; unused by the earlier recipes
    "r1_every": 1,  # lazy R1 came later: R1 ran on every step
}
# Keys that formats 1 and 2 lack: differentiable augmentation came with format 3, off before.
FORMAT_2_IMPLIED: dict[str, Any] = {"augment": "", "augment_p": "1.0"}
# Keys that formats 1 to 3 lack: conditional models came with format 4, unconditional before.
FORMAT_3_IMPLIED: dict[str, Any] = {"conditional": False}
# Keys that formats 1 to 4 lack: self-conditioning came with format 5.
FORMAT_4_IMPLIED: dict[str, Any] = {"clusters": "0"}
FORMAT_1_UNTIL_TIME_LIMIT = 10**9  # format 1's step count for "until the time limit"


def migrate(values: Mapping[str, Any], source: str) -> dict[str, Any]:
    """A saved configuration (``config.toml`` or a checkpoint's) as the current format, with
    every key and without ``config_format``.

    Raises:
        GankitError: a format this version does not know (a newer gankit wrote it), or keys
            missing that no version of gankit left out.

    Example:
        >>> from gankit.training.recipes import BASE
        >>> old = {k: v for k, v in BASE.to_dict().items() if k not in FORMAT_1_IMPLIED}
        >>> migrated = migrate({**old, "steps": 10**9}, "config.toml")  # a format-1 file
        >>> migrated["steps"], migrated["r1_every"]
        (0, 1)
    """
    values = dict(values)
    version = values.pop("config_format", 1)
    if version not in range(1, FORMAT + 1):
        raise GankitError(
            f"{source} has config_format {version!r}; this gankit reads formats 1 to {FORMAT} "
            "(a newer gankit wrote it: upgrade gankit)"
        )
    if version == 1:
        values = {**FORMAT_1_IMPLIED, **values}
        if values.get("steps") == FORMAT_1_UNTIL_TIME_LIMIT:
            values["steps"] = 0
    if version <= 2:
        values = {**FORMAT_2_IMPLIED, **values}
    if version <= 3:
        values = {**FORMAT_3_IMPLIED, **values}
    if version <= 4:
        values = {**FORMAT_4_IMPLIED, **values}
    missing = sorted(set(FIELDS) - set(values))
    if missing:
        raise GankitError(f"{source} lacks {', '.join(missing)}: not a configuration gankit wrote")
    return values
