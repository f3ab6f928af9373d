"""Random samples from a trained SinGAN, at any size and from any start scale (inference only).

Sampling (Shaham et al. 2019, Sec. 3): fresh noise at every scale from ``start_scale`` on; scales
below it follow the reconstruction path, so the real image's coarse structure is kept ("gen start
scale" of the official code). ``scale_h``/``scale_w`` resize the noise maps of every scale; the
fully convolutional generators then produce images of the new shape. With a start scale above 0
and a new shape, the reconstruction at the start scale is resized to the new shape (the official
code only supports new shapes from scale 0).

Each sample has its own random stream derived from ``(seed, index)``: sample i is the same whatever
the batch size or number of samples. Samples are generated in batches: 16 on GPUs, small ones on
the CPU (see :func:`default_batch_size`). Each architecture draws a batch its own way (its
registered ``sample_batch``: SinGAN's above, ConSinGAN's in
:func:`singan_kit.architectures.consingan.model.sample_batch`, Hinz et al. 2021).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor, nn

from ganbase.errors import UserError
from ganbase.io.checkpoint import atomic_write_bytes
from ganbase.io.grids import make_grid
from ganbase.io.images import encode_image, to_uint8
from singan_kit import architectures
from singan_kit.architectures.base import cpu_batch_size, sample_streams

_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"

GPU_BATCH_SIZE = 16  # samples per batch on GPUs (and the most on the CPU)


def parse_scale(text: str) -> tuple[float, float]:
    """Parse ``--scale``: ``"1.5x2"`` -> (width x1.5, height x2); ``"2"`` -> both x2."""
    value = str(text).strip().lower()
    match = re.fullmatch(rf"({_NUMBER})(?:x({_NUMBER}))?", value)
    if not match:
        raise UserError(f"invalid scale {text!r}: use a positive number like 2 or WxH like 1.5x2")
    width = float(match.group(1))
    height = float(match.group(2)) if match.group(2) is not None else width
    if width <= 0 or height <= 0:
        raise UserError(f"invalid scale {text!r}: both factors must be greater than 0")
    if width * height > 64:
        raise UserError(f"scale {text!r} is too large (at most 64 times the area)")
    return width, height


def default_batch_size(model: nn.Module, sizes: list[tuple[int, int]]) -> int:
    """Samples per batch when none is given: ``GPU_BATCH_SIZE`` on GPUs; on the CPU small batches
    (:func:`singan_kit.architectures.base.cpu_batch_size` for the widest convolution at the finest of
    ``sizes``: 1 for the paper preset at 250 px, 2 at 32 filters; models without convolutions count
    as 3 channels wide)."""
    if model.device.type != "cpu":
        return GPU_BATCH_SIZE
    filters = max((m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)), default=3)
    return cpu_batch_size(filters, sizes[-1], GPU_BATCH_SIZE)


@torch.no_grad()
def generate(model: nn.Module, num: int, scale_w: float = 1.0, scale_h: float = 1.0,
             start_scale: int = 0, seed: int = 0, batch_size: int | None = None, first_index: int = 0,
             on_batch: Callable[[int], None] | None = None) -> Tensor:
    """``num`` samples ``[num, 3, H', W']`` clamped to [-1, 1] (on the model's device), in batches
    of ``batch_size`` (None: :func:`default_batch_size`)."""
    if num < 1:
        raise UserError(f"number of samples must be >= 1, got {num}")
    if batch_size is not None and batch_size < 1:
        raise UserError(f"batch size must be >= 1, got {batch_size}")
    if not 0 <= start_scale < model.num_trained:
        raise UserError(f"start scale must be between 0 and {model.num_trained - 1}, got {start_scale}")
    sizes = model.sizes_for(scale_h, scale_w)
    if min(sizes[0]) < 1 or min(min(s) for s in sizes) < 1:
        raise UserError("requested size is too small")
    batch_size = batch_size or default_batch_size(model, sizes)
    sampler = architectures.get(model.config.architecture).sample_batch
    outputs = []
    for first in range(0, num, batch_size):
        count = min(batch_size, num - first)
        outputs.append(sampler(model, sample_streams(seed, count, first_index + first), sizes, start_scale))
        if on_batch is not None:
            on_batch(count)
    return torch.cat(outputs).clamp_(-1.0, 1.0)


def write_samples(samples: Tensor, out_dir: str | Path, prefix: str = "sample", first_index: int = 0,
                  grid: bool = False) -> list[Path]:
    """Write samples as ``<prefix>_0000.png`` ... (and ``grid.png`` with ``grid=True``)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    images = to_uint8(samples)
    paths = []
    for i, image in enumerate(images):
        path = out_dir / f"{prefix}_{first_index + i:04d}.png"
        atomic_write_bytes(path, encode_image(image))
        paths.append(path)
    if grid:
        path = out_dir / "grid.png"
        atomic_write_bytes(path, encode_image(make_grid(images)))
        paths.append(path)
    return paths
