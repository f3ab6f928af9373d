"""Sliced Wasserstein distances of image patches, for single-image GANs (SinGAN) and the GAN zoo.

- :func:`patch_swd`: sliced Wasserstein distance of 7x7 patches of samples and one training image,
  per level of a Laplacian pyramid, x10^3 (Karras et al. 2018, "Progressive Growing of GANs",
  Sec. 5 and App. D; their ``metrics/sliced_wasserstein.py``); :func:`patch_swd_with_error` adds
  its standard error over draws of the samples by the grouped jackknife (:func:`jackknife_error`).
- :func:`multiscale_swd`: ProGAN's multi-scale SWD between two image sets.
- :func:`laplacian_pyramid`, :func:`sliced_wasserstein`: the building blocks.

Inputs are float images ``[N, C, H, W]`` in [-1, 1]; everything is seeded and batched on the
inputs' device.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ganbase.errors import UserError
from ganbase.metrics.image_metrics import PATCH_SIZE, as_batch, sample_patches

#: ProGAN's SWD settings: 4 x 128 random directions, levels down to 16 px
NUM_DIRECTIONS = 512
MIN_LEVEL_SIZE = 16
#: groups of the jackknife behind patch SWD's standard error
JACKKNIFE_GROUPS = 10


def _pyr_down_width(x: Tensor) -> Tensor:
    """Blur the last dimension with the binomial [1, 4, 6, 4, 1] / 16 (mirror padding) and keep
    every second value: ``[..., W] -> [..., ceil(W / 2)]``."""
    padded = F.pad(x, [2, 2, 0, 0], mode="reflect" if x.shape[-1] > 2 else "replicate")
    size = (x.shape[-1] + 1) // 2

    def tap(offset: int) -> Tensor:
        return padded[..., offset:offset + 2 * size - 1:2]

    return (tap(0) + 4.0 * tap(1) + 6.0 * tap(2) + 4.0 * tap(3) + tap(4)) / 16.0


def _pyr_up_width(x: Tensor, size: int) -> Tensor:
    """Insert zeros and blur with 2 x [1, 4, 6, 4, 1] / 16 along the last dimension, in polyphase
    form: even outputs ``(x[i-1] + 6 x[i] + x[i+1]) / 8``, odd ``(x[i] + x[i+1]) / 2``."""
    padded = F.pad(x, [1, 1, 0, 0], mode="reflect" if x.shape[-1] > 1 else "replicate")
    even = (padded[..., :-2] + 6.0 * padded[..., 1:-1] + padded[..., 2:]) / 8.0
    odd = (padded[..., 1:-1] + padded[..., 2:]) / 2.0
    return torch.stack([even, odd], dim=-1).flatten(-2)[..., :size]


def laplacian_pyramid(images: Tensor, num_levels: int) -> list[Tensor]:
    """Laplacian pyramid as in ProGAN's SWD (cv2.pyrDown / pyrUp with the 5x5 binomial kernel,
    applied separably): band-pass levels ``x - up(down(x))`` from fine to coarse, the last level
    the low-pass residual. ``[N, C, H, W]`` -> list of ``[N, C, ~H / 2^l, ~W / 2^l]``."""
    levels = [as_batch(images)]
    for _ in range(1, num_levels):
        finer = levels[-1]
        coarser = _pyr_down_width(_pyr_down_width(finer).transpose(-1, -2)).transpose(-1, -2)
        up = _pyr_up_width(_pyr_up_width(coarser, finer.shape[-1]).transpose(-1, -2), finer.shape[-2])
        levels[-1] = finer - up.transpose(-1, -2)
        levels.append(coarser.contiguous())
    return levels


def pyramid_levels(height: int, width: int, min_size: int = MIN_LEVEL_SIZE) -> int:
    """ProGAN's level count: halve the shorter side while it stays >= ``min_size`` (at least 1)."""
    side, levels = min(height, width), 1
    while side // 2 >= min_size:
        side //= 2
        levels += 1
    return levels


