"""Train SinGAN (Shaham et al. 2019) or another registered architecture on every image of a
folder, one run folder per image.

Finished runs are skipped, unfinished ones resumed with their saved settings, unreadable images
reported and passed over; the caller prints :func:`singan_kit.batch.folders.summary_table` at the end.
Under torchrun every process trains its static share of the images, with a claim file per run
(:mod:`singan_kit.batch.sharding`), and every process gets the results of all.
Training code: loaded by :func:`singan_kit.api.train_folder` (``singan train`` on a folder) only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch

from ganbase.errors import UserError
from ganbase.io.run_lock import remove_lock_of
from ganbase.runtime.distributed import SINGLE, World
from singan_kit import run_folder as rf
from singan_kit.architectures.base import RunConfig, ScaleSummary
from singan_kit.architectures.lifecycle import CHECKPOINT_SECONDS, train
from singan_kit.batch.dispatch import Item, folder_items, run_items
from singan_kit.batch.folders import ItemResult, Skip, is_run_folder
from singan_kit.batch.sharding import finish_claim, read_claim, release_claim, take_claim


def train_images(folder: str | Path, out_root: str | Path, config: RunConfig, device: torch.device,
                 progress: bool = True, on_scale_end: Callable[[ScaleSummary], None] | None = None,
                 threads: int | None = None, on_notes: Callable[[list[str]], None] | None = None,
                 on_start: Callable[[Path, Path], None] | None = None,
                 on_item: Callable[[ItemResult], None] | None = None,
                 world: World = SINGLE, checkpoint_seconds: float | None = CHECKPOINT_SECONDS,
                 checkpoint_activations: bool = False) -> list[ItemResult]:
    """Train (or resume, or skip) ``<out_root>/<name>`` for every image of ``folder`` (under
    torchrun: this rank's share, returning the results of all ranks)."""
    out_root = Path(out_root)
    by_file = {item.path.name: item for item in folder_items(folder, "image").values()}  # named by file

    def work(item: Item) -> str:
        image, run_dir = item.path, out_root / item.name
        options = dict(device=device, progress=progress, on_scale_end=on_scale_end, threads=threads,
                       checkpoint_seconds=checkpoint_seconds, checkpoint_activations=checkpoint_activations)
        if is_run_folder(run_dir):
            meta = rf.read_meta(run_dir)
            done, total = meta["scales_done"], meta["pyramid"].num_scales
            if done == total:
                raise Skip(f"{run_dir} is already trained ({total} scales)")
        claim, took_over = take_claim(out_root, run_dir.name, world) if world.is_distributed else (None, False)
        if took_over:  # the crashed job's run lock goes with its claim (it may be of another host)
            remove_lock_of(run_dir, (read_claim(claim) or {}).get("took_over"))
        try:
            # leftovers of a crash before the run's config.json are cleared only under our own stale claim
            if not is_run_folder(run_dir) and run_dir.exists() and any(run_dir.iterdir()) and not took_over:
                raise UserError(f"{run_dir} exists and is not a run folder; move it away")
            if on_start is not None:
                on_start(image, run_dir)
            if is_run_folder(run_dir):
                train(None, run_dir, resume=True, **options)
                detail = f"{run_dir}: resumed at scale {done}, {total} scales"
            else:
                model = train(image, run_dir, config, on_notes=on_notes, overwrite=took_over, **options)
                detail = f"{run_dir}: {model.num_trained} scales"
        except BaseException:
            if claim is not None and not is_run_folder(run_dir):
                release_claim(claim)  # nothing trained: the next job starts it afresh
            raise
        if claim is not None:
            finish_claim(claim)
        return detail

    return run_items(by_file, work, world, on_item)


__all__ = ["train_images"]
