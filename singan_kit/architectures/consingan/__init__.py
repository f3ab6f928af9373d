"""ConSinGAN (Hinz, Fisher, Wang & Wermter, "Improved Techniques for Training Single-Image GANs",
WACV 2021): one generator that grows a stage at a time, the newest stages trained concurrently.

:data:`CONSINGAN` is the architecture object registered in :mod:`singan_kit.architectures`; the
trainer is named by path, so loading and sampling never import the training code.
"""

from singan_kit.architectures.base import Architecture
from singan_kit.architectures.consingan.config import ARCHITECTURE, ConSinGANConfig
from singan_kit.architectures.consingan.model import (
    build_model,
    build_stage_pyramid,
    compute_stage_pyramid,
    sample_batch,
    scale_reconstruction,
    scale_sample,
)

CONSINGAN = Architecture(
    name=ARCHITECTURE,
    title="ConSinGAN",
    paper="Hinz et al., WACV 2021",
    config_class=ConSinGANConfig,
    # the official code's defaults for unconditional generation (see config.py)
    presets={"consingan": {}},
    compute_pyramid=lambda config, height, width: compute_stage_pyramid(
        height, width, config.num_stages, config.min_size, config.max_size),
    build_pyramid=build_stage_pyramid,
    build_model=build_model,
    sample_batch=sample_batch,
    trainer="singan_kit.architectures.consingan.train:ConSinGANTrainer",
    scale_sample=scale_sample,
    scale_reconstruction=scale_reconstruction,
    scale_filters=lambda config, scale: config.num_filters,
    level_name="stage",
    setting_aliases={"lr": ("lr_generator", "lr_discriminator")},
)

__all__ = ["CONSINGAN"]
