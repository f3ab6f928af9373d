"""Inference for image-to-image translation runs (pix2pix, Isola et al. 2017; CycleGAN, Zhu et al.
2017; StarGAN, Choi et al. 2018): translate image files or folders. Imports no training code.

Any image size works: each image is padded on the bottom and right (reflection) to a multiple of
the generator's down-sampling factor (``unet_256``: 256, ResNet generators: 4), translated, and
cropped back, so outputs keep the inputs' names and sizes. Images of equal size are batched.
Grayscale models read inputs as luminance, colour models as RGB. Networks trained on small crops
see a different scale on large images: resize inputs to about the training size for best results.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import imageio.v3 as iio
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ganbase.errors import UserError
from ganbase.io.checkpoint import atomic_write_bytes
from ganbase.io.grids import make_grid, save_png
from ganbase.io.images import load_image, to_tensor, to_uint8
from ganbase.zoo.models.translation import TranslationModel, gray_to_rgb

INPUT_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
COMPARE_CELL = 128
COMPARE_ROWS = 32


@dataclass
class Job:
    """What to translate: inputs by relative name, optional ground truth by the same names."""

    inputs: dict[str, Path]
    targets: dict[str, Path]


def find_inputs(source: str | os.PathLike, source_side: str) -> Job:
    """A single image, a folder of images (recursively), or a paired folder with ``A/`` and
    ``B/``: then the ``source_side`` folder is translated and the other one is the ground truth."""
    source = Path(source)
    if source.is_file():
        return Job({source.name: source}, {})
    if not source.is_dir():
        raise UserError(f"input not found: {source}")
    other_side = "B" if source_side == "A" else "A"
    if (source / source_side).is_dir() and (source / other_side).is_dir():
        targets = {p.relative_to(source / other_side).with_suffix("").as_posix(): p
                   for p in _images_in(source / other_side)}
        inputs = {p.relative_to(source / source_side).as_posix(): p
                  for p in _images_in(source / source_side)}
        matched = {name: targets[Path(name).with_suffix("").as_posix()] for name in inputs
                   if Path(name).with_suffix("").as_posix() in targets}
        job = Job(inputs, matched)
    else:
        job = Job({p.relative_to(source).as_posix(): p for p in _images_in(source)}, {})
    if not job.inputs:
        raise UserError(f"no images in {source} (looked for {', '.join(INPUT_SUFFIXES)})")
    return job


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in INPUT_SUFFIXES)


def read_input(path: Path, channels: int) -> Tensor:
    """``[1, channels, H, W]`` in [-1, 1]."""
    image = to_tensor(load_image(path)[0])
    if channels == 1:
        weights = torch.tensor([0.2125, 0.7154, 0.0721])[None, :, None, None]
        image = (image * weights).sum(1, keepdim=True)
    return image


def pad_to_multiple(images: Tensor, multiple: int) -> Tensor:
    """Pad bottom/right to multiples of ``multiple`` (reflection; replication for tiny images)."""
    height, width = images.shape[-2:]
    pad_h, pad_w = -height % multiple, -width % multiple
    if not (pad_h or pad_w):
        return images
    mode = "reflect" if pad_h < height and pad_w < width else "replicate"
    return F.pad(images, (0, pad_w, 0, pad_h), mode=mode)


@torch.no_grad()
def translate_batch(model: TranslationModel, images: Tensor, reverse: bool = False,
                    domains: Tensor | None = None, batch_size: int = 8) -> Tensor:
    """Translate equally sized images ``[N, C, H, W]`` in chunks, padding and cropping back."""
    height, width = images.shape[-2:]
    outputs = []
    for start in range(0, images.shape[0], batch_size):
        chunk = pad_to_multiple(images[start:start + batch_size].to(model.device), model.size_multiple)
        chunk_domains = None if domains is None else domains.to(model.device).expand(chunk.shape[0], -1)
        outputs.append(model.translate(chunk, reverse, chunk_domains)[..., :height, :width].cpu())
    return torch.cat(outputs)


def domain_vector(names: list[str], requested: str) -> Tensor:
    """``blond`` or ``blond,male`` -> a 0/1 vector over the run's domains."""
    vector = torch.zeros(len(names))
    for name in (part.strip() for part in requested.split(",")):
        if name not in names:
            raise UserError(f"unknown target domain {name!r}; known domains: {', '.join(names)}")
        vector[names.index(name)] = 1.0
    return vector


