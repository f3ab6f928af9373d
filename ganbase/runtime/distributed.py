"""Several processes, GPUs and machines with ``torch.distributed``, launched by ``torchrun``.

No paper: PyTorch's process groups (Li et al. 2020, "PyTorch Distributed: Experiences on
Accelerating Data Parallel Training", VLDB) and torchrun's environment variables (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR``/``MASTER_PORT``; its
rendezvous handles multi-node jobs). A :class:`World` describes this process's place in the job;
a plain ``python``/``singan``/``ganzoo`` invocation is a world of one and initialises nothing,
so single-process behaviour is unchanged.

Backends: NCCL when the processes use CUDA devices, gloo on CPU (and for jobs whose only
collectives are gathers of small Python objects, such as folder training). Each process uses
the GPU of its ``LOCAL_RANK``, or on CPU ``cores // LOCAL_WORLD_SIZE`` threads, so processes on
one machine never share cores.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Iterator, Sequence, TypeVar

import numpy as np
import torch
import torch.distributed as dist

from ganbase.errors import UserError
from ganbase.runtime.device import resolve_device

Item = TypeVar("Item")


def launched() -> bool:
    """True in a process started by torchrun (or any launcher) with ``WORLD_SIZE`` > 1."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1) > 1


@dataclass(frozen=True)
class World:
    """This process's place in a (possibly single-process) job."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1
    backend: str = ""  # "" when no process group is initialised

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.size > 1

    def shard(self, items: Sequence[Item]) -> list[Item]:
        """Static sharding: item ``i`` of the (sorted) sequence belongs to rank ``i % size``."""
        return list(items[self.rank::self.size])

    def owner(self, index: int) -> int:
        return index % self.size

    def gather(self, obj: Any) -> list[Any]:
        """Every rank's ``obj``, in rank order, on every rank (``[obj]`` for one process)."""
        if not self.is_distributed:
            return [obj]
        gathered: list[Any] = [None] * self.size
        dist.all_gather_object(gathered, obj)
        return gathered

    def any(self, flag: bool, device: torch.device | str = "cpu") -> bool:
        """True on every rank when ``flag`` is true on any rank (a consensus, e.g. to stop)."""
        if not self.is_distributed:
            return flag
        tensor = torch.tensor([1.0 if flag else 0.0], device=device)
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return bool(tensor.item() > 0)

    def mean(self, values: dict[str, float], device: torch.device | str = "cpu") -> dict[str, float]:
        """The mean over ranks of every value (same keys on every rank)."""
        if not self.is_distributed or not values:
            return values
        tensor = torch.tensor([values[key] for key in values], dtype=torch.float64, device=device)
        dist.all_reduce(tensor)
        return {key: float(value) / self.size for key, value in zip(values, tensor.tolist())}

    def barrier(self) -> None:
        if self.is_distributed:
            dist.barrier()

    def local_batch(self, global_batch: int) -> int:
        """This rank's share of a global batch; the batch must split evenly."""
        if not self.is_distributed:
            return global_batch
        if global_batch % self.size:
            raise UserError(f"batch size {global_batch} does not split evenly over {self.size} "
                            f"processes; use a multiple of {self.size}")
        return global_batch // self.size

    def rank_seed(self, seed: int, step: int = 0) -> int:
        """A seed of its own for every rank (and resume step), so ranks draw different noise."""
        return int(np.random.SeedSequence([seed, self.rank, step, 7_129]).generate_state(1)[0])

    def prefix(self) -> str:
        """``"[rank r/n] "`` in a multi-process job, else empty (for console lines)."""
        return f"[rank {self.rank}/{self.size}] " if self.is_distributed else ""


SINGLE = World()


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        raise UserError(f"environment variable {name}={os.environ[name]!r} is not an integer") from None


