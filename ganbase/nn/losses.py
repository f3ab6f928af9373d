"""Adversarial losses as objects, so training loops never branch on a mode string.

Every loss exposes ``discriminator_loss(real_scores, fake_scores)`` and
``generator_loss(fake_scores)`` on raw critic outputs (logits or WGAN scores, any shape), and
``penalty(critic, real, fake)`` for a regulariser computed from the critic itself (zero unless the
loss has one).

- ``NonSaturatingLoss``: Goodfellow et al. 2014, the -log D(G(z)) generator variant.
- ``LSGANLoss``: Mao et al. 2017, least squares with targets a (fake), b (real), c (generator).
- ``WGANLoss``: Arjovsky et al. 2017 (weight clipping is the optimiser side, not the loss).
- ``WGANGPLoss``: Gulrajani et al. 2017 gradient penalty; ``per_pixel=True`` takes the gradient
  norm over channels at each pixel, as SinGAN's official code does (Shaham et al. 2019).
- ``HingeLoss``: Lim & Ye 2017 / Miyato et al. 2018.
- ``R1Penalty``: Mescheder et al. 2018, gamma/2 * E||grad D(real)||^2.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from ganbase.nn.blocks import activations_recomputed

Critic = Callable[[Tensor], Tensor]


class AdversarialLoss:
    """Interface shared by all adversarial losses."""

    def discriminator_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        raise NotImplementedError

    def generator_loss(self, fake_scores: Tensor) -> Tensor:
        raise NotImplementedError

    def penalty(self, critic: Critic, real: Tensor, fake: Tensor) -> Tensor:
        """Regulariser added to the discriminator loss; zero by default."""
        return real.new_zeros(())


class NonSaturatingLoss(AdversarialLoss):
    """Binary cross-entropy on logits; the generator maximises log D(G(z))."""

    def discriminator_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        return F.softplus(-real_scores).mean() + F.softplus(fake_scores).mean()

    def generator_loss(self, fake_scores: Tensor) -> Tensor:
        return F.softplus(-fake_scores).mean()


class LSGANLoss(AdversarialLoss):
    """Least-squares GAN: D pushes real to ``b`` and fake to ``a``; G pushes fake to ``c``."""

    def __init__(self, a: float = 0.0, b: float = 1.0, c: float = 1.0) -> None:
        self.a, self.b, self.c = a, b, c

    def discriminator_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        return 0.5 * ((real_scores - self.b) ** 2).mean() + 0.5 * ((fake_scores - self.a) ** 2).mean()

    def generator_loss(self, fake_scores: Tensor) -> Tensor:
        return 0.5 * ((fake_scores - self.c) ** 2).mean()


class WGANLoss(AdversarialLoss):
    """Wasserstein critic loss: E[D(fake)] - E[D(real)]; generator: -E[D(fake)]."""

    def discriminator_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        return fake_scores.mean() - real_scores.mean()

    def generator_loss(self, fake_scores: Tensor) -> Tensor:
        return -fake_scores.mean()


class WGANGPLoss(WGANLoss):
    """WGAN with gradient penalty ``weight * E[(||grad D(x_hat)|| - 1)^2]``.

    ``x_hat`` interpolates real and fake with one uniform factor per sample. With
    ``per_pixel=False`` (Gulrajani et al.) the norm runs over all of a sample's dimensions; with
    ``per_pixel=True`` (SinGAN) over the channel dimension at each pixel, and the mean is taken
    over pixels. ``drift_weight`` adds Progressive GAN's ``eps * E[D(real)^2]`` term.
    """

    def __init__(self, weight: float = 10.0, per_pixel: bool = False, drift_weight: float = 0.0,
                 generator: torch.Generator | None = None) -> None:
        self.weight = weight
        self.per_pixel = per_pixel
        self.drift_weight = drift_weight
        self.generator = generator

    def discriminator_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        loss = super().discriminator_loss(real_scores, fake_scores)
        if self.drift_weight:
            loss = loss + self.drift_weight * (real_scores**2).mean()
        return loss

    def penalty(self, critic: Critic, real: Tensor, fake: Tensor, mix: Tensor | None = None) -> Tensor:
        """``mix`` ``[N]``: the interpolation factors, drawn here when not given."""
        fake = fake.detach()
        real = real.detach()
        if mix is None:
            mix = torch.rand((real.shape[0],), generator=self.generator,
                             device="cpu" if self.generator is not None else real.device)
        mix = mix.to(device=real.device, dtype=real.dtype).view((-1,) + (1,) * (real.dim() - 1))
        interpolates = (mix * real + (1.0 - mix) * fake).requires_grad_(True)
        scores = critic(interpolates)
        (grads,) = torch.autograd.grad(scores.sum(), interpolates, create_graph=True)
        if self.per_pixel:
            norms = grads.norm(2, dim=1)  # [N, H, W]
        else:
            norms = grads.flatten(1).norm(2, dim=1)  # [N]
        return self.weight * ((norms - 1.0) ** 2).mean()

    def critic_step(self, critic: Critic, optimizer: torch.optim.Optimizer, real: Tensor, fake: Tensor,
                    mix: Tensor | None = None, set_to_none: bool = True) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """One critic update on mean scores: ``D(fake) - D(real) + penalty``, backward, step.

        The one WGAN-GP critic step of SinGAN's and ConSinGAN's training (``fake`` may carry a
        graph: the critic sees it detached). Returns ``(loss, mean real score, mean fake score,
        penalty)``, still on the device."""
        optimizer.zero_grad(set_to_none=set_to_none)
        real_score = critic(real).mean()
        fake_score = critic(fake.detach()).mean()
        if activations_recomputed():
            # two backward passes, so that the scores' critic graphs are freed before the penalty's
            # (its double backward keeps the most); gradients equal up to float rounding
            score_gap = fake_score - real_score
            score_gap.backward()
            penalty = self.penalty(critic, real, fake, mix)
            penalty.backward()
            loss = score_gap.detach() + penalty.detach()
        else:
            penalty = self.penalty(critic, real, fake, mix)
            loss = fake_score - real_score + penalty
            loss.backward()
        optimizer.step()
        return loss, real_score, fake_score, penalty


class HingeLoss(AdversarialLoss):
    """Hinge loss: D minimises relu(1 - D(real)) + relu(1 + D(fake)); G minimises -D(fake)."""

    def discriminator_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        return F.relu(1.0 - real_scores).mean() + F.relu(1.0 + fake_scores).mean()

    def generator_loss(self, fake_scores: Tensor) -> Tensor:
        return -fake_scores.mean()


class R1Penalty:
    """R1 regulariser ``gamma / 2 * E[||grad_x D(x)||^2]`` on real samples (Mescheder et al. 2018).

    Call it every ``interval`` steps and it scales itself by ``interval`` (lazy regularisation,
    Karras et al. 2020).
    """

    def __init__(self, gamma: float = 10.0, interval: int = 1) -> None:
        self.gamma = gamma
        self.interval = interval

    def penalty(self, critic: Critic, real: Tensor, fake: Tensor | None = None) -> Tensor:
        real = real.detach().requires_grad_(True)
        scores = critic(real)
        (grads,) = torch.autograd.grad(scores.sum(), real, create_graph=True)
        squared = grads.pow(2).flatten(1).sum(1)  # [N]
        return 0.5 * self.gamma * self.interval * squared.mean()
