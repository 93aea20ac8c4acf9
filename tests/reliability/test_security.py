"""Nothing is executed from a file: checkpoints load with ``weights_only=True``."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gankit.cli import main
from gankit.training.checkpoint import load_checkpoint
from gankit.training.launch import start_run


def test_checkpoints_refuse_pickled_code(tmp_path):
    class Payload:
        def __reduce__(self):
            return (Path.write_text, (tmp_path / "pwned", "x"))

    path = tmp_path / "evil.pt"
    torch.save({"step": 1, "x": Payload()}, path)
    with pytest.raises(ValueError, match="cannot load checkpoint"):
        load_checkpoint(path)
    assert not (tmp_path / "pwned").exists()


def test_a_run_whose_checkpoint_carries_code_is_refused_by_every_command(tmp_path, capsys):
    class Payload:
        def __reduce__(self):
            return (Path.write_text, (tmp_path / "pwned", "x"))

    run = tmp_path / "run"
    flags = {
        "data": "ring:modes=4",
        "width": 8,
        "depth": 1,
        "batch_size": 8,
        "steps": 2,
        "precision": "fp32",
        "device": "cpu",
        "sample_every": 10**6,
    }
    start_run(run, "nsgan", flags, progress=False, log=lambda *_: None)
    for name in ("latest.pt", "previous.pt"):
        torch.save({"step": 2, "generator": Payload()}, run / "checkpoints" / name)
    for argv in (
        ["eval", str(run)],
        ["sample", str(run), "--out", str(tmp_path / "s.npy")],
        ["train", "--resume", str(run), "--steps", "4", "--quiet"],
    ):
        assert main(argv) == 2
        assert "cannot load checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "pwned").exists()
