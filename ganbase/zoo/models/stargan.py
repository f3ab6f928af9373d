"""``stargan``: one generator for translation between many domains (Choi et al. 2018, "StarGAN:
Unified Generative Adversarial Networks for Multi-Domain Image-to-Image Translation", CVPR).

G(x, c) takes an image and a target-domain label c (replicated spatially and concatenated to the
image): conv7-64, two stride-2 down-samplings, 6 residual blocks, two up-samplings, conv7 + tanh,
instance normalisation. D is a PatchGAN with two heads: D_src (a WGAN critic map) and D_cls (domain
logits). Losses (section 3): D minimises -D_src(x) + D_src(G(x, c)) + lambda_gp * GP +
lambda_cls * L_cls(D_cls(x), c_org); G minimises -D_src(G(x, c)) + lambda_cls *
L_cls(D_cls(G(x, c)), c) + lambda_rec * |x - G(G(x, c), c_org)|_1, with lambda_cls = 1,
lambda_rec = 10, lambda_gp = 10 (WGAN-GP, Gulrajani et al. 2017), 5 critic updates per generator
update, Adam(1e-4, 0.5, 0.999), batch size 16, learning rates decayed linearly over the second
half of training. Target labels are the batch's own labels in shuffled order, as in the official
code. L_cls is softmax cross-entropy for one-domain-per-image data (folders) and per-attribute
binary cross-entropy for multi-attribute CSV labels, as the paper does for RaFD and CelebA.

Simplifications: instance normalisation without running statistics (the official code tracks
them); D's depth follows the image size (6 stride-2 layers at 128 px, as in the paper, fewer for
small images, always ending in a 2x2 or larger map).
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
from ganbase.zoo.models.base import Batch, ModelConfig, OptimizerSpec, StepContext
from ganbase.zoo.models.registry import register_model
from ganbase.zoo.models.translation import (
    TranslationModel,
    check_translation_config,
    frozen,
    interleave,
)


@dataclass(frozen=True)
class StarGANConfig(ModelConfig):
    data_shape: tuple[int, ...] = (3, 128, 128)
    num_classes: int = 5  # number of domains (attributes)
    multi_label: bool = False  # attributes may combine (binary cross-entropy); else one domain
    width: int = 64
    num_blocks: int = 6
    d_width: int = 64
    d_layers: int = 0  # stride-2 layers of D; 0 = min(6, log2(size) - 1)
    cls_weight: float = 1.0
    rec_weight: float = 10.0
    gp_weight: float = 10.0
    n_critic: int = 5
    lr: float = 1e-4
    d_lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999


class SoftmaxDomainLoss:
    """One domain per image: cross-entropy against the index of the 1 in each label row."""

    def __call__(self, logits: Tensor, labels: Tensor) -> Tensor:
        return F.cross_entropy(logits, labels.argmax(1))


class BinaryDomainLoss:
    """Independent attributes: binary cross-entropy summed over attributes, mean over images."""

    def __call__(self, logits: Tensor, labels: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(logits, labels, reduction="sum") / logits.shape[0]


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.InstanceNorm2d(channels, affine=True),
            nn.ReLU(True),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.InstanceNorm2d(channels, affine=True))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class StarGenerator(nn.Module):
    """(image ``[N, C, H, W]``, labels ``[N, D]``) -> image; H, W multiples of 4."""

    def __init__(self, channels: int, num_domains: int, width: int, num_blocks: int) -> None:
        super().__init__()

        def block(conv: nn.Module, out: int) -> list[nn.Module]:
            return [conv, nn.InstanceNorm2d(out, affine=True), nn.ReLU(True)]

        layers = block(nn.Conv2d(channels + num_domains, width, 7, 1, 3, bias=False), width)
        for factor in (1, 2):
            layers += block(nn.Conv2d(width * factor, width * factor * 2, 4, 2, 1, bias=False),
                            width * factor * 2)
        layers += [ResidualBlock(width * 4) for _ in range(num_blocks)]
        for factor in (4, 2):
            layers += block(nn.ConvTranspose2d(width * factor, width * factor // 2, 4, 2, 1, bias=False),
                            width * factor // 2)
        layers += [nn.Conv2d(width, channels, 7, 1, 3, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, images: Tensor, labels: Tensor) -> Tensor:
        maps = labels.to(images.dtype)[:, :, None, None].expand(-1, -1, *images.shape[-2:])
        return self.net(torch.cat([images, maps], 1))


class StarDiscriminator(nn.Module):
    """Image -> (critic map ``[N, 1, h, w]``, domain logits ``[N, D]``)."""

    def __init__(self, channels: int, image_size: int, num_domains: int, width: int,
                 num_layers: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        w_in, w_out = channels, width
        for _ in range(num_layers):
            layers += [nn.Conv2d(w_in, w_out, 4, 2, 1), nn.LeakyReLU(0.01)]
            w_in, w_out = w_out, w_out * 2
        self.body = nn.Sequential(*layers)
        self.critic = nn.Conv2d(w_in, 1, 3, 1, 1, bias=False)
        self.classifier = nn.Conv2d(w_in, num_domains, image_size // 2**num_layers, bias=False)

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        features = self.body(images)
        return self.critic(features), self.classifier(features).flatten(1)


@register_model("stargan")
class StarGAN(TranslationModel):
    description = "multi-domain translation: one G(x, c), WGAN-GP D + domain classifier"
    paper = "Choi et al. 2018, StarGAN: Unified GANs for Multi-Domain Image-to-Image Translation"
    data_kind = "multi-domain"
    config_class = StarGANConfig
    default_batch_size = 16

    def __init__(self, config: StarGANConfig) -> None:
        super().__init__(config)
        channels, size = check_translation_config(self.name, config)
        if config.num_classes < 2:
            raise UserError("stargan needs at least 2 domains (one subfolder per domain)")
        if size % 4 or size < 8:
            raise UserError(f"stargan needs image sizes that are multiples of 4, got {size}")
        layers = config.d_layers or min(6, int(math.log2(size)) - 1)
        if size % 2**layers or size // 2**layers < 1:
            raise UserError(f"d_layers={layers} does not fit {size}px images")
        self.generator = StarGenerator(channels, config.num_classes, config.width, config.num_blocks)
        self.discriminator = StarDiscriminator(channels, size, config.num_classes, config.d_width,
                                               layers)
        self.loss = WGANGPLoss(config.gp_weight)
        self.domain_loss = BinaryDomainLoss() if config.multi_label else SoftmaxDomainLoss()

    @property
    def size_multiple(self) -> int:
        return 4

    def optimizer_specs(self) -> Sequence[OptimizerSpec]:
        betas = (self.config.beta1, self.config.beta2)
        return [OptimizerSpec("discriminator", "adam", self.config.d_lr, betas),
                OptimizerSpec("generator", "adam", self.config.lr, betas)]

    def real_batches_per_step(self) -> int:
        return self.config.n_critic

    def train_step(self, batches: Sequence[Batch], context: StepContext) -> dict[str, Tensor]:
        config = self.config
        for batch in batches:
            real, source = batch.data, batch.labels
            if source is None or source.dim() != 2:
                raise UserError("stargan needs multi-domain data (one subfolder per domain)")
            target = source[torch.randperm(source.shape[0], device=source.device)]
            with context.autocast():
                with torch.no_grad():
                    fake = self.generator(real, target)
                real_critic, real_logits = self.discriminator(real)
                fake_critic, _ = self.discriminator(fake)
            d_adv = self.loss.discriminator_loss(real_critic.float(), fake_critic.float())
            d_cls = self.domain_loss(real_logits.float(), source)
            penalty = self.loss.penalty(lambda images: self.discriminator(images)[0].float(),
                                        real.float(), fake.float())
            context.update("discriminator", d_adv + config.cls_weight * d_cls + penalty)

        with frozen(self.discriminator):
            with context.autocast():
                fake = self.generator(real, target)
                fake_critic, fake_logits = self.discriminator(fake)
                reconstruction = self.generator(fake, source)
            g_adv = self.loss.generator_loss(fake_critic.float())
            g_cls = self.domain_loss(fake_logits.float(), target)
            rec = (reconstruction.float() - real.float()).abs().mean()
            context.update("generator", g_adv + config.cls_weight * g_cls + config.rec_weight * rec)
        return {"d_adv": d_adv.detach(), "d_cls": d_cls.detach(), "gp": penalty.detach(),
                "g_adv": g_adv.detach(), "g_cls": g_cls.detach(), "rec": rec.detach()}

    def translate(self, images: Tensor, reverse: bool = False, domains: Tensor | None = None) -> Tensor:
        if domains is None:
            raise UserError("stargan needs a target domain (--target-domain)")
        self.check_input(images, self.config.data_shape[0])
        domains = torch.as_tensor(domains, dtype=images.dtype, device=images.device)
        if domains.dim() == 1:
            domains = domains.expand(images.shape[0], -1)
        if domains.shape != (images.shape[0], self.config.num_classes):
            raise UserError(f"expected {self.config.num_classes} domain labels per image, got "
                            f"shape {tuple(domains.shape)}")
        return self.generator(images, domains)

    def preview(self, inputs: Batch) -> tuple[Tensor, int | None]:
        """Rows of input | translation to domain 0 | domain 1 | ..."""
        eye = torch.eye(self.config.num_classes, device=inputs.data.device)
        columns = [inputs.data] + [self.translate(inputs.data, domains=row) for row in eye]
        return interleave(columns), len(columns)
