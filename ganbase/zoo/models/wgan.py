"""``wgan``: Wasserstein GAN with weight clipping (Arjovsky, Chintala & Bottou 2017,
"Wasserstein Generative Adversarial Networks", ICML).

Algorithm 1 of the paper: the critic maximises E[D(x)] - E[D(G(z))] for ``n_critic`` = 5
iterations per generator iteration, its weights clipped to [-0.01, 0.01] after every update;
RMSProp with lr 5e-5 for both networks. Images use the DCGAN architecture (as in the paper's
main experiments, BatchNorm in both nets); 2-D points use MLPs.

Simplification: no 100-critic-iteration warm-up phases (the paper's reference code runs 100
critic steps for the first 25 and every 500th generator iteration).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ganbase.nn.losses import WGANLoss
from ganbase.zoo.models.adversarial import AdversarialModel
from ganbase.zoo.models.base import ModelConfig, OptimizerSpec
from ganbase.zoo.models.nets import generator_critic_pair
from ganbase.zoo.models.registry import register_model


@dataclass(frozen=True)
class WGANConfig(ModelConfig):
    latent_dim: int = 100
    width: int = 64
    hidden: tuple[int, ...] = (512, 512, 512)
    lr: float = 5e-5
    clip_value: float = 0.01
    n_critic: int = 5


@register_model("wgan")
class WGAN(AdversarialModel):
    description = "Wasserstein critic with weight clipping 0.01, RMSprop 5e-5, n_critic 5"
    paper = "Arjovsky et al. 2017, Wasserstein GAN"
    data_kind = "unconditional"
    config_class = WGANConfig
    accepts_points = True

    def __init__(self, config: WGANConfig) -> None:
        super().__init__(config)
        self.latent_dim = config.latent_dim
        self.critic_iterations = config.n_critic
        self.generator, self.discriminator = generator_critic_pair(
            self.name, config.data_shape, config.latent_dim, config.width, config.hidden, "batch")
        self.loss = WGANLoss()

    @torch.no_grad()
    def after_discriminator_update(self) -> None:
        for parameter in self.discriminator.parameters():
            parameter.clamp_(-self.config.clip_value, self.config.clip_value)

    def optimizer_specs(self) -> list[OptimizerSpec]:
        return [OptimizerSpec("discriminator", "rmsprop", self.config.lr),
                OptimizerSpec("generator", "rmsprop", self.config.lr)]
