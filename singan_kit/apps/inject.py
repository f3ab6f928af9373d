"""Injecting an image at a scale of a trained SinGAN (Shaham et al. 2019, Sec. 4), the mechanism
behind harmonization, editing and paint-to-image.

The image, at the size of the finest scale, is downsampled to scale ``n - 1`` and upsampled by one
step to scale ``n``, so it looks like what generator ``n`` saw in training (an upsampled coarser
output); generators ``n`` ... ``N`` then run on it with fresh noise. Injection therefore starts at
scale 1 at the earliest: the coarsest generator never sees an image. Low ``n`` keeps only the
layout and colours of the injected image; high ``n`` keeps more of its detail.
"""

from __future__ import annotations

from torch import Tensor

from ganbase.errors import UserError
from singan_kit.architectures.singan.model import GeneratorPyramid, seeded_noise


def resolve_inject_scale(model: GeneratorPyramid, scale: int) -> int:
    """Check ``scale`` (negative counts from the finest: -1 is the finest) and return it as 1..N."""
    finest = model.num_trained - 1
    if finest < 1:
        raise UserError("the model has a single scale; injecting an image needs at least two")
    resolved = scale + finest + 1 if scale < 0 else scale
    if not 1 <= resolved <= finest:
        raise UserError(f"inject scale {scale} is outside the pyramid: use 1 to {finest} "
                        f"(or -1 to -{finest} counting from the finest)")
    return resolved


def injection_input(model: GeneratorPyramid, image: Tensor, scale: int) -> Tensor:
    """The input ``[B, 3, h_n, w_n]`` of ``scale`` made from ``image`` at the finest scale's size."""
    sizes, upsampling = model.pyramid.sizes, model.upsampling
    steps_down = model.pyramid.num_scales - scale  # finest -> scale - 1
    coarser = upsampling.resize(image, upsampling.scale_factor ** steps_down, sizes[scale - 1])
    return upsampling(coarser, sizes[scale])


def inject_image(model: GeneratorPyramid, image: Tensor, scale: int, seed: int = 0,
                 transform_input=None) -> Tensor:
    """Run generators ``scale .. N`` on ``image`` (``[1, 3, H_N, W_N]`` on the model's device).

    ``transform_input`` optionally maps the injected input before the generators (quantization).
    Returns ``[1, 3, H_N, W_N]`` clamped to [-1, 1].
    """
    start = injection_input(model, image.to(model.device), scale)
    if transform_input is not None:
        start = transform_input(start)
    out = model.inject(start, scale, seeded_noise(seed, 1, model.device))
    return out.clamp(-1.0, 1.0)


__all__ = ["resolve_inject_scale", "injection_input", "inject_image"]
