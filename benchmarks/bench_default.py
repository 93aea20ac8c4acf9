"""Time to quality of the default recipe: a minute of training per seed, then eval.

    python benchmarks/bench_default.py                                 # grid, seeds 1-5, 60 s
    python benchmarks/bench_default.py --data ring swissroll --seeds 1 2 3
    python benchmarks/bench_default.py --recipe wgan-gp                # the published recipe
    python benchmarks/bench_default.py --flags --ema-decay 0.995       # try a change

Each row is one whole ``gankit train --data D --time-limit S --seed K`` process (no
``--recipe``: the project's default), then ``gankit eval --json`` (n = 2000 against 2000 fresh
real samples). The default recipe's goal on ``grid:side=5,spacing=2,std=0.05``
(docs/default-recipe.md): 25/25 modes and >= 90 %
high-quality samples on every seed, median >= 95 %, reverse KL of the mode histogram <= 0.02.
Prints a table per data set with the median; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from gankit.training.hardware import cpu_description, cpu_model

DATA = ["grid:side=5,spacing=2,std=0.05"]


def _gankit(*argv: str) -> str:
    command = [sys.executable, "-m", "gankit", *argv]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=DATA)
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3, 4, 5])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--recipe", default=None, help="default: none (the project's default)")
    parser.add_argument("--flags", nargs=argparse.REMAINDER, default=[], help="extra train flags")
    args = parser.parse_args()
    print(f"{cpu_model()}, {os.cpu_count()} cores; torch {torch.__version__}; {cpu_description()}")
    chosen = ["--recipe", args.recipe] if args.recipe else []
    print(f"recipe {args.recipe or '(default)'} {' '.join(args.flags)}; {args.seconds:.0f} s\n")
    root = Path(tempfile.mkdtemp(prefix="gankit-default-"))
    for data in args.data:
        print(f"{data}\n{'seed':>5}{'steps':>8}{'modes':>8}{'HQ':>8}{'rev KL':>9}{'W1':>8}")
        hq = []
        for seed in args.seeds:
            out = root / f"{data.partition(':')[0]}-{seed}"
            _gankit(
                "train", "--data", data, "--seed", str(seed), "--out", str(out), "--quiet",
                "--time-limit", str(args.seconds), *chosen, *args.flags,
            )  # fmt: skip
            r = json.loads(_gankit("eval", str(out), "--json"))
            hq.append(r["high_quality_fraction"])
            print(
                f"{seed:>5}{r['step']:>8}{r['modes_covered']:>5}/{r['modes_total']:<2}"
                f"{r['high_quality_fraction']:>8.3f}{r['reverse_kl_modes']:>9.4f}{r['w1']:>8.3f}",
                flush=True,
            )
        print(f"median HQ {statistics.median(hq):.3f}, min {min(hq):.3f}\n")


if __name__ == "__main__":
    main()
