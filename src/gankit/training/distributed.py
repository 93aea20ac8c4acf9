"""Several processes: data-parallel training under ``torchrun`` (gloo on CPU, nccl on CUDA).

``torchrun --standalone --nproc_per_node=N -m gankit train ...`` starts N copies of the
command; each finds its rank in the variables torchrun sets (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``) and joins one process group. Without them, or with ``WORLD_SIZE=1``, gankit
runs as one plain process and nothing here does anything.

What is split, what is shared:

- **Batch.** ``batch_size`` is the *global* batch, so a configuration means the same training
  in 1 or N processes: each process trains on ``batch_size / N`` samples per step (it must
  divide evenly). ``config.toml`` records both numbers.
- **Data and noise.** Every process holds the same ``data`` and ``noise`` streams, draws the
  whole global batch and keeps its rows (rank r: rows ``r·B/N … (r+1)·B/N - 1``): the union
  of the parts is exactly the batch one process would draw, and the streams stay identical in
  every process, so one copy goes into the checkpoint. Drawing the whole batch is cheap next
  to a forward pass.
- **Epsilon.** The penalties draw their random points (interpolation weights, perturbations)
  from the ``epsilon`` stream in their own ways, so it cannot be sliced for every penalty:
  each process has its own ``epsilon`` stream (rank 0's is the one-process stream) and a
  checkpoint stores all of them.
- **Gradients.** Neither model is wrapped in ``DistributedDataParallel``: the critic's
  penalties differentiate its input gradient again (``create_graph=True``), which DDP's
  reducer does not support (pytorch#47562). Instead, hooks on the parameters of both models
  average their gradients over the processes during ``backward()``
  (:func:`average_gradients`): across machines as DDP does, in buckets of about 1 MB, each
  sent (an asynchronous all-reduce) as soon as backward has produced it and all awaited when
  ``backward()`` ends; with every process on one machine, all at once through shared memory,
  which costs about a quarter of gloo's socket copies on cores that are all busy training. So
  every penalty, present or future, runs on the plain module, any number of ``backward()``
  calls add up correctly, and gradient norms read afterwards are the global ones.
- **Agreement.** After every step the processes all-reduce their stop reasons (time limit,
  SIGINT, SIGTERM) without waiting, and read the result one step later (:class:`StopVote`):
  all stop after the same step, the one after the first reason anywhere, and no process waits
  for the vote. Non-finite losses and errors in rank 0's file writes are shared at the
  measured steps and the checkpoints. Only rank 0 writes files (and holds the run folder's
  lock).
- **Failures.** Collectives time out after :data:`TIMEOUT`; a process whose peer died reports
  it in one line, and torchrun stops the others and exits non-zero.

Weights, weight clipping and the EMA stay identical in every process because every process
applies the same averaged gradients with the same optimiser. A run resumes in any number of
processes; it continues bit-identically only with the same number (with another, the data and
noise streams continue as before but the penalties draw other epsilons). Every process reads
the checkpoint itself: across machines, the run folder must be on a shared file system.

Statistics of a batch are each process's own, as in any data-parallel training: batch norm's
(no ``SyncBatchNorm``; its running statistics too, rank 0's being the ones saved), and
DRAGAN's ``std(x)``. On CUDA each process uses ``cuda:LOCAL_RANK``
and bf16 autocast as one process does (the penalties take their norms in float32).
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

from gankit.errors import GankitError
from gankit.training import _shared_sum

# Longer than anything rank 0 does alone between two collectives (a figure, a checkpoint).
TIMEOUT = timedelta(minutes=5)
STOP_REASONS = (None, "time_limit", "interrupted")  # all-reduced with MAX: the last one wins

T = TypeVar("T")


@dataclass(frozen=True)
class Dist:
    """This process's place in the job: rank ``rank`` of ``world_size`` processes."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0  # the rank on this machine, which picks the GPU
    control: Any = None  # the group for stop flags and messages (CPU); None: the default group

    @property
    def active(self) -> bool:
        """True when there are several processes."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True for rank 0, the process that writes the run folder."""
        return self.rank == 0


SINGLE = Dist()


