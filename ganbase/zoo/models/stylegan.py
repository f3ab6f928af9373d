"""``stylegan``: the style-based generator (Karras, Laine & Aila 2019, "A Style-Based Generator
Architecture for Generative Adversarial Networks", CVPR).

Generator: the 8-layer mapping network z -> w (see :mod:`ganbase.zoo.models.style_family`); a
learned constant 4x4 input; at every layer per-pixel noise with learned per-channel scales, then
LeakyReLU and AdaIN driven by that layer's w, two layers per resolution (the first of each
resolution after 4x4 after a nearest 2x upsampling and a 3x3 equalized convolution); a 1x1 toRGB
at the end. Discriminator: Progressive GAN's (equalized LR, minibatch stddev) at full resolution.
Training (the paper's FFHQ setup): non-saturating loss with R1 gamma 10 every step, style mixing
probability 0.9, Adam(0.001, 0, 0.99), minibatch 32, running average of w (decay 0.995) for the
truncation trick.

Fixed-resolution training, not progressive: the paper grew StyleGAN like Progressive GAN, but its
successor (StyleGAN2, Sec. 4) showed growing is not needed for quality, the fade-in machinery is
already demonstrated by ``pggan``, and fixed-resolution training keeps style mixing, truncation
and the mixing grid identical at every checkpoint. Other simplifications: no blur filter, no
separate bias after the noise (additive, so equivalent), channel widths capped at ``fmap_max``
128 (paper: 512).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor, nn

from ganbase.nn.style_blocks import (
    LEAKY_SLOPE,
    AdaIN,
    EqualConv2d,
    NoiseInjection,
    upsample,
)
from ganbase.zoo.models.nets import check_image_shape
from ganbase.zoo.models.pggan import PGGANConfig, ProgressiveDiscriminator
from ganbase.zoo.models.registry import register_model
from ganbase.zoo.models.style_family import (
    StyleConfig,
    StyleGenerator,
    StyleModel,
    level_channels,
)


@dataclass(frozen=True)
class StyleGANConfig(StyleConfig):
    lr: float = 1e-3
    r1_interval: int = 1


class StyleLayer(nn.Module):
    """[upsample] -> [3x3 conv] -> noise -> LeakyReLU -> AdaIN(w)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, conv: bool, up: bool) -> None:
        super().__init__()
        self.conv = EqualConv2d(in_channels, out_channels, 3) if conv else None
        self.up = up
        self.noise = NoiseInjection(out_channels)
        self.activation = nn.LeakyReLU(LEAKY_SLOPE)
        self.adain = AdaIN(out_channels, w_dim)

    def forward(self, x: Tensor, w: Tensor, noise: Tensor | None) -> Tensor:
        if self.up:
            x = upsample(x)
        if self.conv is not None:
            x = self.conv(x)
        return self.adain(self.activation(self.noise(x, noise)), w)


class StyleGANGenerator(StyleGenerator):
    def __init__(self, config: StyleGANConfig, channels: int, levels: int) -> None:
        super().__init__(config)
        base = level_channels(config, 0)
        self.const = nn.Parameter(torch.ones(1, base, 4, 4))
        layers = [StyleLayer(base, base, config.w_dim, conv=False, up=False),
                  StyleLayer(base, base, config.w_dim, conv=True, up=False)]
        for level in range(1, levels + 1):
            before, after = level_channels(config, level - 1), level_channels(config, level)
            layers += [StyleLayer(before, after, config.w_dim, conv=True, up=True),
                       StyleLayer(after, after, config.w_dim, conv=True, up=False)]
        self.layers = nn.ModuleList(layers)
        self.to_rgb = EqualConv2d(level_channels(config, levels), channels, 1, gain=1.0)
        self.num_ws = len(layers)
        self.noise_sizes = [4 * 2 ** (index // 2) for index in range(len(layers))]

    def synthesize(self, ws: Tensor, noise: Sequence[Tensor | None]) -> Tensor:
        x = self.const.expand(ws.shape[0], -1, -1, -1)
        for index, layer in enumerate(self.layers):
            x = layer(x, ws[:, index], noise[index])
        return self.to_rgb(x)


@register_model("stylegan")
class StyleGAN(StyleModel):
    description = "mapping net + AdaIN + noise, style mixing, truncation in w; NS loss + R1 10"
    paper = "Karras et al. 2019, A Style-Based Generator Architecture for GANs"
    config_class = StyleGANConfig

    def __init__(self, config: StyleGANConfig) -> None:
        super().__init__(config)
        channels, size = check_image_shape(self.name, config.data_shape)
        levels = int(round(math.log2(size))) - 2
        self.generator = StyleGANGenerator(config, channels, levels)
        critic_config = PGGANConfig(fmap_base=config.fmap_base, fmap_max=config.fmap_max,
                                    mbstd_group=config.mbstd_group)
        self.levels = levels
        self.discriminator = FullResolution(ProgressiveDiscriminator(critic_config, channels, levels), levels)


class FullResolution(nn.Module):
    """Progressive GAN's discriminator fixed at its top level (no fade)."""

    def __init__(self, network: ProgressiveDiscriminator, level: int) -> None:
        super().__init__()
        self.network, self.level = network, level

    def forward(self, images: Tensor) -> Tensor:
        return self.network(images, self.level, 1.0)
