"""Quality at a fixed wall-clock budget: every recipe on ring and grid, side by side.

    python benchmarks/bench_recipes.py --seconds 60 --seed 0

Each row trains one recipe (with its paper defaults, plus any overrides shown) through the
same code path as ``gankit train --time-limit``, then scores it as ``gankit eval`` does
(n = 2000 generated vs 2000 fresh real samples). Prints one table; nothing is asserted.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import torch

from gankit.runs import evaluate_run
from gankit.training.hardware import cpu_description, resolve_hardware
from gankit.training.launch import start_run

CASES = [
    ("wgan-gp", {}),
    ("nsgan", {}),
    ("gan", {}),
    ("wgan", {}),
]
DATA = ["ring", "grid"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="budget per run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    parser.add_argument("--data", nargs="+", default=DATA)
    parser.add_argument("--recipes", nargs="+", default=[name for name, _ in CASES])
    args = parser.parse_args()
    hardware = resolve_hardware("cpu", args.precision)
    print(f"torch {torch.__version__}; {cpu_description()}; {hardware.reason}")
    print(f"budget {args.seconds:.0f} s per run, seed {args.seed}, eval n = 2000\n")
    header = f"{'data':<6}{'recipe':<10}{'steps':>7}{'wall s':>8}{'modes':>8}{'HQ':>7}{'W1':>8}"
    print(header)
    print("-" * len(header))
    root = Path(tempfile.mkdtemp(prefix="gankit-bench-"))
    try:
        for data in args.data:
            for recipe, overrides in CASES:
                if recipe not in args.recipes:
                    continue
                out = root / f"{data}-{recipe}"
                flags = {
                    "data": data,
                    "seed": args.seed,
                    "time_limit": args.seconds,  # no steps: until the time limit
                    "precision": args.precision,
                    "sample_every": 10**6,
                    **overrides,
                }
                result = start_run(out, recipe, None, flags, progress=False, log=lambda _: None)
                scores = evaluate_run(out, n=2000)
                modes = f"{scores['modes_covered']}/{scores['modes_total']}"
                print(
                    f"{data:<6}{recipe:<10}{result.step:>7}{result.seconds:>8.1f}{modes:>8}"
                    f"{scores['high_quality_fraction']:>7.2f}{scores['w1']:>8.3f}",
                    flush=True,
                )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
