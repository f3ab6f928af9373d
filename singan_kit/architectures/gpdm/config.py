"""GPDM's settings (Elnekave & Weiss, "Generating Natural Images with Direct Patch Distributions
Matching", ECCV 2022): a frozen, validated dataclass.

Defaults of the official code for reshuffling (ariel415el/GPDM, ``GPDM.py`` and
``scripts/reshuffle_datasets.py``): 5 x 5 patches, 32 random projections drawn anew at every step,
the image and 13 coarser levels at ratio 0.85, 250 Adam steps per level at learning rate 0.05
(x0.9 every 100 steps), a start of zeros plus Gaussian noise of std 0.75 shared by the colour
channels. Images are fitted into 250 px like SinGAN's.
"""

from __future__ import annotations

from dataclasses import dataclass

from singan_kit.architectures.base import RunConfig
from singan_kit.architectures.patch_model import check_pyramid_settings

ARCHITECTURE = "gpdm"


@dataclass(frozen=True)
class GPDMConfig(RunConfig):
    """Every setting of a GPDM run (the resolved config saved as config.json)."""

    architecture: str = ARCHITECTURE
    patch_size: int = 5
    num_projections: int = 32  # random directions of the sliced Wasserstein distance, per step
    iters: int = 250  # Adam steps per level
    lr: float = 0.05
    lr_decay: float = 0.9  # the learning rate is multiplied by this every lr_decay_every steps
    lr_decay_every: int = 100
    noise: float = 0.75  # std of the noise the coarsest level starts from
    pyramid_ratio: float = 0.85
    num_levels: int = 14
    min_size: int = 14
    max_size: int = 250
    seed: int = 0

    def validate(self) -> "GPDMConfig":
        return self.check([
            (self.architecture == ARCHITECTURE, f"architecture must be {ARCHITECTURE!r}"),
            *check_pyramid_settings(self),
            (self.num_projections >= 1, "num_projections must be >= 1"),
            (self.iters >= 1, "iters must be >= 1"),
            (self.lr > 0, "lr must be > 0"),
            (0 < self.lr_decay <= 1, "lr_decay must be in (0, 1]"),
            (self.lr_decay_every >= 1, "lr_decay_every must be >= 1"),
        ])


__all__ = ["ARCHITECTURE", "GPDMConfig"]
