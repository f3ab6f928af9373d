"""``cyclegan``: unpaired image-to-image translation with cycle consistency (Zhu et al. 2017,
"Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks", ICCV).

Two ResNet generators G: A -> B and F: B -> A (6 residual blocks below 256 px, 9 from 256 px,
instance normalisation, reflection padding) and two 70x70 PatchGAN discriminators D_A, D_B with
instance normalisation. Losses: least-squares GAN (Mao et al. 2017) for both directions, cycle
consistency lambda * (|F(G(a)) - a|_1 + |G(F(b)) - b|_1) with lambda = 10, identity loss
0.5 * lambda * (|G(b) - b|_1 + |F(a) - a|_1). Discriminators are updated from a history of 50
generated images (:class:`ImagePool`) and their loss is halved. Adam(2e-4, beta1 = 0.5), batch
size 1, learning rate constant for the first half of training, then linearly decayed to 0.

Notes: the identity loss needs A and B with the same number of channels; when they differ (e.g.
gray -> colour) it is left out, as the official code cannot use it either. The pool keeps
float32 images, so checkpoints grow by 2 x 50 images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from torch import Tensor, nn

from ganbase.errors import UserError
from ganbase.nn.losses import LSGANLoss
from ganbase.zoo.models.base import Batch, ModelConfig, OptimizerSpec, StepContext
from ganbase.zoo.models.registry import register_model
from ganbase.zoo.models.translation import (
    ImagePool,
    TranslationModel,
    check_translation_config,
    frozen,
    interleave,
)
from ganbase.zoo.models.translation_nets import PatchDiscriminator70, ResNetGenerator


@dataclass(frozen=True)
class CycleGANConfig(ModelConfig):
    data_shape: tuple[int, ...] = (3, 256, 256)
    out_channels: int = 3
    num_blocks: int = 0  # residual blocks; 0 = 6 below 256 px, 9 from 256 px (the paper's rule)
    width: int = 64
    d_width: int = 64
    d_layers: int = 3
    norm: str = "instance"
    cycle_weight: float = 10.0
    identity_weight: float = 0.5  # times cycle_weight
    pool_size: int = 50
    lr: float = 2e-4
    beta1: float = 0.5


@register_model("cyclegan")
class CycleGAN(TranslationModel):
    description = "unpaired translation: 2 ResNet G + 2 PatchGAN D, LSGAN, cycle + identity"
    paper = "Zhu et al. 2017, Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks"
    data_kind = "unpaired"
    config_class = CycleGANConfig
    ema_target = "generators"

    def __init__(self, config: CycleGANConfig) -> None:
        super().__init__(config)
        channels_a, size = check_translation_config(self.name, config)
        channels_b = config.out_channels
        if size % 4:
            raise UserError(f"cyclegan needs image sizes that are multiples of 4, got {size}")
        blocks = config.num_blocks or (9 if size >= 256 else 6)
        self.generators = nn.ModuleDict({
            "AtoB": ResNetGenerator(channels_a, channels_b, blocks, config.width, config.norm),
            "BtoA": ResNetGenerator(channels_b, channels_a, blocks, config.width, config.norm),
        })
        self.discriminators = nn.ModuleDict({
            "A": PatchDiscriminator70(channels_a, config.d_width, config.d_layers, config.norm),
            "B": PatchDiscriminator70(channels_b, config.d_width, config.d_layers, config.norm),
        })
        self.pool_a = ImagePool(config.pool_size, (channels_a, size, size))
        self.pool_b = ImagePool(config.pool_size, (channels_b, size, size))
        self.loss = LSGANLoss()
        # LSGANLoss carries Mao et al.'s 1/2; CycleGAN's generator term E[(D(G(a)) - 1)^2] has none
        self.generator_gan_weight = 2.0
        same_channels = channels_a == channels_b
        self.identity_weight = config.identity_weight * config.cycle_weight if same_channels else 0.0

    @property
    def size_multiple(self) -> int:
        return ResNetGenerator.multiple

    @property
    def bidirectional(self) -> bool:
        return True

    def optimizer_specs(self) -> Sequence[OptimizerSpec]:
        betas = (self.config.beta1, 0.999)
        return [OptimizerSpec("generators", "adam", self.config.lr, betas),
                OptimizerSpec("discriminators", "adam", self.config.lr, betas)]

    def train_step(self, batches: Sequence[Batch], context: StepContext) -> dict[str, Tensor]:
        real_a, real_b = batches[0].data, batches[0].target
        if real_b is None:
            raise UserError("cyclegan needs two domains (A/ and B/ folders)")
        g_ab, g_ba = self.generators["AtoB"], self.generators["BtoA"]
        d_a, d_b = self.discriminators["A"], self.discriminators["B"]
        weight = self.config.cycle_weight
        with context.autocast():
            fake_b, fake_a = g_ab(real_a), g_ba(real_b)
            cycle = weight * ((g_ba(fake_b) - real_a).abs().mean() + (g_ab(fake_a) - real_b).abs().mean())
            identity = fake_b.new_zeros(())
            if self.identity_weight:
                identity = self.identity_weight * ((g_ab(real_b) - real_b).abs().mean()
                                                   + (g_ba(real_a) - real_a).abs().mean())
            with frozen(self.discriminators):
                g_gan = self.generator_gan_weight * (
                    self.loss.generator_loss(d_b(fake_b).float())
                    + self.loss.generator_loss(d_a(fake_a).float()))
        context.update("generators", g_gan + cycle.float() + identity.float())

        with context.autocast():
            loss_b = self.loss.discriminator_loss(d_b(real_b).float(),
                                                  d_b(self.pool_b.query(fake_b)).float())
            loss_a = self.loss.discriminator_loss(d_a(real_a).float(),
                                                  d_a(self.pool_a.query(fake_a)).float())
        context.update("discriminators", loss_a + loss_b)
        return {"d_a": loss_a.detach(), "d_b": loss_b.detach(), "g_gan": g_gan.detach(),
                "cycle": cycle.detach(), "identity": identity.detach()}

    def translate(self, images: Tensor, reverse: bool = False, domains: Tensor | None = None) -> Tensor:
        if reverse:
            self.check_input(images, self.config.out_channels)
            return self.generators["BtoA"](images)
        self.check_input(images, self.config.data_shape[0])
        return self.generators["AtoB"](images)

    def preview(self, inputs: Batch) -> tuple[Tensor, int | None]:
        """Rows of a | G(a) | F(G(a)) | b | F(b) | G(F(b))."""
        fake_b = self.translate(inputs.data)
        columns = [inputs.data, fake_b, self.translate(fake_b, reverse=True)]
        if inputs.target is not None:
            fake_a = self.translate(inputs.target, reverse=True)
            columns += [inputs.target, fake_a, self.translate(fake_a)]
        return interleave(columns), len(columns)
