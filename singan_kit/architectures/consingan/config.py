"""ConSinGAN's training configuration: a frozen dataclass and pure per-stage rules.

ConSinGAN (Hinz, Fisher, Wang, Wermter, "Improved Techniques for Training Single-Image GANs",
WACV 2021; official code tohinz/ConSinGAN) grows one generator stage by stage and trains the newest
stages concurrently. Defaults are those of the official code for unconditional generation
(``config.py`` and ``main_train.py``): 6 stages, the newest 3 trained at once with the learning rate
x0.1 per stage below the newest, 64 filters, 3 convolutions per stage, 2000 iterations per stage,
Adam(5e-4, betas 0.5/0.999) with x0.1 decay at 80 %, 3 critic steps and 3 generator optimiser steps
per iteration, reconstruction weight 10, gradient-penalty weight 0.1, LeakyReLU slope 0.05, no
batch norm, noise amplitude 0.1 x reconstruction RMSE, min side 25 px, max side 250 px.

This module has no torch dependency; the networks are in :mod:`singan_kit.architectures.consingan.model`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from singan_kit.architectures.base import RunConfig
from singan_kit.pyramid import MAX_SCALES
from singan_kit.run_validation import MAX_FILTERS

ARCHITECTURE = "consingan"


@dataclass(frozen=True)
class ConSinGANConfig(RunConfig):
    """Every setting of a ConSinGAN training run (the resolved config saved as config.json)."""

    architecture: str = ARCHITECTURE
    num_stages: int = 6  # pyramid levels = generator stages ("train_stages")
    concurrent_stages: int = 3  # newest stages trained at once ("train_depth")
    lr_scale: float = 0.1  # learning-rate factor per stage below the newest
    iters: int = 2000  # training iterations per stage ("niter")
    lr_generator: float = 5e-4
    lr_discriminator: float = 5e-4
    beta1: float = 0.5
    beta2: float = 0.999
    lr_decay_at: float = 0.8  # fraction of iters after which every learning rate is multiplied
    lr_decay_factor: float = 0.1
    d_steps: int = 3  # critic updates per iteration
    g_steps: int = 3  # generator optimiser steps per iteration, all with the same gradient
    alpha: float = 10.0  # reconstruction loss weight
    gp_weight: float = 0.1  # gradient-penalty weight
    num_filters: int = 64  # filters of every convolution
    num_layers: int = 3  # 3x3 convolutions per generator stage (the critic: head + these + tail)
    negative_slope: float = 0.05  # LeakyReLU slope
    min_size: int = 25  # shorter side of the coarsest stage
    max_size: int = 250  # longer side of the finest stage
    noise_amp_factor: float = 0.1  # noise amplitude = factor * RMSE(real, reconstruction)
    seed: int = 0

    def validate(self) -> "ConSinGANConfig":
        checks = [
            (self.numbers_are_finite(), "numbers must be finite (not nan or inf)"),
            (self.architecture == ARCHITECTURE, f"architecture must be {ARCHITECTURE!r}"),
            (2 <= self.num_stages <= MAX_SCALES, f"num_stages must be in 2..{MAX_SCALES}"),
            (self.concurrent_stages >= 1, "concurrent_stages must be >= 1"),
            (self.lr_scale >= 0, "lr_scale must be >= 0"),
            (self.iters >= 1, "iters must be >= 1"),
            (self.lr_generator > 0 and self.lr_discriminator > 0, "learning rates must be > 0"),
            (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1, "Adam betas must be in [0, 1)"),
            (0 < self.lr_decay_at <= 1, "lr_decay_at must be in (0, 1]"),
            (self.d_steps >= 1 and self.g_steps >= 1, "d_steps and g_steps must be >= 1"),
            (self.alpha >= 0, "alpha must be >= 0"),
            (self.gp_weight >= 0, "gp_weight must be >= 0"),
            (1 <= self.num_filters <= MAX_FILTERS, f"num_filters must be in 1..{MAX_FILTERS}"),
            (self.num_layers >= 1, "num_layers must be >= 1"),
            (self.negative_slope >= 0, "negative_slope must be >= 0"),
            (self.min_size >= self.receptive_field,
             f"min_size must be >= the critic's receptive field ({self.receptive_field} px)"),
            (self.max_size >= self.min_size, "max_size must be >= min_size"),
            (self.noise_amp_factor >= 0, "noise_amp_factor must be >= 0"),
        ]
        return self.check(checks)

    @property
    def receptive_field(self) -> int:
        """Receptive field of the critic: head, ``num_layers`` blocks and tail, all 3x3."""
        return 1 + 2 * (self.num_layers + 2)


def stage_exponents(num_stages: int) -> list[float]:
    """Exponent ``e_n`` of the pyramid factor per stage, coarse to fine: stage n has
    ``factor ** e_n`` times the finest size (the official ``create_reals_pyramid``).

    With ``S = num_stages - 1``: ``e_n = 1 + (S - 1) * ln(S - n) / ln(S)`` for ``n < S`` and
    ``e_S = 0``. The coarsest stage gets ``e_0 = S`` like SinGAN's rule; the logarithm packs the
    other stages towards the low resolutions (for 6 stages: 5, 4.45, 3.73, 2.72, 1, 0).
    """
    last = num_stages - 1
    if last < 1:
        raise ValueError(f"need at least 2 stages, got {num_stages}")
    if last == 1:
        return [1.0, 0.0]  # the formula's limit for S -> 1
    return [1.0 + (last - 1) * math.log(last - n) / math.log(last) for n in range(last)] + [0.0]


def stage_learning_rates(stage: int, concurrent_stages: int, lr: float,
                         lr_scale: float) -> tuple[dict[int, float], float | None, float]:
    """Generator learning rates while ``stage`` is the newest stage (official ``train_single_scale``).

    Returns ``(body, head, tail)``: ``body`` maps each trained stage (the newest
    ``concurrent_stages``) to ``lr * lr_scale ** (stage - n)``; ``head`` (the input convolution,
    part of stage 0) is trained with ``lr * lr_scale ** stage`` while stage 0 is among the trained
    stages, else None (frozen); the output convolution ``tail`` always trains with ``lr``.
    """
    first = max(0, stage - concurrent_stages + 1)
    body = {n: lr * lr_scale ** (stage - n) for n in range(first, stage + 1)}
    head = lr * lr_scale**stage if stage < concurrent_stages else None
    return body, head, lr


__all__ = ["ARCHITECTURE", "ConSinGANConfig", "stage_exponents", "stage_learning_rates"]
