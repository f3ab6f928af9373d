"""``stylegan2``: StyleGAN2 (Karras, Laine, Aittala, Hellsten, Lehtinen & Aila 2020, "Analyzing
and Improving the Image Quality of StyleGAN", CVPR), config E/F style, in pure PyTorch.

Generator: mapping network z -> w (see :mod:`ganbase.zoo.models.style_family`), learned constant
4x4 input, modulated + demodulated 3x3 convolutions instead of AdaIN (one grouped convolution
per layer, no custom CUDA ops, so it runs on CPU), per-pixel noise and bias after each
convolution, LeakyReLU(0.2) x sqrt(2); "skip" output: a modulated 1x1 toRGB (no demodulation) at
every resolution whose outputs are upsampled and summed. Discriminator: "residual" blocks (two
3x3 convolutions and 2x downsampling, plus a 1x1 downsampled skip, summed and scaled by
1/sqrt(2)), minibatch stddev, a 3x3 convolution and two fully connected layers. Training:
non-saturating loss, lazy R1 (gamma 10 every 16 minibatches), path length regularisation (weight
2 every 4 minibatches; ``-o pl_weight=0`` turns it off), style mixing 0.9, Adam(0.002, 0, 0.99)
with the lazy-regularisation correction, minibatch 32, generator EMA (``--ema-decay``, default
0.999 for this model).

Simplifications: bilinear upsampling / average pooling instead of the FIR filters; a
per-channel instead of a single noise strength; channel widths capped at ``fmap_max`` 128
(paper: 512).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor, nn

from ganbase.nn.style_blocks import (
    EqualConv2d,
    EqualLinear,
    MinibatchStdDev,
    ModulatedConv2d,
    NoiseInjection,
    ScaledLeakyReLU,
    downsample,
)
from ganbase.zoo.models.nets import check_image_shape
from ganbase.zoo.models.registry import register_model
from ganbase.zoo.models.style_family import (
    StyleConfig,
    StyleGenerator,
    StyleModel,
    level_channels,
    resample_rgb,
)


@dataclass(frozen=True)
class StyleGAN2Config(StyleConfig):
    pl_weight: float = 2.0


class StyledConv(nn.Module):
    """Modulated 3x3 convolution -> noise -> bias -> LeakyReLU x sqrt(2)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, up: bool = False) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, 3, w_dim, demodulate=True, upsample=up)
        self.noise = NoiseInjection(out_channels)
        self.bias = nn.Parameter(torch.zeros(1, out_channels, 1, 1))
        self.activation = ScaledLeakyReLU()

    def forward(self, x: Tensor, w: Tensor, noise: Tensor | None) -> Tensor:
        return self.activation(self.noise(self.conv(x, w), noise) + self.bias)


class ToRGB(nn.Module):
    def __init__(self, in_channels: int, channels: int, w_dim: int) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        return self.conv(x, w) + self.bias


class StyleGAN2Generator(StyleGenerator):
    """w index layout of the official code: 4x4 conv 0, toRGB 1; level k: convs 2k-1, 2k, toRGB 2k+1."""

    def __init__(self, config: StyleGAN2Config, channels: int, levels: int) -> None:
        super().__init__(config)
        base = level_channels(config, 0)
        self.const = nn.Parameter(torch.randn(1, base, 4, 4))
        self.first = StyledConv(base, base, config.w_dim)
        self.first_rgb = ToRGB(base, channels, config.w_dim)
        self.blocks = nn.ModuleList()
        self.to_rgb = nn.ModuleList()
        for level in range(1, levels + 1):
            before, after = level_channels(config, level - 1), level_channels(config, level)
            self.blocks.append(nn.ModuleList([StyledConv(before, after, config.w_dim, up=True),
                                              StyledConv(after, after, config.w_dim)]))
            self.to_rgb.append(ToRGB(after, channels, config.w_dim))
        self.num_ws = 2 * levels + 2
        self.noise_sizes = [4] + [4 * 2 ** level for level in range(1, levels + 1) for _ in range(2)]

    def synthesize(self, ws: Tensor, noise: Sequence[Tensor | None]) -> Tensor:
        x = self.first(self.const.expand(ws.shape[0], -1, -1, -1), ws[:, 0], noise[0])
        rgb = self.first_rgb(x, ws[:, 1])
        for index, ((up_conv, conv), to_rgb) in enumerate(zip(self.blocks, self.to_rgb)):
            x = up_conv(x, ws[:, 2 * index + 1], noise[2 * index + 1])
            x = conv(x, ws[:, 2 * index + 2], noise[2 * index + 2])
            rgb = resample_rgb(rgb) + to_rgb(x, ws[:, 2 * index + 3])
        return rgb


def conv_act(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(EqualConv2d(in_channels, out_channels, 3, gain=1.0), ScaledLeakyReLU())


class ResidualBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.main = nn.Sequential(conv_act(in_channels, in_channels), conv_act(in_channels, out_channels))
        self.skip = EqualConv2d(in_channels, out_channels, 1, gain=1.0, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return (downsample(self.main(x)) + self.skip(downsample(x))) / math.sqrt(2.0)


class ResidualDiscriminator(nn.Module):
    def __init__(self, config: StyleGAN2Config, channels: int, levels: int) -> None:
        super().__init__()
        self.from_rgb = nn.Sequential(EqualConv2d(channels, level_channels(config, levels), 1, gain=1.0),
                                      ScaledLeakyReLU())
        self.blocks = nn.Sequential(*(ResidualBlock(level_channels(config, level), level_channels(config, level - 1))
                                      for level in range(levels, 0, -1)))
        base = level_channels(config, 0)
        self.stddev = MinibatchStdDev(config.mbstd_group)
        self.final = nn.Sequential(conv_act(base + 1, base), nn.Flatten(),
                                   EqualLinear(base * 16, base), ScaledLeakyReLU(), EqualLinear(base, 1))

    def forward(self, images: Tensor) -> Tensor:
        return self.final(self.stddev(self.blocks(self.from_rgb(images)))).squeeze(1)


@register_model("stylegan2")
class StyleGAN2(StyleModel):
    description = "modulated/demodulated convs, skip G, residual D, lazy R1, path length reg, EMA"
    paper = "Karras et al. 2020, Analyzing and Improving the Image Quality of StyleGAN"
    config_class = StyleGAN2Config
    default_ema_decay = 0.999

    def __init__(self, config: StyleGAN2Config) -> None:
        super().__init__(config)
        channels, size = check_image_shape(self.name, config.data_shape)
        levels = int(round(math.log2(size))) - 2
        self.generator = StyleGAN2Generator(config, channels, levels)
        self.discriminator = ResidualDiscriminator(config, channels, levels)
