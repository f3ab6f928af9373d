"""GPDM (Elnekave & Weiss, "Generating Natural Images with Direct Patch Distributions Matching",
ECCV 2022): training-free generation by optimising the output's pixels so that its patch
distribution matches the source's (sliced Wasserstein), coarse to fine. :data:`GPDM` is the
architecture registered in :mod:`singan_kit.architectures`; its "training" only stores the pyramid.
"""

from singan_kit.architectures.base import Architecture
from singan_kit.architectures.gpdm.config import ARCHITECTURE, GPDMConfig
from singan_kit.architectures.gpdm.model import sample_batch, scale_reconstruction, scale_sample
from singan_kit.architectures.patch_model import build_levels, build_model, level_pyramid

GPDM = Architecture(
    name=ARCHITECTURE,
    title="GPDM",
    paper="Elnekave & Weiss, ECCV 2022",
    config_class=GPDMConfig,
    presets={"gpdm": {}},
    compute_pyramid=lambda config, height, width: level_pyramid(
        height, width, config.max_size, config.pyramid_ratio, config.num_levels, config.min_size),
    build_pyramid=build_levels,
    build_model=build_model,
    sample_batch=sample_batch,
    trainer="singan_kit.architectures.training_free:StoredPyramidTrainer",
    scale_sample=scale_sample,
    scale_reconstruction=scale_reconstruction,
    scale_filters=lambda config, scale: 0,
    level_name="level",
)

__all__ = ["GPDM"]
