"""The model of the training-free architectures (GPNN, Granot et al., CVPR 2022; GPDM, Elnekave &
Weiss, ECCV 2022): nothing is learnt, so a run is its image pyramid and its resolved settings.

:class:`PatchPyramid` holds the pyramid (one buffer per level) and offers what the shared code
reads from any model (``config``, ``pyramid``, ``reals``, ``noise_amps``, ``num_trained``,
``device``, ``sizes_for``); each architecture's sampler works on it. Inference code: no training.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from singan_kit.imresize import ceil_size, imresize
from singan_kit.pyramid import Pyramid, fit_finest_size


class PatchPyramid(nn.Module):
    """The source image at every level ``[1, 3, h_n, w_n]`` (coarse to fine) and the run's settings."""

    def __init__(self, config, pyramid: Pyramid, reals: list[Tensor], noise_amps: list[float]) -> None:
        super().__init__()
        self.config, self.pyramid, self.noise_amps = config, pyramid, list(noise_amps)
        for n, real in enumerate(reals):
            self.register_buffer(f"real_{n}", real)
        self.num_levels = len(reals)

    @property
    def reals(self) -> list[Tensor]:
        return [getattr(self, f"real_{n}") for n in range(self.num_levels)]

    @property
    def num_trained(self) -> int:
        return len(self.noise_amps)

    @property
    def device(self) -> torch.device:
        return self.real_0.device

    def sizes_for(self, scale_h: float = 1.0, scale_w: float = 1.0) -> list[tuple[int, int]]:
        """Per-level output sizes when the result is ``scale_h`` x taller, ``scale_w`` x wider."""
        return [(max(1, round(h * scale_h)), max(1, round(w * scale_w))) for h, w in self.pyramid.sizes]


def build_model(meta: dict, reals: list[Tensor], weights: dict[str, Tensor], source: str) -> PatchPyramid:
    """The model of a run folder (``weights`` is empty: nothing is learnt)."""
    return PatchPyramid(meta["config"], meta["pyramid"], reals, meta["noise_amps"])


def level_pyramid(height: int, width: int, max_size: int, ratio: float, num_levels: int,
                  min_size: int) -> Pyramid:
    """Sizes of ``num_levels`` levels (fewer if the shorter side would fall below ``min_size``): the
    finest fits ``max_size``, each coarser one is ``ratio`` times the next (rounded up)."""
    resize_factor, fine_h, fine_w = fit_finest_size(height, width, min_size, max_size)
    sizes = []
    for n in range(num_levels):
        size = (ceil_size(fine_h, ratio**n), ceil_size(fine_w, ratio**n))
        if n and min(size) < min_size:
            break
        sizes.append(size)
    return Pyramid((height, width), resize_factor, ratio, tuple(reversed(sizes)))


def build_levels(image: Tensor, pyramid: Pyramid) -> list[Tensor]:
    """The source at every level ``[1, 3, h, w]`` in [-1, 1], each resized from the finest (``image``
    is the input ``[1, 3, H, W]`` in [-1, 1])."""
    finest = imresize(image, size=pyramid.finest_size).clamp(-1, 1)
    return [finest if tuple(size) == tuple(pyramid.finest_size) else imresize(finest, size=size).clamp(-1, 1)
            for size in pyramid.sizes]


def noise_amps_of(noise: float, levels: int) -> list[float]:
    """Noise per level: ``noise`` on the coarsest level's start, none on the finer ones."""
    return [noise] + [0.0] * (levels - 1)


def stored_pyramid_parts() -> dict:
    """The :class:`~singan_kit.architectures.base.Architecture` fields every training-free method
    shares: its pyramid rule, a run that is its pyramid, the trainer that only stores it, no filters,
    nothing learnt."""
    return {
        "compute_pyramid": lambda config, height, width: level_pyramid(
            height, width, config.max_size, config.pyramid_ratio, config.num_levels, config.min_size),
        "build_pyramid": build_levels,
        "build_model": build_model,
        "trainer": "singan_kit.architectures.training_free:StoredPyramidTrainer",
        "scale_filters": lambda config, scale: 0,
        "level_name": "level",
        "learns": False,
    }


def check_pyramid_settings(config) -> list[tuple[bool, str]]:
    """The checks both architectures share on ``max_size``, ``min_size``, ``pyramid_ratio``, ``num_levels``."""
    return [
        (config.numbers_are_finite(), "numbers must be finite (not nan or inf)"),
        (config.patch_size >= 1, "patch_size must be >= 1"),
        (config.min_size >= config.patch_size, "min_size must be >= patch_size"),
        (config.max_size >= config.min_size, "max_size must be >= min_size"),
        (0 < config.pyramid_ratio < 1, "pyramid_ratio must be between 0 and 1"),
        (config.num_levels >= 1, "num_levels must be >= 1"),
        (config.noise >= 0, "noise must be >= 0"),
    ]


__all__ = ["PatchPyramid", "build_levels", "build_model", "check_pyramid_settings", "level_pyramid", "noise_amps_of",
           "stored_pyramid_parts"]
