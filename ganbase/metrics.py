"""Image-quality metrics for single-image GANs (SinGAN) and the GAN zoo, offline and seeded.

All functions take float images ``[N, C, H, W]`` in [-1, 1] (the generators' range; a single real
image may be ``[1, C, H, W]`` or ``[C, H, W]``), are deterministic given ``seed``, batch their
work on the inputs' device and download nothing. Definitions and sources:

- :func:`patch_swd` / :func:`multiscale_swd`: sliced Wasserstein distance of 7x7 patches per level
  of a Laplacian pyramid, x10^3 (Karras et al. 2018, "Progressive Growing of GANs", Sec. 5 and
  App. D; their ``metrics/sliced_wasserstein.py``).
- :func:`pixel_diversity`: per-pixel standard deviation over samples, averaged, divided by the
  real image's standard deviation (Shaham et al. 2019, "SinGAN", Sec. 4.1 "diversity").
- :func:`patch_nn_distances`: coherence and completeness, the two halves of the bidirectional
  patch similarity (Simakov et al. 2008) that GPNN optimises (Granot et al. 2022, "Drop the GAN").
- :func:`ssim`, :func:`memorization`: SSIM (Wang et al. 2004) of each sample to the real image and
  the fraction of samples above a threshold.
- :func:`downsample_features`: tiny-image pixel features for the zoo's precision / recall.

Distances between feature *sets* (FID, KID, precision / recall) are in :mod:`ganbase.feature_metrics`.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ganbase.errors import UserError

#: ProGAN's SWD settings: 7x7 neighbourhoods, 4 x 128 random directions, levels down to 16 px
PATCH_SIZE = 7
NUM_DIRECTIONS = 512
MIN_LEVEL_SIZE = 16
#: default SSIM above which a sample counts as a copy of the training image
MEMORIZATION_THRESHOLD = 0.9


def as_batch(images: Tensor) -> Tensor:
    """``[C, H, W]`` or ``[N, C, H, W]`` -> float ``[N, C, H, W]``."""
    if images.dim() == 3:
        images = images.unsqueeze(0)
    if images.dim() != 4:
        raise UserError(f"expected images [N, C, H, W], got shape {tuple(images.shape)}")
    return images.float()


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


def sample_patches(images: Tensor, count: int | None, generator: torch.Generator,
                   patch_size: int = PATCH_SIZE, per_image: bool = False) -> Tensor:
    """Patches ``[M, C, p, p]`` of ``images [N, C, H, W]`` at random positions.

    ``count`` None or at least the number of positions: every position, in order. Otherwise
    ``count`` distinct positions drawn over all images, or with ``per_image`` ``count`` positions
    per image drawn with replacement (ProGAN's descriptors). Positions come from ``generator`` (CPU).
    """
    n, channels, height, width = images.shape
    rows, cols = height - patch_size + 1, width - patch_size + 1
    if rows < 1 or cols < 1:
        raise UserError(f"images of {height}x{width} px are smaller than the {patch_size}x{patch_size} patches")
    per = rows * cols
    if not per_image and (count is None or count >= n * per):
        patches = F.unfold(images, patch_size)  # [N, C*p*p, rows*cols]
        return patches.transpose(1, 2).reshape(-1, channels, patch_size, patch_size)
    if per_image:
        image_index = torch.arange(n).repeat_interleave(count)
        position = torch.randint(per, (n * count,), generator=generator)
    else:
        flat = torch.randperm(n * per, generator=generator)[:count]
        image_index, position = flat // per, flat % per
    # flat index of each patch's top-left value, plus the offsets of the C x p x p values within it
    corner = image_index * (channels * height * width) + (position // cols) * width + position % cols
    offsets = (torch.arange(channels)[:, None, None] * (height * width)
               + torch.arange(patch_size)[None, :, None] * width + torch.arange(patch_size)[None, None, :])
    values, offsets = images.reshape(-1), offsets.reshape(1, -1).to(images.device)
    chunks = [values[corner[i:i + 16384].to(images.device)[:, None] + offsets]
              for i in range(0, corner.numel(), 16384)]
    return torch.cat(chunks).reshape(-1, channels, patch_size, patch_size)


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


def sliced_wasserstein(a: Tensor, b: Tensor, num_directions: int = NUM_DIRECTIONS, seed: int = 0,
                       directions_per_batch: int = 128) -> float:
    """Sliced Wasserstein-1 distance of two point sets ``[M_a, D]`` and ``[M_b, D]``: the mean over
    ``num_directions`` random unit directions of the 1-D Wasserstein-1 distance of the projected
    sets (ProGAN: sort both projections, average the absolute differences). For sets of unequal
    size both quantile functions are read at ``max(M_a, M_b)`` evenly spaced levels. Directions
    come from ``seed`` in batches of 128 (ProGAN's ``dirs_per_repeat``)."""
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"need two [M, D] sets of the same D, got {tuple(a.shape)} and {tuple(b.shape)}")
    count = max(a.shape[0], b.shape[0])
    levels = (torch.arange(count, device=a.device, dtype=torch.float64) + 0.5) / count
    index_a = (levels * a.shape[0]).long() if a.shape[0] != count else None
    index_b = (levels * b.shape[0]).long() if b.shape[0] != count else None
    generator, total = torch.Generator().manual_seed(seed), 0.0
    for first in range(0, num_directions, directions_per_batch):
        batch = min(directions_per_batch, num_directions - first)
        directions = torch.randn(a.shape[1], batch, generator=generator)
        directions = (directions / directions.norm(dim=0, keepdim=True)).to(a.device)  # [D, K]
        sorted_a = _sorted_rows(directions.T @ a.T)  # [K, M_a], computed transposed: no copy
        sorted_b = _sorted_rows(directions.T @ b.T)
        sorted_a = sorted_a if index_a is None else sorted_a.index_select(1, index_a)
        sorted_b = sorted_b if index_b is None else sorted_b.index_select(1, index_b)
        total += float(F.l1_loss(sorted_a, sorted_b, reduction="sum")) / count
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
    real, samples = as_batch(real), as_batch(samples)
    num_levels = pyramid_levels(*real.shape[-2:], min_size=min_level_size)
    distances = []
    for level, (real_level, fake_level) in enumerate(zip(laplacian_pyramid(real, num_levels),
                                                         laplacian_pyramid(samples, num_levels))):
        if min(*real_level.shape[-2:], *fake_level.shape[-2:]) < patch_size:
            continue
        # one stream per level and set, seeded alike: sets of one shape get the same positions
        real_patches = sample_patches(real_level, max_patches, _level_generator(seed, level), patch_size)
        fake_patches = sample_patches(fake_level, max_patches, _level_generator(seed, level), patch_size)
        mean, std = _channel_stats(real_patches)
        distances.append(sliced_wasserstein(_normalize(real_patches, mean, std), _normalize(fake_patches, mean, std),
                                            num_directions, seed + level))
    if not distances:
        raise UserError(f"images of {tuple(real.shape[-2:])} px are too small for {patch_size}x{patch_size} patches")
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


def pixel_diversity(real: Tensor, samples: Tensor) -> float:
    """SinGAN's diversity: the standard deviation of each pixel (and channel) over the samples,
    averaged over pixels and channels, divided by the standard deviation of the real image's
    values (Shaham et al. 2019, Sec. 4.1). Population standard deviations; 0 for identical
    samples. Needs at least two samples of one size."""
    real, samples = as_batch(real), as_batch(samples)
    if samples.shape[0] < 2:
        raise UserError("diversity needs at least 2 samples")
    spread = samples.std(dim=0, unbiased=False).mean()
    return float(spread / real.std(unbiased=False).clamp_min(1e-8))


def _squared_distances_to_nearest(queries: Tensor, reference: Tensor) -> Tensor:
    """For every query ``[Q, D]`` the squared Euclidean distance to its nearest row of
    ``reference [R, D]``, via matrix products over chunks of queries (at most ~4M distances at once)."""
    reference_norms = (reference * reference).sum(1)  # [R]
    chunk = max(1, 4_000_000 // max(1, reference.shape[0]))
    nearest = []
    for start in range(0, queries.shape[0], chunk):
        block = queries[start:start + chunk]  # [q, D]
        distances = (block * block).sum(1, keepdim=True) - 2.0 * block @ reference.T + reference_norms
        nearest.append(distances.min(dim=1).values.clamp_min(0.0))
    return torch.cat(nearest)


def patch_nn_distances(real: Tensor, samples: Tensor, seed: int = 0, patch_size: int = PATCH_SIZE,
                       max_queries: int = 64, max_reference: int = 65536) -> dict[str, float]:
    """Patch nearest-neighbour distances between each sample and the real image (lower is better).

    The two terms of the bidirectional similarity (Simakov et al. 2008) used by GPNN (Granot et
    al. 2022): ``coherence`` = mean over a sample's 7x7 patches of the distance to the nearest
    real patch (nothing foreign was made up), ``completeness`` = mean over the real patches of the
    distance to the nearest patch of the sample (nothing was left out). The distance is the mean
    squared difference per patch element on [0, 1] intensities. Both are computed per sample and
    averaged over samples. The nearest neighbour is searched among every patch position (up to
    ``max_reference`` per image, beyond that a seeded random subset, which raises distances a
    little); the means are estimated from ``max_queries`` random query patches per sample and
    direction, drawn afresh for every sample. Identical images score 0 (up to rounding).
    """
    real, samples = (as_batch(real) + 1.0) / 2.0, (as_batch(samples) + 1.0) / 2.0
    generator = torch.Generator().manual_seed(seed)
    real_patches = sample_patches(real, max_reference, generator, patch_size).flatten(1)  # [R, D]
    dimension = real_patches.shape[1]
    coherence, completeness = [], []
    for sample in samples:
        own_patches = sample_patches(sample[None], max_reference, generator, patch_size).flatten(1)
        sample_queries = own_patches[_subset(own_patches.shape[0], max_queries, generator)]
        real_queries = real_patches[_subset(real_patches.shape[0], max_queries, generator)]
        coherence.append(_squared_distances_to_nearest(sample_queries, real_patches).mean() / dimension)
        completeness.append(_squared_distances_to_nearest(real_queries, own_patches).mean() / dimension)
    return {"nn_coherence": float(torch.stack(coherence).mean()),
            "nn_completeness": float(torch.stack(completeness).mean())}


def _subset(size: int, count: int, generator: torch.Generator) -> Tensor:
    """``min(count, size)`` distinct random indices below ``size``."""
    return torch.randperm(size, generator=generator)[:count]


def _gaussian_window(size: int, sigma: float, device: torch.device) -> Tensor:
    coords = torch.arange(size, dtype=torch.float32, device=device) - (size - 1) / 2
    weights = torch.exp(-(coords**2) / (2 * sigma**2))
    return weights / weights.sum()


def ssim(images: Tensor, reference: Tensor, window_size: int = 11, sigma: float = 1.5) -> Tensor:
    """SSIM of each image ``[N, C, H, W]`` to ``reference [1 or N, C, H, W]`` (both in [-1, 1]).

    Wang et al. 2004: Gaussian window 11x11, sigma 1.5, K1 = 0.01, K2 = 0.03, on [0, 1]
    intensities, population covariances, mean of the SSIM map over valid window positions and
    channels (equals ``skimage.metrics.structural_similarity(..., gaussian_weights=True,
    use_sample_covariance=False, data_range=1)``). Returns ``[N]``.
    """
    x, y = (as_batch(images) + 1.0) / 2.0, (as_batch(reference) + 1.0) / 2.0  # y broadcasts over x
    channels = x.shape[1]
    side = min(x.shape[-2:])
    if side < window_size:  # small images: the largest odd window that fits
        window_size = side if side % 2 else side - 1
    window = _gaussian_window(window_size, sigma, x.device)
    rows = window.view(1, 1, 1, -1).repeat(channels, 1, 1, 1)  # [C, 1, 1, K]: separable Gaussian
    columns = rows.transpose(2, 3).contiguous()

    def blur(t: Tensor) -> Tensor:  # valid positions only, like skimage's cropped SSIM map
        return F.conv2d(F.conv2d(t, rows, groups=channels), columns, groups=channels)

    mean_x, mean_y = blur(x), blur(y)
    var_x = blur(x * x) - mean_x**2
    var_y = blur(y * y) - mean_y**2
    cov = blur(x * y) - mean_x * mean_y
    c1, c2 = 0.01**2, 0.03**2
    ssim_map = ((2 * mean_x * mean_y + c1) * (2 * cov + c2)) / ((mean_x**2 + mean_y**2 + c1) * (var_x + var_y + c2))
    return ssim_map.flatten(1).mean(1)


def memorization(real: Tensor, samples: Tensor, threshold: float = MEMORIZATION_THRESHOLD) -> float:
    """Fraction of samples whose SSIM to the real image is above ``threshold`` (default 0.9): a
    model that returns its training image scores 1.0. The real image is resized (bicubic,
    antialiased) to the samples' size when the sizes differ."""
    real, samples = as_batch(real), as_batch(samples)
    if real.shape[-2:] != samples.shape[-2:]:
        real = F.interpolate(real, size=samples.shape[-2:], mode="bicubic", align_corners=False,
                             antialias=True).clamp(-1.0, 1.0)
    return float((ssim(samples, real) > threshold).float().mean())


def downsample_features(images: Tensor, size: int = 16) -> Tensor:
    """Images resized (area averaging) to ``size`` x ``size`` and flattened: the pixel features of
    the zoo's precision/recall, a cheap stand-in for the paper's VGG-16 features."""
    images = as_batch(images)
    if images.shape[-1] != size or images.shape[-2] != size:
        images = F.adaptive_avg_pool2d(images, size)
    return images.flatten(1)


__all__ = ["PATCH_SIZE", "NUM_DIRECTIONS", "MEMORIZATION_THRESHOLD", "laplacian_pyramid", "pyramid_levels",
           "sample_patches", "sliced_wasserstein", "patch_swd", "multiscale_swd", "pixel_diversity",
           "patch_nn_distances", "ssim", "memorization", "downsample_features"]
