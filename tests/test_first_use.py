"""What a new user tripped over: blank and unusable --out paths, a resume that asks for no
more steps, a run stopped before its first periodic checkpoint, a run in use before it has a
checkpoint, and the progress of eval and study all."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import torch

from gankit import losses
from gankit.cli import main
from gankit.errors import GankitError
from gankit.runfolder import RunPaths
from gankit.studies import runner
from gankit.studies._result import Claim, StudyResult
from gankit.training import loop
from gankit.training import step as step_module
from gankit.training.checkpoint import load_checkpoint
from gankit.training.configure import resolve
from gankit.training.launch import resume_run, start_run
from gankit.training.lock import run_lock
from gankit.training.step import TrainingDiverged
from tests.conftest import tensors

SMALL = {
    "data": "ring:modes=4",
    "width": 16,
    "depth": 1,
    "batch_size": 16,
    "log_every": 2,
    "sample_every": 10**6,
    "checkpoint_every": 10,
    "precision": "fp32",
    "device": "cpu",
}
FAST = ["--recipe", "nsgan", "--data", "ring:modes=4", "--width", "16", "--depth", "1"]
FAST += ["--batch-size", "16", "--precision", "fp32", "--log-every", "2", "--quiet"]


def quiet(*_: object) -> None:
    pass


def run_cli(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


def one_line_error(err: str) -> bool:
    return err.startswith("gankit: error: ") and err.count("\n") == 1 and "Traceback" not in err


def hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, by relative path."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A finished 4-step run, read (never changed) by the tests below."""
    folder = tmp_path_factory.mktemp("trained") / "run"
    start_run(folder, "nsgan", {**SMALL, "steps": 4}, progress=False, log=quiet)
    return folder


# --- 1. a blank --out ---------------------------------------------------------------------------


@pytest.mark.parametrize("out", ["", "   "])
def test_a_blank_out_is_refused_before_anything_is_written(capsys, tmp_path, monkeypatch, out):
    monkeypatch.chdir(tmp_path)
    code, err = run_cli(capsys, "train", "--data", "ring", "--out", out, "--steps", "2")
    assert code == 2 and one_line_error(err) and "--out must name a folder" in err, err
    assert list(tmp_path.iterdir()) == []  # nothing in the current folder
    with pytest.raises(GankitError, match="--out must name a folder"):  # the Python API too
        start_run(out, "nsgan", {**SMALL, "steps": 2}, progress=False, log=quiet)
    with pytest.raises(GankitError, match="--resume must name a folder"):
        resume_run(out, {"steps": 3}, progress=False, log=quiet)
    assert list(tmp_path.iterdir()) == []


# --- 2. every --out: missing folders are made, a file in the way is one line -----------------


class FakeStudy:
    """A study that takes no time: one claim that holds, no figures."""

    CLAIM = "a fake claim"

    def __init__(self, name: str) -> None:
        self.NAME = name

    def run(self, out: Path, *, seed: int, quick: bool) -> StudyResult:
        return StudyResult(self.NAME, [Claim("it holds", 1, 1, True)], {"seed": seed})


@pytest.fixture
def fake_studies(monkeypatch):
    import gankit.studies

    studies = {"fake-a": "fake", "fake-b": "fake"}
    monkeypatch.setattr(runner, "STUDIES", studies)
    monkeypatch.setattr(runner, "get_study", FakeStudy)
    monkeypatch.setattr(gankit.studies, "get_study", FakeStudy)
    return studies


def _out_commands(run: Path, out: Path) -> dict[str, tuple[list[str], Path]]:
    """Each command with an --out at ``out``, and the file it writes there."""
    return {
        "sample .npy": (
            ["sample", str(run), "--n", "8", "--out", str(out / "x.npy")],
            out / "x.npy",
        ),
        "sample .png": (
            ["sample", str(run), "--n", "8", "--out", str(out / "x.png")],
            out / "x.png",
        ),
        "compare": (["compare", str(run), str(run), "--out", str(out / "c.html")], out / "c.html"),
        "study": (["study", "fake-a", "--out", str(out / "s")], out / "s" / "summary.md"),
        "study all": (["study", "all", "--out", str(out / "all")], out / "all" / "index.html"),
        "train": (
            ["train", *FAST, "--steps", "2", "--out", str(out / "r")],
            out / "r" / "config.toml",
        ),
    }


COMMANDS_WITH_OUT = ["sample .npy", "sample .png", "compare", "study", "study all", "train"]


@pytest.mark.parametrize("command", COMMANDS_WITH_OUT)
def test_every_out_makes_its_missing_folders(capsys, tmp_path, trained, fake_studies, command):
    argv, written = _out_commands(trained, tmp_path / "missing" / "dir")[command]
    code, err = run_cli(capsys, *argv)
    assert code == 0, err
    assert written.is_file()


