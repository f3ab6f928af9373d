"""Image-quality metrics for single-image GANs (SinGAN) and the GAN zoo, offline and seeded.

All functions take float images ``[N, C, H, W]`` in [-1, 1] (the generators' range; a single real
image may be ``[1, C, H, W]`` or ``[C, H, W]``), are deterministic given ``seed``, batch their
work on the inputs' device and download nothing. Definitions and sources:

- :func:`pixel_diversity`: per-pixel standard deviation over samples, averaged, divided by the
  real image's standard deviation (Shaham et al. 2019, "SinGAN", Sec. 4.1 "diversity").
- :func:`patch_nn_distances`: coherence and completeness, the two halves of the bidirectional
  patch similarity (Simakov et al. 2008) that GPNN optimises (Granot et al. 2022, "Drop the GAN").
- :func:`ssim`, :func:`memorization`: SSIM (Wang et al. 2004) of each sample to the real image and
  the fraction of samples above a threshold.
- :func:`downsample_features`: tiny-image pixel features for the zoo's precision / recall.
- :func:`sample_patches`: random patches of images, shared with the SWDs.

The sliced Wasserstein distances of patches (patch SWD, ProGAN's multi-scale SWD) and their
errors are in :mod:`ganbase.metrics.swd`; distances between feature *sets* (FID, KID, precision / recall)
in :mod:`ganbase.metrics.features`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ganbase.errors import UserError

#: side of the square patches compared by the patch metrics (ProGAN's SWD neighbourhoods)
PATCH_SIZE = 7
#: default SSIM above which a sample counts as a copy of the training image
MEMORIZATION_THRESHOLD = 0.9


def as_batch(images: Tensor) -> Tensor:
    """``[C, H, W]`` or ``[N, C, H, W]`` -> float ``[N, C, H, W]``."""
    if images.dim() == 3:
        images = images.unsqueeze(0)
    if images.dim() != 4:
        raise UserError(f"expected images [N, C, H, W], got shape {tuple(images.shape)}")
    return images.float()


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


__all__ = ["PATCH_SIZE", "MEMORIZATION_THRESHOLD", "as_batch", "sample_patches", "pixel_diversity",
           "patch_nn_distances", "ssim", "memorization", "downsample_features"]