def world_from_env() -> World:
    """The ranks torchrun describes (without initialising anything); a world of one otherwise."""
    size = _env_int("WORLD_SIZE", 1)
    if size <= 1:
        return SINGLE
    # torchrun sets all of these; a WORLD_SIZE left in the environment by something else must not
    # end in a traceback from the rendezvous
    missing = [name for name in ("MASTER_ADDR", "MASTER_PORT") if not os.environ.get(name)]
    if missing:
        raise UserError(f"WORLD_SIZE={size} is set but {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
                        "not: start the job with torchrun, or unset WORLD_SIZE to run as one process")
    local_size = _env_int("LOCAL_WORLD_SIZE", 1)
    return World(_env_int("RANK", 0), size, _env_int("LOCAL_RANK", 0), max(1, local_size))


def process_device(world: World, spec: str = "auto", share_gpus: bool = False) -> torch.device:
    """The device of this process: under torchrun ``auto``/``cuda`` mean ``cuda:LOCAL_RANK``; with
    ``share_gpus``, more processes than GPUs take the GPUs in turn (``LOCAL_RANK % GPUs``)."""
    if not world.is_distributed:
        return resolve_device(spec)
    spec = (spec or "auto").strip().lower()
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "auto" and not torch.cuda.is_available():
        return torch.device("cpu")
    if spec not in ("auto", "cuda"):
        raise UserError(f"--device {spec} cannot be used under torchrun: every process takes the GPU of "
                        "its LOCAL_RANK with --device cuda (or auto), or runs on --device cpu")
    if not torch.cuda.is_available():
        raise UserError("--device cuda requested but CUDA is not available on this machine")
    count = torch.cuda.device_count()
    if share_gpus:
        return torch.device("cuda", world.local_rank % count)
    if world.local_rank >= count:
        raise UserError(f"{world.local_size} processes on this machine but only {count} GPU(s): "
                        f"use --nproc_per_node {count} or --device cpu")
    return torch.device("cuda", world.local_rank)


def cpu_threads(world: World) -> int:
    """Threads per process on CPU: the machine's cores shared out between its processes."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, cores // world.local_size)


@contextlib.contextmanager
def distributed_world(device: str = "auto", backend: str | None = None, threads: int | None = None,
                      timeout: timedelta | None = None,
                      share_gpus: bool = False) -> Iterator[tuple[World, torch.device]]:
    """Join the torchrun job (if any) for the duration of the block; yields (world, device).

    ``backend`` None picks NCCL for CUDA devices and gloo for CPU; ``share_gpus`` lets several
    processes use one GPU (not with NCCL, which needs a GPU per process). On CPU each process
    uses ``threads`` or ``cores // LOCAL_WORLD_SIZE`` threads. The process group is destroyed on
    exit, also after an error.
    """
    world = world_from_env()
    torch_device = process_device(world, device, share_gpus)
    if not world.is_distributed:
        yield world, torch_device
        return
    if torch_device.type == "cuda":
        torch.cuda.set_device(torch_device)
    elif threads is None:
        torch.set_num_threads(cpu_threads(world))
    chosen = backend or ("nccl" if torch_device.type == "cuda" else "gloo")
    options: dict[str, Any] = {"backend": chosen, "rank": world.rank, "world_size": world.size}
    if timeout is not None:
        options["timeout"] = timeout
    dist.init_process_group(**options)
    joined = World(world.rank, world.size, world.local_rank, world.local_size, chosen)
    try:
        yield joined, torch_device
        _leave_together(joined)
    finally:
        dist.destroy_process_group()


def _leave_together(world: World) -> None:
    """Return only once every rank has finished its collectives (rank 0, which may host the
    store, last): a rank that exits early closes connections a slower rank may still be reading,
    and gloo can abort that rank. Counts in the rendezvous store, which outlives the group."""
    try:
        store = dist.distributed_c10d._get_default_store()
    except (AttributeError, RuntimeError, ValueError):  # no store API in this torch: a barrier
        dist.barrier()
        return
    store.add("leave/arrived", 1)
    _wait_for_count(store, "leave/arrived", world.size)
    store.add("leave/gone", 1)
    if world.is_main:
        _wait_for_count(store, "leave/gone", world.size)


def _wait_for_count(store: Any, key: str, count: int) -> None:
    while store.add(key, 0) < count:
        time.sleep(0.005)


__all__ = ["World", "SINGLE", "launched", "world_from_env", "process_device", "cpu_threads",
           "distributed_world"]
