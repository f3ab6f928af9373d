"""GPDM (Elnekave & Weiss, "Generating Natural Images with Direct Patch Distributions Matching",
ECCV 2022): training-free generation by optimising the output's pixels so that its patch
distribution matches the source's (sliced Wasserstein), coarse to fine. :data:`GPDM` is the
architecture registered in :mod:`singan_kit.architectures`; its "training" only stores the pyramid.
"""

from singan_kit.architectures.base import Architecture
from singan_kit.architectures.gpdm.config import ARCHITECTURE, GPDMConfig
from singan_kit.architectures.gpdm.model import sample_batch, scale_reconstruction, scale_sample
from singan_kit.architectures.patch_model import stored_pyramid_parts

GPDM = Architecture(
    name=ARCHITECTURE,
    title="GPDM",
    paper="Elnekave & Weiss, ECCV 2022",
    config_class=GPDMConfig,
    presets={"gpdm": {}},
    sample_batch=sample_batch,
    **stored_pyramid_parts(),
    scale_sample=scale_sample,
    scale_reconstruction=scale_reconstruction,
)

__all__ = ["GPDM"]
