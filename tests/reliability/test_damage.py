"""Damaged checkpoints, a full disk, and readers of a run that is still training."""

from __future__ import annotations

import errno
import subprocess
import sys
import time

import pytest
import torch

from gankit import runfolder
from gankit.cli import main
from gankit.runfolder import LATEST, PREVIOUS
from gankit.runs import draw_samples, evaluate_run
from gankit.training import checkpoint as ckpt
from gankit.training.checkpoint import CheckpointWarning, load_checkpoint
from gankit.training.launch import resume_run, start_run

SMALL = {
    "data": "ring:modes=4",
    "width": 16,
    "depth": 1,
    "batch_size": 16,
    "log_every": 5,
    "sample_every": 10**6,
    "checkpoint_every": 5,
    "precision": "fp32",
    "device": "cpu",
}


def quiet(*_: object) -> None:
    pass


@pytest.fixture
def run(tmp_path):
    folder = tmp_path / "run"
    start_run(folder, "nsgan", {**SMALL, "steps": 10}, progress=False, log=quiet)
    return folder


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_a_damaged_latest_checkpoint_falls_back_to_the_previous_one(run, damage):
    latest = run / "checkpoints" / LATEST
    data = latest.read_bytes()
    latest.write_bytes(
        {"truncate": data[: len(data) // 2], "garbage": b"x" * 999, "empty": b""}[damage]
    )
    with pytest.warns(
        CheckpointWarning, match=r"cannot load checkpoint .*previous checkpoint \(step 5\)"
    ):
        assert draw_samples(run, 4).shape == (4, 2)
    with pytest.warns(CheckpointWarning):
        resume_run(run, {"steps": 12}, progress=False, log=quiet)
    assert load_checkpoint(latest)["step"] == 12  # resumed from step 5 and rewrote latest


def test_both_checkpoints_damaged_is_a_clear_error(run, capsys):
    for name in (LATEST, PREVIOUS):
        (run / "checkpoints" / name).write_bytes(b"not a checkpoint")
    assert main(["eval", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gankit: error: cannot load checkpoint") and err.count("\n") == 1


def test_a_full_disk_gives_a_clear_error_and_keeps_the_previous_checkpoint(
    run, monkeypatch, capsys
):
    before = (run / "checkpoints" / LATEST).read_bytes()

    def no_space(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ckpt.torch, "save", no_space)
    code = main(["train", "--resume", str(run), "--steps", "15", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert "cannot write checkpoint" in err and "No space left on device" in err
    assert err.splitlines()[-1].startswith("gankit: error:")
    assert (run / "checkpoints" / LATEST).read_bytes() == before
    assert not list((run / "checkpoints").glob(".*.tmp"))


def test_a_read_only_folder_gives_a_clear_error(run, monkeypatch, capsys):
    def read_only(*_args, **_kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    before = {p.name: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    monkeypatch.setattr(runfolder.tempfile, "mkstemp", read_only)
    assert main(["train", "--resume", str(run), "--steps", "15", "--quiet"]) == 2
    resuming, error = capsys.readouterr().err.splitlines()  # no traceback
    assert resuming.startswith("gankit: resuming")
    assert error.startswith("gankit: error: cannot write") and "Read-only file system" in error
    assert {p.name: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


@pytest.mark.slow
def test_sample_and_eval_read_a_run_while_it_trains(tmp_path):
    run = tmp_path / "run"
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in SMALL.items() if k != "checkpoint_every"]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gankit",
            "train",
            "--recipe",
            "nsgan",
            "--out",
            str(run),
            "--steps=100000",
            "--checkpoint-every=1",
            "--time-limit=8",
            "--quiet",
            *flags,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while not (run / "checkpoints" / LATEST).exists():
            assert process.poll() is None, "training ended before its first checkpoint"
            time.sleep(0.05)
        reads = 0
        while process.poll() is None and reads < 30:
            assert draw_samples(run, 8).shape == (8, 2)  # never a half-written checkpoint
            reads += 1
        assert evaluate_run(run, n=50)["n"] == 50
    finally:
        process.kill()
        process.wait()
    assert reads >= 5
    assert torch.isfinite(torch.as_tensor(draw_samples(run, 8))).all()
