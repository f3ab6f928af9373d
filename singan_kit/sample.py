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

import math
import re
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
from torch import Tensor, nn

from ganbase.errors import UserError
from ganbase.io.checkpoint import atomic_write_bytes
from ganbase.io.grids import make_grid
from ganbase.io.images import encode_image, to_uint8
from ganbase.runtime.memory import available_memory
from singan_kit import architectures
from singan_kit.architectures.base import cpu_batch_size, sample_streams
from singan_kit.tiling import sizes_for_size, tiled_batches

_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"

GPU_BATCH_SIZE = 16  # samples per batch on GPUs (and the most on the CPU)
MAX_SIDE = 65536  # longest side --size accepts (the memory budget usually refuses sooner)
# A batch estimated above this runs in tiles (on the same noise): one sample of a 250-px run is
# untiled up to --scale 1.75 (paper, 128 filters at the finest scale) or 3.5 (fast, 32). Tiles of
# WORKING_MEMORY (750-1000 px for fast) kept a 4K sample under 0.8 GB of RSS at no loss of speed
# per megapixel against a whole 1K canvas (README "Large outputs").
UNTILED_BYTES = 256 * 2**20
WORKING_MEMORY = 512 * 2**20


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


def parse_size(text: str) -> tuple[int, int]:
    """Parse ``--size``: ``"3840x2160"`` (width x height, pixels) -> ``(height, width)``."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(text))
    if not match or min(int(match.group(1)), int(match.group(2))) < 1:
        raise UserError(f"invalid size {text!r}: use WIDTHxHEIGHT in pixels, like 3840x2160")
    width, height = int(match.group(1)), int(match.group(2))
    if max(width, height) > MAX_SIDE:
        raise UserError(f"size {text!r} is too large (at most {MAX_SIDE} px a side)")
    return height, width


def default_batch_size(model: nn.Module, sizes: list[tuple[int, int]]) -> int:
    """Samples per batch when none is given: ``GPU_BATCH_SIZE`` on GPUs; on the CPU small batches
    (:func:`singan_kit.architectures.base.cpu_batch_size` for the widest convolution at the finest of
    ``sizes``: 1 for the paper preset at 250 px, 2 at 32 filters; models without convolutions count
    as 3 channels wide)."""
    if model.device.type != "cpu":
        return GPU_BATCH_SIZE
    return cpu_batch_size(widest_filters(model), sizes[-1], GPU_BATCH_SIZE)


def check_request(model: nn.Module, num: int, start_scale: int, batch_size: int | None) -> None:
    """One-line errors for a sample count, batch size or start scale the model cannot serve."""
    if num < 1:
        raise UserError(f"number of samples must be >= 1, got {num}")
    if batch_size is not None and batch_size < 1:
        raise UserError(f"batch size must be >= 1, got {batch_size}")
    if not 0 <= start_scale < model.num_trained:
        raise UserError(f"start scale must be between 0 and {model.num_trained - 1}, got {start_scale}")


def checked_sizes(model: nn.Module, scale_w: float, scale_h: float) -> list[tuple[int, int]]:
    sizes = model.sizes_for(scale_h, scale_w)
    if min(min(s) for s in sizes) < 1:
        raise UserError("requested size is too small")
    return sizes


@torch.no_grad()
def iter_batches(model: nn.Module, num: int, scale_w: float = 1.0, scale_h: float = 1.0, start_scale: int = 0,
                 seed: int = 0, batch_size: int | None = None, first_index: int = 0) -> Iterator[tuple[int, Tensor]]:
    """``(index of the batch's first sample, samples [b, 3, H', W'] clamped to [-1, 1])`` one batch
    at a time, so callers can write each batch and let it go (nothing accumulates here)."""
    check_request(model, num, start_scale, batch_size)
    sizes = checked_sizes(model, scale_w, scale_h)
    batch_size = batch_size or default_batch_size(model, sizes)
    sampler = architectures.get(model.config.architecture).sample_batch
    for first in range(0, num, batch_size):
        count = min(batch_size, num - first)
        batch = sampler(model, sample_streams(seed, count, first_index + first), sizes, start_scale)
        yield first_index + first, batch.clamp_(-1.0, 1.0)


@torch.no_grad()
def generate(model: nn.Module, num: int, scale_w: float = 1.0, scale_h: float = 1.0,
             start_scale: int = 0, seed: int = 0, batch_size: int | None = None, first_index: int = 0,
             on_batch: Callable[[int], None] | None = None) -> Tensor:
    """``num`` samples ``[num, 3, H', W']`` clamped to [-1, 1] (on the model's device), in batches
    of ``batch_size`` (None: :func:`default_batch_size`). Holds all of them: to write many or large
    samples use :func:`stream_samples`."""
    outputs = []
    for _, batch in iter_batches(model, num, scale_w, scale_h, start_scale, seed, batch_size, first_index):
        outputs.append(batch)
        if on_batch is not None:
            on_batch(batch.shape[0])
    return torch.cat(outputs)


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


# ---------------------------------------------------------------------- streaming writes (issues 22, 23)
class GridSheet:
    """The contact sheet of :func:`ganbase.io.grids.make_grid` (same layout, pixel for pixel), filled
    one image at a time so that the samples themselves need not be held: only the sheet is."""

    def __init__(self, count: int, height: int, width: int, padding: int = 2) -> None:
        self.columns = max(1, math.ceil(math.sqrt(count)))
        rows = math.ceil(count / self.columns)
        self.height, self.width, self.padding = height, width, padding
        self.sheet = np.zeros((rows * (height + padding) + padding,
                               self.columns * (width + padding) + padding, 3), dtype=np.uint8)

    def put(self, index: int, image: np.ndarray) -> None:
        """Paste ``uint8 [H, W, 3]`` image number ``index``."""
        row, col = divmod(index, self.columns)
        top = self.padding + row * (self.height + self.padding)
        left = self.padding + col * (self.width + self.padding)
        self.sheet[top:top + self.height, left:left + self.width] = image


def sample_batches(model: nn.Module, num: int, scale_w: float = 1.0, scale_h: float = 1.0, start_scale: int = 0,
                   seed: int = 0, batch_size: int | None = None, grid: bool = False, max_memory: int | None = None,
                   size: tuple[int, int] | None = None, tiled: bool = False) -> Iterator[tuple[int, Tensor]]:
    """The batches :func:`write_stream` writes, every request checked now, before the first batch.

    A batch whose untiled estimate (:func:`sample_bytes`) is within ``UNTILED_BYTES``, or of an
    architecture without a ``canvas_plan``, runs untiled, exactly as :func:`generate`. A larger one
    runs in exact tiles (:mod:`singan_kit.tiling`) on the same noise (whole noise maps of each
    level drawn from the sample's stream), equal to the untiled samples up to float rounding. ``size`` (an exact ``(height, width)``, instead of the factors
    ``scale_w``/``scale_h``) or ``tiled`` always runs in tiles, with noise drawn per block (other
    numbers than the untiled path, independent of tile and batch size; batch size 1 unless given).

    ``max_memory`` (bytes) bounds the batch, or the tiles; None: what is available
    (:func:`~ganbase.runtime.memory.available_memory` of the model's device) for an untiled batch, and
    ``WORKING_MEMORY`` (or less if less is available) for tiles. A request the estimate says cannot
    fit is refused in one line; the default batch is cut to fit. ``grid``: the contact sheet is
    held too."""
    check_request(model, num, start_scale, batch_size)
    sizes = sizes_for_size(model, *size) if size is not None else checked_sizes(model, scale_w, scale_h)
    final = sizes[model.num_trained - 1]
    sheet = (3 * (final[0] + 2) * (final[1] + 2) * num) if grid else 0
    blocks = size is not None or tiled
    untiled_limit = UNTILED_BYTES if max_memory is None else min(UNTILED_BYTES, max_memory - sheet)
    tileable = architectures.get(model.config.architecture).canvas_plan is not None
    if not blocks and (not tileable or sample_bytes(model, sizes, batch_size or 1) <= untiled_limit):
        batch_size = fit_batch_size(model, sizes, batch_size, max_memory, grid_images=num if grid else 0)
        return iter_batches(model, num, scale_w, scale_h, start_scale, seed, batch_size)
    if max_memory is None:
        max_memory = min(available_memory(model.device), WORKING_MEMORY + sheet)
    return tiled_batches(model, num, sizes, start_scale, seed, batch_size or 1, max_memory - sheet,
                         block_noise_draws=blocks)


def write_stream(batches: Iterator[tuple[int, Tensor]], out_dir: str | Path, num: int, grid: bool = False,
                 prefix: str = "sample", on_batch: Callable[[int], None] | None = None) -> tuple[int, int]:
    """Write ``num`` samples as ``<prefix>_0000.png`` ... (each atomically, as soon as its batch is
    done; nothing but the current batch and, with ``grid``, the contact sheet is held) and return
    their ``(height, width)``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sheet = None
    for first, batch in batches:
        images = to_uint8(batch)  # [b, H, W, 3]
        del batch
        for offset, image in enumerate(images):
            atomic_write_bytes(out_dir / f"{prefix}_{first + offset:04d}.png", encode_image(image))
            if grid:
                sheet = sheet or GridSheet(num, *image.shape[:2])
                sheet.put(first + offset, image)
        if on_batch is not None:
            on_batch(len(images))
    if sheet is not None:
        atomic_write_bytes(out_dir / "grid.png", encode_image(sheet.sheet))
    return images.shape[1], images.shape[2]


def stream_samples(model: nn.Module, out_dir: str | Path, num: int, scale_w: float = 1.0, scale_h: float = 1.0,
                   start_scale: int = 0, seed: int = 0, batch_size: int | None = None, grid: bool = False,
                   prefix: str = "sample", max_memory: int | None = None,
                   on_batch: Callable[[int], None] | None = None, size: tuple[int, int] | None = None,
                   tiled: bool = False) -> tuple[int, int]:
    """:func:`sample_batches` written by :func:`write_stream`. Untiled, the same pixels as
    :func:`generate` + :func:`write_samples`."""
    batches = sample_batches(model, num, scale_w, scale_h, start_scale, seed, batch_size, grid, max_memory, size,
                             tiled)
    return write_stream(batches, out_dir, num, grid, prefix, on_batch)


# ---------------------------------------------------------------------- memory estimates
def widest_filters(model: nn.Module) -> int:
    """Output channels of the widest convolution (3 for models without one)."""
    return max((m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)), default=3)


def sample_bytes(model: nn.Module, sizes: list[tuple[int, int]], batch: int) -> int:
    """Estimated peak bytes of sampling one batch untiled at per-scale ``sizes`` (float32): three
    activations of the widest convolution at the finest scale (its input, its output and the
    normalized copy made before the input is freed), plus the 3-channel images of
    every scale (noise, input, output, upsampled) and the uint8 copy that is written."""
    height, width = sizes[-1]
    features = 3 * widest_filters(model) * (height + 12) * (width + 12)
    images = sum(4 * 3 * h * w for h, w in sizes)
    return 4 * batch * (features + images) + batch * 3 * height * width


def fit_batch_size(model: nn.Module, sizes: list[tuple[int, int]], batch_size: int | None,
                   max_memory: int | None, grid_images: int = 0) -> int:
    """``batch_size`` if its estimate fits in ``max_memory`` (None: :func:`available_memory`), else a
    one-line error; without one the default batch, cut to fit. ``grid_images``: the contact sheet's
    images, held throughout."""
    budget = available_memory(model.device) if max_memory is None else max_memory
    height, width = sizes[-1]
    budget -= grid_images * 3 * (height + 2) * (width + 2)
    need_one = sample_bytes(model, sizes, 1)
    if need_one > budget:
        raise UserError(f"one {width}x{height} px sample needs about {need_one / 2**30:.1f} GB, more than the "
                        f"{max(budget, 0) / 2**30:.1f} GB available{' besides the grid' if grid_images else ''}; "
                        "ask for a smaller --scale or --size, or drop --grid")
    if batch_size is not None:
        need = sample_bytes(model, sizes, batch_size)
        if need > budget:
            raise UserError(f"--batch-size {batch_size} needs about {need / 2**30:.1f} GB for {width}x{height} px "
                            f"samples, more than the {budget / 2**30:.1f} GB available; use at most "
                            f"{max(1, budget // need_one)}")
        return batch_size
    return int(max(1, min(default_batch_size(model, sizes), budget // need_one)))
