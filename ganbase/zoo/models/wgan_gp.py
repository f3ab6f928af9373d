"""``wgan-gp``: Wasserstein GAN with gradient penalty (Gulrajani et al. 2017, "Improved Training
of Wasserstein GANs", NeurIPS).

Algorithm 1 of the paper: critic loss E[D(G(z))] - E[D(x)] + lambda E[(||grad D(x_hat)||_2 - 1)^2]
with x_hat on random lines between real and fake samples, lambda = 10, ``n_critic`` = 5,
Adam(lr 1e-4, beta1 0, beta2 0.9). No BatchNorm in the critic (the penalty is per sample):
layer normalisation instead, as the paper recommends. Images use DCGAN-style networks; 2-D points
use the paper's toy-experiment MLPs (three hidden layers of 512 units).

Simplification: DCGAN-style instead of the paper's ResNet networks for images.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganbase.nn.losses import WGANGPLoss
from ganbase.zoo.models.adversarial import AdversarialModel
from ganbase.zoo.models.base import ModelConfig, OptimizerSpec
from ganbase.zoo.models.nets import generator_critic_pair
from ganbase.zoo.models.registry import register_model


@dataclass(frozen=True)
class WGANGPConfig(ModelConfig):
    latent_dim: int = 100
    width: int = 64
    hidden: tuple[int, ...] = (512, 512, 512)
    lr: float = 1e-4
    beta1: float = 0.0
    beta2: float = 0.9
    gp_weight: float = 10.0
    n_critic: int = 5


@register_model("wgan-gp")
class WGANGP(AdversarialModel):
    description = "Wasserstein critic with gradient penalty 10, Adam(1e-4, 0, 0.9), n_critic 5"
    paper = "Gulrajani et al. 2017, Improved Training of Wasserstein GANs"
    data_kind = "unconditional"
    config_class = WGANGPConfig
    accepts_points = True
    logs_penalty = True

    def __init__(self, config: WGANGPConfig) -> None:
        super().__init__(config)
        self.latent_dim = config.latent_dim
        self.critic_iterations = config.n_critic
        self.generator, self.discriminator = generator_critic_pair(
            self.name, config.data_shape, config.latent_dim, config.width, config.hidden, "layer")
        self.loss = WGANGPLoss(weight=config.gp_weight)

    def optimizer_specs(self) -> list[OptimizerSpec]:
        betas = (self.config.beta1, self.config.beta2)
        return [OptimizerSpec("discriminator", "adam", self.config.lr, betas),
                OptimizerSpec("generator", "adam", self.config.lr, betas)]
