"""``cgan``: conditional GAN (Mirza & Osindero 2014, "Conditional Generative Adversarial Nets").

Generator and discriminator both receive the class label y as a one-hot vector: G(z, y) and
D(x, y), trained with the non-saturating GAN loss. Needs labeled data (``digits``, ``shapes`` or
a folder with one subfolder per class); ``ganzoo sample --label 3`` draws class 3.

Simplifications: the one-hot label is concatenated to the input of each MLP instead of going
through separate hidden layers first; LeakyReLU + dropout in D instead of maxout; tanh output
on [-1, 1] data; Adam(2e-4, 0.5) instead of SGD with momentum.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from ganbase.errors import UserError
from ganbase.losses import NonSaturatingLoss
from ganbase.models.adversarial import AdversarialModel, ConditionalMixin
from ganbase.models.base import ModelConfig, OptimizerSpec
from ganbase.models.nets import MLPDiscriminator, MLPGenerator
from ganbase.models.registry import register_model


@dataclass(frozen=True)
class CGANConfig(ModelConfig):
    num_classes: int = 10
    latent_dim: int = 64
    hidden: tuple[int, ...] = (256, 512)
    dropout: float = 0.3
    lr: float = 2e-4
    beta1: float = 0.5


@register_model("cgan")
class CGAN(ConditionalMixin, AdversarialModel):
    description = "label-conditioned MLP GAN; sample a chosen class with --label"
    paper = "Mirza & Osindero 2014, Conditional Generative Adversarial Nets"
    data_kind = "labeled"
    config_class = CGANConfig
    accepts_points = True

    def __init__(self, config: CGANConfig) -> None:
        super().__init__(config)
        if config.num_classes < 2:
            raise UserError("cgan needs labeled data with at least 2 classes")
        self.latent_dim = config.latent_dim
        self.generator = MLPGenerator(config.latent_dim, config.data_shape, config.hidden,
                                      num_classes=config.num_classes)
        self.discriminator = MLPDiscriminator(config.data_shape, tuple(reversed(config.hidden)),
                                              num_classes=config.num_classes, dropout=config.dropout)
        self.loss = NonSaturatingLoss()

    def generate(self, latent: Tensor, labels: Tensor | None) -> Tensor:
        return self.generator(latent, labels)

    def score(self, data: Tensor, labels: Tensor | None) -> Tensor:
        return self.discriminator(data, labels)

    def optimizer_specs(self) -> list[OptimizerSpec]:
        betas = (self.config.beta1, 0.999)
        return [OptimizerSpec("discriminator", "adam", self.config.lr, betas),
                OptimizerSpec("generator", "adam", self.config.lr, betas)]
