"""SinGAN (Shaham, Dekel & Michaeli, "SinGAN: Learning a Generative Model from a Single Natural
Image", ICCV 2019): a pyramid of fully convolutional generators, trained coarse to fine.

:data:`SINGAN` is the architecture object registered in :mod:`singan_kit.architectures`; the
trainer is named by path, so loading and sampling never import the training code.
"""

from singan_kit.architectures.base import Architecture
from singan_kit.architectures.singan.config import PRESETS, SinGANConfig, filters_at_scale
from singan_kit.architectures.singan.model import (
    canvas_plan,
    model_from_tensors,
    sample_batch,
    scale_reconstruction,
    scale_sample,
)
from singan_kit.pyramid import build_pyramid, compute_pyramid

SINGAN = Architecture(
    name="singan",
    title="SinGAN",
    paper="Shaham et al., ICCV 2019",
    config_class=SinGANConfig,
    presets=PRESETS,
    compute_pyramid=lambda config, height, width: compute_pyramid(
        height, width, config.min_size, config.max_size, config.scale_factor),
    build_pyramid=build_pyramid,
    build_model=model_from_tensors,
    sample_batch=sample_batch,
    trainer="singan_kit.architectures.singan.train:SinGANTrainer",
    scale_sample=scale_sample,
    scale_reconstruction=scale_reconstruction,
    scale_filters=lambda config, scale: filters_at_scale(
        scale, config.num_filters, config.max_filters, config.filters_double_every),
    canvas_plan=canvas_plan,
    scale_generators=True,
    setting_aliases={"lr": ("lr_generator", "lr_discriminator")},
)

__all__ = ["SINGAN"]
