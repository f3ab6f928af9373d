"""``vae``: convolutional variational autoencoder, the zoo's non-adversarial baseline (Kingma &
Welling 2014, "Auto-Encoding Variational Bayes", ICLR).

Encoder q(z|x) = N(mu(x), diag(sigma^2(x))), sampled with the reparameterisation trick
z = mu + sigma * eps; decoder p(x|z) Bernoulli over pixel intensities rescaled to [0, 1]. Loss is
the negative ELBO per image: reconstruction cross-entropy summed over pixels plus
KL(q(z|x) || N(0, I)) (closed form, the paper's appendix B), weighted by ``kl_weight`` (1 is the
true ELBO). ``sample`` draws z from the prior N(0, I) and decodes the Bernoulli means.

Simplification: DCGAN-shaped convolutional encoder/decoder instead of the paper's MLPs; the
Bernoulli likelihood is also used for colour images (a common, slightly mis-specified choice).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganbase.nn.blocks import init_dcgan_weights
from ganbase.zoo.models.base import (
    Batch,
    ModelConfig,
    OptimizerSpec,
    StepContext,
    ZooModel,
)
from ganbase.zoo.models.nets import DCGANGenerator, check_image_shape, num_doublings
from ganbase.zoo.models.registry import register_model


@dataclass(frozen=True)
class VAEConfig(ModelConfig):
    latent_dim: int = 32
    width: int = 32
    lr: float = 1e-3
    kl_weight: float = 1.0


class ConvEncoder(nn.Module):
    """Image ``[N, C, S, S]`` -> (mu, log variance), each ``[N, latent_dim]``."""

    def __init__(self, channels: int, image_size: int, width: int, latent_dim: int) -> None:
        super().__init__()
        stages = num_doublings(image_size)
        widths = [width * 2**i for i in range(stages)]
        layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for w_in, w_out in zip(widths, widths[1:]):
            layers += [nn.Conv2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out),
                       nn.LeakyReLU(0.2, True)]
        self.features = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)
        self.head = nn.Linear(widths[-1] * 4 * 4, 2 * latent_dim)

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        mean, log_variance = self.head(self.features(images).flatten(1)).chunk(2, dim=1)
        return mean, log_variance


@register_model("vae")
class VAE(ZooModel):
    description = "convolutional VAE (reparameterisation + KL), non-adversarial baseline"
    paper = "Kingma & Welling 2014, Auto-Encoding Variational Bayes"
    data_kind = "unconditional"
    config_class = VAEConfig
    ema_target = "decoder"

    def __init__(self, config: VAEConfig) -> None:
        super().__init__(config)
        channels, size = check_image_shape(self.name, config.data_shape)
        self.encoder = ConvEncoder(channels, size, config.width, config.latent_dim)
        self.decoder = DCGANGenerator(config.latent_dim, channels, size, config.width,
                                      tanh_output=False)

    def optimizer_specs(self) -> Sequence[OptimizerSpec]:
        return [OptimizerSpec("encoder+decoder", "adam", self.config.lr)]

    def train_step(self, batches: Sequence[Batch], context: StepContext) -> dict[str, Tensor]:
        images = batches[0].data
        targets = (images.float() + 1.0) / 2.0
        with context.autocast():
            mean, log_variance = self.encoder(images)
            mean, log_variance = mean.float(), log_variance.float()
            latent = mean + torch.exp(0.5 * log_variance) * torch.randn_like(mean)
            logits = self.decoder(latent)
        reconstruction = F.binary_cross_entropy_with_logits(
            logits.float(), targets, reduction="sum") / images.shape[0]
        kl = -0.5 * torch.sum(1 + log_variance - mean**2 - log_variance.exp()) / images.shape[0]
        loss = reconstruction + self.config.kl_weight * kl
        context.update("encoder+decoder", loss)
        return {"loss": loss.detach(), "recon": reconstruction.detach(), "kl": kl.detach()}

    def sample_latent(self, num: int, generator: torch.Generator | None = None) -> Tensor:
        if generator is None:
            return torch.randn(num, self.config.latent_dim, device=self.device)
        return torch.randn(num, self.config.latent_dim, generator=generator).to(self.device)

    def decode(self, latent: Tensor, labels: Tensor | None = None) -> Tensor:
        self.check_labels(latent.shape[0], labels)
        return torch.sigmoid(self.decoder(latent)) * 2.0 - 1.0
