"""Summing gradients over the processes of one machine through shared memory, not gloo.

gloo moves tensors through sockets even between processes on one machine: each all-reduce of
the critic's 2 MB of gradients copied them through the kernel several times and cost about
2.4 ms (measured on 2 cores), on the cores the training itself needs. Here every process maps
one buffer in ``/dev/shm``, copies its tensor into its own row, waits for the others and sums
the rows in rank order: about 0.6 ms of copying and adding, the same sum bit for bit in every
process, and, for two processes, the same bits as gloo's (``a + b == b + a``).

The wait is a one-element all-reduce of the process group, so a process whose peer died fails
as in any other collective. Two buffers alternate: a process already writing its next sum
cannot overwrite rows another process is still adding up, since it can only be one wait ahead.
"""

from __future__ import annotations

import os
import socket
import tempfile

import torch

__all__ = ["SharedSum", "one_machine"]

SHM = "/dev/shm"


def one_machine() -> bool:
    """True when every process of the default group runs on this machine and it has
    ``/dev/shm`` (collective: call it at the same point in every process)."""
    world = torch.distributed.get_world_size()
    hosts: list[object] = [None] * world
    here = socket.gethostname() if os.path.isdir(SHM) else None
    torch.distributed.all_gather_object(hosts, here)
    return here is not None and all(host == here for host in hosts)


class SharedSum:
    """``sum_(flat)``: replace a float32 CPU tensor of at most ``numel`` elements by its sum
    over the processes (collective, in the same order in every process). Made by
    :meth:`create`."""

    def __init__(self, rows: torch.Tensor) -> None:
        self.rows = rows  # (2, world, numel): two alternating buffers, a row per process
        self.rank = torch.distributed.get_rank()
        self.calls = 0
        self.token = torch.zeros(1)

    @classmethod
    def create(cls, numel: int) -> SharedSum | None:
        """The buffer for sums of up to ``numel`` elements, or None in every process if
        ``/dev/shm`` has no room for it (containers often give it 64 MB): its pages are
        reserved first, since running out later would kill a process with SIGBUS
        (collective)."""
        rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
        box: list[str | None] = [None]
        if rank == 0:
            handle, path = tempfile.mkstemp(prefix="gankit-gradients-", dir=SHM)
            try:
                os.posix_fallocate(handle, 0, 2 * world * numel * 4)
                box = [path]
            except OSError:
                os.unlink(path)
            finally:
                os.close(handle)
        torch.distributed.broadcast_object_list(box, src=0)
        if box[0] is None:
            return None
        try:
            shared = torch.from_file(box[0], shared=True, size=2 * world * numel)
            torch.distributed.barrier()  # every process has it mapped
        finally:
            if rank == 0:
                os.unlink(box[0])  # the mappings stay; nothing is left behind
        return cls(shared.view(2, world, numel))

    def sum_(self, flat: torch.Tensor) -> None:
        rows = self.rows[self.calls % 2, :, : flat.numel()]
        self.calls += 1
        rows[self.rank].copy_(flat)
        torch.distributed.all_reduce(self.token)  # every row is written
        torch.sum(rows, dim=0, out=flat)
