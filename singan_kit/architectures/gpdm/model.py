"""GPDM sampling (Elnekave & Weiss, ECCV 2022): coarse to fine, the output's pixels are optimised with
Adam to minimise the sliced Wasserstein distance between its patch distribution and the source
level's. Each sample draws its start noise and its projections from its own random stream, and the
loss is a sum over samples, so a sample is the same whatever the batch it is drawn in.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ganbase.errors import UserError
from singan_kit.architectures.base import sample_streams
from singan_kit.architectures.patch_model import PatchPyramid
from singan_kit.imresize import imresize
from singan_kit.patch_ops import projected_patches, sliced_wasserstein_loss


def resized(image: Tensor, size: Sequence[int]) -> Tensor:
    return image if tuple(image.shape[-2:]) == tuple(size) else imresize(image, size=tuple(size))


def draw_projections(streams: Sequence[torch.Generator], count: int, patch_size: int,
                     device: torch.device) -> Tensor:
    """Unit directions ``[B * count, 3, p, p]``, ``count`` from each sample's stream."""
    rows = torch.cat([torch.randn((count, 3 * patch_size**2), generator=stream) for stream in streams])
    return F.normalize(rows, dim=1).view(-1, 3, patch_size, patch_size).to(device)


def match_patches(start: Tensor, target: Tensor, streams: Sequence[torch.Generator], config,
                  steps: int | None = None) -> Tensor:
    """Optimise ``start`` ``[B, 3, h, w]`` so that its patches are distributed like ``target``'s
    ``[1, 3, h', w']``; returns the result clamped to [-1, 1]."""
    batch = start.shape[0]
    image = start.detach().clone().requires_grad_(True)
    optimizer = torch.optim.Adam([image], lr=config.lr)
    targets = target.expand(batch, -1, -1, -1)
    with torch.enable_grad():
        for step in range(config.iters if steps is None else steps):
            projections = draw_projections(streams, config.num_projections, config.patch_size, start.device)
            with torch.no_grad():
                target_sorted = projected_patches(targets, projections, batch).sort(dim=2).values
            loss = sliced_wasserstein_loss(image, target_sorted, projections)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if step and step % config.lr_decay_every == 0:
                for group in optimizer.param_groups:
                    group["lr"] *= config.lr_decay
    return image.detach().clamp(-1.0, 1.0)


def synthesize(model: PatchPyramid, start: Tensor, sizes: Sequence[Sequence[int]], start_level: int,
               streams: Sequence[torch.Generator]) -> Tensor:
    """Run the levels ``start_level ..`` (as many as ``sizes`` has) from ``start`` at ``sizes[start_level]``."""
    if min(min(size) for size in sizes[start_level:]) < model.config.patch_size:
        raise UserError(f"requested size is too small: every level needs at least {model.config.patch_size} px "
                        "a side (the patch size)")
    out = start
    for level in range(start_level, len(sizes)):
        out = match_patches(resized(out, sizes[level]), model.reals[level], streams, model.config)
    return out


def sample_batch(model: PatchPyramid, streams: Sequence[torch.Generator], sizes: Sequence[Sequence[int]],
                 start_scale: int) -> Tensor:
    """Samples ``[N, 3, h, w]`` (one per random stream) at the per-level ``sizes``: the coarsest
    level starts from zeros plus noise shared by the channels (as the official code), a later
    start level from the source level."""
    levels = min(len(sizes), model.num_trained)
    height, width = sizes[start_scale]
    if start_scale == 0:
        start = torch.zeros((1, 3, height, width), device=model.device)
    else:
        start = resized(model.reals[start_scale], (height, width))
    noise = torch.cat([torch.randn((1, 1, height, width), generator=stream) for stream in streams])
    start = start + model.noise_amps[start_scale] * noise.to(model.device)
    return synthesize(model, start, list(sizes)[:levels], start_scale, streams)


@torch.no_grad()
def scale_sample(model: PatchPyramid, scale: int, seed: int) -> Tensor:
    """One sample ``[1, 3, h, w]`` of the levels up to ``scale`` (for reports)."""
    return sample_batch(model, sample_streams(seed, 1), model.pyramid.sizes[:scale + 1], 0)


def scale_reconstruction(model: PatchPyramid, scale: int) -> Tensor:
    """The source level: started from it, the loss is zero and the optimisation leaves it unchanged."""
    return model.reals[scale]


__all__ = ["draw_projections", "match_patches", "resized", "sample_batch", "scale_reconstruction", "scale_sample",
           "synthesize"]
