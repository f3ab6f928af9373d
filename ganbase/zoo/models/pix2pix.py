"""``pix2pix``: paired image-to-image translation with a conditional GAN (Isola et al. 2017,
"Image-to-Image Translation with Conditional Adversarial Networks", CVPR).

G is a U-Net (``unet_256``, ``unet_128``, ... see :mod:`ganbase.zoo.models.translation_nets`), D a
70x70 PatchGAN that sees the input next to a real or generated output (conditional GAN). The
objective is the non-saturating cGAN loss plus lambda * L1(G(x), y) with lambda = 100; D's loss is
halved to slow it relative to G; noise comes only from dropout; Adam(2e-4, beta1 = 0.5), batch
size 1, learning rate constant for the first half of training and then decayed linearly to 0 (the
official code's schedule, ``--lr-schedule hold-linear``). Weights start from N(0, 0.02).

Simplification: the paper also applies dropout and batch statistics at test time; ``translate``
runs the network in eval mode (no dropout, BatchNorm running averages), so translations are
deterministic and independent of how inputs are batched. ``-o norm=instance`` gives the paper's
batch-size-1 behaviour (instance normalisation) at any batch size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor

from ganbase.errors import UserError
from ganbase.nn.losses import NonSaturatingLoss
from ganbase.zoo.models.base import Batch, ModelConfig, OptimizerSpec, StepContext
from ganbase.zoo.models.registry import register_model
from ganbase.zoo.models.translation import (
    TranslationModel,
    check_translation_config,
    frozen,
)
from ganbase.zoo.models.translation_nets import (
    PatchDiscriminator70,
    UNetGenerator,
    unet_depth,
)


@dataclass(frozen=True)
class Pix2PixConfig(ModelConfig):
    data_shape: tuple[int, ...] = (3, 256, 256)
    out_channels: int = 3
    generator: str = "auto"  # unet_256, unet_128, ... ; auto = unet_<image size>
    width: int = 64
    d_width: int = 64
    d_layers: int = 3  # 3 = the 70x70 PatchGAN
    norm: str = "batch"
    dropout: float = 0.5
    l1_weight: float = 100.0
    lr: float = 2e-4
    beta1: float = 0.5


@register_model("pix2pix")
class Pix2Pix(TranslationModel):
    description = "paired translation: U-Net G, 70x70 PatchGAN D, cGAN + 100 x L1"
    paper = "Isola et al. 2017, Image-to-Image Translation with Conditional Adversarial Networks"
    data_kind = "paired"
    config_class = Pix2PixConfig

    def __init__(self, config: Pix2PixConfig) -> None:
        super().__init__(config)
        channels, size = check_translation_config(self.name, config)
        depth = unet_depth(config.generator, size)
        self.generator = UNetGenerator(channels, config.out_channels, depth, config.width,
                                       config.norm, config.dropout)
        self.discriminator = PatchDiscriminator70(channels + config.out_channels, config.d_width,
                                                  config.d_layers, config.norm)
        self.loss = NonSaturatingLoss()

    @property
    def size_multiple(self) -> int:
        return self.generator.multiple

    def optimizer_specs(self) -> Sequence[OptimizerSpec]:
        betas = (self.config.beta1, 0.999)
        return [OptimizerSpec("discriminator", "adam", self.config.lr, betas),
                OptimizerSpec("generator", "adam", self.config.lr, betas)]

    def train_step(self, batches: Sequence[Batch], context: StepContext) -> dict[str, Tensor]:
        real_a, real_b = batches[0].data, batches[0].target
        if real_b is None:
            raise UserError("pix2pix needs paired data (A/ and B/ folders or A|B images)")
        with context.autocast():
            fake_b = self.generator(real_a)
            real_scores = self.discriminator(torch.cat([real_a, real_b], 1))
            fake_scores = self.discriminator(torch.cat([real_a, fake_b.detach()], 1))
        d_loss = 0.5 * self.loss.discriminator_loss(real_scores.float(), fake_scores.float())
        context.update("discriminator", d_loss)

        with frozen(self.discriminator):
            with context.autocast():
                fake_scores = self.discriminator(torch.cat([real_a, fake_b], 1))
            g_gan = self.loss.generator_loss(fake_scores.float())
            l1 = (fake_b.float() - real_b.float()).abs().mean()
            context.update("generator", g_gan + self.config.l1_weight * l1)
        return {"d_loss": d_loss.detach(), "g_gan": g_gan.detach(), "l1": l1.detach()}

    def translate(self, images: Tensor, reverse: bool = False, domains: Tensor | None = None) -> Tensor:
        if reverse:
            raise UserError("pix2pix translates in its training direction only; train another "
                            "run with --direction BtoA for the reverse")
        self.check_input(images, self.config.data_shape[0])
        return self.generator(images)