def _normalize(descriptors: Tensor, mean: Tensor, std: Tensor) -> Tensor:
    return ((descriptors - mean) / std.clamp_min(1e-8)).flatten(1)


def _channel_stats(descriptors: Tensor) -> tuple[Tensor, Tensor]:
    """Per-channel mean and std over descriptors and positions (``[1, C, 1, 1]`` each)."""
    return (descriptors.mean((0, 2, 3), keepdim=True),
            descriptors.std((0, 2, 3), keepdim=True, unbiased=False))


def _sorted_rows(x: Tensor) -> Tensor:
    """Each row of ``x`` sorted (numpy's vectorised sort on CPU: ~20x faster than torch's there)."""
    if x.device.type == "cpu":
        x.numpy().sort(axis=1)  # in place: x is a fresh product, owned by the caller
        return x
    return torch.sort(x, dim=1).values


def _direction_batches(dims: int, num_directions: int, seed: int, per_batch: int = 128):
    """Random unit directions ``[D, K]`` (CPU) from ``seed``, in batches of ``per_batch`` (ProGAN's
    ``dirs_per_repeat``)."""
    generator = torch.Generator().manual_seed(seed)
    for first in range(0, num_directions, per_batch):
        directions = torch.randn(dims, min(per_batch, num_directions - first), generator=generator)
        yield directions / directions.norm(dim=0, keepdim=True)


def _sorted_projections(points: Tensor, directions: Tensor) -> Tensor:
    """``points [M, D]`` projected on ``directions [D, K]``, each direction's values sorted: ``[K, M]``."""
    return _sorted_rows(directions.to(points.device).T @ points.T)  # computed transposed: no copy


def _sorted_l1_sum(sorted_a: Tensor, sorted_b: Tensor) -> float:
    """Sum over rows of the 1-D Wasserstein-1 distance of two row-sorted sets ``[K, M_a]``, ``[K, M_b]``:
    both quantile functions read at ``max(M_a, M_b)`` evenly spaced levels."""
    count = max(sorted_a.shape[1], sorted_b.shape[1])
    levels = (torch.arange(count, device=sorted_a.device, dtype=torch.float64) + 0.5) / count
    if sorted_a.shape[1] != count:
        sorted_a = sorted_a.index_select(1, (levels * sorted_a.shape[1]).long())
    if sorted_b.shape[1] != count:
        sorted_b = sorted_b.index_select(1, (levels * sorted_b.shape[1]).long())
    return float(F.l1_loss(sorted_a, sorted_b, reduction="sum")) / count


def sliced_wasserstein(a: Tensor, b: Tensor, num_directions: int = NUM_DIRECTIONS, seed: int = 0,
                       directions_per_batch: int = 128) -> float:
    """Sliced Wasserstein-1 distance of two point sets ``[M_a, D]`` and ``[M_b, D]``: the mean over
    ``num_directions`` random unit directions of the 1-D Wasserstein-1 distance of the projected
    sets (ProGAN: sort both projections, average the absolute differences). For sets of unequal
    size both quantile functions are read at ``max(M_a, M_b)`` evenly spaced levels. Directions
    come from ``seed`` in batches of 128 (ProGAN's ``dirs_per_repeat``)."""
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"need two [M, D] sets of the same D, got {tuple(a.shape)} and {tuple(b.shape)}")
    total = sum(_sorted_l1_sum(_sorted_projections(a, directions), _sorted_projections(b, directions))
                for directions in _direction_batches(a.shape[1], num_directions, seed, directions_per_batch))
    return total / num_directions


def _level_generator(seed: int, level: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, level]).generate_state(1)[0]))


