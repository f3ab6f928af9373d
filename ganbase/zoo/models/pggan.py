"""``pggan``: Progressive Growing of GANs (Karras, Aila, Laine & Lehtinen 2018, "Progressive
Growing of GANs for Improved Quality, Stability, and Variation", ICLR).

Both networks start at 4x4 and grow by one resolution per level up to ``--image-size``. Every
level after the first is faded in: during a fade phase the new layers' output is blended with the
2x-upsampled output of the previous resolution by ``alpha`` going linearly 0 -> 1 (and the
discriminator's input likewise), then a stabilize phase trains the new resolution alone. Each
phase lasts ``phase_images`` real images (the paper's 800k); the minibatch size depends on the
resolution (``batch_sizes``, one per level from 4x4; empty: the paper's 16 up to 128 px, then 14,
6, 3). The trainer asks ``training_phase(step)`` before every step, a pure function of the step,
so resuming mid-phase continues the same phase and alpha.

Paper details kept: equalized learning rate on every layer, pixelwise feature normalisation after
every generator convolution, a minibatch standard deviation layer before the discriminator's last
block, LeakyReLU 0.2, nearest upsampling and average-pool downsampling, 1x1 toRGB/fromRGB layers,
WGAN-GP (lambda 10) plus the epsilon-drift term 0.001 E[D(x)^2], n_critic 1,
Adam(lr 0.001, beta1 0, beta2 0.99); real images are downsampled (and cross-faded) to the
current resolution. ``--ema-decay 0.999`` gives the paper's generator averaging on runs with
phases of many thousand steps (on short runs the average lags behind the newest layers).

Simplifications: channel widths ``min(fmap_base / 2^(level+1), fmap_max)`` default to
``fmap_max`` 128 (paper: 512) so CPU runs are practical; Adam state is not reset between phases;
the generator's raw output is clamped to [-1, 1] when sampling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganbase.errors import UserError
from ganbase.nn.losses import WGANGPLoss
from ganbase.nn.style_blocks import (
    LEAKY_SLOPE,
    EqualConv2d,
    EqualLinear,
    MinibatchStdDev,
    PixelNorm,
    downsample,
    upsample,
)
from ganbase.zoo.models.adversarial import AdversarialModel
from ganbase.zoo.models.base import Batch, ModelConfig, OptimizerSpec, TrainingPhase
from ganbase.zoo.models.nets import check_image_shape
from ganbase.zoo.models.registry import register_model


@dataclass(frozen=True)
class PGGANConfig(ModelConfig):
    latent_dim: int = 512
    fmap_base: int = 8192
    fmap_max: int = 128
    phase_images: int = 800_000
    batch_sizes: tuple[int, ...] = ()
    lr: float = 1e-3
    beta1: float = 0.0
    beta2: float = 0.99
    gp_weight: float = 10.0
    drift_weight: float = 0.001
    mbstd_group: int = 4


def level_channels(config: PGGANConfig, level: int) -> int:
    """Feature maps at resolution ``4 * 2^level`` (the paper's ``nf``)."""
    return max(1, min(config.fmap_base // 2 ** (level + 1), config.fmap_max))


def paper_batch_size(resolution: int) -> int:
    return 16 if resolution <= 128 else {256: 14, 512: 6}.get(resolution, 3)


class ConvLayer(nn.Sequential):
    """Equalized 3x3 (or kxk) convolution + LeakyReLU(0.2) [+ pixel norm]."""

    def __init__(self, in_channels: int, out_channels: int, pixel_norm: bool, kernel_size: int = 3,
                 padding: int | None = None) -> None:
        layers: list[nn.Module] = [EqualConv2d(in_channels, out_channels, kernel_size, padding=padding),
                                   nn.LeakyReLU(LEAKY_SLOPE)]
        if pixel_norm:
            layers.append(PixelNorm())
        super().__init__(*layers)


class ProgressiveGenerator(nn.Module):
    """z -> 4x4 -> ... -> ``4 * 2^level`` px; ``forward(z, level, alpha)``."""

    def __init__(self, config: PGGANConfig, channels: int, levels: int) -> None:
        super().__init__()
        base = level_channels(config, 0)
        self.base_channels = base
        self.normalize = PixelNorm()
        self.dense = EqualLinear(config.latent_dim, base * 16, gain=math.sqrt(2.0) / 4)
        self.first_conv = ConvLayer(base, base, pixel_norm=True)
        self.blocks = nn.ModuleList(
            nn.Sequential(ConvLayer(level_channels(config, level - 1), level_channels(config, level), True),
                          ConvLayer(level_channels(config, level), level_channels(config, level), True))
            for level in range(1, levels + 1))
        self.to_rgb = nn.ModuleList(EqualConv2d(level_channels(config, level), channels, 1, gain=1.0)
                                    for level in range(levels + 1))

    def forward(self, z: Tensor, level: int, alpha: float = 1.0) -> Tensor:
        x = self.dense(self.normalize(z)).reshape(z.shape[0], self.base_channels, 4, 4)
        x = self.first_conv(self.normalize(F.leaky_relu(x, LEAKY_SLOPE)))
        previous = x
        for block in self.blocks[:level]:
            previous = x
            x = block(upsample(x))
        rgb = self.to_rgb[level](x)
        if level > 0 and alpha < 1.0:
            rgb = torch.lerp(upsample(self.to_rgb[level - 1](previous)), rgb, alpha)
        return rgb


class ProgressiveDiscriminator(nn.Module):
    """``4 * 2^level`` px -> ... -> 4x4 -> score ``[N]``; ``forward(x, level, alpha)``."""

    def __init__(self, config: PGGANConfig, channels: int, levels: int) -> None:
        super().__init__()
        self.from_rgb = nn.ModuleList(
            nn.Sequential(EqualConv2d(channels, level_channels(config, level), 1), nn.LeakyReLU(LEAKY_SLOPE))
            for level in range(levels + 1))
        self.blocks = nn.ModuleList(
            nn.Sequential(ConvLayer(level_channels(config, level), level_channels(config, level), False),
                          ConvLayer(level_channels(config, level), level_channels(config, level - 1), False))
            for level in range(1, levels + 1))
        base = level_channels(config, 0)
        self.stddev = MinibatchStdDev(config.mbstd_group)
        self.final = nn.Sequential(ConvLayer(base + 1, base, False),
                                   ConvLayer(base, base, False, kernel_size=4, padding=0), nn.Flatten())
        self.output = EqualLinear(base, 1, gain=1.0)

    def forward(self, images: Tensor, level: int, alpha: float = 1.0) -> Tensor:
        x = self.from_rgb[level](images)
        for current in range(level, 0, -1):
            x = downsample(self.blocks[current - 1](x))
            if current == level and alpha < 1.0:
                x = torch.lerp(self.from_rgb[level - 1](downsample(images)), x, alpha)
        return self.output(self.final(self.stddev(x))).squeeze(1)


def phase_plan(levels: int, phase_images: int, batch_sizes: Sequence[int]) -> list[tuple[str, int, bool, int]]:
    """``(name, level, fading, steps)`` per phase: stabilize 4x4, then fade + stabilize per level."""
    plan = []
    for level in range(levels + 1):
        steps = math.ceil(phase_images / batch_sizes[level])
        resolution = 4 * 2 ** level
        if level > 0:
            plan.append((f"fade in {resolution}px", level, True, steps))
        plan.append((f"stabilize {resolution}px", level, False, steps))
    return plan


@register_model("pggan")
class PGGAN(AdversarialModel):
    description = "progressive growing 4px->size with fade-in, equalized LR, pixel norm, mbstd, WGAN-GP+drift"
    paper = "Karras et al. 2018, Progressive Growing of GANs for Improved Quality, Stability, and Variation"
    data_kind = "unconditional"
    config_class = PGGANConfig
    logs_penalty = True
    default_batch_size = 16

    def __init__(self, config: PGGANConfig) -> None:
        super().__init__(config)
        channels, size = check_image_shape(self.name, config.data_shape)
        self.levels = int(round(math.log2(size))) - 2
        sizes = config.batch_sizes or tuple(paper_batch_size(4 * 2 ** level)
                                            for level in range(self.levels + 1))
        if len(sizes) != self.levels + 1 or min(sizes) < 1:
            raise UserError(f"batch_sizes needs {self.levels + 1} positive sizes (4px..{size}px), "
                            f"got {','.join(map(str, sizes))}")
        if config.phase_images < 1:
            raise UserError("phase_images must be at least 1")
        self.plan = phase_plan(self.levels, config.phase_images, sizes)
        self.batch_sizes = sizes
        self.latent_dim = config.latent_dim
        self.generator = ProgressiveGenerator(config, channels, self.levels)
        self.discriminator = ProgressiveDiscriminator(config, channels, self.levels)
        self.loss = WGANGPLoss(weight=config.gp_weight, drift_weight=config.drift_weight)
        # the current phase is part of the weights file, so a checkpoint samples at its resolution
        self.register_buffer("level", torch.tensor(0))
        self.register_buffer("alpha", torch.tensor(1.0))

    def optimizer_specs(self) -> list[OptimizerSpec]:
        betas = (self.config.beta1, self.config.beta2)
        return [OptimizerSpec("discriminator", "adam", self.config.lr, betas),
                OptimizerSpec("generator", "adam", self.config.lr, betas)]

    # ----- growth schedule -----------------------------------------------------------------
    def training_phase(self, step: int) -> TrainingPhase:
        start = 0
        for index, (name, level, fading, steps) in enumerate(self.plan):
            if step < start + steps or index == len(self.plan) - 1:
                alpha = min(1.0, (step - start) / steps) if fading else 1.0
                return TrainingPhase(index, name, level, alpha, self.batch_sizes[level])
            start += steps
        raise AssertionError("unreachable: the last phase is open-ended")

    def enter_phase(self, phase: TrainingPhase) -> None:
        self.level.fill_(phase.level)
        self.alpha.fill_(phase.alpha)

    # ----- networks at the current phase ---------------------------------------------------
    def generate(self, latent: Tensor, labels: Tensor | None) -> Tensor:
        return self.generator(latent, int(self.level), float(self.alpha))

    def score(self, data: Tensor, labels: Tensor | None) -> Tensor:
        return self.discriminator(data, int(self.level), float(self.alpha))

    def real_data(self, batch: Batch) -> Tensor:
        """Reals average-pooled to the current resolution, cross-faded like the generator."""
        level, alpha = int(self.level), float(self.alpha)
        images = F.avg_pool2d(batch.data, batch.data.shape[-1] // (4 * 2 ** level))
        if level > 0 and alpha < 1.0:
            images = torch.lerp(upsample(downsample(images)), images, alpha)
        return images

    def train_step(self, batches: Sequence[Batch], context) -> dict[str, Tensor]:
        logs = super().train_step(batches, context)
        logs["resolution"] = torch.tensor(4.0 * 2 ** int(self.level))
        logs["alpha"] = self.alpha.detach().clone()
        return logs

    def decode(self, latent: Tensor, labels: Tensor | None = None) -> Tensor:
        """Samples at the current resolution, nearest-upsampled to the data size."""
        self.check_labels(latent.shape[0], labels)
        images = self.generate(latent, None).clamp(-1.0, 1.0)
        size = self.config.data_shape[-1]
        return F.interpolate(images, size=(size, size), mode="nearest") if images.shape[-1] != size else images
