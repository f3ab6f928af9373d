"""Layers shared by Progressive GAN, StyleGAN and StyleGAN2.

- ``EqualLinear`` / ``EqualConv2d``: the equalized learning rate of Karras et al. 2018
  ("Progressive Growing of GANs for Improved Quality, Stability, and Variation", ICLR, Sec. 4.1):
  weights are drawn from N(0, 1) and scaled at run time by He's constant ``gain / sqrt(fan_in)``,
  so Adam's per-parameter step sizes treat every layer alike. ``lr_mul`` (StyleGAN's 0.01 for the
  mapping network) additionally divides the stored weights and multiplies the run-time scale.
- ``PixelNorm``: pixelwise feature vector normalisation (Karras et al. 2018, Sec. 4.2).
- ``MinibatchStdDev``: the minibatch standard deviation feature map (Karras et al. 2018, Sec. 3),
  over groups of ``group_size`` samples as in the official code.
- ``AdaIN``: adaptive instance normalisation driven by a style vector (Huang & Belongie 2017;
  StyleGAN, Karras et al. 2019, "A Style-Based Generator Architecture for GANs", CVPR).
- ``NoiseInjection``: per-pixel Gaussian noise with learned per-channel scales (StyleGAN).
- ``ModulatedConv2d`` / ``modulate_weights``: weight modulation and demodulation replacing AdaIN
  (StyleGAN2, Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN", CVPR,
  Sec. 2.2), computed as one grouped convolution; pure PyTorch.

Simplification: up/down-sampling is nearest/bilinear/average pooling without the papers' FIR
blur filters.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LEAKY_SLOPE = 0.2


class EqualLinear(nn.Module):
    """Fully connected layer with equalized learning rate (and StyleGAN's ``lr_mul``)."""

    def __init__(self, in_features: int, out_features: int, gain: float = 1.0,
                 lr_mul: float = 1.0, bias_init: float = 0.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), bias_init / lr_mul))
        self.scale = gain * lr_mul / math.sqrt(in_features)
        self.lr_mul = lr_mul

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


class EqualConv2d(nn.Module):
    """2-D convolution (stride 1, 'same' padding) with equalized learning rate."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 gain: float = math.sqrt(2.0), bias: bool = True, padding: int | None = None) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.scale = gain / math.sqrt(in_channels * kernel_size * kernel_size)
        self.padding = kernel_size // 2 if padding is None else padding

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class PixelNorm(nn.Module):
    """``x / sqrt(mean over channels of x^2 + eps)`` at every pixel (dim 1)."""

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + self.eps)


class MinibatchStdDev(nn.Module):
    """Append one feature map: the standard deviation of each feature over a group of samples,
    averaged over channels and pixels (one value per group, broadcast to its members).

    Groups are ``min(group_size, N)`` samples; samples ``i`` and ``i + N/G`` share a group, as in
    the official code. ``N`` must be divisible by the group size.
    """

    def __init__(self, group_size: int = 4, eps: float = 1e-8) -> None:
        super().__init__()
        self.group_size, self.eps = group_size, eps

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        group = min(self.group_size, n)
        if n % group:
            group = math.gcd(n, group)
        y = x.reshape(group, n // group, c, h, w).float()
        y = (y.var(dim=0, unbiased=False) + self.eps).sqrt()  # [N/G, C, H, W]
        y = y.mean(dim=(1, 2, 3)).to(x.dtype)  # [N/G]
        y = y.repeat(group).reshape(n, 1, 1, 1).expand(n, 1, h, w)
        return torch.cat([x, y], dim=1)


class AdaIN(nn.Module):
    """Instance-normalise each channel, then scale and shift it by an affine map of ``w``.

    The scale's bias starts at 1 so that a fresh layer passes normalised features through.
    """

    def __init__(self, channels: int, w_dim: int, eps: float = 1e-8) -> None:
        super().__init__()
        self.style = EqualLinear(w_dim, 2 * channels, gain=1.0)
        with torch.no_grad():
            self.style.bias[:channels].fill_(1.0)
        self.eps = eps

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        scale, shift = self.style(w)[:, :, None, None].chunk(2, dim=1)
        mean = x.mean(dim=(2, 3), keepdim=True)
        std = (x.var(dim=(2, 3), keepdim=True, unbiased=False) + self.eps).sqrt()
        return scale * (x - mean) / std + shift


class NoiseInjection(nn.Module):
    """``x + scale * noise`` with one learned scale per channel (zero at start) and one noise
    image per sample shared by all channels. ``noise`` None draws fresh N(0, 1) noise."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: Tensor, noise: Tensor | None = None) -> Tensor:
        if noise is None:
            noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], device=x.device, dtype=x.dtype)
        return x + self.weight * noise


def modulate_weights(weight: Tensor, styles: Tensor, demodulate: bool = True,
                     eps: float = 1e-8) -> Tensor:
    """Per-sample weights ``[N, O, I, k, k]``: ``weight [O, I, k, k]`` times ``styles [N, I]`` over
    input channels, then (``demodulate``) divided by their L2 norm over ``(I, k, k)`` so every
    output channel has unit norm (StyleGAN2, Eq. 1 and 3)."""
    weights = weight[None] * styles[:, None, :, None, None]
    if demodulate:
        weights = weights * torch.rsqrt(weights.pow(2).sum(dim=(2, 3, 4), keepdim=True) + eps)
    return weights


class ModulatedConv2d(nn.Module):
    """StyleGAN2's modulated convolution: style ``s = A(w)`` (bias 1) scales the input channels of
    an equalized-LR kernel; demodulation renormalises each sample's output channels. Runs as one
    grouped convolution over the batch. ``upsample`` doubles the resolution first (bilinear)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, w_dim: int,
                 demodulate: bool = True, upsample: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.scale = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.demodulate, self.upsample = demodulate, upsample
        self.padding = kernel_size // 2

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        n, c, h, width = x.shape
        weights = modulate_weights(self.weight * self.scale, self.affine(w), self.demodulate)
        out = F.conv2d(x.reshape(1, n * c, h, width), weights.reshape(-1, c, *weights.shape[3:]),
                       padding=self.padding, groups=n)
        return out.reshape(n, -1, h, width)


class ScaledLeakyReLU(nn.Module):
    """LeakyReLU(0.2) times sqrt(2), keeping unit variance after equalized-LR layers with gain 1
    (the ``bias_act`` convention of the StyleGAN2 code)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, LEAKY_SLOPE) * math.sqrt(2.0)


def downsample(x: Tensor) -> Tensor:
    """2x2 average pooling."""
    return F.avg_pool2d(x, 2)


def upsample(x: Tensor) -> Tensor:
    """Nearest-neighbour doubling (Progressive GAN's upscale2d)."""
    return F.interpolate(x, scale_factor=2, mode="nearest")
