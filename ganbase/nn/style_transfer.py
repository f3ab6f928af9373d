"""The statistics neural style transfer matches: Gram matrices (Gatys et al., "Image Style Transfer
Using Convolutional Neural Networks", CVPR 2016) and channel means / standard deviations with the
AdaIN layer (Huang & Belongie, "Arbitrary Style Transfer in Real-time with Adaptive Instance
Normalization", ICCV 2017), plus the colour-preserving luminance swap (Gatys et al., "Preserving
Color in Neural Artistic Style Transfer", 2016, Sec. 2.2).
"""

from __future__ import annotations

import torch
from torch import Tensor

#: eps added to the variance before the square root (the AdaIN authors' code uses 1e-5)
STD_EPS = 1e-5
#: RGB -> YIQ (NTSC), the colour space of the luminance-only transfer
_YIQ = ((0.299, 0.587, 0.114), (0.596, -0.274, -0.322), (0.211, -0.523, 0.312))


def gram_matrix(features: Tensor) -> Tensor:
    """``[N, C, H, W]`` -> ``[N, C, C]``, G_ij = sum_k F_ik F_jk over the H*W positions (Gatys Eq. 3)."""
    flat = features.flatten(2)
    return flat @ flat.transpose(1, 2)


def gram_style_loss(features: Tensor, target_gram: Tensor) -> Tensor:
    """Gatys Eq. 4: E_l = sum (G - A)^2 / (4 N^2 M^2), N channels, M = H*W positions (mean over the batch)."""
    channels, positions = features.shape[1], features.shape[2] * features.shape[3]
    difference = gram_matrix(features) - target_gram
    return difference.pow(2).sum((1, 2)).mean() / (4.0 * channels ** 2 * positions ** 2)


def mean_std(features: Tensor, eps: float = STD_EPS) -> tuple[Tensor, Tensor]:
    """Per-sample, per-channel mean and standard deviation ``[N, C, 1, 1]`` over the positions
    (unbiased variance, as ``torch.var`` in the authors' PyTorch code)."""
    flat = features.flatten(2)
    mean = flat.mean(2)[..., None, None]
    std = (flat.var(2) + eps).sqrt()[..., None, None]
    return mean, std


def adain(content: Tensor, style_mean: Tensor, style_std: Tensor) -> Tensor:
    """AdaIN(x, y) = sigma(y) (x - mu(x)) / sigma(x) + mu(y) (Huang & Belongie Eq. 8), given the
    style statistics ``[N, C, 1, 1]`` (so several styles can be blended before the call)."""
    mean, std = mean_std(content)
    return style_std * (content - mean) / std + style_mean


def preserve_color(stylized: Tensor, content: Tensor) -> Tensor:
    """Luminance of ``stylized`` with the chrominance (YIQ I and Q) of ``content``; both
    ``[N, 3, H, W]`` in [-1, 1] of the same size. Gatys et al. 2016b transfer style on the
    luminance channel only; this swaps it after the transfer (their colour-preserving variant,
    simplified to a post-processing step so it also applies to AdaIN outputs)."""
    to_yiq = torch.tensor(_YIQ, dtype=stylized.dtype, device=stylized.device)
    from_yiq = torch.linalg.inv(to_yiq)

    def yiq(images: Tensor) -> Tensor:
        return torch.einsum("ij,njhw->nihw", to_yiq, (images + 1) / 2)

    mixed = torch.cat([yiq(stylized)[:, :1], yiq(content)[:, 1:]], 1)
    return (torch.einsum("ij,njhw->nihw", from_yiq, mixed) * 2 - 1).clamp(-1, 1)
