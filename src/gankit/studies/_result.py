"""What a study returns and how it is written: claims with verdicts, data, figures, summary.

``results.json`` is strict JSON: non-finite floats are written as the strings ``"inf"``,
``"-inf"`` and ``"nan"`` (``json`` would otherwise write ``Infinity``, which strict parsers
reject).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gankit.runfolder import atomic_write_text


@dataclass(frozen=True)
class Claim:
    """One checked statement: what was expected, what was measured, and the verdict."""

    claim: str
    expected: Any
    measured: Any
    holds: bool


@dataclass
class StudyResult:
    """A finished study: its claims, the data behind them, its figures and a summary."""

    name: str
    claims: list[Claim]
    data: dict[str, Any]
    figures: list[Path] = field(default_factory=list)
    summary: str = ""
    seconds: float = 0.0
    seed: int = 0
    quick: bool = False

    @property
    def holds(self) -> bool:
        return all(c.holds for c in self.claims)


def within(measured: float, expected: float, *, atol: float = 0.0, rtol: float = 0.0) -> bool:
    """True when ``abs(measured - expected) <= atol + rtol * abs(expected)`` (finite values)."""
    if not (math.isfinite(measured) and math.isfinite(expected)):
        return measured == expected
    return abs(measured - expected) <= atol + rtol * abs(expected)


def plain(value: Any) -> Any:
    """``value`` with numpy types turned into Python ones and non-finite floats into strings."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        number = float(value)
        return number if math.isfinite(number) else str(number)
    if isinstance(value, Path):
        return value.name
    return value


def _fmt(value: Any) -> str:
    """A table cell: short numbers, and ``|`` escaped so it cannot split the row."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value).replace("|", "\\|")


def write_result(result: StudyResult, out: Path, claim: str) -> None:
    """Write ``results.json`` and ``summary.md`` for ``result`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    payload = {
        "study": result.name,
        "claim": claim,
        "seed": result.seed,
        "quick": result.quick,
        "seconds": round(result.seconds, 2),
        "holds": result.holds,
        "claims": [c.__dict__ for c in result.claims],
        "figures": [f.name for f in result.figures],
        **result.data,
    }
    atomic_write_text(out / "results.json", json.dumps(plain(payload), indent=1) + "\n")
    lines = [f"# Study `{result.name}`", "", claim, ""]
    if result.summary:
        lines += [result.summary.strip(), ""]
    lines += ["| claim | expected | measured | holds |", "| --- | --- | --- | --- |"]
    for c in result.claims:
        lines.append(
            f"| {_fmt(c.claim)} | {_fmt(c.expected)} | {_fmt(c.measured)} | "
            f"{'yes' if c.holds else '**no**'} |"
        )
    lines += [""] + [f"![{f.stem}]({f.name})" for f in result.figures]
    mode = "quick mode" if result.quick else "default settings"
    lines += [
        "",
        f"Seed {result.seed}, {mode}, {result.seconds:.1f} s. "
        f"Reproduce: `gankit study {result.name} --out DIR --seed {result.seed}"
        f"{' --quick' if result.quick else ''}`.",
    ]
    atomic_write_text(out / "summary.md", "\n".join(lines) + "\n")


def finite_differences(x: Sequence[float], y: Sequence[float]) -> list[float]:
    """The derivative dy/dx at each point (central differences, one-sided at the ends)."""
    return np.gradient(np.asarray(y, dtype=float), np.asarray(x, dtype=float)).tolist()
