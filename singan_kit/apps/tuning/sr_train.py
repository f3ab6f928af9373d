"""``singan sr`` (:func:`singan_kit.api.super_resolve_images`): train SinGAN in super-resolution mode on a low-resolution image and upscale it
(Shaham et al. 2019, Sec. 4; see :mod:`singan_kit.apps.super_resolution`). Training code.

The SR model lives in a run folder: a given ``run_dir`` is reused when finished, resumed when
unfinished and created otherwise; without one, a temporary folder is used and removed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable

import torch

from ganbase.errors import UserError
from ganbase.io.images import load_image
from singan_kit import run_folder as rf
from singan_kit.apps.super_resolution import check_factor, factor_for_size, sr_config, super_resolve
from singan_kit.architectures.lifecycle import train
from singan_kit.architectures.singan.model import GeneratorPyramid


def sr_model(image: str | Path, factor: float, run_dir: str | Path | None, preset: str = "paper",
             overrides: dict | None = None, device: torch.device | str = "cpu", progress: bool = True,
             threads: int | None = None, on_scale_end: Callable | None = None,
             notes: list[str] | None = None) -> GeneratorPyramid:
    """The SR model of ``image`` in ``run_dir`` (trained, resumed or reused)."""
    notes = notes if notes is not None else []
    options = dict(device=device, progress=progress, threads=threads, on_scale_end=on_scale_end)
    run_dir = Path(run_dir)
    if (run_dir / rf.CONFIG_FILE).is_file():
        meta = rf.read_meta(run_dir)
        if meta["architecture"] != "singan":
            raise UserError(f"super-resolution is not supported for {meta['architecture']} runs ({run_dir})")
        if Path(meta["source_image"]) != Path(image).resolve():
            notes.append(f"reusing {run_dir}, which was trained on {meta['source_image']}")
        if meta["scales_done"] == meta["pyramid"].num_scales:
            return rf.load_model(run_dir, device)
        return train(None, run_dir, resume=True, **options)
    array, read_notes = load_image(image)
    notes.extend(read_notes)
    config = sr_config(factor, array.shape[:2], preset, **(overrides or {}))
    return train(image, run_dir, config, on_notes=notes.extend, **options)


def super_resolve_image(image: str | Path, factor: float, run_dir: str | Path | None = None, seed: int = 0,
                        size: tuple[int, int] | None = None, max_memory: int | None = None,
                        **options) -> tuple[torch.Tensor, list[str]]:
    """Train (or reuse) an SR model of ``image`` and return ``(upscaled [1, 3, H', W'], notes)``;
    ``size`` (H, W): an exact output size of the image's aspect ratio instead of ``factor``."""
    if size is not None:
        factor = factor_for_size(load_image(image)[0].shape[:2], size)
    check_factor(factor)
    notes: list[str] = []
    upscale = dict(seed=seed, max_memory=max_memory, size=size)
    if run_dir is not None:
        model = sr_model(image, factor, run_dir, notes=notes, **options)
        return super_resolve(model, factor, **upscale), notes
    with tempfile.TemporaryDirectory(prefix="singan-sr-") as folder:
        model = sr_model(image, factor, Path(folder) / "run", notes=notes, **options)
        return super_resolve(model, factor, **upscale).cpu(), notes


__all__ = ["sr_model", "super_resolve_image"]
