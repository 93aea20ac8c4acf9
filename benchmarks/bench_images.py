"""Images at a fixed wall-clock budget: does a recipe cover every class, and how well?

    python benchmarks/bench_images.py                      # mnist5k: default recipe and gan, 600 s
    python benchmarks/bench_images.py --data digits --seconds 180 --recipes default
    python benchmarks/bench_images.py --recipes default --conditional --seeds 0 1 2
    python benchmarks/bench_images.py --recipes default --flags --augment translation,cutout

Each row is one whole ``gankit train --data D --time-limit S`` process (``default`` means no
``--recipe``: the project's default for images), then ``gankit eval --json`` on it
(n = 2000 generated images against 2000 real ones, the classifier trained once and cached).
The default recipe's targets (docs/default-recipe.md): mnist5k 10/10 classes and class KL
<= 0.05 within 600 s; digits 10/10 within 180 s. ``--conditional`` trains class-conditional
runs and adds the fraction of images in which the classifier recognises the class asked for
(mean over classes and worst class). Prints one table and the folders with the final grids;
asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from gankit.training.hardware import cpu_description, cpu_model

COLUMNS = ("classes_covered", "class_kl_uniform", "fid_features", "kid_features", "precision")
CONDITIONAL = ("class_accuracy", "class_accuracy_worst")


def _gankit(*argv: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "gankit", *argv]
    return subprocess.run(command, check=True, capture_output=True, text=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="mnist5k")
    parser.add_argument("--seconds", type=float, default=600.0, help="budget per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--conditional", action="store_true", help="class-conditional runs")
    parser.add_argument(
        "--flags", nargs=argparse.REMAINDER, default=[], help="more gankit train flags (last)"
    )
    parser.add_argument("--recipes", nargs="+", default=["default", "gan"])
    parser.add_argument("--out", default=None, help="keep the runs here (default: a temp dir)")
    args = parser.parse_args()
    root = Path(args.out or tempfile.mkdtemp(prefix="gankit-images-"))
    print(f"{cpu_model()}, {os.cpu_count()} cores; torch {torch.__version__}; {cpu_description()}")
    kind = "conditional" if args.conditional else "unconditional"
    flags = f", flags {' '.join(args.flags)}" if args.flags else ""
    print(f"{args.data}, {kind}{flags}, budget {args.seconds:.0f} s per run, eval n = 2000\n")
    columns = (*COLUMNS, "recall", *(CONDITIONAL if args.conditional else ()))
    header = f"{'recipe':<10}{'seed':>5}{'steps':>7}" + "".join(f"{c[:14]:>16}" for c in columns)
    print(header)
    print("-" * len(header))
    for recipe in args.recipes:
        for seed in args.seeds:
            out = root / f"{args.data}-{recipe}-{kind}-seed{seed}"
            chosen = [] if recipe == "default" else ["--recipe", recipe]
            chosen += (["--conditional"] if args.conditional else []) + args.flags
            _gankit(
                "train", "--data", args.data, "--out", str(out), "--seed", str(seed),
                "--time-limit", str(args.seconds), "--quiet", *chosen,
            )  # fmt: skip
            result = json.loads(_gankit("eval", str(out), "--json").stdout)
            shown = "".join(f"{result[c]:>16.4g}" for c in columns)
            label = result["recipe"] + ("*" if recipe == "default" else "")
            print(f"{label:<10}{seed:>5}{result['step']:>7}{shown}", flush=True)
    print(f"\n* the default recipe. Runs and sample grids: {root}/*/samples/")


if __name__ == "__main__":
    main()
