"""Exact tiled sampling: samples of any size in bounded memory, from any fully convolutional
single-image architecture (issue 23; SinGAN, Shaham et al. 2019, Sec. 4 "arbitrary sizes").

A model's levels (its registered :attr:`~singan_kit.architectures.base.Architecture.canvas_plan`)
are local operators: output pixel (y, x) of a level depends on its input image and its noise only
within the level's ``halo`` (its receptive field radius), zero outside the canvas (the global zero
padding). So each level is computed tile by tile, each tile grown by the halo and zero-filled beyond
the canvas border, and the result equals the untiled one up to float rounding (summation order).
Only the 3-channel image of the current and the previous level is held whole; the wide activations
exist for one tile at a time, and the tile side comes from a memory budget (:func:`tile_for_budget`).

Noise is drawn per fixed block of ``BLOCK`` x ``BLOCK`` pixels of each level's canvas, from a
generator seeded with ``(sample seed, level, block row, block column)``: a tile draws the blocks it
overlaps, so sample i of a seed is the same whatever the tile size, the batch size or the device.
This noise differs from the per-sample streams of :func:`singan_kit.sample.generate` (one
``randn`` of the whole map), so the default sampling keeps its numbers; the tiled path is used when
asked for (``--size``, ``--tiled``).
"""

from __future__ import annotations

from typing import Callable, Iterator, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ganbase.errors import UserError
from singan_kit import architectures
from singan_kit.architectures.base import CanvasPlan, CanvasStage, sample_seed, sample_streams

BLOCK = 64  # side of a noise block, in pixels of a level's canvas
MIN_TILE = 32  # smallest tile side the budget may ask for
_BYTES = 4  # float32


def block_seed(seed: int, level: int, row: int, col: int) -> int:
    """Seed of noise block ``(row, col)`` of ``level`` for the sample whose seed is ``seed``."""
    return int(np.random.SeedSequence([seed, level, row, col, 0x71]).generate_state(1)[0])


