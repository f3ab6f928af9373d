"""The adversarial training iteration shared by the GAN-family zoo models.

One ``train_step`` is one generator iteration of Goodfellow et al. 2014, Algorithm 1: ``k``
discriminator (critic) updates, each on a fresh real batch and fresh noise, then one generator
update. Everything paper-specific comes from the subclass: the networks, the loss object from
:mod:`ganbase.nn.losses` (non-saturating, least squares, Wasserstein, gradient penalty), ``k`` (the
WGANs' ``n_critic``), and ``after_discriminator_update`` (WGAN's weight clipping).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from ganbase.errors import UserError
from ganbase.nn.losses import AdversarialLoss
from ganbase.zoo.models.base import Batch, ModelConfig, StepContext, ZooModel


class AdversarialModel(ZooModel):
    """Base for gan, cgan, dcgan, wgan, wgan-gp and lsgan.

    Subclasses build ``self.generator`` (``latent[, labels] -> data``), ``self.discriminator``
    (``data[, labels] -> scores [N]``), ``self.loss`` and set ``self.latent_dim`` and
    ``self.critic_iterations``.
    """

    generator: nn.Module
    discriminator: nn.Module
    loss: AdversarialLoss
    latent_dim: int
    critic_iterations: int = 1
    #: log the discriminator's regulariser (the gradient penalty) as its own column
    logs_penalty: bool = False

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)

    # ----- networks with optional labels ---------------------------------------------------
    def generate(self, latent: Tensor, labels: Tensor | None) -> Tensor:
        return self.generator(latent)

    def score(self, data: Tensor, labels: Tensor | None) -> Tensor:
        return self.discriminator(data)

    def real_data(self, batch: Batch) -> Tensor:
        """The real samples the discriminator sees (Progressive GAN resizes them to its phase)."""
        return batch.data

    def training_labels(self, batch: Batch) -> Tensor | None:
        """Labels the generator is conditioned on during training (none when unconditional)."""
        return None

    def after_discriminator_update(self) -> None:
        """Hook run after every discriminator update (WGAN clips the critic's weights here)."""

    # ----- training ------------------------------------------------------------------------
    def real_batches_per_step(self) -> int:
        return self.critic_iterations

    def train_step(self, batches: Sequence[Batch], context: StepContext) -> dict[str, Tensor]:
        logs: dict[str, Tensor] = {}
        for batch in batches:
            real = self.real_data(batch)
            labels = self.training_labels(batch)
            latent = self.sample_latent(real.shape[0])
            with context.autocast():
                with torch.no_grad():
                    fake = self.generate(latent, labels)
                real_scores = self.score(real, labels)
                fake_scores = self.score(fake, labels)
            d_loss = self.loss.discriminator_loss(real_scores.float(), fake_scores.float())
            penalty = self.loss.penalty(lambda data: self.score(data, labels).float(),
                                        real.float(), fake.float())
            context.update("discriminator", d_loss + penalty)
            self.after_discriminator_update()
        logs["d_loss"] = d_loss.detach()
        if self.logs_penalty:
            logs["penalty"] = penalty.detach()

        latent = self.sample_latent(real.shape[0])
        self.discriminator.requires_grad_(False)
        try:
            with context.autocast():
                fake_scores = self.score(self.generate(latent, labels), labels)
            g_loss = self.loss.generator_loss(fake_scores.float())
            context.update("generator", g_loss)
        finally:
            self.discriminator.requires_grad_(True)
        logs["g_loss"] = g_loss.detach()
        return logs

    # ----- inference -----------------------------------------------------------------------
    def sample_latent(self, num: int, generator: torch.Generator | None = None) -> Tensor:
        if generator is None:
            return torch.randn(num, self.latent_dim, device=self.device)
        return torch.randn(num, self.latent_dim, generator=generator).to(self.device)

    def decode(self, latent: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.generate(latent, self.check_labels(latent.shape[0], labels))


class ConditionalMixin:
    """Label handling for class-conditional models (Mirza & Osindero 2014)."""

    config: ModelConfig
    name: str

    def training_labels(self, batch: Batch) -> Tensor | None:
        if batch.labels is None:
            raise UserError(f"model {self.name!r} needs labeled data (one subfolder per class)")
        return batch.labels

    def preview_inputs(self, grid_size: int, batch: Batch, generator: torch.Generator) -> Batch:
        """Whole grid rows, one column per class."""
        classes = self.config.num_classes
        rows = -(-grid_size // classes)
        return Batch(self.sample_latent(rows * classes, generator))  # type: ignore[attr-defined]

    def preview(self, inputs: Batch) -> tuple[Tensor, int | None]:
        return self.decode(inputs.data), self.config.num_classes  # type: ignore[attr-defined]

    def check_labels(self, num: int, labels: Tensor | None) -> Tensor:
        """Default labels cycle through the classes (0, 1, ..., K-1, 0, ...)."""
        classes = self.config.num_classes
        device = next(self.parameters()).device  # type: ignore[attr-defined]
        if labels is None:
            return torch.arange(num, device=device) % classes
        labels = torch.as_tensor(labels, dtype=torch.long, device=device).flatten()
        if labels.numel() == 1:
            labels = labels.expand(num)
        if labels.numel() != num:
            raise UserError(f"got {labels.numel()} labels for {num} samples")
        if labels.min() < 0 or labels.max() >= classes:
            raise UserError(f"label out of range: this model has classes 0..{classes - 1}")
        return labels
