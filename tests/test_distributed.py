"""Several processes on the CPU (gloo): one data-parallel step equals one process on the global
batch for every recipe, penalties included; every process stops after the same step (signal,
time limit, non-finite loss); checkpoints move between 1 and 2 processes; a failing process
ends the whole job.

The 2-process checks run once, in two spawned processes (:func:`_worker`), and the tests
read what they wrote; the command line is tested through ``torchrun``, on one node and on two.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import torch

from gankit.data import make_data
from gankit.training import distributed, loop, step
from gankit.training.checkpoint import load_checkpoint
from gankit.training.configure import resolve
from gankit.training.distributed import Dist, Shard
from gankit.training.hardware import resolve_hardware
from gankit.training.launch import resume_run
from gankit.training.recipes import RECIPES
from gankit.training.state import RunState, new_run, parallelize, restore_run, state_dict
from gankit.training.step import TrainingDiverged, critic_steps
from tests.conftest import tensors

WORLD = 2
TINY = {
    "data": "ring:modes=4",
    "seed": 0,
    "width": 16,
    "depth": 2,
    "batch_size": 16,  # the global batch: 8 per process
    "log_every": 2,
    "sample_every": 10**6,
    "checkpoint_every": 3,
    "precision": "fp32",
    "device": "cpu",
}


def _config(recipe: str, **values: Any):
    return resolve(recipe, {**TINY, **values})


def _one_step_gradients(run: RunState) -> dict[str, list[torch.Tensor]]:
    """The gradients of one critic step and of one generator step. The optimisers' steps are
    replaced by a recording, so both steps start from the initial weights."""
    grads: dict[str, list[torch.Tensor]] = {}

    def recorder(name: str, module: torch.nn.Module):
        def step(*_: object, **__: object) -> None:
            grads[name] = [p.grad.clone() for p in module.parameters()]

        return step

    run.opt_d.step = recorder("critic", run.critic)  # type: ignore[method-assign]
    run.opt_g.step = recorder("generator", run.generator)  # type: ignore[method-assign]
    dataset = Shard(make_data(run.config.data), run.dist)
    values = critic_steps(run, dataset, 1, measure=False)
    # the real batch is used by a paired loss (r3gan) alone, its labels by a conditional run
    step.generator_step(run, measure=False, real=values["real_batch"], labels=values["real_labels"])
    return grads


class _Branches(torch.nn.Module):
    """Two equal branches ``a`` and ``b`` into ``head``; ``extra`` is used by a second pass
    only. Registered so that the buckets (reverse order: b, a, head, extra) are not the order
    in which one backward pass produces the gradients (head first)."""

    def __init__(self) -> None:
        super().__init__()
        self.extra, self.head = torch.nn.Linear(3, 1), torch.nn.Linear(4, 1)
        self.a, self.b = torch.nn.Linear(3, 4), torch.nn.Linear(3, 4)


def _two_backward_passes(rank: int, average: str | None) -> dict[str, Any]:
    """Rank ``rank``'s gradients after two ``backward()`` calls on its own inputs (the first
    with a gradient penalty's double backward), averaged over the processes by ``average``
    (``gloo``: one parameter per bucket; ``shared``: through shared memory; ``no room``:
    shared memory asked for but ``/dev/shm`` full, so gloo; None: not at all); and the order in
    which the first pass produced them."""
    with torch.random.fork_rng():
        torch.manual_seed(3)
        model = _Branches()
    if average is not None:
        with contextlib.ExitStack() as stack:
            if average == "no room":
                stack.enter_context(mock.patch("os.posix_fallocate", side_effect=OSError(28, "")))
            shared = average != "gloo"
            distributed.average_gradients(model, bucket_bytes=1, shared_memory=shared)
    order: list[str] = []
    names = {id(p): name for name, p in model.named_parameters()}
    for parameter in model.parameters():
        parameter.register_post_accumulate_grad_hook(lambda p: order.append(names[id(p)]))
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(rank)).requires_grad_(True)
    # The branches are built in another order in each process, so their gradients come out in
    # another order: buckets sent as they fill would add a's gradient to b's.
    if rank == 0:
        a, b = model.a(x), model.b(x)
    else:
        b, a = model.b(x), model.a(x)
    scores = model.head(torch.tanh(a) * torch.tanh(b)).sum()
    (grad,) = torch.autograd.grad(scores, x, create_graph=True)
    (scores + ((grad.norm(dim=1) - 1) ** 2).mean()).backward()
    first_pass = list(order)
    (model.extra(x).pow(2).mean() + model.head(model.a(x)).mean()).backward()
    return {"grads": [p.grad.clone() for p in model.parameters()], "order": first_pass}


# --- what the two processes do --------------------------------------------------------------

# Recipes checked in two processes, and conditional runs (one with a penalty, one paired loss)
CASES = {recipe: {} for recipe in sorted(RECIPES)}
CASES.update(
    {"wgan-gp+conditional": {"conditional": True}, "r3gan+conditional": {"conditional": True}}
)


def _case(name: str):
    return _config(name.partition("+")[0], **CASES[name])


def _scenarios(folder: Path, dist: Dist) -> dict[str, Any]:
    hardware = resolve_hardware("cpu", "fp32")
    out: dict[str, Any] = {"gradients": {}, "buckets": {}}
    for way in ("gloo", "shared", "no room"):
        out["buckets"][way] = _two_backward_passes(dist.rank, way)
    for name in CASES:
        run = new_run(_case(name), hardware, dist)
        parallelize(run)
        out["gradients"][name] = _one_step_gradients(run)

    # A few real iterations with clipping and an EMA: every process must hold the same weights.
    run = new_run(_config("wgan", ema_decay=0.9, lr_d=0.05, lr_g=0.05), hardware, dist)
    parallelize(run)
    dataset = Shard(make_data(run.config.data), dist)
    for _ in range(3):
        critic_steps(run, dataset, 5, measure=False)
        step.generator_step(run, measure=False)
    out["weights"] = state_dict(run)

    # Resumed with the same number of processes: bit-identical to a straight run.
    straight = _config("wgan-gp", steps=6, ema_decay=0.9)
    loop.train(straight, folder / "straight", progress=False)
    loop.train(_config("wgan-gp", steps=3, ema_decay=0.9), folder / "resumed", progress=False)
    loop.train(straight, folder / "resumed", resume=True, progress=False)

    real_step = step.generator_step

    def signal_in_process_1(run: RunState, measure: bool, **pairs: Any) -> dict[str, Any]:
        values = real_step(run, measure, **pairs)
        if run.dist.rank == 1 and run.step == 2:  # its 3rd generator step
            os.kill(os.getpid(), signal.SIGTERM)
        return values

    def nan_in_process_1(run: RunState, measure: bool, **pairs: Any) -> dict[str, Any]:
        values = real_step(run, measure, **pairs)
        if run.dist.rank == 1 and run.step == 4:
            values["g_loss"] = values["g_loss"] * float("nan")
        return values

    def signals_at_different_steps(run: RunState, measure: bool, **given: Any) -> dict[str, Any]:
        values = real_step(run, measure, **given)
        if (run.dist.rank, run.step) in ((1, 1), (0, 2)):  # after step 2 in 1, step 3 in 0
            os.kill(os.getpid(), signal.SIGTERM)
        return values

    step.generator_step = signals_at_different_steps  # type: ignore[assignment]
    result = loop.train(straight, folder / "interrupted", progress=False)
    out["signals"] = (result.status, result.step)
    step.generator_step = real_step  # type: ignore[assignment]
    loop.train(straight, folder / "interrupted", resume=True, progress=False)

    step.generator_step = signal_in_process_1  # type: ignore[assignment]
    result = loop.train(_config("nsgan", steps=50), folder / "signal", progress=False)
    out["signal"] = (result.status, result.step)
    step.generator_step = nan_in_process_1  # type: ignore[assignment]
    try:
        loop.train(_config("nsgan", steps=20, checkpoint_every=2), folder / "nan", progress=False)
    except TrainingDiverged as error:
        out["nan"] = str(error)
    step.generator_step = real_step  # type: ignore[assignment]

    timed = _config("nsgan", steps=10**6, time_limit=1.0, checkpoint_every=10**6)
    result = loop.train(timed, folder / "timed", progress=False)
    out["time_limit"] = (result.status, result.step)
    return out


def _worker(rank: int, folder: Path) -> None:
    torch.set_num_threads(1)
    try:
        torch.distributed.init_process_group(
            "gloo", init_method=f"file://{folder / 'store'}", rank=rank, world_size=WORLD
        )
        out = _scenarios(folder, distributed.current())
        torch.save(out, folder / f"rank{rank}.pt")
    except BaseException:
        (folder / f"rank{rank}.error").write_text(traceback.format_exc())
        raise
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    """Run :func:`_scenarios` in two processes; their results, rank by rank."""
    folder = tmp_path_factory.mktemp("two-processes")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_worker, args=(rank, folder)) for rank in range(WORLD)]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + 180
    for worker in workers:
        worker.join(max(1.0, deadline - time.monotonic()))
    for worker in workers:
        if worker.is_alive():
            worker.kill()
    errors = "\n".join(p.read_text() for p in sorted(folder.glob("rank*.error")))
    assert [w.exitcode for w in workers] == [0] * WORLD, errors or "a worker hung"
    return folder, [torch.load(folder / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]


# --- gradients ------------------------------------------------------------------------------


def _reference_parts(name: str) -> list[dict[str, list[torch.Tensor]]]:
    """In this one process: each rank's part of the global batch, with that rank's draws."""
    hardware = resolve_hardware("cpu", "fp32")
    return [
        _one_step_gradients(new_run(_case(name), hardware, Dist(rank, WORLD)))
        for rank in range(WORLD)
    ]


@pytest.mark.slow  # with the fixture's 10-15 s (two processes, run once)
@pytest.mark.parametrize("recipe", list(CASES))
def test_one_step_in_two_processes_equals_one_process_on_the_global_batch(two_processes, recipe):
    # Every loss and penalty is a mean over samples, so the global batch's gradient is the mean
    # of the parts' gradients, each part with its process's data, noise and epsilon draws.
    _, ranks = two_processes
    parts = _reference_parts(recipe)
    for model in ("critic", "generator"):
        expected = [torch.stack(p).mean(0) for p in zip(*(g[model] for g in parts), strict=True)]
        for rank in range(WORLD):
            got = ranks[rank]["gradients"][recipe][model]
            for a, b in zip(got, expected, strict=True):
                torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
        # The test can tell: one part alone has other gradients than the mean.
        assert not all(
            torch.allclose(a, b, rtol=1e-3) for a, b in zip(parts[0][model], expected, strict=True)
        )


@pytest.mark.slow
def test_gradient_penalty_in_two_processes_equals_the_formula_on_the_global_batch(two_processes):
    # WGAN-GP written out on the whole batch of 16: real and noise as one process draws them,
    # epsilon the two processes' draws side by side; one critic step's gradient.
    _, ranks = two_processes
    config = _config("wgan-gp")
    hardware = resolve_hardware("cpu", "fp32")
    runs = [new_run(config, hardware, Dist(rank, WORLD)) for rank in range(WORLD)]
    critic, streams = runs[0].critic, runs[0].streams
    real = make_data(config.data).sample(16, streams["data"])
    with torch.no_grad():
        fake = runs[0].generator(torch.randn(16, config.latent_dim, generator=streams["noise"]))
    eps = torch.cat([torch.rand(8, 1, generator=run.streams["epsilon"]) for run in runs])
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    penalty = config.gp_weight * ((grad.norm(dim=1) - 1) ** 2).mean()
    (critic(fake).mean() - critic(real).mean() + penalty).backward()
    for rank in range(WORLD):
        got = ranks[rank]["gradients"]["wgan-gp"]["critic"]
        for a, p in zip(got, critic.parameters(), strict=True):
            torch.testing.assert_close(a, p.grad, rtol=1e-5, atol=1e-7)


# --- agreement between the processes ----------------------------------------------------------


@pytest.mark.slow
def test_two_processes_resume_bit_identically(two_processes):
    folder, _ = two_processes
    a = load_checkpoint(folder / "straight" / "checkpoints" / "latest.pt")
    b = load_checkpoint(folder / "resumed" / "checkpoints" / "latest.pt")
    assert a["step"] == b["step"] == 6 and a["world_size"] == 2
    assert len(a["epsilon_by_rank"]) == 2
    assert not torch.equal(a["epsilon_by_rank"][0], a["epsilon_by_rank"][1])
    for part in ("generator", "critic", "ema", "opt_g", "opt_d", "streams", "epsilon_by_rank"):
        flat_a, flat_b = tensors(a[part]), tensors(b[part])
        assert len(flat_a) == len(flat_b) > 0, part
        assert all(torch.equal(x, y) for x, y in zip(flat_a, flat_b, strict=True)), part
    assert not any(key.startswith("module.") for key in a["generator"])


@pytest.mark.slow
def test_tensorboard_shows_the_critic_scores_of_the_whole_global_batch(two_processes):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    folder, _ = two_processes
    events = EventAccumulator(str(folder / "straight" / "tensorboard"), {"histograms": 0})
    events.Reload()
    lines = (folder / "straight" / "metrics.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    real, fake = events.Histograms("critic/real"), events.Histograms("critic/fake")
    assert [e.step for e in real] == [e.step for e in fake] == [r["step"] for r in records]
    for r, f, record in zip(real, fake, records, strict=True):
        r, f = r.histogram_value, f.histogram_value
        assert r.num == f.num == TINY["batch_size"]  # both processes' rows, not rank 0's 8
        assert r.sum / r.num - f.sum / f.num == pytest.approx(record["w_estimate"], rel=1e-5)


@pytest.mark.slow
def test_weights_clipping_and_the_ema_stay_identical_in_both_processes(two_processes):
    _, ranks = two_processes
    first, second = (rank["weights"] for rank in ranks)
    for part in ("generator", "critic", "ema", "opt_g", "opt_d"):
        flat_a, flat_b = tensors(first[part]), tensors(second[part])
        assert len(flat_a) == len(flat_b) > 0, part
        assert all(torch.equal(x, y) for x, y in zip(flat_a, flat_b, strict=True)), part
    assert max(t.abs().max().item() for t in first["critic"].values()) <= 0.01
    for stream in ("data", "noise"):
        assert torch.equal(first["streams"][stream], second["streams"][stream])
    assert not torch.equal(first["streams"]["epsilon"], second["streams"]["epsilon"])


@pytest.mark.slow
@pytest.mark.parametrize("way", ["gloo", "shared", "no room"])
def test_averaging_of_two_backward_passes_equals_the_mean_of_the_processes(two_processes, way):
    # gloo: per bucket, sent while backward runs, in an order the hooks do not follow; shared:
    # through shared memory; no room: gloo after all (/dev/shm full). A parameter the first
    # pass does not reach. Every way the mean over the processes of each one's summed
    # gradients.
    _, ranks = two_processes
    parts = [_two_backward_passes(rank, average=None) for rank in range(WORLD)]
    assert parts[0]["order"] != parts[1]["order"]  # the hooks fire in another order
    assert parts[0]["order"][:2] == ["head.bias", "head.weight"]  # not the buckets' order
    expected = [torch.stack(p).mean(0) for p in zip(*(g["grads"] for g in parts), strict=True)]
    for rank in range(WORLD):
        for got, want in zip(ranks[rank]["buckets"][way]["grads"], expected, strict=True):
            torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-7)
        assert ranks[rank]["buckets"][way]["order"] == parts[rank]["order"]
    assert not torch.allclose(parts[0]["grads"][-1], expected[-1])  # the parts differ


@pytest.mark.slow
def test_a_signal_to_one_process_stops_both_after_the_same_step_with_a_checkpoint(two_processes):
    # SIGTERM during step 3 of process 1: the vote is read one step late, so both stop after
    # step 4.
    folder, ranks = two_processes
    assert [r["signal"] for r in ranks] == [("interrupted", 4)] * WORLD
    assert load_checkpoint(folder / "signal" / "checkpoints" / "latest.pt")["step"] == 4


@pytest.mark.slow
def test_signals_at_different_steps_stop_both_after_the_same_step_and_resume_intact(
    two_processes,
):
    # Process 1 is signalled after step 2, process 0 after step 3: both stop after step 3,
    # and resuming that checkpoint ends bit-identical to the run never stopped.
    folder, ranks = two_processes
    assert [r["signals"] for r in ranks] == [("interrupted", 3)] * WORLD
    a = load_checkpoint(folder / "straight" / "checkpoints" / "latest.pt")
    b = load_checkpoint(folder / "interrupted" / "checkpoints" / "latest.pt")
    assert a["step"] == b["step"] == 6
    parts = ("generator", "critic", "ema", "opt_g", "opt_d", "streams", "epsilon_by_rank")
    flat_a, flat_b = tensors([a[k] for k in parts]), tensors([b[k] for k in parts])
    assert len(flat_a) == len(flat_b) > 0
    assert all(torch.equal(x, y) for x, y in zip(flat_a, flat_b, strict=True))
    assert _logged_steps(folder / "interrupted") == [2, 4, 6]


@pytest.mark.slow
def test_a_nonfinite_loss_in_one_process_stops_both(two_processes):
    folder, ranks = two_processes
    for rank in ranks:
        assert "non-finite at step 4 " in rank["nan"] and "(step 4) is kept" in rank["nan"]
    assert load_checkpoint(folder / "nan" / "checkpoints" / "latest.pt")["step"] == 4


@pytest.mark.slow
def test_the_time_limit_stops_both_after_the_same_step(two_processes):
    _, ranks = two_processes
    status, step = ranks[0]["time_limit"]
    assert status == "time_limit" and 0 < step < 10**6
    assert ranks[1]["time_limit"] == (status, step)


# --- in one process ---------------------------------------------------------------------------


def test_the_parts_of_the_processes_make_up_the_global_batch():
    dataset = make_data("grid:side=3")
    whole = dataset.sample(12, torch.Generator().manual_seed(5))
    parts = [
        Shard(dataset, Dist(rank, 3)).sample(12, torch.Generator().manual_seed(5))
        for rank in range(3)
    ]
    assert [len(p) for p in parts] == [4, 4, 4]
    assert torch.equal(torch.cat(parts), whole)


def test_a_batch_that_does_not_divide_among_the_processes_is_refused():
    with pytest.raises(ValueError, match="batch_size 10 must be divisible by the 4 processes"):
        distributed.check_batch(10, Dist(0, 4))


def test_torchrun_variables_are_checked():
    assert distributed.from_env({"RANK": "0", "WORLD_SIZE": "1"}) == distributed.SINGLE
    with pytest.raises(ValueError, match="must be integers"):
        distributed.from_env({"RANK": "x", "WORLD_SIZE": "2"})
    with pytest.raises(ValueError, match="RANK=2, WORLD_SIZE=2"):
        distributed.from_env({"RANK": "2", "WORLD_SIZE": "2"})


def test_a_process_the_checkpoint_has_no_stream_for_starts_a_fresh_epsilon_stream(tmp_path):
    loop.train(_config("wgan-gp", steps=2), tmp_path, progress=False)
    state = load_checkpoint(tmp_path / "checkpoints" / "latest.pt")
    assert state["world_size"] == 1 and len(state["epsilon_by_rank"]) == 1
    hardware = resolve_hardware("cpu", "fp32")
    first, second = (restore_run(_config("wgan-gp"), hardware, state, Dist(r, 2)) for r in (0, 1))
    for name in ("data", "noise"):
        assert torch.equal(first.streams[name].get_state(), state["streams"][name])
        assert torch.equal(second.streams[name].get_state(), state["streams"][name])
    assert torch.equal(first.streams["epsilon"].get_state(), state["streams"]["epsilon"])
    assert not torch.equal(second.streams["epsilon"].get_state(), state["streams"]["epsilon"])


# --- the command line under torchrun ----------------------------------------------------------

FLAGS = [f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()]


def _launcher(*options: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", *options]


TORCHRUN_ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def _torchrun(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    command = _launcher("--standalone", f"--nproc_per_node={WORLD}", *args)
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=TORCHRUN_ENV
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _two_nodes(folder: Path, *args: str, timeout: float = 120) -> list[str]:
    """``torchrun ... args`` as two nodes of one process each on this machine, as on two
    machines (c10d rendezvous on 127.0.0.1); each node's output. Fails if a node fails, or if
    the two outlast ``timeout`` (then both are stopped)."""
    options = ["--nnodes=2", "--nproc_per_node=1", "--rdzv-backend=c10d"]
    port = _free_port()
    options += [f"--rdzv-endpoint=127.0.0.1:{port}", f"--rdzv-id=gankit-test-{port}"]
    logs = [folder / f"node{rank}.log" for rank in range(2)]
    nodes: list[subprocess.Popen] = []
    hung = ""
    try:
        for rank, log in enumerate(logs):
            with log.open("w") as out:
                command = _launcher(*options, f"--node_rank={rank}", *args)
                nodes.append(
                    subprocess.Popen(
                        command, stdout=out, stderr=subprocess.STDOUT, env=TORCHRUN_ENV
                    )
                )
        deadline = time.monotonic() + timeout
        for node in nodes:
            node.wait(max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        hung = f"the nodes outlasted {timeout:g} s and were stopped\n"
    finally:
        # SIGTERM, which torchrun passes on to its worker (started in a session of its own, so
        # a SIGKILL to torchrun would leave the worker running); SIGKILL after 30 s.
        for node in nodes:
            if node.poll() is None:
                node.terminate()
        for node in nodes:
            try:
                node.wait(30)
            except subprocess.TimeoutExpired:
                node.kill()
                node.wait()
    outputs = [log.read_text() for log in logs]
    report = hung + "\n".join(
        f"--- node {rank} (exit {node.returncode}):\n{output}"
        for rank, (node, output) in enumerate(zip(nodes, outputs, strict=True))
    )
    assert [node.returncode for node in nodes] == [0, 0], report
    return outputs


def _logged_steps(run: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_a_two_process_run_resumes_in_one_process_and_back(tmp_path):
    run = tmp_path / "run"
    command = ["train", "--recipe", "wgan-gp", "--out", str(run), "--steps", "4", *FLAGS]
    started = _torchrun("-m", "gankit", *command, "--quiet")
    assert started.returncode == 0, started.stderr
    assert started.stderr.count("gankit: done at step 4") == 1  # rank 0 alone reports
    assert (
        "# processes: 2 (batch_size 16 is the global batch, 8 per process)"
        in (run / "config.toml").read_text()
    )
    state = load_checkpoint(run / "checkpoints" / "latest.pt")
    assert (state["step"], state["world_size"], len(state["epsilon_by_rank"])) == (4, 2, 2)
    assert not any(key.startswith("module.") for key in state["generator"])
    assert not (run / ".lock").exists()

    resume_run(run, {"steps": 6}, progress=False, log=lambda *_: None)  # one process
    state = load_checkpoint(run / "checkpoints" / "latest.pt")
    assert (state["step"], state["world_size"]) == (6, 1)

    again = _torchrun("-m", "gankit", "train", "--resume", str(run), "--steps", "8", "--quiet")
    assert again.returncode == 0, again.stderr
    state = load_checkpoint(run / "checkpoints" / "latest.pt")
    assert (state["step"], state["world_size"]) == (8, 2)
    assert _logged_steps(run) == [2, 4, 6, 8]


def _records(run: Path) -> list[dict[str, float]]:
    """metrics.jsonl without its clock readings."""
    lines = (run / "metrics.jsonl").read_text().splitlines()
    clock = ("sec_per_step", "time")
    return [{k: v for k, v in json.loads(line).items() if k not in clock} for line in lines]


@pytest.mark.slow
def test_two_nodes_train_step_for_step_as_two_processes_on_one_node(tmp_path):
    # Two torchrun nodes sharing one run folder (as on a shared file system) are the same
    # 2-process job as torchrun --standalone: the same numbers at every logged step and the
    # same final checkpoint, bit for bit (epsilon streams by rank included).
    train = ["-m", "gankit", "train", "--recipe", "wgan-gp", "--steps", "6", *FLAGS]
    train += ["--ema-decay=0.9", "--quiet"]
    one_node = _torchrun(*train, "--out", str(tmp_path / "one-node"))
    assert one_node.returncode == 0, one_node.stderr
    outputs = _two_nodes(tmp_path, *train, "--out", str(tmp_path / "two-nodes"))
    assert sum(out.count("gankit: done at step 6") for out in outputs) == 1  # rank 0 alone
    a, b = tmp_path / "one-node", tmp_path / "two-nodes"
    assert [r["step"] for r in _records(a)] == [2, 4, 6]
    assert _records(b) == _records(a)
    assert (b / "config.toml").read_text() == (a / "config.toml").read_text()
    first, second = (load_checkpoint(run / "checkpoints" / "latest.pt") for run in (a, b))
    assert (second["step"], second["world_size"], len(second["epsilon_by_rank"])) == (6, 2, 2)
    flat_a, flat_b = tensors(first), tensors(second)
    assert len(flat_a) == len(flat_b) > 0
    assert all(torch.equal(x, y) for x, y in zip(flat_a, flat_b, strict=True))
    assert not (b / ".lock").exists()


FAILING = """
import sys
from gankit import cli
from gankit.training import step

real_step = step.generator_step

def fail_in_process_1(run, measure, **pairs):
    if run.dist.rank == 1 and run.step == 3:
        raise RuntimeError("injected failure in process 1")
    return real_step(run, measure, **pairs)

step.generator_step = fail_in_process_1
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_a_failing_process_ends_the_whole_job(tmp_path):
    started = time.monotonic()
    command = ["train", "--recipe", "nsgan", "--out", str(tmp_path), "--steps", "1000", *FLAGS]
    job = _torchrun("--no-python", sys.executable, "-c", FAILING, *command, "--quiet")
    assert job.returncode != 0
    assert time.monotonic() - started < 60
    assert "injected failure in process 1" in job.stderr
    assert "lost contact with the others" in job.stderr  # process 0, in one line
