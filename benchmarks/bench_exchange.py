"""Where each process's time goes in data-parallel training: the exchange of gradients, timed
inside every rank.

    python benchmarks/bench_exchange.py --steps 200

Runs the reference configuration of ``bench_distributed.py`` (``gankit train --recipe wgan-gp
--data grid``: 3x512 MLPs, global batch 256, 5 critic steps) under ``torchrun`` with one
thread a process. Each process runs this file again as a worker, which wraps a timer around
the training step, the shared-memory sum of the gradients (``SharedSum.sum_``), the wait for
the peers inside it, and the stop vote, then calls ``gankit``'s own command line. Per rank it
prints the median milliseconds per generator iteration past the first fifth of the steps:

- step: the whole training step (the critic's and the generator's);
- exchange: in ``sum_`` (six sums an iteration: five critic steps and one generator step);
- of it waiting: for the slowest peer to write its row (the ranks' jitter);
- of it copying and adding: the rest of ``sum_``;
- compute: step minus exchange;
- vote: the stop vote between two steps, outside them.

A worker is started as ``bench_exchange.py --worker REPORT_FOLDER -- TRAIN_ARGS...``. Prints;
asserts nothing.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TRAIN = ["train", "--recipe", "wgan-gp", "--data", "grid", "--quiet", "--log-every", "10"]
PARTS = ("step", "sum", "wait", "vote")


def _worker(report: Path, argv: list[str]) -> int:
    """Run ``gankit argv`` with timers around the parts, then write ``rankN.json`` to
    ``report``: for every step, the seconds each part took in it."""
    import gankit.training.loop as loop
    from gankit.cli import main
    from gankit.training import _shared_sum, distributed

    totals = dict.fromkeys(PARTS, 0.0)
    per_step: list[dict[str, float]] = []

    def timed(owner: Any, name: str, part: str) -> None:
        original: Callable[..., Any] = getattr(owner, name)

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                totals[part] += time.perf_counter() - started

        setattr(owner, name, wrapper)

    timed(_shared_sum.SharedSum, "sum_", "sum")
    timed(_shared_sum.SharedSum, "_wait", "wait")
    timed(distributed.StopVote, "after_step", "vote")
    step = loop.train_step

    mark = dict(totals)  # the totals at the end of the step before

    @functools.wraps(step)
    def step_and_record(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return step(*args, **kwargs)
        finally:
            totals["step"] += time.perf_counter() - started
            # since the end of the step before: this step, and the vote that followed that one
            per_step.append({part: totals[part] - mark[part] for part in PARTS})
            mark.update(totals)

    loop.train_step = step_and_record  # the loop looks it up in its module at each step
    code = main(argv)
    rank = int(os.environ.get("RANK", "0"))
    (report / f"rank{rank}.json").write_text(json.dumps(per_step))
    return code


def _run(processes: int, steps: int, precision: str, seed: int) -> list[list[dict[str, float]]]:
    """Each rank's per-step timings of one run under torchrun."""
    with tempfile.TemporaryDirectory() as folder:
        report, run = Path(folder), Path(folder, "run")
        args = [*TRAIN, "--out", str(run), "--steps", str(steps), "--seed", str(seed)]
        args += ["--precision", precision, "--device", "cpu", "--sample-every", str(10**6)]
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        command += [f"--nproc_per_node={processes}", __file__, "--worker", str(report), "--"]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        subprocess.run([*command, *args], check=True, capture_output=True, env=env)
        return [json.loads((report / f"rank{r}.json").read_text()) for r in range(processes)]


def _median_ms(steps: list[dict[str, float]], value: Callable[[dict[str, float]], float]) -> float:
    steady = steps[len(steps) // 5 :]
    return 1000 * statistics.median(value(step) for step in steady)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        sys.exit(_worker(Path(sys.argv[2]), sys.argv[4:]))  # argv[3] is "--"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    import torch

    from gankit.training.hardware import cpu_description, cpu_model

    print(
        f"{cpu_model()}; {os.cpu_count()} cores seen; torch {torch.__version__}; "
        f"{cpu_description()}; {args.precision}; {args.processes} processes x 1 thread, "
        f"{args.steps} iterations; median ms per iteration past the first fifth\n"
    )
    ranks = _run(args.processes, args.steps, args.precision, args.seed)
    columns = {
        "step": lambda s: s["step"],
        "exchange": lambda s: s["sum"],
        "of it waiting": lambda s: s["wait"],
        "copying, adding": lambda s: s["sum"] - s["wait"],
        "compute": lambda s: s["step"] - s["sum"],
        "vote": lambda s: s["vote"],
    }
    print(f"{'rank':<6}" + "".join(f"{name:>17}" for name in columns))
    for rank, steps in enumerate(ranks):
        cells = "".join(f"{_median_ms(steps, value):>17.2f}" for value in columns.values())
        print(f"{rank:<6}{cells}")


if __name__ == "__main__":
    main()
