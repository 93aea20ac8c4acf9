"""Time gankit's Wasserstein distances next to plain references, on this machine.

Exact W1 of 5,000 vs 5,000 2-D points (gankit.wasserstein.wasserstein) next to plain POT on
``ot.dist(metric="euclidean")``, and sliced W1 of 100,000 vs 100,000 2-D points with 256
projections next to a plain numpy loop over the same directions. Prints medians, the ratio to
the reference and whether each target (5 s, 1 s) is met. Not run in CI.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import ot
import torch

from gankit.wasserstein import sliced_wasserstein, wasserstein

EXAMPLES = """examples:
  python benchmarks/bench_distances.py
  python benchmarks/bench_distances.py --repeats 3 --threads 1
"""
EXACT_TARGET_S = 5.0
SLICED_TARGET_S = 1.0


def cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def median_time(fn: Callable[[], float], repeats: int) -> tuple[float, float]:
    """Median wall time of ``repeats`` calls, and the value of the last call."""
    times, value = [], 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def pot_exact_w1(x: np.ndarray, y: np.ndarray) -> float:
    a, b = ot.unif(len(x)), ot.unif(len(y))
    return float(ot.emd2(a, b, ot.dist(x, y, metric="euclidean"), numItermax=100_000_000))


def numpy_sliced_w1(x: np.ndarray, y: np.ndarray, n_projections: int, seed: int) -> float:
    """The plain loop: one direction at a time, the same directions as gankit draws."""
    theta = np.random.default_rng(seed).standard_normal((n_projections, x.shape[1]))
    theta /= np.linalg.norm(theta, axis=1, keepdims=True)
    total = 0.0
    for t in theta:
        total += np.abs(np.sort(x @ t) - np.sort(y @ t)).mean()
    return total / n_projections


def report(name: str, ours: tuple[float, float], ref: tuple[float, float], target: float) -> None:
    (t_ours, v_ours), (t_ref, v_ref) = ours, ref
    verdict = "meets" if t_ours <= target else "MISSES"
    print(f"{name}")
    print(f"  gankit     median {t_ours:8.3f} s   value {v_ours:.12g}")
    print(f"  reference  median {t_ref:8.3f} s   value {v_ref:.12g}")
    print(f"  ratio gankit/reference {t_ours / t_ref:.2f}   |difference| {abs(v_ours - v_ref):.2e}")
    print(f"  target <= {target:g} s: {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Time gankit's Wasserstein distances next to plain references.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per case (median)")
    parser.add_argument("--n-exact", type=int, default=5_000, help="points per cloud, exact W1")
    parser.add_argument("--n-sliced", type=int, default=100_000, help="points per cloud, sliced")
    parser.add_argument("--projections", type=int, default=256, help="sliced directions")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    print(f"CPU: {cpu_name()} (platform.processor: {platform.processor() or 'n/a'})")
    print(f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}")
    print(f"torch threads {torch.get_num_threads()}, POT {ot.__version__}, numpy {np.__version__}")
    print(f"median of {args.repeats} runs each\n")

    rng = np.random.default_rng(args.seed)
    n = args.n_exact
    x, y = rng.normal(size=(n, 2)), rng.normal(size=(n, 2)) + 1.0
    report(
        f"exact W1, {n:,} vs {n:,} points in 2-D",
        median_time(lambda: wasserstein(x, y), args.repeats),
        median_time(lambda: pot_exact_w1(x, y), args.repeats),
        EXACT_TARGET_S,
    )

    n, L = args.n_sliced, args.projections
    x, y = rng.normal(size=(n, 2)), rng.normal(size=(n, 2)) + 1.0
    report(
        f"\nsliced W1, {n:,} vs {n:,} points in 2-D, {L} projections",
        median_time(lambda: sliced_wasserstein(x, y, L, seed=args.seed), args.repeats),
        median_time(lambda: numpy_sliced_w1(x, y, L, args.seed), args.repeats),
        SLICED_TARGET_S,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
