"""Folder work across the processes of a torchrun job: SinGAN (Shaham et al. 2019) trains one
model per image, so ``singan train photos/`` and ``singan sample runs/`` split the folder between
processes instead of splitting a model.

Static sharding: the ``i``-th name in sorted order belongs to rank ``i % WORLD_SIZE``, so a
restarted job gives every rank the same images again. Every rank works through its share and
rank 0 prints the summary gathered from all ranks (:func:`gather_results`).

Claims (training only). Before training image ``name`` its rank creates
``<out>/.claims/<name>.claim`` atomically (``O_CREAT | O_EXCL``): JSON with rank, world size,
host, pid and start time. The claim stays after the run, with its finish time, as a record of
which process trained it; whether a run is finished is always read from its ``config.json``
(all scales done), never from a claim. A failed image (no run folder) has its claim removed.

Stale claims, after a crash. A claim found on an unfinished run is taken over when
- it was written on this host by a process that no longer exists, or
- it was written on another host by the same rank of a job of the same size: a restarted job
  (static sharding gives that rank the same images, and ranks within one job are unique, so it
  cannot be a live claim of this job).
Otherwise the run is skipped and reported as "claimed by rank R on HOST (pid P)": a live process
of another job on this host, or a job of another size on another machine. Delete the claim file
when that job is known to be dead.
"""

from __future__ import annotations

import json
import os
import socket
import time
from datetime import timedelta
from pathlib import Path
from typing import Sequence

from ganbase.io.checkpoint import atomic_write_json
from ganbase.io.run_lock import pid_alive  # the run lock's staleness test
from ganbase.runtime.distributed import World, distributed_world
from singan_kit.batch.folders import ItemResult, Skip

CLAIMS_DIR = ".claims"
# ranks that finish their share wait for the others in the final gather: allow a long wait
FOLDER_TIMEOUT = timedelta(days=7)


def folder_world(device: str = "auto", threads: int | None = None):
    """Join the torchrun job (if any) for folder work: gloo (only small Python objects travel
    between ranks) with a long timeout; more processes than GPUs share the GPUs (one SinGAN
    model rarely fills a GPU). Yields (world, this process's device)."""
    return distributed_world(device, backend="gloo", threads=threads, timeout=FOLDER_TIMEOUT,
                             share_gpus=True)


def claim_path(out_root: str | Path, name: str) -> Path:
    return Path(out_root) / CLAIMS_DIR / f"{name}.claim"


def _claim_record(world: World) -> dict:
    return {"rank": world.rank, "world_size": world.size, "host": socket.gethostname(), "pid": os.getpid(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def read_claim(path: Path) -> dict | None:
    """A claim's JSON, or None when it is unreadable (a torn or foreign file counts as stale)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        int(record["rank"]), int(record["world_size"]), int(record["pid"]), str(record["host"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record


def is_stale(record: dict | None, world: World) -> bool:
    """The takeover rule of the module docstring."""
    if record is None:
        return True
    if record["host"] == socket.gethostname():
        return int(record["pid"]) == os.getpid() or not pid_alive(int(record["pid"]))
    return int(record["rank"]) == world.rank and int(record["world_size"]) == world.size


def take_claim(out_root: str | Path, name: str, world: World) -> tuple[Path, bool]:
    """Claim run ``name`` for this rank: (claim file, whether a stale claim was taken over).
    Raises :class:`Skip` when another live process holds it."""
    path = claim_path(out_root, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = _claim_record(world)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        held = read_claim(path)
        if not is_stale(held, world):
            raise Skip(f"claimed by rank {held['rank']}/{held['world_size']} on {held['host']} "
                       f"(pid {held['pid']}) since {held.get('started', '?')}; delete {path} "
                       "if that job is dead") from None
        atomic_write_json(path, {**record, "took_over": held})
        return path, True
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(record, handle)
    return path, False


def finish_claim(path: Path) -> None:
    """Record the finish time in the claim (kept as a record of who trained the run)."""
    record = read_claim(path) or {}
    atomic_write_json(path, {**record, "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")})


def release_claim(path: Path) -> None:
    path.unlink(missing_ok=True)


def gather_results(world: World, results: list[ItemResult], order: Sequence[str]) -> list[ItemResult]:
    """Every rank's results in ``order`` (on every rank); details say which rank did the work."""
    if not world.is_distributed:
        return results
    by_name = {}
    for rank, part in enumerate(world.gather(results)):
        for result in part:
            by_name[result.name] = ItemResult(result.name, result.status, f"rank {rank}: {result.detail}")
    return [by_name[name] for name in order if name in by_name]


__all__ = ["CLAIMS_DIR", "FOLDER_TIMEOUT", "folder_world", "claim_path", "take_claim", "finish_claim", "release_claim", "read_claim",
           "is_stale", "gather_results"]