def from_env(env: Mapping[str, str] = os.environ) -> Dist:
    """The rank, world size and local rank that torchrun sets; one process without them.

    Example:
        >>> from_env({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"})
        Dist(rank=1, world_size=2, local_rank=1, control=None)
        >>> from_env({}).active
        False
    """
    try:
        world = int(env.get("WORLD_SIZE", "1"))
        rank = int(env.get("RANK", "0"))
        local = int(env.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise GankitError(
            "RANK, WORLD_SIZE and LOCAL_RANK must be integers (start gankit with torchrun)"
        ) from None
    if world < 1 or not 0 <= rank < world or local < 0:
        raise GankitError(f"bad torchrun variables: RANK={rank}, WORLD_SIZE={world}")
    return Dist(rank, world, local) if world > 1 else SINGLE


_CONTROL_GROUPS: dict[int, Any] = {}  # default group -> its gloo twin, made once


def current() -> Dist:
    """This process's :class:`Dist` in the initialised process group (:data:`SINGLE` if none).

    Under nccl, a gloo twin of the group carries the per-step stop flags, so they cost no GPU
    synchronisation. Call it at the same point in every process (making the twin is collective).
    """
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return SINGLE
    rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    if world == 1:
        return SINGLE
    control = None
    if torch.distributed.get_backend() != "gloo":
        key = id(torch.distributed.group.WORLD)
        if key not in _CONTROL_GROUPS:
            _CONTROL_GROUPS[key] = torch.distributed.new_group(backend="gloo")
        control = _CONTROL_GROUPS[key]
    return Dist(rank, world, int(os.environ.get("LOCAL_RANK", rank)), control)


@contextlib.contextmanager
def process_group(device: torch.device) -> Iterator[Dist]:
    """Join torchrun's process group for the block: gloo on the CPU, nccl on CUDA (one GPU
    per process, ``cuda:LOCAL_RANK``). Outside torchrun (or in a group someone else made)
    it only reports where this process stands."""
    wanted = from_env()
    if not wanted.active or torch.distributed.is_initialized():
        yield current()
        return
    backend = "gloo"
    if device.type == "cuda":
        if wanted.local_rank >= torch.cuda.device_count():
            raise GankitError(
                f"process {wanted.rank} (LOCAL_RANK {wanted.local_rank}) has no GPU: this machine "
                f"has {torch.cuda.device_count()}; start at most that many processes per machine"
            )
        torch.cuda.set_device(wanted.local_rank)
        backend = "nccl"
    torch.distributed.init_process_group(backend, timeout=TIMEOUT)
    try:
        yield current()
        # Leave together: a process that tears the group down while a peer still uses it
        # can abort at exit ("terminate called without an active exception").
        torch.distributed.barrier()
    finally:
        _shared_sum.leave()  # peers waiting on this process fail now, not when it has exited
        _CONTROL_GROUPS.clear()
        # The models' gradient hooks hold the group and sit in reference cycles:
        # free them now, while the group is alive, not in the interpreter's teardown, where
        # destroying them aborted a process about one run in six.
        gc.collect()
        torch.distributed.destroy_process_group()


def local_device(device: torch.device, dist: Dist) -> torch.device:
    """The device of this process: ``cuda:LOCAL_RANK`` for CUDA with several processes."""
    if device.type == "cuda" and dist.active:
        return torch.device("cuda", dist.local_rank)
    return device


def check_batch(batch_size: int, dist: Dist) -> None:
    """Refuse a global batch that the processes cannot share evenly."""
    if batch_size % dist.world_size:
        raise GankitError(
            f"batch_size {batch_size} must be divisible by the {dist.world_size} processes "
            "(it is the global batch, shared evenly among them)"
        )


def local_part(batch: torch.Tensor, dist: Dist) -> torch.Tensor:
    """This process's rows of a global batch (all of it with one process).

    Example:
        >>> local_part(torch.arange(6), Dist(rank=1, world_size=3)).tolist()
        [2, 3]
    """
    if not dist.active:
        return batch
    check_batch(batch.shape[0], dist)
    part = batch.shape[0] // dist.world_size
    return batch[dist.rank * part : (dist.rank + 1) * part]


class Shard:
    """A data set as one process sees it: ``sample(n, rng)`` draws the ``n`` samples of
    the global batch from the shared stream and returns this process's rows."""

    def __init__(self, dataset: Any, dist: Dist) -> None:
        self.dataset, self.dist = dataset, dist

    def sample(self, n: int, rng: torch.Generator) -> torch.Tensor:
        return local_part(self.dataset.sample(n, rng), self.dist)

    def sample_labelled(self, n: int, rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        batch, labels = self.dataset.sample_labelled(n, rng)
        return local_part(batch, self.dist), local_part(labels, self.dist)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.dataset, name)


def rank_seed(seed: int, stream: int, rank: int, step: int = 0) -> int:
    """A 32-bit seed for stream ``stream`` of process ``rank`` (from ``step`` on, for a process
    that joins a resumed run), well apart from every other (seed, stream, rank, step).

    Example:
        >>> rank_seed(0, 2, 1) == rank_seed(0, 2, 1) != rank_seed(0, 2, 2)
        True
    """
    return int(np.random.SeedSequence([seed, stream, rank, step]).generate_state(1)[0])


# Gradients travel in buckets of about this size: small enough that the first ones are on
# their way while backward() still computes the rest, large enough for few messages.
BUCKET_BYTES = 1 << 20


def average_gradients(
    module: nn.Module, bucket_bytes: int = BUCKET_BYTES, shared_memory: bool | None = None
) -> None:
    """Average ``module``'s gradients over the processes during every ``backward()`` that
    reaches them, without DDP's reducer (so double backward works); rank 0's weights and
    buffers are copied to every process first.

    Across machines (or with ``shared_memory=False``) the parameters are cut into buckets of
    about ``bucket_bytes``, in reverse order (the order in which backward usually produces
    their gradients). As soon as every gradient of the next bucket has been accumulated, the
    bucket is sent (an asynchronous all-reduce), so the messages overlap the rest of the
    backward pass, as in DDP; buckets go out strictly in their order, so every process issues
    the same collectives whatever the order its hooks fire in. When the backward pass ends,
    the rest are sent, all are awaited, and the sums divided by the world size are copied
    back. With every process on one machine and the gradients float32 on the CPU (the
    default there, or ``shared_memory=True``), the whole model is one bucket, summed through
    shared memory (``gankit.training._shared_sum``): on a machine whose cores all train,
    nothing is left to overlap with, and gloo's socket copies cost more than the sum itself.

    ``backward()`` twice before a step gives ``mean(g1) + mean(g2)``, as one process would:
    the second pass sends ``mean(g1) + g2``, whose first part is the same in every process.
    """
    world = torch.distributed.get_world_size()
    parameters: list[torch.Tensor] = list(module.parameters())
    with torch.no_grad():
        for tensor in module.state_dict().values():
            torch.distributed.broadcast(tensor, src=0)
    on_cpu = all(p.device.type == "cpu" and p.dtype == torch.float32 for p in parameters)
    if shared_memory is None:
        shared_memory = on_cpu and _shared_sum.one_machine()
    shared = None
    if shared_memory and parameters:
        total = sum(p.numel() for p in parameters)
        shared = _shared_sum.SharedSum.create(total, TIMEOUT)  # None: no room in /dev/shm
        bucket_bytes = total * 4 if shared is not None else bucket_bytes
    buckets = _buckets(parameters[::-1], bucket_bytes)
    bucket_of = {id(p): index for index, bucket in enumerate(buckets) for p in bucket}
    ready: list[set[int]] = [set() for _ in buckets]  # this pass's accumulated gradients
    sent: list[tuple[list[torch.Tensor], torch.Tensor | None, Any]] = []  # (grads, flat sum, work)
    queued = [False]

    def send_ready(everything: bool = False) -> None:
        while len(sent) < len(buckets):
            index = len(sent)
            if not everything and len(ready[index]) < len(buckets[index]):
                return
            grads = [p.grad for p in buckets[index] if p.grad is not None]
            if shared is not None:
                shared.sum_(grads, divisor=world)  # done: the means are in place
                sent.append((grads, None, None))
                continue
            empty = torch.zeros(0, device=buckets[index][0].device)
            flat = torch.cat([g.flatten() for g in grads]) if grads else empty
            sent.append((grads, flat, torch.distributed.all_reduce(flat, async_op=True)))

    def finish() -> None:
        send_ready(everything=True)
        for grads, flat, work in sent:
            if flat is None:  # summed in shared memory, already the means
                continue
            work.wait()
            flat /= world
            for grad, part in zip(grads, flat.split([g.numel() for g in grads]), strict=True):
                grad.copy_(part.view_as(grad))
        sent.clear()
        for bucket in ready:
            bucket.clear()
        queued[0] = False

    def accumulated(parameter: torch.Tensor) -> None:
        if not queued[0]:
            queued[0] = True
            # The hook DDP itself uses to act once a backward pass is complete.
            torch.autograd.Variable._execution_engine.queue_callback(finish)
        ready[bucket_of[id(parameter)]].add(id(parameter))
        send_ready()

    for parameter in module.parameters():
        parameter.register_post_accumulate_grad_hook(accumulated)


def _buckets(parameters: list[torch.Tensor], bucket_bytes: int) -> list[list[torch.Tensor]]:
    """``parameters`` in order, cut after each one that brings its bucket to ``bucket_bytes``.

    Example:
        >>> sizes = [3, 1, 2, 5]
        >>> [[p.numel() for p in b] for b in _buckets([torch.zeros(n) for n in sizes], 12)]
        [[3], [1, 2], [5]]
    """
    buckets: list[list[torch.Tensor]] = [[]]
    size = 0
    for parameter in parameters:
        if size >= bucket_bytes:
            buckets.append([])
            size = 0
        buckets[-1].append(parameter)
        size += parameter.numel() * parameter.element_size()
    return buckets if buckets[0] else []


def _control_device(dist: Dist) -> torch.device:
    group = dist.control if dist.control is not None else torch.distributed.group.WORLD
    if torch.distributed.get_backend(group) == "gloo":
        return torch.device("cpu")
    return torch.device("cuda", torch.cuda.current_device())


class StopVote:
    """The job's decision to stop, taken one step late so that no process waits for it.

    After every step each process calls :meth:`after_step` with its own reason (SIGINT or
    SIGTERM: ``interrupted``; the time limit: ``time_limit``; or None). The reasons are
    all-reduced with MAX (``interrupted`` wins over ``time_limit``) without waiting, and the
    result is read after the next step, by when it has long arrived. So a reason that appears
    in any process after step s stops every process after step s + 1, the same step in all of
    them; with one process, after step s, as without this class.
    """

    def __init__(self, dist: Dist) -> None:
        self.dist = dist
        self._pending: tuple[torch.Tensor, Any] | None = None  # (code, its all-reduce)

    def after_step(self, reason: str | None) -> str | None:
        """This process's reason after this step in; the job's reason from the step before
        out (None: go on). Every process must call it after every step."""
        if not self.dist.active:
            return reason
        agreed = self._result()
        code = torch.tensor([STOP_REASONS.index(reason)], device=_control_device(self.dist))
        maximum = torch.distributed.ReduceOp.MAX
        work = torch.distributed.all_reduce(
            code, op=maximum, group=self.dist.control, async_op=True
        )
        self._pending = (code, work)
        return agreed

    def close(self) -> None:
        """Wait for the vote still in flight (every process sent it) before the loop ends."""
        self._result()

    def _result(self) -> str | None:
        if self._pending is None:
            return None
        (code, work), self._pending = self._pending, None
        work.wait()
        return STOP_REASONS[int(code.item())]


def mean_over_processes(
    dist: Dist, values: dict[str, Any], device: torch.device
) -> dict[str, torch.Tensor]:
    """Logged scalars averaged over the processes: each was a mean over an equal part of the
    global batch, so this is the mean over the whole batch."""
    if not dist.active:
        return values
    stacked = torch.stack([torch.as_tensor(v, device=device).float() for v in values.values()])
    torch.distributed.all_reduce(stacked)
    return dict(zip(values, stacked / dist.world_size, strict=True))


def gather_rows(dist: Dist, part: torch.Tensor) -> torch.Tensor:
    """Every process's rows of a global batch (``part`` of equal size in each), in rank order:
    the rows one process would hold."""
    if not dist.active:
        return part
    parts = [torch.empty_like(part) for _ in range(dist.world_size)]
    torch.distributed.all_gather(parts, part.contiguous())
    return torch.cat(parts)


def earliest_nonfinite(
    dist: Dist, first_bad_step: torch.Tensor, bad_losses: torch.Tensor
) -> tuple[int, float, float]:
    """(step, d_loss, g_loss) of the earliest non-finite losses in any process; step -1 if
    none. Every process gets the same answer, so all stop together."""
    row = torch.cat([first_bad_step.reshape(1).double(), bad_losses.reshape(2).double()])
    rows = [row]
    if dist.active:
        rows = [torch.empty_like(row) for _ in range(dist.world_size)]
        torch.distributed.all_gather(rows, row)
    bad = [row for row in torch.stack(rows).cpu().tolist() if row[0] >= 0]  # one host sync
    if not bad:
        return -1, 0.0, 0.0
    step, d_loss, g_loss = min(bad, key=lambda r: r[0])
    return int(step), d_loss, g_loss


def gather_objects(dist: Dist, value: T) -> list[T]:
    """``value`` of every process, in rank order."""
    if not dist.active:
        return [value]
    out: list[Any] = [None] * dist.world_size
    torch.distributed.all_gather_object(out, value, group=dist.control)
    return out


def on_main(dist: Dist, action: Callable[[], T]) -> T | None:
    """Run ``action`` in rank 0 only (a file write); if it fails, every process raises.

    Rank 0 re-raises its own exception; the others raise a :class:`GankitError` with its
    message, so the whole job ends with the same reason instead of waiting for rank 0.
    """
    result, failure = None, None
    if dist.is_main:
        try:
            result = action()
        except BaseException as error:
            failure = error
    if dist.active:
        box = [None if failure is None else f"process 0: {_one_line(failure)}"]
        torch.distributed.broadcast_object_list(box, src=0, group=dist.control)
        if failure is None and box[0] is not None:
            raise GankitError(box[0])
    if failure is not None:
        raise failure
    return result


def agree(dist: Dist, action: Callable[[], T]) -> T:
    """Run ``action`` in every process (e.g. loading the checkpoint); if it fails in any of
    them, every process raises (its own error, or a :class:`GankitError` naming the rank)."""
    result, failure = None, None
    try:
        result = action()
    except Exception as error:
        failure = error
    messages = gather_objects(dist, None if failure is None else _one_line(failure))
    if failure is not None:
        raise failure
    for rank, message in enumerate(messages):
        if message is not None:
            raise GankitError(f"process {rank}: {message}")
    return result  # type: ignore[return-value]


def _one_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    first = lines[0] if lines else ""
    return first if isinstance(error, GankitError) else f"{type(error).__name__}: {first}"


# The backends' own error types (torch >= 2.2); older versions raise a plain RuntimeError.
_DIST_ERRORS = tuple(
    getattr(torch.distributed, name)
    for name in ("DistError", "DistBackendError")
    if hasattr(torch.distributed, name)
)


def _from_backend(error: BaseException) -> bool:
    """True for errors of a collective: a peer gone, a timeout."""
    if isinstance(error, (*_DIST_ERRORS, _shared_sum.PeerLost)):
        return True
    text = str(error)
    return any(word in text for word in ("gloo", "NCCL", "Connection closed", "Connection reset"))


@contextlib.contextmanager
def lost_processes(dist: Dist) -> Iterator[None]:
    """Turn a collective's failure (another process died or hung) into one clear line."""
    try:
        yield
    except RuntimeError as error:
        if not (dist.active and _from_backend(error)):
            raise
        raise GankitError(
            f"process {dist.rank} of {dist.world_size} lost contact with the others (one of "
            f"them failed or was stopped: see its error): {_backend_reason(error)}"
        ) from None


def _backend_reason(error: BaseException) -> str:
    """The first sentence of a backend's message, without its source location.

    Example:
        >>> _backend_reason(RuntimeError("[pair.cc:553] Connection closed by peer [::1]:5. Check"))
        'Connection closed by peer [::1]:5'
    """
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if text.startswith("[") and "] " in text:
        text = text.split("] ", 1)[1]
    return text.split(". ", 1)[0]
