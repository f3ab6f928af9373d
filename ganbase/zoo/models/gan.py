"""``gan``: the original generative adversarial network (Goodfellow et al. 2014,
"Generative Adversarial Nets", NeurIPS).

A multilayer-perceptron generator and discriminator trained with the non-saturating loss the
paper recommends in practice (G maximises log D(G(z))), one discriminator step per generator step
(the paper's k = 1). Works on images (flattened) and on 2-D points such as ``gaussians``.

Simplifications: LeakyReLU + dropout in D instead of maxout units; tanh output on [-1, 1] data
instead of sigmoid on [0, 1]; Adam(2e-4, 0.5) instead of SGD with momentum.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganbase.nn.losses import NonSaturatingLoss
from ganbase.zoo.models.adversarial import AdversarialModel
from ganbase.zoo.models.base import ModelConfig, OptimizerSpec
from ganbase.zoo.models.nets import MLPDiscriminator, MLPGenerator
from ganbase.zoo.models.registry import register_model


@dataclass(frozen=True)
class GANConfig(ModelConfig):
    latent_dim: int = 64
    hidden: tuple[int, ...] = (256, 512)
    dropout: float = 0.3
    lr: float = 2e-4
    beta1: float = 0.5


@register_model("gan")
class GAN(AdversarialModel):
    description = "MLP generator and discriminator, non-saturating BCE loss"
    paper = "Goodfellow et al. 2014, Generative Adversarial Nets"
    data_kind = "unconditional"
    config_class = GANConfig
    accepts_points = True

    def __init__(self, config: GANConfig) -> None:
        super().__init__(config)
        self.latent_dim = config.latent_dim
        self.generator = MLPGenerator(config.latent_dim, config.data_shape, config.hidden)
        self.discriminator = MLPDiscriminator(config.data_shape, tuple(reversed(config.hidden)),
                                              dropout=config.dropout)
        self.loss = NonSaturatingLoss()

    def optimizer_specs(self) -> list[OptimizerSpec]:
        betas = (self.config.beta1, 0.999)
        return [OptimizerSpec("discriminator", "adam", self.config.lr, betas),
                OptimizerSpec("generator", "adam", self.config.lr, betas)]