def patch_swd(real: Tensor, samples: Tensor, seed: int = 0, max_patches: int = 32768,
              patch_size: int = PATCH_SIZE, num_directions: int = NUM_DIRECTIONS,
              min_level_size: int = MIN_LEVEL_SIZE) -> float:
    """Patch SWD x10^3 between generated ``samples`` and one ``real`` image (lower is better).

    ProGAN's SWD applied to a single image: for every level of a Laplacian pyramid (down to a
    shorter side of ``min_level_size``; levels smaller than a patch are skipped) take the 7x7
    patches of the real image and of the samples, each set at every position or, beyond
    ``max_patches`` positions, at that many distinct random positions (seeded; over all samples
    pooled), normalise both sets per channel, compute the sliced Wasserstein distance over 512
    random directions, and average over levels.
    Deviation from ProGAN: both sets are normalised with the *real* patches' mean and std instead
    of their own, so a global colour or contrast shift of the samples counts instead of being
    normalised away. Samples may have another size than the real image. Identical images score 0;
    the real image repeated N times scores a small noise floor (its patches are subsampled).
    """
    scorer = _PatchSWD(real, samples, seed, max_patches, patch_size, num_directions, min_level_size)
    return scorer(torch.arange(scorer.num_samples))


def patch_swd_with_error(real: Tensor, samples: Tensor, seed: int = 0, groups: int = JACKKNIFE_GROUPS,
                         max_patches: int = 32768, patch_size: int = PATCH_SIZE,
                         num_directions: int = NUM_DIRECTIONS,
                         min_level_size: int = MIN_LEVEL_SIZE) -> tuple[float, float]:
    """:func:`patch_swd` and its standard error over draws of the samples, by the grouped jackknife
    (:func:`jackknife_error`, ``groups`` groups). SinGAN's samples differ in layout (a balloon
    more or less), so the SWD of 50 samples moves between draws: by a standard deviation of 14%
    and 27% of its mean for two SinGANs of balloons.png (docs/eval.md). Compare two models only by
    differences well above their errors. The real image's patches and their sorted projections are
    computed once for all subsets."""
    scorer = _PatchSWD(real, samples, seed, max_patches, patch_size, num_directions, min_level_size)
    return scorer(torch.arange(scorer.num_samples)), jackknife_error(scorer, scorer.num_samples, groups)


def jackknife_error(statistic: Callable[[Tensor], float], count: int, groups: int = JACKKNIFE_GROUPS) -> float:
    """Grouped (delete-a-group) jackknife standard error of ``statistic(indices)``, a statistic of
    ``count`` samples given the indices of those it uses (Efron & Tibshirani, *An Introduction to
    the Bootstrap*, 1993): sample i falls in group ``i % g`` (``g = min(groups, count)``), the
    statistic is recomputed without each group in turn, and the error is
    ``sqrt((g - 1) / g * sum_k (theta_k - mean theta)^2)``. For the mean of ``count`` values with
    ``groups >= count`` this is the textbook ``std / sqrt(count)``."""
    groups = min(groups, count)
    if groups < 2:
        raise ValueError(f"the jackknife needs at least 2 samples and 2 groups, got {count} and {groups}")
    index = torch.arange(count)
    values = [statistic(index[index % groups != group]) for group in range(groups)]
    mean = sum(values) / groups
    return math.sqrt((groups - 1) / groups * sum((value - mean) ** 2 for value in values))


