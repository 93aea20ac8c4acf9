"""The training engine: every recipe runs, a short run learns, exact resume, the NaN stop,
signals and time limits, run folders, and no side effect on the caller's random state."""

from __future__ import annotations

import json
import os
import signal
import socket
from pathlib import Path

import pytest
import torch

from gankit import losses
from gankit.errors import GankitError
from gankit.report.figures import write_snapshot
from gankit.runfolder import read_toml
from gankit.runs import draw_samples, evaluate_run, load_run
from gankit.training import loop
from gankit.training import step as step_module
from gankit.training.checkpoint import load_checkpoint
from gankit.training.config import FORMAT, TrainConfig
from gankit.training.configure import resolve
from gankit.training.hardware import resolve_hardware
from gankit.training.launch import resume_run, start_run
from gankit.training.recipes import RECIPES
from gankit.training.state import STREAMS, new_run
from gankit.training.step import TrainingDiverged, critic_steps, generator_step
from tests.conftest import straight_and_resumed

SMALL = {
    "width": 32,
    "depth": 2,
    "batch_size": 32,
    "log_every": 5,
    "sample_every": 1000,
    "checkpoint_every": 5,
    "precision": "fp32",
    "device": "cpu",
}


def quiet(*_: object) -> None:
    pass


# --- training --------------------------------------------------------------------------------


def _config(recipe: str, **values) -> TrainConfig:  # small, fast, fp32 on the CPU
    return resolve(recipe, {**SMALL, **values})


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_every_recipe_runs_and_logs(tmp_path, recipe):
    config = _config(recipe, steps=10, data="ring:modes=4")
    result = loop.train(config, tmp_path, progress=False, figures=write_snapshot)
    assert (result.step, result.status) == (10, "completed")
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [5, 10]
    keys = {"d_loss", "g_loss", "grad_norm_d", "grad_norm_g", "penalty", "sec_per_step"}
    assert keys <= set(records[-1])
    critic_keys = {
        "minimax": {"d_real", "d_fake"},
        "wasserstein": {"w_estimate"},
        "hinge": {"w_estimate"},
        "least_squares": {"score_real", "score_fake"},
        "fgan": {"f_estimate"},
        "relativistic": {"pair_margin"},
    }[RECIPES[recipe].objective]
    assert critic_keys <= set(records[-1])
    assert (tmp_path / "samples" / "step_0000010.png").is_file()


