"""Device and precision choice: bfloat16 only where the hardware runs it natively.

On CPUs without AMX or AVX512-BF16 (e.g. AVX2-only AMD EPYC) bfloat16 is emulated, its matrix
products about 100x slower than float32's, so ``auto`` picks float32 there.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path

import torch

from gankit.errors import GankitError


@dataclass(frozen=True)
class Hardware:
    """Where a run computes, and in which precision, with the reason for the choice."""

    device: torch.device
    precision: str  # "fp32" or "bf16"
    reason: str

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        return torch.bfloat16 if self.precision == "bf16" else None


def cpu_has_native_bf16() -> bool:
    """True when this CPU multiplies bfloat16 in hardware (AMX tiles or AVX512-BF16)."""
    cpu = torch.cpu
    amx = getattr(cpu, "_is_amx_tile_supported", lambda: False)()
    avx512_bf16 = getattr(cpu, "_is_avx512_bf16_supported", lambda: False)()
    return bool(amx or avx512_bf16)


def cpu_description() -> str:
    """A short description of the CPU for logs and benchmark output."""
    capability = torch.backends.cpu.get_cpu_capability()
    native = "native bf16" if cpu_has_native_bf16() else "no native bf16"
    return f"CPU {capability}, {native}, {torch.get_num_threads()} threads"


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), for benchmark headers."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or "unknown CPU"
    names = (line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    return next(names, platform.processor() or "unknown CPU")


def resolve_hardware(device: str = "auto", precision: str = "auto") -> Hardware:
    """Turn ``--device`` and ``--precision`` into a :class:`Hardware` choice."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise GankitError("device cuda was asked for, but torch sees no CUDA device")
    if device not in ("cpu", "cuda"):
        raise GankitError(f"device must be auto, cpu or cuda, got {device!r}")
    where = torch.device(device)
    if where.type == "cuda":
        native = torch.cuda.is_bf16_supported()
        what = f"CUDA {torch.cuda.get_device_name()}"
    else:
        native = cpu_has_native_bf16()
        what = cpu_description()
    if precision == "auto":
        chosen = "bf16" if native else "fp32"
        reason = f"auto: {what} -> {chosen}"
    elif precision in ("fp32", "bf16"):
        chosen = precision
        reason = f"asked for {precision} on {what}"
        if precision == "bf16" and not native:
            # Measured on an AVX2-only AMD EPYC: the WGAN-GP toy recipe took 5.7 s per
            # iteration under bf16 autocast against 0.18 s in fp32.
            reason += " (warning: bf16 is emulated on this CPU, about 30x slower than fp32)"
    else:
        raise GankitError(f"precision must be auto, fp32 or bf16, got {precision!r}")
    return Hardware(where, chosen, reason)
