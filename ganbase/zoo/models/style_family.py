"""What StyleGAN (Karras, Laine & Aila 2019, "A Style-Based Generator Architecture for Generative
Adversarial Networks", CVPR) and StyleGAN2 (Karras et al. 2020, "Analyzing and Improving the
Image Quality of StyleGAN", CVPR) share: the mapping network, the training iteration and the
style-space inference API.

- ``MappingNetwork``: z is pixel-normalised and mapped to w by ``mapping_layers`` (8) equalized
  fully connected layers with learning-rate multiplier 0.01.
- ``StyleModel.train_step`` (one loop for both models): non-saturating logistic loss; R1 on reals
  (gamma 10) every ``r1_interval`` steps, scaled by the interval (lazy regularisation, StyleGAN2
  Sec. 3.1; StyleGAN uses interval 1); style mixing regularisation (probability 0.9: two w's
  with a random crossover layer); optional path length regularisation every ``pl_interval``
  steps (StyleGAN2 Sec. 3.2, weight 2, batch halved, running mean decay 0.01); the running mean
  of w (decay 0.995) that the truncation trick pulls towards. With lazy regularisation Adam's
  rate and beta2 are adjusted by c = interval / (interval + 1) as in the paper.
- Inference: ``mapping`` z -> w, ``truncate`` (w_avg + psi (w - w_avg)), ``synthesize`` from one w
  per layer with explicit noise, ``noise`` maps drawn from a seed.

Simplification: truncation applies to every layer (the paper's official code cuts off after the
first 8 layers at 1024 px, which is all layers of the small models here).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganbase.errors import UserError
from ganbase.nn.losses import NonSaturatingLoss, R1Penalty
from ganbase.nn.style_blocks import LEAKY_SLOPE, EqualLinear, PixelNorm
from ganbase.zoo.models.base import (
    Batch,
    ModelConfig,
    OptimizerSpec,
    StepContext,
    ZooModel,
)


@dataclass(frozen=True)
class StyleConfig(ModelConfig):
    latent_dim: int = 512
    w_dim: int = 512
    mapping_layers: int = 8
    fmap_base: int = 8192
    fmap_max: int = 128
    lr: float = 2e-3
    beta1: float = 0.0
    beta2: float = 0.99
    r1_gamma: float = 10.0
    r1_interval: int = 16
    mixing_prob: float = 0.9
    pl_weight: float = 0.0
    pl_interval: int = 4
    w_avg_decay: float = 0.995
    mbstd_group: int = 4


class MappingNetwork(nn.Module):
    """z ``[N, latent_dim]`` -> w ``[N, w_dim]``."""

    def __init__(self, latent_dim: int, w_dim: int, layers: int, lr_mul: float = 0.01) -> None:
        super().__init__()
        modules: list[nn.Module] = [PixelNorm()]
        for index in range(layers):
            modules += [EqualLinear(latent_dim if index == 0 else w_dim, w_dim, gain=math.sqrt(2.0),
                                    lr_mul=lr_mul), nn.LeakyReLU(LEAKY_SLOPE)]
        self.net = nn.Sequential(*modules)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


class StyleGenerator(nn.Module):
    """Base of both generators: ``mapping``, ``w_avg`` and a synthesis network defined by the
    subclass through ``num_ws``, ``noise_sizes`` and ``synthesize(ws, noise)``."""

    num_ws: int
    noise_sizes: list[int]

    def __init__(self, config: StyleConfig) -> None:
        super().__init__()
        self.mapping = MappingNetwork(config.latent_dim, config.w_dim, config.mapping_layers)
        self.register_buffer("w_avg", torch.zeros(config.w_dim))

    def synthesize(self, ws: Tensor, noise: Sequence[Tensor | None]) -> Tensor:
        raise NotImplementedError

    def forward(self, z: Tensor) -> Tensor:
        return self.synthesize(broadcast_w(self.mapping(z), self.num_ws), [None] * len(self.noise_sizes))


def broadcast_w(w: Tensor, num_ws: int) -> Tensor:
    return w[:, None, :].expand(-1, num_ws, -1)


def level_channels(config: StyleConfig, level: int) -> int:
    return max(1, min(config.fmap_base // 2 ** (level + 1), config.fmap_max))


class StyleModel(ZooModel):
    """Base of ``stylegan`` and ``stylegan2``: subclasses build ``generator`` (a
    :class:`StyleGenerator`) and ``discriminator`` (images -> logits ``[N]``)."""

    config_class = StyleConfig
    default_batch_size = 32
    generator: StyleGenerator
    discriminator: nn.Module

    def __init__(self, config: StyleConfig) -> None:
        super().__init__(config)
        for key in ("r1_interval", "pl_interval", "mapping_layers"):
            if getattr(config, key) < 1:
                raise UserError(f"{key} must be at least 1")
        if not 0.0 <= config.mixing_prob <= 1.0:
            raise UserError("mixing_prob must be in [0, 1]")
        self.loss = NonSaturatingLoss()
        self.r1 = R1Penalty(config.r1_gamma, config.r1_interval)
        self.register_buffer("iteration", torch.tensor(0))
        self.register_buffer("pl_mean", torch.tensor(0.0))
        # lazy penalties are logged with their latest value so every log row has the same columns
        self._last_penalties = {"r1": torch.tensor(0.0)} if config.r1_gamma > 0 else {}
        if config.pl_weight > 0:
            self._last_penalties["pl"] = torch.tensor(0.0)

    def optimizer_specs(self) -> list[OptimizerSpec]:
        config = self.config
        specs = []
        for module, interval, on in (("discriminator", config.r1_interval, config.r1_gamma > 0),
                                     ("generator", config.pl_interval, config.pl_weight > 0)):
            ratio = interval / (interval + 1) if on and interval > 1 else 1.0
            specs.append(OptimizerSpec(module, "adam", config.lr * ratio,
                                       (config.beta1 ** ratio, config.beta2 ** ratio)))
        return specs

    # ----- training ------------------------------------------------------------------------
    def _mixed_ws(self, num: int) -> Tensor:
        """w per layer for ``num`` fresh latents, with style mixing regularisation."""
        num_ws = self.generator.num_ws
        w = self.generator.mapping(self.sample_latent(num))
        ws = broadcast_w(w, num_ws)
        if torch.rand(()) < self.config.mixing_prob:
            crossover = int(torch.randint(1, num_ws, ()))
            other = broadcast_w(self.generator.mapping(self.sample_latent(num)), num_ws)
            ws = torch.cat([ws[:, :crossover], other[:, crossover:]], dim=1)
        return ws

    def _fake(self, num: int) -> tuple[Tensor, Tensor]:
        ws = self._mixed_ws(num)
        return self.generator.synthesize(ws, [None] * len(self.generator.noise_sizes)), ws

    def train_step(self, batches: Sequence[Batch], context: StepContext) -> dict[str, Tensor]:
        config, real = self.config, batches[0].data
        num, iteration = real.shape[0], int(self.iteration)
        logs: dict[str, Tensor] = {}
        with context.autocast():
            with torch.no_grad():
                fake, ws = self._fake(num)
            d_loss = self.loss.discriminator_loss(self.discriminator(real).float(),
                                                  self.discriminator(fake).float())
        context.update("discriminator", d_loss)
        logs["d_loss"] = d_loss.detach()
        if config.r1_gamma > 0 and iteration % config.r1_interval == 0:
            r1 = self.r1.penalty(lambda images: self.discriminator(images).float(), real.float())
            context.update("discriminator", r1)
            self._last_penalties["r1"] = r1.detach()
        with torch.no_grad():
            self.generator.w_avg.lerp_(ws[:, 0].float().mean(0), 1.0 - config.w_avg_decay)

        self.discriminator.requires_grad_(False)
        try:
            with context.autocast():
                g_loss = self.loss.generator_loss(self.discriminator(self._fake(num)[0]).float())
            context.update("generator", g_loss)
            logs["g_loss"] = g_loss.detach()
            if config.pl_weight > 0 and iteration % config.pl_interval == 0:
                penalty = self._path_length_penalty(max(1, num // 2))
                context.update("generator", penalty)
                self._last_penalties["pl"] = penalty.detach()
        finally:
            self.discriminator.requires_grad_(True)
        self.iteration += 1
        return {**logs, **self._last_penalties}

    def _path_length_penalty(self, num: int) -> Tensor:
        """Path length regularisation: ||J_w^T y|| for image-space noise y should stay constant."""
        fake, ws = self._fake(num)
        y = torch.randn_like(fake) / math.sqrt(fake.shape[2] * fake.shape[3])
        (grads,) = torch.autograd.grad((fake * y).sum(), ws, create_graph=True)
        lengths = grads.pow(2).sum(2).mean(1).sqrt()
        with torch.no_grad():
            self.pl_mean.lerp_(lengths.mean(), 0.01)
        return self.config.pl_weight * self.config.pl_interval * (lengths - self.pl_mean).pow(2).mean()

    # ----- inference -----------------------------------------------------------------------
    def sample_latent(self, num: int, generator: torch.Generator | None = None) -> Tensor:
        if generator is None:
            return torch.randn(num, self.config.latent_dim, device=self.device)
        return torch.randn(num, self.config.latent_dim, generator=generator).to(self.device)

    @property
    def num_ws(self) -> int:
        return self.generator.num_ws

    def mapping(self, latent: Tensor) -> Tensor:
        return self.generator.mapping(latent)

    def truncate(self, w: Tensor, psi: float) -> Tensor:
        """The truncation trick in w: ``w_avg + psi * (w - w_avg)``."""
        return torch.lerp(self.generator.w_avg.to(w.dtype), w, psi)

    def noise(self, num: int, seed: int = 0) -> list[Tensor]:
        """Noise maps ``[num, 1, H, W]`` for every noise input, drawn from ``seed`` (num 1
        broadcasts one realisation over a batch)."""
        generator = torch.Generator().manual_seed(seed)
        return [torch.randn(num, 1, size, size, generator=generator).to(self.device)
                for size in self.generator.noise_sizes]

    def synthesize(self, ws: Tensor, noise: Sequence[Tensor]) -> Tensor:
        """Images in [-1, 1] from one w per layer ``[N, num_ws, w_dim]``."""
        return self.generator.synthesize(ws, noise).clamp(-1.0, 1.0)

    def decode(self, latent: Tensor, labels: Tensor | None = None, truncation: float = 1.0,
               noise_seed: int = 0) -> Tensor:
        """z -> images; noise comes from ``noise_seed`` (per sample), so a seed pins everything."""
        self.check_labels(latent.shape[0], labels)
        w = self.truncate(self.mapping(latent), truncation)
        return self.synthesize(broadcast_w(w, self.num_ws), self.noise(latent.shape[0], noise_seed))


def resample_rgb(rgb: Tensor) -> Tensor:
    """Bilinear 2x upsampling of the skip generator's RGB sum."""
    return F.interpolate(rgb, scale_factor=2, mode="bilinear", align_corners=False)
