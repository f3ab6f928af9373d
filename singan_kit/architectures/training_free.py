""""Training" of the training-free architectures (GPNN, Granot et al., CVPR 2022; GPDM, Elnekave &
Weiss, ECCV 2022): every level is committed at once with nothing learnt, so that
``singan train photo.jpg --preset gpnn`` writes the usual run folder (pyramid, resolved settings,
previews, log) in a moment and every command that takes a run takes it.
This is training code (it subclasses the lifecycle's trainer): inference never imports it.
"""

from __future__ import annotations

import numpy as np
import torch

from ganbase.io.images import to_uint8
from singan_kit.architectures.base import ScaleSummary
from singan_kit.architectures.lifecycle import LevelTrainer


class StoredPyramidTrainer(LevelTrainer):
    """Commits level n with its noise amplitude (the config's ``noise`` at the coarsest, 0 above)."""

    def fit_level(self, scale: int) -> tuple[ScaleSummary, list[dict], dict[str, torch.Tensor]]:
        amp = float(self.config.noise) if scale == 0 else 0.0
        self.model.noise_amps.append(amp)
        size = tuple(self.pyramid.sizes[scale])
        summary = ScaleSummary(scale, self.pyramid.num_scales, size, 3, 0, 0.0, amp, 0.0, 0.0, 0.0, 0.0)
        row = {"scale": scale, "iter": 0, "d_loss": 0.0, "d_real": 0.0, "d_fake": 0.0, "gradient_penalty": 0.0,
               "g_adv": 0.0, "rec_loss": 0.0, "lr": 0.0, "seconds": 0.0}
        return summary, [row], {}

    def generator_tensors(self) -> dict[str, torch.Tensor]:
        return {}  # nothing is learnt: the pyramid is the whole model

    def preview_images(self, scale: int) -> list[np.ndarray]:
        return [to_uint8(self.model.reals[scale])[0]]  # the level's image (sampling would cost seconds)


__all__ = ["StoredPyramidTrainer"]
