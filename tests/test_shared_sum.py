"""The shared-memory sum's own wait, without a process group: threads stand in for two or
three processes over one buffer (every sum must be the exact sum in rank order, through the
alternating buffers), and a wait on a process that has exited, or that never writes, fails
quickly."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
import torch

from gankit.training import _shared_sum
from gankit.training._shared_sum import PeerLost, SharedSum, _alive


def _pair(numel: int, pids: list[int], timeout: float = 60.0) -> list[SharedSum]:
    world = len(pids)
    rows = torch.zeros(2, world, numel)
    counters = torch.zeros(world, dtype=torch.int64)
    wait = timedelta(seconds=timeout)
    return [SharedSum(rows, counters, pids, wait, rank) for rank in range(world)]


def _parts(seed: int, k: int) -> list[torch.Tensor]:
    """Round ``k``'s tensors of one side: sizes that change between rounds, one of them a
    transposed (not contiguous) matrix."""
    generator = torch.Generator().manual_seed(seed)
    matrix = torch.randn(3, 1 + k % 4, generator=generator).t()
    return [torch.randn(1 + (k * 7) % 40, generator=generator), matrix]


@pytest.mark.parametrize("world", [2, 3])
def test_waiters_get_every_mean_exactly_in_rank_order(world):
    sums = _pair(64, [os.getpid()] * world)
    rounds = 40
    inputs = [[_parts(world * k + r, k) for k in range(rounds)] for r in range(world)]
    outputs: list[list[list[torch.Tensor]]] = [[] for _ in range(world)]
    errors: list[BaseException] = []

    def worker(rank: int) -> None:
        try:
            for k in range(rounds):
                tensors = [
                    t.clone() if t.is_contiguous() else t.t().clone().t() for t in inputs[rank][k]
                ]
                sums[rank].sum_(tensors, divisor=world)
                outputs[rank].append(tensors)
                if rank == 1 and k % 5 == 0:
                    time.sleep(0.003)  # one side late now and then: the others must wait
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(rank,)) for rank in range(world)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors and all(len(out) == rounds for out in outputs)
    for k in range(rounds):
        for index in range(len(inputs[0][k])):
            parts = [inputs[rank][k][index] for rank in range(world)]
            expected = parts[0] + parts[1]  # rank order: ((a + b) + c) / 3, not a + (b + c)
            for part in parts[2:]:
                expected = expected + part
            expected = expected / world
            for rank in range(world):
                got = outputs[rank][k][index]
                assert torch.equal(got, expected) and got.stride() == parts[0].stride()


def _exited_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_peer_that_exited_fails_the_wait_quickly():
    mine, peer = _pair(8, [os.getpid(), _exited_pid()])
    started = time.monotonic()
    with pytest.raises(PeerLost, match="process 1 exited"):
        mine.sum_([torch.ones(8)])
    assert time.monotonic() - started < 2.0


def test_a_silent_peer_times_out():
    mine, peer = _pair(8, [os.getpid(), os.getpid()], timeout=0.3)
    with pytest.raises(PeerLost, match="no gradients from the other processes in 0.3 s"):
        mine.sum_([torch.ones(8)])


def test_alive_knows_running_exited_and_zombie_processes():
    assert _alive(os.getpid())
    assert not _alive(_exited_pid())
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while _alive(zombie.pid) and time.monotonic() < deadline:
        time.sleep(0.01)  # exited, not yet waited for: a zombie
    assert not _alive(zombie.pid)
    zombie.wait()


def test_a_peer_that_leaves_the_group_fails_the_wait_at_once():
    mine, peer = _pair(8, [os.getpid(), os.getpid()])
    _shared_sum._OPEN.add(peer)  # as SharedSum.create registers it
    _shared_sum.leave()  # what process 1 does when an error takes it out of the group
    started = time.monotonic()
    with pytest.raises(PeerLost, match="process 1 left the group"):
        mine.sum_([torch.ones(8)])
    assert time.monotonic() - started < 0.5 and not _shared_sum._OPEN


def test_a_finished_runs_buffer_is_not_kept_for_leave():
    mine, peer = _pair(8, [os.getpid(), os.getpid()])
    _shared_sum._OPEN.add(peer)
    del peer
    assert not _shared_sum._OPEN  # freed with its run, not held until the process leaves
