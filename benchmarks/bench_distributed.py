"""Generator iterations per second of ``gankit train`` in 1 and 2 processes, and per core.

    python benchmarks/bench_distributed.py --steps 60 --repeats 3

The reference configuration: ``gankit train --recipe wgan-gp --data grid`` (3x512 ReLU MLPs,
global batch 256, 5 critic steps, lambda 0.1). Three ways of using the cores, each in its own
processes, in alternating rounds:

- 1 process, 1 thread (1 core);
- 1 process, N threads (N cores);
- N processes of 1 thread under ``torchrun`` (N cores), each with batch 256 / N;
- N separate single-thread runs at once, each with batch 256 / N and no exchange between
  them: the ceiling of the row above, what N processes would reach if summing their
  gradients cost nothing (the slower run's speed).

Speed is the median ``sec_per_step`` of rank 0's ``metrics.jsonl`` past the first fifth
(start-up and warm-up left out), then the median over rounds; the per-core efficiency is the
speed-up over 1 process x 1 thread divided by the cores used (100 %: linear). Prints; asserts
nothing.
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

TRAIN = ["train", "--recipe", "wgan-gp", "--data", "grid", "--quiet", "--log-every", "10"]
BATCH = 256  # the recipe's global batch


def _arguments(run: Path, steps: int, precision: str, seed: int) -> list[str]:
    args = [*TRAIN, "--out", str(run), "--steps", str(steps), "--seed", str(seed)]
    return args + ["--precision", precision, "--device", "cpu", "--sample-every", str(10**6)]


def _steady_speed(run: Path) -> float:
    """Iterations per second: 1 / the median logged ``sec_per_step`` past the first fifth."""
    records = [json.loads(line) for line in (run / "metrics.jsonl").open()]
    seconds = [r["sec_per_step"] for r in records]
    return 1.0 / statistics.median(seconds[len(seconds) // 5 :])


def _iterations_per_second(
    processes: int, threads: int, steps: int, precision: str, seed: int
) -> float:
    """Steady generator iterations per second of one ``gankit train`` run."""
    with tempfile.TemporaryDirectory() as folder:
        run = Path(folder, "run")
        args = _arguments(run, steps, precision, seed)
        if processes == 1:
            command = [sys.executable, "-m", "gankit", *args]
        else:
            command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
            command += [f"--nproc_per_node={processes}", "-m", "gankit", *args]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        subprocess.run(command, check=True, capture_output=True, env=env)
        return _steady_speed(run)


def _separate_runs(processes: int, steps: int, precision: str, seed: int) -> float:
    """Steady iterations per second of the slower of ``processes`` single-thread runs started
    together, each on batch 256 / processes, that exchange nothing."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as folder:
        runs = [Path(folder, f"run{index}") for index in range(processes)]
        with Path(folder, "log").open("w+") as log:
            children = []
            for index, run in enumerate(runs):
                args = _arguments(run, steps, precision, seed + index)
                args += ["--batch-size", str(BATCH // processes)]
                command = [sys.executable, "-m", "gankit", *args]
                children.append(subprocess.Popen(command, env=env, stdout=log, stderr=log))
            if any([child.wait() != 0 for child in children]):  # every one waited for
                log.seek(0)
                raise SystemExit(f"a separate run failed:\n{log.read()}")
        return min(_steady_speed(run) for run in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3, help="alternating rounds; medians")
    parser.add_argument("--processes", type=int, default=2, help="N, also the cores used")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    import torch

    from gankit.training.hardware import cpu_description, cpu_model

    n = args.processes
    model = cpu_model()
    print(
        f"{model}; {os.cpu_count()} cores seen; torch {torch.__version__}; {cpu_description()}; "
        f"{args.precision}; {args.steps} iterations, {args.repeats} alternating rounds, medians\n"
    )
    separate = f"{n} runs, no exchange (ceiling)"
    setups = {  # name: (processes, threads per process)
        "1 process, 1 thread": (1, 1),
        f"1 process, {n} threads": (1, n),
        f"{n} processes, 1 thread each": (n, 1),
        separate: (n, 1),
    }
    speeds: dict[str, list[float]] = {name: [] for name in setups}
    for _ in range(args.repeats):  # alternate, so drifts in machine speed hit every setup
        for name, (processes, threads) in setups.items():
            if name == separate:
                speed = _separate_runs(processes, args.steps, args.precision, args.seed)
            else:
                speed = _iterations_per_second(
                    processes, threads, args.steps, args.precision, args.seed
                )
            speeds[name].append(speed)
    base = statistics.median(speeds["1 process, 1 thread"])
    header = f"{'setup':<32}{'cores':>6}{'it/s':>9}{'it/s per core':>15}{'vs 1 core':>11}"
    print(header + f"{'per-core efficiency':>21}")
    for name, (processes, threads) in setups.items():
        cores = processes * threads
        speed = statistics.median(speeds[name])
        row = f"{name:<32}{cores:>6}{speed:>9.2f}{speed / cores:>15.2f}{speed / base:>10.2f}x"
        print(row + f"{speed / base / cores:>20.0%}")  # speed-up / cores: 100 % is linear
    exchanged = statistics.median(speeds[f"{n} processes, 1 thread each"])
    ceiling = statistics.median(speeds[separate])
    print(f"\n{n} processes reach {exchanged / ceiling:.0%} of the no-exchange ceiling.")


if __name__ == "__main__":
    main()