def translate_files(model: TranslationModel, config: dict[str, Any], source: str | os.PathLike,
                    out_dir: str | os.PathLike, direction: str | None = None,
                    target_domain: str | None = None, compare: str | os.PathLike | None = None,
                    batch_size: int = 8) -> dict[str, Any]:
    """Translate ``source`` into ``out_dir`` (same relative names); returns a summary."""
    if batch_size < 1:
        raise UserError(f"--batch-size must be at least 1, got {batch_size}")
    out_dir = Path(out_dir)
    trained = config.get("data", {}).get("direction", "AtoB")
    domains = list(config.get("class_names") or [])
    multi_domain = model.data_kind == "multi-domain"
    if direction is not None and direction not in ("AtoB", "BtoA"):
        raise UserError(f"--direction must be AtoB or BtoA, got {direction!r}")
    if multi_domain and direction is not None:
        raise UserError("--direction does not apply to stargan; choose --target-domain")
    if not multi_domain and target_domain is not None:
        raise UserError(f"--target-domain is for multi-domain models; {model.name} translates "
                        "between two domains (use --direction)")
    reverse = direction is not None and direction != trained
    if reverse and not model.bidirectional:
        raise UserError(f"this {model.name} run was trained {trained} and translates one way only")
    source_side = (direction or trained)[0]
    job = find_inputs(source, source_side)
    channels = model.config.out_channels if reverse else model.config.data_shape[0]

    if multi_domain:
        wanted = [target_domain] if target_domain is not None else domains
        targets = {name: domain_vector(domains, name) for name in wanted}
        folders = {name: out_dir if target_domain is not None else out_dir / name for name in wanted}
    else:
        targets, folders = {"": None}, {"": out_dir}

    names = list(job.inputs)
    for folder in folders.values():  # refuse before anything is read or written
        clash = next((job.inputs[name] for name in names if (folder / name).exists()
                      and (folder / name).samefile(job.inputs[name])), None)
        if clash is not None:
            raise UserError(f"--out {out_dir} would overwrite the input {clash}; choose another folder")
    inputs = {name: read_input(job.inputs[name], channels) for name in names}
    results: dict[str, dict[str, Tensor]] = {name: {} for name in names}
    by_shape: dict[tuple[int, int], list[str]] = {}
    for name in names:
        by_shape.setdefault(tuple(inputs[name].shape[-2:]), []).append(name)
    for group in by_shape.values():
        stacked = torch.cat([inputs[name] for name in group])
        for key, vector in targets.items():
            translated = translate_batch(model, stacked, reverse, vector, batch_size)
            for name, image in zip(group, translated):
                results[name][key] = image
                write_image(folders[key] / name, image)
    if compare is not None:
        rows = []
        for name in names[:COMPARE_ROWS]:
            row = [inputs[name][0]] + [results[name][key] for key in targets]
            if name in job.targets:
                row.append(to_tensor(load_image(job.targets[name])[0])[0])
            rows.append(row)
        save_png(compare, compare_sheet(rows))
    return {"count": len(names), "outputs": [str(folder) for folder in folders.values()],
            "with_targets": len(job.targets)}


def write_image(path: Path, image: Tensor) -> None:
    """``[C, H, W]`` in [-1, 1] -> an image file in the format its suffix names."""
    array = to_uint8(image[None])[0]
    if array.shape[2] == 1:
        array = array[:, :, 0]
    suffix = path.suffix.lower() if path.suffix.lower() in INPUT_SUFFIXES else ".png"
    atomic_write_bytes(path, iio.imwrite("<bytes>", array, extension=suffix))


def compare_sheet(rows: list[list[Tensor]], cell: int = COMPARE_CELL) -> np.ndarray:
    """One row per image (input | output(s) | target), each panel resized to ``cell`` x ``cell``."""
    columns = max(len(row) for row in rows)
    panels = []
    for row in rows:
        for image in row:
            resized = F.interpolate(gray_to_rgb(image[None].float()), size=(cell, cell),
                                    mode="bilinear", antialias=True, align_corners=False)
            panels.append(resized[0].clamp(-1, 1))
        panels += [torch.ones(3, cell, cell)] * (columns - len(row))  # blanks: no ground truth
    return make_grid(to_uint8(torch.stack(panels)), columns)
