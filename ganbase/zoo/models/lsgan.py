"""``lsgan``: least squares GAN (Mao et al. 2017, "Least Squares Generative Adversarial
Networks", ICCV).

D minimises 1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2] and G minimises 1/2 E[(D(G(z)) - c)^2]
with the paper's 0-1 coding a = 0, b = 1, c = 1; linear (no sigmoid) discriminator output;
Adam(lr 2e-4, beta1 0.5) as in the paper.

Simplification: DCGAN-style networks (BatchNorm, ReLU/LeakyReLU) instead of the paper's larger
VGG-like LSUN architecture; MLPs for 2-D points.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganbase.nn.losses import LSGANLoss
from ganbase.zoo.models.adversarial import AdversarialModel
from ganbase.zoo.models.base import ModelConfig, OptimizerSpec
from ganbase.zoo.models.nets import generator_critic_pair
from ganbase.zoo.models.registry import register_model


@dataclass(frozen=True)
class LSGANConfig(ModelConfig):
    latent_dim: int = 100
    width: int = 64
    hidden: tuple[int, ...] = (512, 512, 512)
    lr: float = 2e-4
    beta1: float = 0.5
    target_fake: float = 0.0
    target_real: float = 1.0
    target_generator: float = 1.0


@register_model("lsgan")
class LSGAN(AdversarialModel):
    description = "least-squares losses a=0, b=1, c=1 on DCGAN-style networks"
    paper = "Mao et al. 2017, Least Squares Generative Adversarial Networks"
    data_kind = "unconditional"
    config_class = LSGANConfig
    accepts_points = True

    def __init__(self, config: LSGANConfig) -> None:
        super().__init__(config)
        self.latent_dim = config.latent_dim
        self.generator, self.discriminator = generator_critic_pair(
            self.name, config.data_shape, config.latent_dim, config.width, config.hidden, "batch")
        self.loss = LSGANLoss(a=config.target_fake, b=config.target_real, c=config.target_generator)

    def optimizer_specs(self) -> list[OptimizerSpec]:
        betas = (self.config.beta1, 0.999)
        return [OptimizerSpec("discriminator", "adam", self.config.lr, betas),
                OptimizerSpec("generator", "adam", self.config.lr, betas)]
