"""Stacked MNIST at a wall-clock budget: how many of the 1,000 digit triples does a run cover?

    python benchmarks/bench_stacked.py                          # default recipe, 1800 s, seeds 0 1
    python benchmarks/bench_stacked.py --seconds 60 --seeds 0   # a smoke run
    python benchmarks/bench_stacked.py --seeds 0 --flags --beta1 0.5   # with train flags

Each row is one whole ``gankit train --data stackedmnist --time-limit S`` process (the
default recipe for images unless ``--recipe``), then ``gankit eval --json`` on it: the
standard protocol (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018), 26,000 generated
images, each channel read by gankit's MNIST classifier (trained once, cached; its held-out
accuracy is printed), triples covered of 1,000 and KL(triple histogram ‖ uniform) in nats.
The published figures are those of R3GAN's table (Huang et al., NeurIPS 2024), at GPU scale;
a perfect generator scores about 0.019 at 26,000 samples. Asserts nothing.
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

# (method, modes, KL) as R3GAN's Stacked MNIST table quotes them (Huang et al., NeurIPS 2024).
PUBLISHED = (
    ("DCGAN", 99, 3.40),
    ("WGAN-GP", 959, 0.73),
    ("PacGAN", 992, 0.28),
    ("StyleGAN2", 940, 0.42),
    ("PresGAN", 1000, 0.12),
    ("R3GAN (10 M images, GPU)", 1000, 0.029),
)


def _gankit(*argv: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "gankit", *argv]
    return subprocess.run(command, check=True, capture_output=True, text=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1800.0, help="budget per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--recipe", default=None, help="default: the default image recipe")
    parser.add_argument("--out", default=None, help="keep the runs here (default: a temp dir)")
    parser.add_argument(
        "--flags", nargs=argparse.REMAINDER, default=[], help="more gankit train flags (last)"
    )
    args = parser.parse_args()
    root = Path(args.out or tempfile.mkdtemp(prefix="gankit-stacked-"))
    print(f"{cpu_model()}, {os.cpu_count()} cores; torch {torch.__version__}; {cpu_description()}")
    flags = f", flags {' '.join(args.flags)}" if args.flags else ""
    print(f"stackedmnist{flags}, budget {args.seconds:.0f} s per run, eval n = 26000\n")
    print(f"{'run':<28}{'steps':>8}{'modes':>8}{'KL':>9}{'FD':>10}{'clf acc':>9}")
    print("-" * 72)
    chosen = [] if args.recipe is None else ["--recipe", args.recipe]
    for seed in args.seeds:
        out = root / f"seed{seed}"
        _gankit(
            "train", "--data", "stackedmnist", "--out", str(out), "--seed", str(seed),
            "--time-limit", str(args.seconds), "--quiet", *chosen, *args.flags,
        )  # fmt: skip
        r = json.loads(_gankit("eval", str(out), "--json", "--quiet").stdout)
        label = f"gankit ({r['recipe']}), seed {seed}"
        print(
            f"{label:<28}{r['step']:>8}{r['modes_covered']:>8}{r['reverse_kl_modes']:>9.3f}"
            f"{r['fid_features']:>10.3g}{r['classifier_accuracy']:>9.3f}",
            flush=True,
        )
    print("\npublished (R3GAN's table, Huang et al. NeurIPS 2024; GPU scale):")
    for method, modes, divergence in PUBLISHED:
        print(f"{method:<28}{'':>8}{modes:>8}{divergence:>9.3f}")
    print(f"\nRuns and sample grids: {root}/*/samples/")


if __name__ == "__main__":
    main()
