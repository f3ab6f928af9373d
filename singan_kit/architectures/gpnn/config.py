"""GPNN's settings (Granot, Feinstein, Shocher, Bagon & Irani, "Drop the GAN: In Defense of Patches
Nearest Neighbors as Single Image Generative Models", CVPR 2022): a frozen, validated dataclass.

Defaults of the official code (WeizmannVision/DropTheGAN, ``main.py``/``gpnn.py`` for generation):
7 x 7 patches, a pyramid of the image and 9 coarser levels at ratio 0.75, Gaussian noise of
std 0.75 on the coarsest level's start, 1 nearest-neighbour step at the coarsest level and 10 at
every finer one; the completeness ``alpha`` is the paper's 0.005 (the official generation script
leaves it infinite, a plain nearest neighbour; a large alpha comes close). Images are fitted into
250 px like SinGAN's.
"""

from __future__ import annotations

from dataclasses import dataclass

from singan_kit.architectures.base import RunConfig
from singan_kit.architectures.patch_model import check_pyramid_settings

ARCHITECTURE = "gpnn"


@dataclass(frozen=True)
class GPNNConfig(RunConfig):
    """Every setting of a GPNN run (the resolved config saved as config.json)."""

    architecture: str = ARCHITECTURE
    patch_size: int = 7
    alpha: float = 0.005  # completeness: small values push every source patch to be used
    noise: float = 0.75  # std of the noise added to the coarsest level's start
    pyramid_ratio: float = 0.75  # size of a level / size of the next finer one
    num_levels: int = 10  # the image and 9 coarser levels (fewer when min_size stops them)
    iters: int = 10  # nearest-neighbour steps per level
    coarse_iters: int = 1  # ... at the coarsest level
    min_size: int = 14  # shorter side of the coarsest level at least (2 patches)
    max_size: int = 250  # longer side of the finest level at most
    # levels with more query x key patch pairs than this refine the previous level's matches by
    # PatchMatch instead of an exact search (exact: a few minutes per 250 px sample on 2 CPU cores)
    exact_pairs: int = 10_000_000
    code_dims: int = 24  # PatchMatch compares patches on their 24 main axes (PCA of the level's patches)
    seed: int = 0

    def validate(self) -> "GPNNConfig":
        return self.check([
            (self.architecture == ARCHITECTURE, f"architecture must be {ARCHITECTURE!r}"),
            *check_pyramid_settings(self),
            (self.alpha > 0, "alpha must be > 0"),
            (self.iters >= 1 and self.coarse_iters >= 1, "iters and coarse_iters must be >= 1"),
            (self.exact_pairs >= 0, "exact_pairs must be >= 0"),
            (self.code_dims >= 1, "code_dims must be >= 1"),
        ])


__all__ = ["ARCHITECTURE", "GPNNConfig"]
