"""Kill -9 at seeded moments: every resumed run ends bit-identical to an uninterrupted one."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import torch

from gankit.runfolder import LATEST, RunPaths
from gankit.training import loop
from gankit.training.checkpoint import CheckpointWarning, load_checkpoint, load_latest
from gankit.training.configure import resolve
from tests.conftest import tensors

STEPS = 1500  # long enough that no kill below comes after the end
FLAGS = {
    "data": "ring:modes=4",
    "seed": 0,
    "width": 16,
    "depth": 1,
    "batch_size": 16,
    "checkpoint_every": 1,
    "log_every": 50,
    "sample_every": 10**6,
    "precision": "fp32",
    "device": "cpu",
}


def _argv(out: Path, *, resume: bool) -> list[str]:
    base = [sys.executable, "-m", "gankit", "train", "--quiet"]
    if resume:
        return base + ["--resume", str(out)]
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in FLAGS.items()]
    return base + ["--recipe", "nsgan", "--out", str(out), f"--steps={STEPS}", *flags]


def _kill_during_training(argv: list[str], folder: Path, delay: float) -> None:
    """Start ``argv``, wait until it writes a checkpoint of its own, then SIGKILL it after
    ``delay`` seconds (checkpoints are written every step, so kills land in writes too)."""
    latest = folder / "checkpoints" / LATEST
    before = latest.stat().st_mtime_ns if latest.exists() else None
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    while process.poll() is None and (not latest.exists() or latest.stat().st_mtime_ns == before):
        if time.monotonic() - started > 60:
            process.kill()
            pytest.fail("training never wrote a checkpoint")
        time.sleep(0.01)
    time.sleep(delay)
    assert process.poll() is None, "the run ended before its kill: raise STEPS"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


@pytest.mark.slow
def test_kill_nine_at_ten_moments_then_resume_is_bit_identical(tmp_path):
    reference = tmp_path / "reference"
    loop.train(resolve("nsgan", {**FLAGS, "steps": STEPS}), reference, progress=False)
    expected = load_checkpoint(reference / "checkpoints" / LATEST)

    run = tmp_path / "run"
    moments = random.Random(0).sample([i / 100 for i in range(30)], 10)  # seconds into training
    steps_at_kill = []
    for index, delay in enumerate(moments):
        _kill_during_training(_argv(run, resume=index > 0), run, delay)
        with warnings.catch_warnings():
            # Killed between the two renames, latest may be missing: previous is then used.
            warnings.simplefilter("ignore", CheckpointWarning)
            state = load_latest(RunPaths(run))  # never half-written: this always loads
        if (run / "checkpoints" / LATEST).exists():
            load_checkpoint(run / "checkpoints" / LATEST)
        steps_at_kill.append(state["step"])
    assert len(set(steps_at_kill)) > 1, steps_at_kill  # the kills landed at different steps
    done = subprocess.run(_argv(run, resume=True), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    final = load_checkpoint(run / "checkpoints" / LATEST)
    assert final["step"] == expected["step"] == STEPS
    for part in ("generator", "critic", "opt_g", "opt_d"):
        flat_a, flat_b = tensors(expected[part]), tensors(final[part])
        assert len(flat_a) == len(flat_b)
        assert all(torch.equal(a, b) for a, b in zip(flat_a, flat_b, strict=True)), part
    assert not list((run / "checkpoints").glob(".*.tmp"))  # leftovers were cleaned on resume
