"""Super-resolution with SinGAN (Shaham et al. 2019, Sec. 4; official ``SR.py``).

Training: the low-resolution image alone, at its own size (``max_size`` is raised to its longer
side), with a pyramid factor near ``2 ** (-1/3)`` and min side 18 px, and reconstruction weight
100. Inference: the finest generator is applied ``k`` times, each time to the previous result
upsampled by ``1 / f``, where ``k = round(log(factor) / log(2 ** (1/3)))`` (at least 1) and
``f = factor ** (-1/k)`` (6 steps of x1.26 for x4); the result is cropped to ``factor`` x the size.
``factor`` may be any value > 1; :func:`factor_for_size` turns an absolute output size of the
image's aspect ratio into one.

Fix of the official code: its first step draws one noise channel broadcast to three (the coarsest
scale's noise shape) because its scale counter restarts at 0; every step here draws three channels,
as the finest generator saw in training.
"""

from __future__ import annotations

import math
from functools import partial

import torch
from torch import Tensor

from ganbase.errors import UserError
from ganbase.runtime.memory import available_memory
from singan_kit.architectures import make_config, preset_settings
from singan_kit.architectures.base import CanvasPlan, CanvasStage, sample_streams
from singan_kit.architectures.singan.config import SinGANConfig
from singan_kit.architectures.singan.model import (
    GeneratorPyramid,
    NoiseFn,
    local_scale,
    run_scales,
    seeded_noise,
)
from singan_kit.pyramid import Upsampling
from singan_kit.sample import UNTILED_BYTES, WORKING_MEMORY
from singan_kit.tiling import plan_bytes, run_plan, stream_source, tile_for_budget

SR_STEP = 2 ** (1 / 3)  # the official per-step upscaling factor before adjustment
SR_MIN_SIZE = 18
SR_ALPHA = 100.0


def check_factor(factor: float) -> float:
    if not isinstance(factor, (int, float)) or not math.isfinite(factor) or factor <= 1:
        raise UserError(f"super-resolution factor must be a number > 1, got {factor}")
    if factor > 64:
        raise UserError(f"super-resolution factor {factor} is too large (at most 64)")
    return float(factor)


SIZE_ASPECT_TOLERANCE = 0.01  # relative: an absolute --size may differ from the image's aspect by rounding only


def factor_for_size(image_size: tuple[int, int], size: tuple[int, int]) -> float:
    """The upscaling factor that turns an image of ``image_size`` (H, W) into ``size`` (H, W), which
    must keep the image's aspect ratio (up to 1 %, for rounding)."""
    (height, width), (target_h, target_w) = image_size, size
    across, down = target_w / width, target_h / height
    if abs(across - down) > SIZE_ASPECT_TOLERANCE * max(across, down):
        suggested = round(width * down)
        raise UserError(f"super-resolution keeps the image's aspect ratio: {target_w}x{target_h} px is x{across:.3g} "
                        f"across but x{down:.3g} down for a {width}x{height} px image; give a size such as "
                        f"{suggested}x{target_h}")
    return check_factor(max(across, down))


def sr_steps(factor: float) -> tuple[int, float]:
    """``(k, f)``: number of generator applications and the per-step pyramid factor ``f < 1``."""
    factor = check_factor(factor)
    steps = max(1, round(math.log(factor) / math.log(SR_STEP)))
    return steps, factor ** (-1.0 / steps)


def sr_config(factor: float, image_size: tuple[int, int], preset: str = "paper", **overrides) -> SinGANConfig:
    """The training config of SR mode for an image of ``image_size`` (H, W); ``overrides`` win."""
    if preset_settings(preset)[0].name != "singan":
        raise UserError(f"super-resolution is not supported for the {preset} preset; use paper, fast or tiny")
    _, step_factor = sr_steps(factor)
    values = dict(scale_factor=step_factor, min_size=SR_MIN_SIZE, alpha=SR_ALPHA, max_size=max(image_size))
    values.update({k: v for k, v in overrides.items() if v is not None})
    return make_config(preset, **values)


def _three_channel(noise_fn: NoiseFn) -> NoiseFn:
    def noise(scale: int, batch: int, size: tuple[int, int]) -> Tensor:
        return noise_fn(scale + 1, batch, size)  # scale + 1 > 0: three channels at every step
    return noise


def sr_plan(model: GeneratorPyramid, start: Tensor, sizes: list[tuple[int, int]], upsampling: Upsampling) -> CanvasPlan:
    """The SR chain as local operators: the finest generator at every step (three noise channels),
    the first step on ``start``, every further one on the previous upsampled by ``upsampling``."""
    generator = model.generators[-1]
    filters = max(m.out_channels for m in generator.modules() if isinstance(m, torch.nn.Conv2d))
    return CanvasPlan(start, tuple(
        CanvasStage(size=tuple(size), noise_channels=3, halo=generator.padding, filters=filters,
                    apply=partial(local_scale, generator, model.noise_amps[-1]),
                    upsample=None if step == 0 else upsampling.rows,
                    before_upsample=upsampling.before_resize, after_upsample=upsampling.after_resize)
        for step, size in enumerate(sizes)))


@torch.no_grad()
def super_resolve(model: GeneratorPyramid, factor: float, seed: int = 0, max_memory: int | None = None,
                  size: tuple[int, int] | None = None) -> Tensor:
    """The model's finest image upscaled ``factor`` x: ``[1, 3, round(f H), round(f W)]`` in [-1, 1],
    or exactly ``size`` (H, W) when given (``factor`` from :func:`factor_for_size`).

    A chain whose untiled estimate exceeds ``UNTILED_BYTES`` runs in exact tiles
    (:mod:`singan_kit.tiling`) on the same noise, within ``max_memory`` bytes (None: the sampler's
    ``WORKING_MEMORY`` or what is available): the same result up to float rounding."""
    steps, step_factor = sr_steps(factor)
    image = model.reals[-1]
    height, width = image.shape[-2:]
    sizes = [(height, width)]
    for _ in range(steps):
        h, w = sizes[-1]
        sizes.append((math.ceil(h / step_factor - 1e-9), math.ceil(w / step_factor - 1e-9)))
    generators = [model.generators[-1]] * steps
    amps = [model.noise_amps[-1]] * steps
    upsampling = Upsampling(step_factor, model.config.upsample_precision)
    start = upsampling(image, sizes[1])
    plan = sr_plan(model, start, sizes[1:], upsampling)
    if plan_bytes(plan, 1, max(sizes[-1])) > UNTILED_BYTES:  # large: the same chain in exact tiles
        budget = min(available_memory(model.device), WORKING_MEMORY) if max_memory is None else max_memory
        out = run_plan(plan, stream_source(sample_streams(seed, 1)), 1, tile_for_budget(plan, 1, budget),
                       model.device)
    else:
        out = run_scales(generators, amps, upsampling, start, 0, sizes[1:],
                         _three_channel(seeded_noise(seed, 1, model.device)))
    target = tuple(size) if size is not None else (round(factor * height), round(factor * width))
    if out.shape[-2] < target[0] or out.shape[-1] < target[1]:  # a --size one rounding pixel beyond
        out = torch.nn.functional.interpolate(out, size=(max(target[0], out.shape[-2]), max(target[1], out.shape[-1])),
                                              mode="bicubic", align_corners=False)
    return out[..., :target[0], :target[1]].clamp(-1.0, 1.0)


__all__ = ["sr_steps", "sr_config", "super_resolve", "check_factor", "factor_for_size", "SR_MIN_SIZE", "SR_ALPHA"]
