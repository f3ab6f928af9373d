"""Colour quantization for SinGAN's paint-to-image (Shaham et al. 2019, Sec. 4; the official
"quantization" option): k-means on the training image's pixel colours, and mapping any image to
its nearest cluster centres. k-means++ seeding and Lloyd iterations, in torch, deterministic for a
given seed (the official code uses scikit-learn's KMeans with 5 clusters).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ganbase.errors import UserError


def kmeans_colors(image: Tensor, k: int, seed: int = 0, iters: int = 50) -> Tensor:
    """``k`` cluster centres ``[k, 3]`` of the pixel colours of ``image`` ``[1, 3, H, W]``."""
    if k < 2:
        raise UserError(f"--quantize needs at least 2 colours, got {k}")
    pixels = image.detach().reshape(3, -1).t().float()  # [P, 3]
    distinct = torch.unique(pixels, dim=0)
    if distinct.shape[0] < k:
        raise UserError(f"the image has only {distinct.shape[0]} distinct colours, fewer than --quantize {k}")
    gen = torch.Generator().manual_seed(seed)
    centers = pixels[torch.randint(pixels.shape[0], (1,), generator=gen)]
    for _ in range(1, k):  # k-means++: pick far-away pixels with probability ~ squared distance
        dist = torch.cdist(pixels, centers).min(dim=1).values.pow(2)
        index = torch.multinomial((dist / dist.sum()).cpu(), 1, generator=gen)
        centers = torch.cat([centers, pixels[index.to(pixels.device)]])
    for _ in range(iters):
        labels = torch.cdist(pixels, centers).argmin(dim=1)
        updated = centers.clone()
        for c in range(k):
            members = pixels[labels == c]
            if members.shape[0]:
                updated[c] = members.mean(dim=0)
        if torch.allclose(updated, centers, atol=1e-6):
            break
        centers = updated
    return centers


def quantize_to_centers(image: Tensor, centers: Tensor) -> Tensor:
    """Replace every pixel of ``image`` ``[B, 3, H, W]`` by its nearest centre of ``centers`` ``[k, 3]``."""
    batch, channels, height, width = image.shape
    pixels = image.permute(0, 2, 3, 1).reshape(-1, channels)
    labels = torch.cdist(pixels, centers.to(pixels)).argmin(dim=1)
    return centers.to(pixels)[labels].reshape(batch, height, width, channels).permute(0, 3, 1, 2).contiguous()


__all__ = ["kmeans_colors", "quantize_to_centers"]