def block_noise(seed: int, level: int, channels: int, canvas: tuple[int, int], rows: tuple[int, int],
                cols: tuple[int, int]) -> Tensor:
    """Noise ``[channels, y1 - y0, x1 - x0]`` of the window ``rows = (y0, y1)``, ``cols = (x0, x1)``
    of a ``canvas = (H, W)`` level; zero where the window leaves the canvas."""
    (y0, y1), (x0, x1) = rows, cols
    out = torch.zeros((channels, y1 - y0, x1 - x0))
    top, bottom, left, right = max(y0, 0), min(y1, canvas[0]), max(x0, 0), min(x1, canvas[1])
    for row in range(top // BLOCK, (bottom - 1) // BLOCK + 1) if bottom > top else ():
        for col in range(left // BLOCK, (right - 1) // BLOCK + 1) if right > left else ():
            generator = torch.Generator().manual_seed(block_seed(seed, level, row, col))
            block = torch.randn((channels, BLOCK, BLOCK), generator=generator)
            by0, by1 = max(top, row * BLOCK), min(bottom, (row + 1) * BLOCK)
            bx0, bx1 = max(left, col * BLOCK), min(right, (col + 1) * BLOCK)
            out[:, by0 - y0:by1 - y0, bx0 - x0:bx1 - x0] = block[:, by0 - row * BLOCK:by1 - row * BLOCK,
                                                                 bx0 - col * BLOCK:bx1 - col * BLOCK]
    return out


def canvas_noise(seed: int, level: int, channels: int, canvas: tuple[int, int]) -> Tensor:
    """The whole noise map ``[channels, H, W]`` of a level (what the tiles draw piece by piece)."""
    return block_noise(seed, level, channels, canvas, (0, canvas[0]), (0, canvas[1]))


def plan_for(model: nn.Module, sizes: Sequence[tuple[int, int]], start_scale: int) -> CanvasPlan:
    """The model's levels as local operators, from its architecture's registered planner."""
    architecture = architectures.get(model.config.architecture)
    if architecture.canvas_plan is None:
        raise UserError(f"{architecture.title} runs do not offer tiled sampling (--size, --tiled)")
    if model.training:
        raise ValueError("tiled sampling needs the model in eval mode (batch statistics are not local)")
    return architecture.canvas_plan(model, sizes, start_scale)


def _band(matrix: np.ndarray) -> tuple[int, int]:
    """First and last+1 column of ``matrix`` with a non-zero entry (the input rows a band needs)."""
    used = np.flatnonzero(np.any(matrix != 0.0, axis=0))
    return int(used[0]), int(used[-1]) + 1


def _input_window(stage: CanvasStage, prev: Tensor, rows: tuple[int, int], cols: tuple[int, int]) -> Tensor:
    """The level's input image on the window ``rows`` x ``cols`` (may leave the canvas: zero there):
    ``prev`` itself for the first level, else ``prev`` upsampled, one band of matrix rows at a time."""
    height, width = stage.size
    (y0, y1), (x0, x1) = rows, cols
    top, bottom, left, right = max(y0, 0), min(y1, height), max(x0, 0), min(x1, width)
    out = torch.zeros((prev.shape[0], prev.shape[1], y1 - y0, x1 - x0), dtype=prev.dtype)
    if stage.upsample is None:
        inside = prev[..., top:bottom, left:right]
    else:
        row_weights = stage.upsample(prev.shape[-2], height, top, bottom)  # [bottom - top, h_prev]
        col_weights = stage.upsample(prev.shape[-1], width, left, right)  # [right - left, w_prev]
        r0, r1 = _band(row_weights)
        c0, c1 = _band(col_weights)
        row_t = torch.from_numpy(row_weights[:, r0:r1]).to(prev.dtype)
        col_t = torch.from_numpy(col_weights[:, c0:c1]).to(prev.dtype)
        source = prev[..., r0:r1, c0:c1]
        if stage.before_upsample is not None:
            source = stage.before_upsample(source)
        inside = torch.matmul(row_t, torch.matmul(source, col_t.t()))  # as imresize does
        if stage.after_upsample is not None:
            inside = stage.after_upsample(inside)
    out[..., top - y0:bottom - y0, left - x0:right - x0] = inside
    return out


# (level offset in the plan, its stage, rows (y0, y1), cols (x0, x1)) -> noise [b, c, y1 - y0, x1 - x0]
NoiseSource = Callable[[int, CanvasStage, tuple[int, int], tuple[int, int]], Tensor]


def block_source(seeds: Sequence[int], first_level: int) -> NoiseSource:
    """Noise per block (see the module doc), one sample per seed; levels numbered from ``first_level``."""
    def noise(offset: int, stage: CanvasStage, rows: tuple[int, int], cols: tuple[int, int]) -> Tensor:
        return torch.stack([block_noise(seed, first_level + offset, stage.noise_channels, stage.size, rows, cols)
                            for seed in seeds])
    return noise


def canvas_window(maps: Tensor, rows: tuple[int, int], cols: tuple[int, int]) -> Tensor:
    """The window ``rows = (y0, y1)``, ``cols = (x0, x1)`` of whole-canvas maps ``[b, c, H, W]``
    (on the CPU), zero where it leaves the canvas."""
    (y0, y1), (x0, x1) = rows, cols
    height, width = maps.shape[-2:]
    out = torch.zeros((maps.shape[0], maps.shape[1], y1 - y0, x1 - x0), dtype=maps.dtype)
    top, bottom, left, right = max(y0, 0), min(y1, height), max(x0, 0), min(x1, width)
    out[..., top - y0:bottom - y0, left - x0:right - x0] = maps[..., top:bottom, left:right].cpu()
    return out


def maps_source(level_maps: Sequence[Tensor]) -> NoiseSource:
    """Noise from given whole-canvas maps, ``[b, c, H, W]`` per level of the plan (e.g. the steps of
    an animation's noise walks): each tile gets its window."""
    def noise(offset: int, stage: CanvasStage, rows: tuple[int, int], cols: tuple[int, int]) -> Tensor:
        return canvas_window(level_maps[offset], rows, cols)
    return noise


def stream_source(streams: Sequence[torch.Generator]) -> NoiseSource:
    """The noise the untiled sampler draws: for each level in turn, one ``randn [1, c, H, W]`` of
    the whole level from each sample's stream (SinGAN's :func:`sample_batch`), so tiles reproduce the
    untiled samples; one level's maps are held at a time."""
    current: dict[int, Tensor] = {}

    def noise(offset: int, stage: CanvasStage, rows: tuple[int, int], cols: tuple[int, int]) -> Tensor:
        if offset not in current:
            current.clear()
            current[offset] = torch.cat([torch.randn((1, stage.noise_channels, *stage.size), generator=g)
                                         for g in streams])
        return canvas_window(current[offset], rows, cols)
    return noise


@torch.no_grad()
def run_plan(plan: CanvasPlan, noise: NoiseSource, count: int, tile: int,
             device: torch.device | str = "cpu") -> Tensor:
    """``count`` samples ``[count, 3, H, W]`` (on the CPU, clamped to [-1, 1]) of ``plan`` with the
    noise of ``noise`` (:func:`block_source` or :func:`stream_source`), computed in tiles of
    ``tile`` x ``tile`` output pixels on ``device``."""
    prev = plan.initial.detach().cpu().expand(count, -1, -1, -1)
    for offset, stage in enumerate(plan.stages):
        height, width = stage.size
        halo = stage.halo
        out = torch.empty((count, 3, height, width))
        for y0 in range(0, height, tile):
            y1 = min(height, y0 + tile)
            for x0 in range(0, width, tile):
                x1 = min(width, x0 + tile)
                rows, cols = (y0 - halo, y1 + halo), (x0 - halo, x1 + halo)
                image = _input_window(stage, prev, rows, cols)
                result = stage.apply(noise(offset, stage, rows, cols).to(device), image.to(device))
                out[..., y0:y1, x0:x1] = result.cpu()  # [b, 3, y1 - y0, x1 - x0]
        prev = out
    return prev.clamp_(-1.0, 1.0)


def plan_bytes(plan: CanvasPlan, batch: int, tile: int) -> int:
    """Estimated peak bytes of :func:`run_plan` (float32): three wide activations of one grown tile
    (a convolution's input and output and the BatchNorm output made before the next is freed), its 3-channel inputs, the images of two consecutive levels and one level's noise maps
    (plus the uint8 copy)."""
    peak = 0
    for index, stage in enumerate(plan.stages):
        grown = (min(tile, stage.size[0]) + 2 * stage.halo) * (min(tile, stage.size[1]) + 2 * stage.halo)
        prev = plan.stages[index - 1].size if index else plan.initial.shape[-2:]
        canvases = 3 * prev[0] * prev[1] + (3 + stage.noise_channels) * stage.size[0] * stage.size[1]
        peak = max(peak, _BYTES * batch * (3 * stage.filters * grown + 4 * 3 * grown + canvases))
    height, width = plan.stages[-1].size
    return peak + batch * 3 * height * width


def tile_for_budget(plan: CanvasPlan, batch: int, budget: int) -> int:
    """The largest tile side (a multiple of 16, at least ``MIN_TILE``) whose estimate fits
    ``budget`` bytes; the whole canvas when it fits; a one-line error when not even ``MIN_TILE`` does."""
    whole = max(max(stage.size) for stage in plan.stages)
    if plan_bytes(plan, batch, whole) <= budget:
        return whole
    if plan_bytes(plan, batch, MIN_TILE) > budget:
        height, width = plan.stages[-1].size
        need = plan_bytes(plan, batch, MIN_TILE)
        raise UserError(f"a {width}x{height} px sample needs at least {need / 2**30:.2f} GB even in tiles, more "
                        f"than the {budget / 2**30:.2f} GB allowed; raise --max-memory or ask for a smaller size")
    low, high = MIN_TILE // 16, whole // 16  # bisect on multiples of 16
    while low < high:
        middle = (low + high + 1) // 2
        if plan_bytes(plan, batch, 16 * middle) <= budget:
            low = middle
        else:
            high = middle - 1
    return 16 * low


def sizes_for_size(model: nn.Module, height: int, width: int) -> list[tuple[int, int]]:
    """Per-level sizes whose finest is exactly ``height`` x ``width`` (every level scaled alike)."""
    fine_h, fine_w = model.pyramid.sizes[model.num_trained - 1]
    sizes = model.sizes_for(height / fine_h, width / fine_w)
    sizes[model.num_trained - 1] = (height, width)
    return sizes


def tiled_batches(model: nn.Module, num: int, sizes: Sequence[tuple[int, int]], start_scale: int = 0,
                  seed: int = 0, batch_size: int = 1, budget: int | None = None,
                  tile: int | None = None, block_noise_draws: bool = True) -> Iterator[tuple[int, Tensor]]:
    """``(index of the first sample, samples [b, 3, H, W] on the CPU)`` one batch at a time, checked
    before the first. Sample i draws block noise from the seed
    :func:`~singan_kit.architectures.base.sample_seed` ``(seed, i)``, or with ``block_noise_draws=False``
    the untiled sampler's stream noise (:func:`stream_source`: the untiled samples, whole noise maps
    held). The tile side is ``tile``, or the largest that fits ``budget`` bytes (:func:`tile_for_budget`)."""
    budget = budget if budget is not None else 2**62
    height, width = sizes[model.num_trained - 1]
    if _BYTES * batch_size * 3 * 2 * height * width > budget:  # before any level is built
        raise UserError(f"a {width}x{height} px sample needs more than the {budget / 2**30:.2f} GB allowed for "
                        "its two finest images alone; raise --max-memory or ask for a smaller size")
    plan = plan_for(model, list(sizes)[:model.num_trained], start_scale)
    if tile is None:
        tile = tile_for_budget(plan, batch_size, budget)

    def batches() -> Iterator[tuple[int, Tensor]]:  # checked above, before the first batch is asked for
        for first in range(0, num, batch_size):
            count = min(batch_size, num - first)
            if block_noise_draws:
                source = block_source([sample_seed(seed, first + i) for i in range(count)], start_scale)
            else:
                source = stream_source(sample_streams(seed, count, first))
            yield first, run_plan(plan, source, count, tile, model.device)

    return batches()


__all__ = ["BLOCK", "block_noise", "block_seed", "block_source", "canvas_noise", "canvas_window", "maps_source",
           "stream_source", "plan_bytes", "plan_for",
           "run_plan", "sizes_for_size", "tile_for_budget", "tiled_batches"]
