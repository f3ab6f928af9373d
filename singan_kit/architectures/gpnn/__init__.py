"""GPNN (Granot, Feinstein, Shocher, Bagon & Irani, "Drop the GAN: In Defense of Patches Nearest
Neighbors as Single Image Generative Models", CVPR 2022): training-free generation by patch nearest
neighbours, coarse to fine. :data:`GPNN` is the architecture registered in
:mod:`singan_kit.architectures`; its "training" only stores the pyramid.
"""

from singan_kit.architectures.base import Architecture
from singan_kit.architectures.gpnn.config import ARCHITECTURE, GPNNConfig
from singan_kit.architectures.gpnn.model import resynthesize, sample_batch, scale_reconstruction, scale_sample
from singan_kit.architectures.patch_model import stored_pyramid_parts

GPNN = Architecture(
    name=ARCHITECTURE,
    title="GPNN",
    paper="Granot et al., CVPR 2022",
    config_class=GPNNConfig,
    # gpnn: the paper's settings (which copy the photo often, see README "Training-free generation");
    # gpnn-diverse: more noise and less completeness, diversity in SinGAN's range (measured there)
    presets={"gpnn": {}, "gpnn-diverse": {"alpha": 0.05, "noise": 1.5}},
    sample_batch=sample_batch,
    **stored_pyramid_parts(),
    scale_sample=scale_sample,
    scale_reconstruction=scale_reconstruction,
    resynthesize=resynthesize,  # inpainting, structural analogy, patch-based editing and harmonization
)

__all__ = ["GPNN"]
