"""``dcgan``: deep convolutional GAN (Radford, Metz & Chintala 2016, "Unsupervised Representation
Learning with Deep Convolutional Generative Adversarial Networks", ICLR).

Architecture guidelines from the paper: transposed-convolution generator with BatchNorm and
ReLU (tanh output), strided-convolution discriminator with LeakyReLU(0.2) and BatchNorm (none on
D's first layer), no pooling or hidden fully connected layers, N(0, 0.02) initialisation,
Adam(lr 2e-4, beta1 0.5), non-saturating loss. Network depth follows ``--image-size``
(32, 64, 128, ...; 4x4 doubled up to the size); ``width`` is the paper's 64 at 64 pixels.

Simplification: z ~ N(0, I) instead of the paper's uniform noise.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganbase.nn.losses import NonSaturatingLoss
from ganbase.zoo.models.adversarial import AdversarialModel
from ganbase.zoo.models.base import ModelConfig, OptimizerSpec
from ganbase.zoo.models.nets import (
    DCGANDiscriminator,
    DCGANGenerator,
    check_image_shape,
)
from ganbase.zoo.models.registry import register_model


@dataclass(frozen=True)
class DCGANConfig(ModelConfig):
    latent_dim: int = 100
    width: int = 64
    lr: float = 2e-4
    beta1: float = 0.5


@register_model("dcgan")
class DCGAN(AdversarialModel):
    description = "all-convolutional GAN with BatchNorm, Adam(2e-4, 0.5); 32/64/128 px"
    paper = "Radford et al. 2016, Unsupervised Representation Learning with Deep Convolutional GANs"
    data_kind = "unconditional"
    config_class = DCGANConfig

    def __init__(self, config: DCGANConfig) -> None:
        super().__init__(config)
        channels, size = check_image_shape(self.name, config.data_shape)
        self.latent_dim = config.latent_dim
        self.generator = DCGANGenerator(config.latent_dim, channels, size, config.width)
        self.discriminator = DCGANDiscriminator(channels, size, config.width, norm="batch")
        self.loss = NonSaturatingLoss()

    def optimizer_specs(self) -> list[OptimizerSpec]:
        betas = (self.config.beta1, 0.999)
        return [OptimizerSpec("discriminator", "adam", self.config.lr, betas),
                OptimizerSpec("generator", "adam", self.config.lr, betas)]
