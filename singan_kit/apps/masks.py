"""Soft blending masks of harmonization and editing (Shaham et al. 2019, Sec. 4; official
``dilate_mask``): the binary mask is dilated with a disk (radius 7 px for harmonization, 20 px for
editing), blurred with a Gaussian (sigma 5 px, truncated at 4 sigma) and normalised so its maximum
is 1. The result is ``(1 - m) * original + m * generated``, so pixels farther from the mask than
radius + 4 sigma keep the original exactly.

Fixes of the official code: its min-max normalisation divides by zero for an empty mask (refused
here, see :mod:`singan_kit.apps.inputs`) and maps the mask's minimum to 0 even when the mask
covers the whole image; here the blurred mask is divided by its maximum only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from skimage.filters import gaussian
from skimage.morphology import dilation, disk
from torch import Tensor

from ganbase.errors import UserError


@dataclass(frozen=True)
class BlendSettings:
    """How the generated region is blended into the original."""

    dilation_radius: int = 7  # px, disk footprint
    blur_sigma: float = 5.0  # px

    def validate(self) -> "BlendSettings":
        if self.dilation_radius < 0 or self.blur_sigma < 0:
            raise UserError("mask dilation radius and blur sigma must be >= 0")
        return self


HARMONIZATION_BLEND = BlendSettings(dilation_radius=7, blur_sigma=5.0)
EDITING_BLEND = BlendSettings(dilation_radius=20, blur_sigma=5.0)


def soft_mask(mask: np.ndarray, settings: BlendSettings) -> np.ndarray:
    """``float32 [H, W]`` in [0, 1]: ``mask`` (bool) dilated, blurred, divided by its maximum."""
    region = dilation(mask, disk(settings.dilation_radius)) if settings.dilation_radius else mask
    soft = region.astype(np.float64)
    if settings.blur_sigma > 0:
        soft = gaussian(soft, sigma=settings.blur_sigma, truncate=4.0, preserve_range=True)
    return (soft / soft.max()).astype(np.float32)


def blend(original: Tensor, generated: Tensor, weights: np.ndarray) -> Tensor:
    """``(1 - w) * original + w * generated`` with ``weights`` ``[H, W]`` broadcast over channels."""
    w = torch.from_numpy(weights).to(original.device, original.dtype)[None, None]
    return (1 - w) * original + w * generated