class _PatchSWD:
    """:func:`patch_swd` of any subset of the samples (called with their indices). What does not
    depend on the subset is prepared once: per level, the samples' Laplacian band, the real
    patches' mean / std, the random directions and the real patches' sorted projections on them."""

    def __init__(self, real: Tensor, samples: Tensor, seed: int, max_patches: int, patch_size: int,
                 num_directions: int, min_level_size: int):
        real, samples = as_batch(real), as_batch(samples)
        self.num_samples, self.seed, self.max_patches = samples.shape[0], seed, max_patches
        self.patch_size, self.num_directions = patch_size, num_directions
        num_levels = pyramid_levels(*real.shape[-2:], min_size=min_level_size)
        # per level: (level, samples' band [N, C, h, w], real mean, real std,
        #             [(directions [D, K], real projections sorted [K, M])] per batch of directions)
        self.levels = []
        for level, (real_level, fake_level) in enumerate(zip(laplacian_pyramid(real, num_levels),
                                                             laplacian_pyramid(samples, num_levels))):
            if min(*real_level.shape[-2:], *fake_level.shape[-2:]) < patch_size:
                continue
            real_patches = sample_patches(real_level, max_patches, _level_generator(seed, level), patch_size)
            mean, std = _channel_stats(real_patches)
            real_points = _normalize(real_patches, mean, std)
            batches = _direction_batches(real_points.shape[1], num_directions, seed + level)
            projections = [(directions, _sorted_projections(real_points, directions))
                           for directions in (batch.to(real_points.device) for batch in batches)]
            self.levels.append((level, fake_level, mean, std, projections))
        if not self.levels:
            raise UserError(f"images of {tuple(real.shape[-2:])} px are too small for "
                            f"{patch_size}x{patch_size} patches")

    def __call__(self, indices: Tensor) -> float:
        """Patch SWD x10^3 of the samples at ``indices`` (a CPU index tensor)."""
        distances = []
        everything = indices.numel() == self.num_samples and torch.equal(indices, torch.arange(self.num_samples))
        for level, fake_level, mean, std, projections in self.levels:
            subset = fake_level if everything else fake_level.index_select(0, indices.to(fake_level.device))
            # the real and the fake stream of a level are seeded alike: sets of one shape share positions
            fake_patches = sample_patches(subset, self.max_patches, _level_generator(self.seed, level),
                                          self.patch_size)
            fake_points = _normalize(fake_patches, mean, std)
            total = sum(_sorted_l1_sum(real_sorted, _sorted_projections(fake_points, directions))
                        for directions, real_sorted in projections)
            distances.append(total / self.num_directions)
        return 1e3 * sum(distances) / len(distances)


def multiscale_swd(real: Tensor, fake: Tensor, seed: int = 0, patches_per_image: int = 128,
                   patch_size: int = PATCH_SIZE, num_directions: int = NUM_DIRECTIONS,
                   min_level_size: int = MIN_LEVEL_SIZE) -> dict[str, float]:
    """ProGAN's multi-scale SWD x10^3 between two *sets* of images (Karras et al. 2018, App. D).

    Per Laplacian level (from full size down to ``min_level_size``, or a single level for images
    smaller than that): ``patches_per_image`` 7x7 patches at random positions of every image,
    each set normalised per channel by its own mean and std (as ProGAN), SWD over 512 random
    directions. Both sets are cut to the smaller one's size (first images) and use the same
    positions, so the result is symmetric. Returns ``swd_<width>`` per level and ``swd``, their
    mean (ProGAN's ``SWDx1e3_<res>`` and ``SWDx1e3_avg``).
    """
    real, fake = as_batch(real), as_batch(fake)
    count = min(real.shape[0], fake.shape[0])
    real, fake = real[:count], fake[:count]
    if real.shape[1:] != fake.shape[1:]:
        raise UserError(f"image sets differ in shape: {tuple(real.shape[1:])} vs {tuple(fake.shape[1:])}")
    num_levels = pyramid_levels(*real.shape[-2:], min_size=min(min_level_size, min(real.shape[-2:])))
    result = {}
    for level, (real_level, fake_level) in enumerate(zip(laplacian_pyramid(real, num_levels),
                                                         laplacian_pyramid(fake, num_levels))):
        if min(real_level.shape[-2:]) < patch_size:
            continue
        descriptors = []
        for images in (real_level, fake_level):
            patches = sample_patches(images, patches_per_image, _level_generator(seed, level), patch_size,
                                     per_image=True)  # the same positions in both sets
            descriptors.append(_normalize(patches, *_channel_stats(patches)))
        result[f"swd_{real_level.shape[-1]}"] = 1e3 * sliced_wasserstein(*descriptors, num_directions, seed + level)
    if not result:
        raise UserError(f"images of {tuple(real.shape[-2:])} px are too small for {patch_size}x{patch_size} patches")
    result["swd"] = sum(result.values()) / len(result)
    return result


__all__ = ["NUM_DIRECTIONS", "MIN_LEVEL_SIZE", "JACKKNIFE_GROUPS", "laplacian_pyramid", "pyramid_levels",
           "sliced_wasserstein", "patch_swd", "patch_swd_with_error", "jackknife_error", "multiscale_swd"]
