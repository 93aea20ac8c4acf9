"""Seconds per iteration of one ``gankit train`` command under two environments, side by side.

    python benchmarks/bench_ab.py --b PYTHONPATH=/tmp/old/src           # this checkout vs another
    python benchmarks/bench_ab.py --b MALLOC_TRIM_THRESHOLD_=1073741824 --precision bf16
    python benchmarks/bench_ab.py --b PYTHONPATH=/tmp/old/src -- --recipe wgan-gp --data mnist5k
    python benchmarks/bench_ab.py --b PYTHONPATH=/tmp/old/src --processes 2

Side A runs with the environment as it is, side B with the ``--b`` settings added (several
``KEY=VALUE`` allowed; ``PYTHONPATH=<checkout>/src`` runs another checkout's gankit). The
command is ``gankit train`` with the given training flags (default: ``--recipe wgan-gp --data
grid``), each run in its own process, in alternating rounds. A run's figure is the 10th
percentile of its logged ``sec_per_step`` past the first fifth: on a noisy machine the lower
tail moves least with what else the host is doing. ``--processes N`` runs it under
``torchrun`` in N processes of one thread each (``OMP_NUM_THREADS=1``). Prints the medians
over rounds and B/A; asserts nothing.
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


def _seconds_per_step(
    env: dict[str, str], train: list[str], precision: str, steps: int, processes: int
) -> float:
    """The low tail (10th percentile) of one run's steady seconds per generator iteration."""
    with tempfile.TemporaryDirectory() as folder:
        run = Path(folder, "run")
        command = [sys.executable, "-m", "gankit"]
        if processes > 1:
            command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
            command += [f"--nproc_per_node={processes}", "-m", "gankit"]
            env = {**env, "OMP_NUM_THREADS": "1"}
        command += ["train", *train, "--quiet", "--log-every", "2"]
        command += ["--out", str(run), "--steps", str(steps), "--precision", precision]
        command += ["--device", "cpu", "--sample-every", str(10**6)]
        subprocess.run(command, check=True, capture_output=True, env=env)
        seconds = [json.loads(line)["sec_per_step"] for line in (run / "metrics.jsonl").open()]
    steady = sorted(seconds[len(seconds) // 5 :])
    return steady[len(steady) // 10]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--b", nargs="+", required=True, metavar="KEY=VALUE")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds; medians")
    parser.add_argument("--processes", type=int, default=1, help="under torchrun, 1 thread each")
    parser.add_argument("train", nargs="*", default=["--recipe", "wgan-gp", "--data", "grid"])
    args = parser.parse_args()
    extra = dict(setting.split("=", 1) for setting in args.b)
    sides = {"A (as is)": dict(os.environ), "B (" + " ".join(args.b) + ")": {**os.environ, **extra}}
    from gankit.training.hardware import cpu_description, cpu_model

    print(
        f"{cpu_model()}; {cpu_description()}; {args.precision}; gankit train {' '.join(args.train)}"
    )
    print(
        f"{args.processes} process(es); {args.steps} iterations, {args.rounds} alternating "
        "rounds, medians\n"
    )
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(args.rounds):
        for name, env in sides.items():
            seconds = _seconds_per_step(env, args.train, args.precision, args.steps, args.processes)
            times[name].append(seconds)
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, values in times.items():
        rounds = ", ".join(f"{1000 * v:.1f}" for v in values)
        print(f"  {name:<40} {1000 * medians[name]:7.1f} ms/it   rounds: {rounds}")
    a, b = medians.values()
    print(f"\nB / A: {b / a:.2f} (below 1: B is faster)")


if __name__ == "__main__":
    main()
