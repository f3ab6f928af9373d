"""GPNN sampling (Granot et al., CVPR 2022): coarse to fine, every patch of the output is replaced
by the source patch whose blurred version is nearest to it, overlaps averaged.

At level n the keys are the next coarser source level resized to level n's size (the "blurred"
source), the values level n itself; at the coarsest level keys and values are the level. The start
is the coarsest source level resized to the output's size plus Gaussian noise (the run's noise
amplitude); each level starts from the previous output resized up. With no noise and a tiny alpha
every step maps the source onto itself, so a sample is the source image (a known answer the tests check).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from ganbase.errors import UserError
from singan_kit.architectures.base import sample_streams
from singan_kit.architectures.patch_model import PatchPyramid
from singan_kit.imresize import imresize
from singan_kit.patch_ops import (
    PatchCodes,
    nearest_positions,
    patchmatch,
    untouched_positions,
    upsample_field,
    vote_patches,
)


def resized(image: Tensor, size: Sequence[int]) -> Tensor:
    return image if tuple(image.shape[-2:]) == tuple(size) else imresize(image, size=tuple(size))


def level_keys(model: PatchPyramid, level: int) -> Tensor:
    """The keys image of ``level`` ``[1, 3, h, w]``: the coarser level resized up (the level itself at 0)."""
    real = model.reals[level]
    return real if level == 0 else resized(model.reals[level - 1], real.shape[-2:])


def check_sizes(sizes: Sequence[Sequence[int]], patch_size: int) -> None:
    if min(min(size) for size in sizes) < patch_size:
        raise UserError(f"requested size is too small: every level needs at least {patch_size} px a side "
                        "(the patch size)")


def synthesize(model: PatchPyramid, start: Tensor, sizes: Sequence[Sequence[int]], start_level: int,
               key_valid: Sequence[Tensor | None] | None = None, alpha: float | None = None) -> Tensor:
    """Run the levels ``start_level ..`` (as many as ``sizes`` has) from ``start`` ``[B, 3, h, w]``
    at ``sizes[start_level]``. ``key_valid``: per level, the key positions allowed (None: all).

    The first level searches exactly, as does every level with at most ``config.exact_pairs``
    query x key pairs; larger ones start from the previous level's matches and refine them by
    PatchMatch (the official code searches exactly, on a GPU)."""
    config = model.config
    patch = config.patch_size
    alpha = config.alpha if alpha is None else alpha
    check_sizes(sizes[start_level:], patch)
    out, field, old_grid = start, None, None
    for level in range(start_level, len(sizes)):
        out = resized(out, sizes[level])
        keys, real = level_keys(model, level), model.reals[level]
        grid = (real.shape[-2] - patch + 1, real.shape[-1] - patch + 1)
        positions = (out.shape[-2] - patch + 1, out.shape[-1] - patch + 1)
        valid = None if key_valid is None else key_valid[level]
        pairs = positions[0] * positions[1] * grid[0] * grid[1]
        if field is not None:
            field = upsample_field(field, grid, old_grid, positions)
        generator = torch.Generator().manual_seed(level)  # shared by the batch: samples stay batch-independent
        codes = None if field is None or pairs <= config.exact_pairs else PatchCodes(keys, patch, config.code_dims)
        for _ in range(config.coarse_iters if level == 0 else config.iters):
            if codes is None:
                field = nearest_positions(out, keys, patch, alpha, valid)
            else:
                field = patchmatch(out, codes, grid, field, alpha, valid, generator)
            out = vote_patches(real, field, patch, grid[1])
        old_grid = grid
    return out


def sample_batch(model: PatchPyramid, streams: Sequence[torch.Generator], sizes: Sequence[Sequence[int]],
                 start_scale: int) -> Tensor:
    """Samples ``[N, 3, h, w]`` (one per random stream) at the per-level ``sizes``."""
    levels = min(len(sizes), model.num_trained)
    height, width = sizes[start_scale]
    start = resized(model.reals[start_scale], (height, width))
    amp = model.noise_amps[start_scale]
    noise = torch.cat([torch.randn((1, 3, height, width), generator=stream) for stream in streams])
    start = start + amp * noise.to(model.device)
    return synthesize(model, start, list(sizes)[:levels], start_scale)


@torch.no_grad()
def resynthesize(model: PatchPyramid, image: Tensor, start_level: int, hole: Tensor | None = None) -> Tensor:
    """``image`` ``[1, 3, H, W]`` (at the finest size) rebuilt from ``start_level`` on with the source's
    patches; with ``hole`` ``[1, 1, H, W]`` (> 0.5 inside) only source patches that do not touch the
    hole are used (inpainting). No noise: the result depends on the inputs only."""
    sizes = list(model.pyramid.sizes[:model.num_trained])
    key_valid = None
    if hole is not None:
        key_valid = []
        for level, real in enumerate(model.reals[:len(sizes)]):
            valid = untouched_positions(resized(hole, real.shape[-2:]), model.config.patch_size)
            if not valid.any():
                raise UserError(f"the hole covers every {model.config.patch_size} px patch of level {level}: "
                                "use a smaller mask or a later start level")
            key_valid.append(valid)
    return synthesize(model, resized(image, sizes[start_level]), sizes, start_level, key_valid)


@torch.no_grad()
def scale_sample(model: PatchPyramid, scale: int, seed: int) -> Tensor:
    """One sample ``[1, 3, h, w]`` of the levels up to ``scale`` (for reports)."""
    return sample_batch(model, sample_streams(seed, 1), model.pyramid.sizes[:scale + 1], 0).clamp(-1, 1)


@torch.no_grad()
def scale_reconstruction(model: PatchPyramid, scale: int) -> Tensor:
    """The levels up to ``scale`` run without noise from the coarsest source level ``[1, 3, h, w]``."""
    return synthesize(model, model.reals[0], model.pyramid.sizes[:scale + 1], 0).clamp(-1, 1)


__all__ = ["check_sizes", "level_keys", "resized", "resynthesize", "sample_batch", "scale_reconstruction", "scale_sample", "synthesize"]
