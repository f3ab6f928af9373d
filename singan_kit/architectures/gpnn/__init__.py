"""GPNN (Granot, Feinstein, Shocher, Bagon & Irani, "Drop the GAN: In Defense of Patches Nearest
Neighbors as Single Image Generative Models", CVPR 2022): training-free generation by patch nearest
neighbours, coarse to fine. :data:`GPNN` is the architecture registered in
:mod:`singan_kit.architectures`; its "training" only stores the pyramid.
"""

from singan_kit.architectures.base import Architecture
from singan_kit.architectures.gpnn.config import ARCHITECTURE, GPNNConfig
from singan_kit.architectures.gpnn.model import resynthesize, sample_batch, scale_reconstruction, scale_sample
from singan_kit.architectures.patch_model import build_levels, build_model, level_pyramid

GPNN = Architecture(
    name=ARCHITECTURE,
    title="GPNN",
    paper="Granot et al., CVPR 2022",
    config_class=GPNNConfig,
    # gpnn: the paper's settings (which copy the photo often, see README "Training-free generation");
    # gpnn-diverse: more noise and less completeness, diversity in SinGAN's range (measured there)
    presets={"gpnn": {}, "gpnn-diverse": {"alpha": 0.05, "noise": 1.5}},
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
    resynthesize=resynthesize,  # inpainting, structural analogy, patch-based editing and harmonization
)

__all__ = ["GPNN"]