@pytest.mark.parametrize("command", COMMANDS_WITH_OUT)
def test_an_out_under_a_file_is_one_line_naming_the_file(
    capsys, tmp_path, trained, fake_studies, command
):
    (tmp_path / "notes.txt").write_text("a file, not a folder\n")
    argv, _ = _out_commands(trained, tmp_path / "notes.txt" / "sub")[command]
    code, err = run_cli(capsys, *argv)
    assert code == 2 and one_line_error(err), err
    assert "notes.txt is a file" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("name", ["x.npy", "x.png"])
def test_a_sample_out_that_is_a_folder_is_one_line(capsys, tmp_path, trained, name):
    (tmp_path / name).mkdir()
    code, err = run_cli(capsys, "sample", str(trained), "--n", "8", "--out", str(tmp_path / name))
    assert code == 2 and one_line_error(err) and "is a folder" in err, err
    assert list((tmp_path / name).iterdir()) == []


def test_the_output_helpers_make_folders_and_refuse_what_is_in_the_way(tmp_path):
    from gankit.runfolder import output_file, output_folder

    assert output_folder(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert (tmp_path / "a" / "b").is_dir()
    assert output_file(tmp_path / "c" / "d" / "x.npy") == tmp_path / "c" / "d" / "x.npy"
    assert (tmp_path / "c" / "d").is_dir() and not (tmp_path / "c" / "d" / "x.npy").exists()
    (tmp_path / "f").write_text("")
    with pytest.raises(GankitError, match=r"cannot create --out .*: .*f is a file"):
        output_folder(tmp_path / "f" / "g")
    with pytest.raises(GankitError, match=r"--out .* exists and is not a folder"):
        output_folder(tmp_path / "f")
    with pytest.raises(GankitError, match=r"--out .* is a folder; expected a file"):
        output_file(tmp_path / "a")
    for blank in ("", " \t"):
        with pytest.raises(GankitError, match="must name a"):
            output_file(blank)


# --- 3. a resume that asks for no more steps ---------------------------------------------------


@pytest.mark.parametrize("steps", [["--steps", "4"], ["--steps", "6"], []])
def test_a_resume_to_no_more_steps_is_refused_and_changes_nothing(capsys, tmp_path, steps):
    run = tmp_path / "run"
    code, err = run_cli(capsys, "train", *FAST, "--steps", "6", "--out", str(run))
    assert code == 0, err
    before = hashes(run)
    code, err = run_cli(capsys, "train", "--resume", str(run), *steps, "--quiet")
    assert code == 2 and one_line_error(err), err
    assert f"{run} is already at step 6" in err and "ask for more steps" in err
    assert hashes(run) == before
    with pytest.raises(GankitError, match="is already at step 6"):  # the Python API too
        resume_run(run, {"steps": 6, "time_limit": 30.0}, progress=False, log=quiet)
    assert hashes(run) == before
    code, err = run_cli(capsys, "train", "--resume", str(run), "--steps", "7", "--quiet")
    assert code == 0 and "done at step 7" in err, err


def test_a_run_until_a_time_limit_resumes_for_more_time(capsys, tmp_path):
    run = tmp_path / "run"
    code, err = run_cli(capsys, "train", *FAST, "--time-limit", "0.3", "--out", str(run))
    assert code == 0 and "time limit reached" in err, err
    first = load_checkpoint(run / "checkpoints" / "latest.pt")["step"]
    code, err = run_cli(capsys, "train", "--resume", str(run), "--time-limit", "0.3", "--quiet")
    assert code == 0 and "time limit reached" in err, err
    assert load_checkpoint(run / "checkpoints" / "latest.pt")["step"] > first


# --- 4. a run stopped before its first periodic checkpoint ------------------------------------


def test_a_run_that_diverges_before_its_first_checkpoint_keeps_step_0(tmp_path, monkeypatch):
    monkeypatch.setattr(losses, "g_loss_nonsaturating", lambda scores: scores.mean() / 0.0)
    config = resolve("nsgan", {**SMALL, "steps": 20})
    with pytest.raises(TrainingDiverged) as stopped:
        loop.train(config, tmp_path, progress=False)
    message = str(stopped.value)
    assert "non-finite at step 0 " in message and "(step 0) is kept" in message
    assert "resume with a smaller --lr" not in message  # a resume cannot change the rate
    assert "start a new run with a smaller --lr" in message
    state = load_checkpoint(tmp_path / "checkpoints" / "latest.pt")  # what it says is on disk
    assert state["step"] == 0
    assert all(torch.isfinite(t).all() for t in state["generator"].values())


def test_a_run_that_crashes_before_its_first_checkpoint_resumes_bit_identically(
    tmp_path, monkeypatch
):
    straight = resolve("nsgan", {**SMALL, "steps": 6})
    loop.train(straight, tmp_path / "a", progress=False)
    real_step = step_module.train_step

    def crashes_at_step_3(run, data, measure):
        if run.step == 3:
            raise RuntimeError("out of memory")
        return real_step(run, data, measure)

    monkeypatch.setattr(loop, "train_step", crashes_at_step_3)
    with pytest.raises(RuntimeError, match="out of memory"):
        start_run(tmp_path / "b", "nsgan", {**SMALL, "steps": 6}, progress=False, log=quiet)
    monkeypatch.setattr(loop, "train_step", real_step)
    result = resume_run(tmp_path / "b", progress=False, log=quiet)  # from the step-0 checkpoint
    assert result.step == 6
    a = load_checkpoint(tmp_path / "a" / "checkpoints" / "latest.pt")
    b = load_checkpoint(tmp_path / "b" / "checkpoints" / "latest.pt")
    for part in ("generator", "critic", "ema", "opt_g", "opt_d", "streams"):
        flat_a, flat_b = tensors(a[part]), tensors(b[part])
        assert len(flat_a) == len(flat_b)
        assert all(torch.equal(x, y) for x, y in zip(flat_a, flat_b, strict=True)), part


# --- 5. a run in use before its first checkpoint ---------------------------------------------


def test_a_resume_of_a_run_in_use_before_its_first_checkpoint_says_in_use(capsys, tmp_path):
    run = tmp_path / "run"
    start_run(run, "nsgan", {**SMALL, "steps": 2}, progress=False, log=quiet)
    for path in (run / "checkpoints").iterdir():  # as the folder is before its first checkpoint
        path.unlink()
    before = hashes(run)
    with run_lock(RunPaths(run)):
        RunPaths(run).lock.write_text(str(os.getppid()))  # held by another live process
        with pytest.raises(GankitError, match=r"is in use by another gankit process \(pid"):
            resume_run(run, {"steps": 4}, progress=False, log=quiet)
        code, err = run_cli(capsys, "train", "--resume", str(run), "--steps", "4", "--quiet")
        assert code == 2 and one_line_error(err) and "is in use by another gankit process" in err
    assert hashes(run) == before
    # Once the lock is free, the folder without a checkpoint is what the error says.
    with pytest.raises(GankitError, match="is not a gankit run folder"):
        resume_run(run, {"steps": 4}, progress=False, log=quiet)


# --- 6. progress bars for eval and study all -------------------------------------------------


def test_the_evaluation_classifier_shows_its_training_unless_quiet(capsys, tmp_path, monkeypatch):
    from gankit.data import make_data
    from gankit.metrics import classifier

    monkeypatch.setattr(classifier, "EPOCHS", 2)
    digits = make_data("digits")
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "quiet"))
    classifier.load_classifier(digits, log=quiet, progress=False)
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "shown"))
    classifier.load_classifier(digits, log=quiet, progress=True)
    batches = 2 * -(-(len(digits.images) - len(digits.images) // 10) // classifier.BATCH)
    err = capsys.readouterr().err
    assert "classifier" in err and f"{batches}/{batches}" in err, err
    classifier.load_classifier(digits, log=quiet, progress=True)  # cached: nothing to show
    assert capsys.readouterr().err == ""


def test_study_all_ticks_once_per_study_unless_quiet(capsys, tmp_path, fake_studies):
    runner.run_all(tmp_path / "q", quick=True, log=quiet, progress=False)
    assert capsys.readouterr().err == ""
    runner.run_all(tmp_path / "s", quick=True, log=quiet, progress=True)
    err = capsys.readouterr().err
    assert "studies" in err and "2/2" in err, err


def test_eval_and_study_take_quiet_and_pass_it_down(capsys, tmp_path, trained, monkeypatch):
    import gankit.runs

    seen: list[tuple[str, bool]] = []

    def evaluate_run(run_dir, n, seed, *, log, features, progress):
        seen.append(("eval", progress))
        return {"n": n}

    def run_all(out, *, seed, quick, log, progress):
        seen.append(("study all", progress))
        return []

    monkeypatch.setattr(gankit.runs, "evaluate_run", evaluate_run)
    monkeypatch.setattr(runner, "run_all", run_all)
    for quiet_flag in ([], ["--quiet"]):
        assert main(["eval", str(trained), *quiet_flag]) == 0
        assert main(["study", "all", "--out", str(tmp_path), *quiet_flag]) == 0
    capsys.readouterr()
    assert seen == [("eval", True), ("study all", True), ("eval", False), ("study all", False)]


def test_evaluate_images_passes_progress_to_the_classifier(capsys, tmp_path, monkeypatch):
    from gankit.data import make_data
    from gankit.metrics import classifier, evaluate_images

    monkeypatch.setattr(classifier, "EPOCHS", 1)
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path))
    digits = make_data("digits")
    evaluate_images(digits.images[:64], digits, log=quiet, progress=False)
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "again"))
    evaluate_images(digits.images[:64], digits, log=quiet, progress=True)
    assert "classifier" in capsys.readouterr().err
