"""Summing gradients over the processes of one machine through shared memory, not gloo.

gloo moves tensors through sockets even between processes on one machine: each all-reduce of
the critic's 2 MB of gradients copied them through the kernel several times and cost about
2.4 ms (measured on 2 cores), on the cores the training itself needs. Here every process maps
one buffer in ``/dev/shm``, copies its tensor into its own row, waits for the others and sums
the rows in rank order with binary adds: about 1.6 ms of copying and adding for 2 MB with
both cores training (``benchmarks/bench_exchange.py``), the same sum bit for bit in every
process, and, for two processes, the same bits as gloo's (``a + b == b + a``).

The wait: on x86 each process then raises its own counter in the same buffer and polls the
others' (x86 makes stores visible in program order, so a counter seen raised means its row
is complete); it spins for a moment, then sleeps in short naps. A process leaving the group
sets its counter to :data:`LEFT` (:func:`leave`) and a waiter checks that its peers are
still alive, so a process whose peer failed fails within milliseconds with
:class:`PeerLost`. Elsewhere, where stores may become visible out of order, the wait is a
one-element gloo all-reduce. Two buffers alternate: a process already writing its next sum
cannot overwrite rows another process is still adding up, since it can only be one wait
ahead.
"""

from __future__ import annotations

import os
import platform
import socket
import tempfile
import time
import weakref
from datetime import timedelta

import numpy as np
import torch

__all__ = ["PeerLost", "SharedSum", "leave", "one_machine"]

SHM = "/dev/shm"
# Stores reach other cores in program order here (x86-TSO), so a flag can publish a row.
ORDERED_STORES = platform.machine().lower() in ("x86_64", "amd64")
SPIN_SECONDS = 0.002  # poll without sleeping for this long: most waits end sooner
NAP_SECONDS = 0.0002  # then sleep this long between polls
CHECK_SECONDS = 0.005  # and look at the peers this often (before torchrun stops us)


LEFT = -1  # a counter's value once its process has left the group (an error, most often)
# this process's sums, for leave(); weak, so a run's buffer goes with its models
_OPEN: weakref.WeakSet[SharedSum] = weakref.WeakSet()


class PeerLost(RuntimeError):
    """A process of the group exited, left it, or sent nothing for the whole timeout."""


def leave() -> None:
    """Tell every peer waiting on this process's sums that none will come (call it when the
    process leaves the group): they fail at once instead of when this process has exited."""
    for shared in list(_OPEN):
        if shared.counters is not None:
            shared.counters[shared.rank] = LEFT
    _OPEN.clear()


def one_machine() -> bool:
    """True when every process of the default group runs on this machine and it has
    ``/dev/shm`` (collective: call it at the same point in every process)."""
    world = torch.distributed.get_world_size()
    hosts: list[object] = [None] * world
    here = socket.gethostname() if os.path.isdir(SHM) else None
    torch.distributed.all_gather_object(hosts, here)
    return here is not None and all(host == here for host in hosts)


class SharedSum:
    """``sum_(tensors)``: replace float32 CPU tensors of at most ``numel`` elements in all by
    their sums over the processes (collective, in the same order in every process). Made by
    :meth:`create`."""

    def __init__(
        self,
        rows: torch.Tensor,
        counters: torch.Tensor | None,
        pids: list[int],
        timeout: timedelta,
        rank: int,
    ) -> None:
        self.rows = rows  # (2, world, numel): two alternating buffers, a row per process
        # (world,) int64 in the same buffer: the sums each process has written its row for;
        # None: wait through gloo instead
        self.counters = None if counters is None else counters.numpy()
        self.pids = pids  # of every process, by rank
        self.timeout = timeout.total_seconds()
        self.rank = rank
        self.calls = 0
        self.token = torch.zeros(1)

    @classmethod
    def create(cls, numel: int, timeout: timedelta = timedelta(minutes=5)) -> SharedSum | None:
        """The buffer for sums of up to ``numel`` elements, or None in every process if
        ``/dev/shm`` has no room for it (containers often give it 64 MB): its pages are
        reserved first, since running out later would kill a process with SIGBUS
        (collective). A wait longer than ``timeout`` fails."""
        rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
        size = 2 * world + 2 * world * numel  # float32 slots: the counters, then the rows
        box: list[str | None] = [None]
        if rank == 0:
            handle, path = tempfile.mkstemp(prefix="gankit-gradients-", dir=SHM)
            try:
                os.posix_fallocate(handle, 0, size * 4)  # zeros: every counter at 0
                box = [path]
            except OSError:
                os.unlink(path)
            finally:
                os.close(handle)
        torch.distributed.broadcast_object_list(box, src=0)
        if box[0] is None:
            return None
        pids: list[int] = [0] * world
        torch.distributed.all_gather_object(pids, os.getpid())
        try:
            shared = torch.from_file(box[0], shared=True, size=size)
            torch.distributed.barrier()  # every process has it mapped
        finally:
            if rank == 0:
                os.unlink(box[0])  # the mappings stay; nothing is left behind
        counters = shared[: 2 * world].view(torch.int64) if ORDERED_STORES else None
        made = cls(shared[2 * world :].view(2, world, numel), counters, pids, timeout, rank)
        _OPEN.add(made)
        return made

    def sum_(self, tensors: list[torch.Tensor], divisor: int = 1) -> None:
        """Replace each of ``tensors`` (float32 on the CPU, at most ``numel`` elements in all)
        by its sum over the processes divided by ``divisor``. The tensors go straight into
        this process's row and the sums straight back into them: one pass each way."""
        sizes = [t.numel() for t in tensors]
        rows = self.rows[self.calls % 2, :, : sum(sizes)]
        self.calls += 1
        if tensors:
            torch.cat([t.reshape(-1) for t in tensors], out=rows[self.rank])
        if self.counters is None:
            torch.distributed.all_reduce(self.token)  # every row is written
        else:
            self.counters[self.rank] = self.calls  # after the row, so it publishes the row
            self._wait()
        for tensor, columns in zip(tensors, rows.split(sizes, dim=1), strict=True):
            target = tensor if tensor.is_contiguous() else torch.empty(tensor.shape)
            flat = target.view(-1)
            if len(columns) == 1:
                flat.copy_(columns[0])
            else:  # in rank order, whatever order torch.sum would reduce in
                torch.add(columns[0], columns[1], out=flat)
                for row in columns[2:]:
                    flat.add_(row)
            if divisor != 1:
                target.div_(divisor)
            if target is not tensor:
                tensor.copy_(target)

    def _wait(self) -> None:
        """Until every process has written its row of this sum (or raise :class:`PeerLost`)."""
        counters, calls = self.counters, self.calls
        assert counters is not None
        start = checked = time.monotonic()
        while (lowest := counters.min()) < calls:
            if lowest == LEFT:
                raise PeerLost(f"process {int(counters.argmin())} left the group")
            now = time.monotonic()
            if now - start < SPIN_SECONDS:
                continue
            time.sleep(NAP_SECONDS)
            if now - checked >= CHECK_SECONDS:
                checked = now
                self._check_peers(now - start)

    def _check_peers(self, waited: float) -> None:
        assert self.counters is not None
        for rank in np.flatnonzero(self.counters < self.calls):
            if not _alive(self.pids[rank]):
                raise PeerLost(f"process {rank} exited")
        if waited > self.timeout:
            raise PeerLost(f"no gradients from the other processes in {self.timeout:g} s")


def _alive(pid: int) -> bool:
    """True while process ``pid`` runs (a zombie, exited but not yet reaped, is not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            state = stat.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")