def test_tensorboard_scalars_are_written_when_installed(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    loop.train(_config("nsgan", steps=10, data="ring:modes=4"), tmp_path, progress=False)
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert [e.step for e in events.Scalars("g_loss")] == [5, 10]
    logged = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert events.Scalars("g_loss")[-1].value == pytest.approx(logged[-1]["g_loss"], rel=1e-6)


def test_weight_clipping_keeps_the_critic_in_the_box(tmp_path):
    loop.train(_config("wgan", steps=3, clip=0.01, lr_d=0.1), tmp_path, progress=False)
    state = load_checkpoint(tmp_path / "checkpoints" / "latest.pt")
    assert max(t.abs().max().item() for t in state["critic"].values()) <= 0.01


@pytest.mark.slow
def test_short_seeded_run_covers_an_easy_ring(tmp_path):
    # 4 well separated modes, small nets. Measured (seeds 0, 1, 2): 4/4 modes each, high-quality
    # fractions 0.93, 0.61, 0.91; this test runs seed 0.
    config = _config(
        "wgan-gp",
        steps=600,
        data="ring:modes=4,radius=2,std=0.1",
        width=128,
        depth=3,
        batch_size=128,
        lr_g=1e-3,
        lr_d=1e-3,
        log_every=100,
        checkpoint_every=600,
    )
    loop.train(config, tmp_path, progress=False)
    result = evaluate_run(tmp_path, n=1000)
    assert result["modes_covered"] == 4
    assert result["high_quality_fraction"] > 0.5


@pytest.mark.parametrize("recipe", ["nsgan", "wgan-gp"])
def test_resume_is_bit_identical(tmp_path, recipe):
    straight = _config(recipe, steps=12, ema_decay=0.9, data="ring:modes=4")
    half = _config(recipe, steps=6, ema_decay=0.9, data="ring:modes=4")
    a, b = straight_and_resumed(straight, half, tmp_path)
    assert a["step"] == b["step"] == 12
    for part in ("generator", "critic", "ema"):
        for key, value in a[part].items():
            assert torch.equal(value, b[part][key]), (part, key)
    for name in STREAMS:
        assert torch.equal(a["streams"][name], b["streams"][name])
    logged_a = _losses_by_step(tmp_path / "a" / "metrics.jsonl")
    logged_b = _losses_by_step(tmp_path / "b" / "metrics.jsonl")
    assert list(logged_a) == [5, 10, 12] and list(logged_b) == [5, 6, 10, 12]  # 6: b's end
    assert all(logged_a[step] == logged_b[step] for step in logged_a)


def test_lazy_r1_is_due_every_kth_step_with_k_times_the_weight():
    from gankit.data import make_data

    def penalty_at(r1_every: int, step: int) -> float:
        config = _config("gankit", steps=8, data="ring:modes=4", r1_every=r1_every)
        run = new_run(config, resolve_hardware("cpu", "fp32"))
        run.step = step
        return critic_steps(run, make_data(config.data), 1, False)["penalty"].item()

    every = penalty_at(1, 0)
    assert every > 0
    assert penalty_at(4, 0) == pytest.approx(4 * every, rel=1e-6)  # same seed, same batch
    assert penalty_at(4, 8) > 0 and penalty_at(4, 1) == penalty_at(4, 7) == 0.0
    with pytest.raises(GankitError, match="r1_every must be >= 1"):
        resolve("gankit", flag_values={"r1_every": 0})


def test_the_penalty_takes_r1_with_or_without_the_steps_own_scores():
    from gankit.training import objectives

    config = _config("gankit", data="ring:modes=4", r1_every=2)
    critic = new_run(config, resolve_hardware("cpu", "fp32")).critic
    real, fake = torch.randn(16, 2).requires_grad_(True), torch.randn(16, 2)
    own = objectives.penalty(config, critic, real, fake, torch.Generator())
    scores = critic(real)
    reused = objectives.penalty(config, critic, real, fake, torch.Generator(), real_scores=scores)
    assert own.item() > 0 and torch.allclose(own, reused, rtol=1e-6, atol=0)
    off = objectives.penalty(config, critic, real, fake, torch.Generator(), r1_now=False)
    assert off.item() == 0.0


def test_a_run_folder_of_format_1_resumes_samples_and_evaluates_as_its_run_did(tmp_path):
    start_run(tmp_path, None, {**SMALL, "data": "digits", "steps": 2}, progress=False, log=quiet)
    toml = tmp_path / "config.toml"
    assert read_toml(toml)["r1_every"] == 16  # the image default's lazy R1
    # Rewrite the folder as gankit wrote it before config_format and r1_every existed.
    lines = toml.read_text().splitlines()
    old = [line for line in lines if not line.startswith(("r1_every", "config_format"))]
    toml.write_text("\n".join(old) + "\n")
    latest = tmp_path / "checkpoints" / "latest.pt"
    state = load_checkpoint(latest)
    del state["config"]["r1_every"], state["config"]["config_format"]
    torch.save(state, latest)
    assert load_run(tmp_path)[0].r1_every == 1  # sampling and eval read the checkpoint's config
    resume_run(tmp_path, {"steps": 3}, progress=False, log=quiet)
    saved = read_toml(toml)
    assert saved["r1_every"] == 1 and saved["config_format"] == FORMAT  # what runs did before


def _losses_by_step(path: Path) -> dict[int, tuple[float, float]]:
    records = [json.loads(line) for line in path.read_text().splitlines()]
    return {r["step"]: (r["d_loss"], r["g_loss"]) for r in records}


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    real_loss = losses.g_loss_nonsaturating
    calls = {"n": 0}

    def breaks_at_step_8(scores):
        calls["n"] += 1
        value = real_loss(scores)
        return value * float("nan") if calls["n"] >= 8 else value

    monkeypatch.setattr(losses, "g_loss_nonsaturating", breaks_at_step_8)
    config = _config("nsgan", steps=20, log_every=1, checkpoint_every=5)
    with pytest.raises(TrainingDiverged, match=r"non-finite at step 7 .*step 5\) is kept"):
        loop.train(config, tmp_path, progress=False)
    state = load_checkpoint(tmp_path / "checkpoints" / "latest.pt")
    assert state["step"] == 5
    assert all(torch.isfinite(t).all() for t in state["generator"].values())
    monkeypatch.setattr(losses, "g_loss_nonsaturating", real_loss)
    result = loop.train(
        _config("nsgan", steps=10, log_every=1, lr_g=1e-5), tmp_path, resume=True, progress=False
    )
    assert result.step == 10


def test_sigterm_writes_a_checkpoint_and_stops(tmp_path, monkeypatch):
    real_step = generator_step

    def step_then_signal(run, measure, **pairs):
        out = real_step(run, measure, **pairs)
        if run.step == 6:  # the 7th generator step
            os.kill(os.getpid(), signal.SIGTERM)
        return out

    monkeypatch.setattr(step_module, "generator_step", step_then_signal)
    result = loop.train(_config("nsgan", steps=50, checkpoint_every=100), tmp_path, progress=False)
    assert (result.status, result.step) == ("interrupted", 7)
    assert load_checkpoint(tmp_path / "checkpoints" / "latest.pt")["step"] == 7


def test_time_limit_stops_with_a_checkpoint(tmp_path):
    config = _config("nsgan", steps=10**6, time_limit=0.5, checkpoint_every=10**6)
    result = loop.train(config, tmp_path, progress=False)
    assert result.status == "time_limit" and 0 < result.step < 10**6
    assert load_checkpoint(tmp_path / "checkpoints" / "latest.pt")["step"] == result.step


def test_run_folder_sample_and_eval(tmp_path):
    run = tmp_path / "run"
    start_run(
        run, "nsgan", {**SMALL, "steps": 10, "data": "grid:side=3"}, progress=False, log=quiet
    )
    toml = (run / "config.toml").read_text()
    assert 'data = "grid:side=3,spacing=2.0,std=0.05"' in toml  # the canonical spec is recorded
    assert 'precision = "fp32"' in toml
    samples = draw_samples(run, 50, seed=1)
    assert samples.shape == (50, 2)
    assert (draw_samples(run, 50, seed=1) == samples).all()
    result = evaluate_run(run, n=200)
    for key, kind in (
        ("modes_total", int),
        ("modes_covered", int),
        ("high_quality_fraction", float),
        ("reverse_kl_modes", float),
        ("w1", float),
        ("sliced_w1", float),
        ("n", int),
    ):
        assert isinstance(result[key], kind), key
    assert result["modes_total"] == 9 and result["n"] == 200
    assert json.loads((run / "eval.json").read_text())["w1"] == result["w1"]
    with (run / "metrics.jsonl").open("a") as handle:
        handle.write('{"step": 99, "d_lo')  # a line cut short by a killed process
    resume_run(run, {"steps": 15}, progress=False, log=quiet)
    assert load_checkpoint(run / "checkpoints" / "latest.pt")["step"] == 15
    logged = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert logged == [5, 10, 15]
    with pytest.raises(ValueError, match="cannot change seed when resuming"):
        resume_run(run, {"steps": 20, "seed": 3}, progress=False, log=quiet)


def test_auto_precision_follows_the_hardware():
    from gankit.training.hardware import cpu_has_native_bf16

    chosen = resolve_hardware("cpu", "auto")
    assert chosen.precision == ("bf16" if cpu_has_native_bf16() else "fp32")
    assert resolve_hardware("cpu", "fp32").precision == "fp32"
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            resolve_hardware("cuda", "auto")


def test_one_dimensional_data_trains_plots_and_evaluates(tmp_path):
    run = tmp_path / "run"
    flags = {**SMALL, "steps": 6, "data": "gmm1d", "keep_every": 3, "sample_every": 3}
    start_run(run, "wgan-gp", None, flags, progress=False, log=quiet, figures=write_snapshot)
    assert sorted(p.name for p in (run / "samples").iterdir()) == [
        "step_0000003.png",
        "step_0000006.png",
    ]
    kept = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert kept == ["latest.pt", "previous.pt", "step_0000003.pt", "step_0000006.pt"]
    assert draw_samples(run, 10).shape == (10, 1)
    result = evaluate_run(run, n=100)
    assert result["modes_total"] == 2 and result["w1"] > 0


def test_a_run_folder_in_use_is_refused(tmp_path):
    import subprocess
    import sys

    from gankit.runfolder import RunPaths
    from gankit.training.lock import run_lock

    run = tmp_path / "run"
    lock = RunPaths(run).lock
    with run_lock(RunPaths(run)):
        assert lock.read_text() == f"{os.getpid()} {socket.gethostname()}"
        # Another live process holds it: a second writer refuses and writes nothing.
        lock.write_text(str(os.getppid()))
        with pytest.raises(ValueError, match=r"is in use by another gankit process \(pid"):
            start_run(run, "nsgan", {**SMALL, "steps": 2}, progress=False, log=quiet)
        assert not (run / "config.toml").exists()
    assert not lock.exists()
    # A lock left by a process that is gone (kill -9) is taken over.
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    lock.write_text(dead.stdout.strip())
    start_run(run, "nsgan", {**SMALL, "steps": 2}, progress=False, log=quiet)
    assert (run / "config.toml").is_file() and not lock.exists()


def test_a_lock_of_another_machine_is_refused_even_when_its_pid_is_free_here(tmp_path):
    # A run folder on a shared file system: the pid of another host says nothing about this
    # one, so the lock is neither taken over nor ignored; the message says what to delete.
    import subprocess
    import sys

    from gankit.runfolder import RunPaths

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    run = tmp_path / "run"
    run.mkdir()
    lock = RunPaths(run).lock
    lock.write_text(f"{dead.stdout.strip()} {socket.gethostname()}-elsewhere")
    with pytest.raises(
        GankitError,
        match=r"in use by another gankit process \(pid \d+ on .*-elsewhere\); "
        r"if that process is gone, delete .*\.lock$",
    ):
        start_run(run, "nsgan", {**SMALL, "steps": 2}, progress=False, log=quiet)
    assert not (run / "config.toml").exists() and lock.exists()
    # The same pid on this host is gone: its lock is stale and taken over.
    lock.write_text(f"{dead.stdout.strip()} {socket.gethostname()}")
    start_run(run, "nsgan", {**SMALL, "steps": 2}, progress=False, log=quiet)
    assert (run / "config.toml").is_file() and not lock.exists()


@pytest.mark.parametrize(
    ("amx", "avx512_bf16", "expected"),
    [(False, False, "fp32"), (True, False, "bf16"), (False, True, "bf16"), (True, True, "bf16")],
)
def test_auto_precision_with_the_capability_probes_replaced(
    monkeypatch, amx, avx512_bf16, expected
):
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    chosen = resolve_hardware("cpu", "auto")
    assert chosen.precision == expected and chosen.reason.startswith("auto:")
    forced = resolve_hardware("cpu", "bf16")
    assert forced.precision == "bf16"
    assert ("about 30x slower" in forced.reason) == (expected == "fp32")


def test_training_leaves_the_callers_random_state_alone(tmp_path):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    run = new_run(_config("gankit", data="ring:modes=4"), resolve_hardware("cpu", "fp32"))
    loop.train(_config("nsgan", steps=4, data="ring:modes=4"), tmp_path, progress=False)
    assert torch.equal(torch.get_rng_state(), before)
    # ... and the weights still come from the seed: the same run twice has the same weights
    again = new_run(_config("gankit", data="ring:modes=4"), resolve_hardware("cpu", "fp32"))
    for a, b in zip(run.generator.parameters(), again.generator.parameters(), strict=True):
        assert torch.equal(a, b)


def test_a_diverged_run_still_flushes_its_tensorboard_events(tmp_path, monkeypatch):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    real_loss = losses.g_loss_nonsaturating
    calls = {"n": 0}

    def breaks_late(scores):
        calls["n"] += 1
        return real_loss(scores) * (float("nan") if calls["n"] > 6 else 1.0)

    monkeypatch.setattr(losses, "g_loss_nonsaturating", breaks_late)
    with pytest.raises(TrainingDiverged):
        loop.train(_config("nsgan", steps=20, log_every=2), tmp_path, progress=False)
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert [e.step for e in events.Scalars("g_loss")] == [2, 4, 6]


def test_train_step_counts_the_critic_schedule_and_stops_on_a_non_finite_loss(monkeypatch):
    from gankit.data import make_data

    config = _config("wgan", data="ring:modes=4", critic_warmup=True)
    run = new_run(config, resolve_hardware("cpu", "fp32"))
    calls: list[int] = []
    real_critic_steps = step_module.critic_steps

    def counted(run, data, n_steps, measure):
        calls.append(n_steps)
        return real_critic_steps(run, data, n_steps, measure)

    monkeypatch.setattr(step_module, "critic_steps", counted)
    dataset = make_data(config.data)
    step_module.train_step(run, dataset, measure=False)
    assert calls == [100] and run.step == 1  # the original WGAN code's first 25 iterations
    monkeypatch.setattr(losses, "g_loss_wasserstein", lambda scores: scores.mean() * float("inf"))
    step_module.train_step(run, dataset, measure=False)  # noticed, not yet checked: no sync
    with pytest.raises(TrainingDiverged, match="non-finite at step 1 "):
        step_module.train_step(run, dataset, measure=True)
