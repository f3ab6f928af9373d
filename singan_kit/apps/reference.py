"""Harmonization, editing and paint-to-image with a trained SinGAN (Shaham et al. 2019, Sec. 4).

All three inject a user image at a scale (:mod:`singan_kit.apps.inject`):
- harmonization: the model is trained on the background; a naive paste is injected and the result
  is blended into the background through the dilated, blurred mask (disk 7 px, sigma 5 px);
- editing: a user's copy-paste edit of the training image, blended the same way (disk 20 px);
- paint-to-image: a clip-art painting, no blending; optionally quantized to the colours of the
  training image, with the injection scale retrained on quantized inputs
  (:func:`singan_kit.apps.tuning.finetune.quantize_and_finetune`).
As in the official code the blend keeps the *training image* outside the mask. Results have the
size of the model's finest scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from singan_kit.apps.inject import inject_image, resolve_inject_scale
from singan_kit.apps.inputs import (
    check_same_size,
    fit_mask_to_size,
    fit_to_size,
    read_mask,
    read_reference,
)
from singan_kit.apps.masks import (
    EDITING_BLEND,
    HARMONIZATION_BLEND,
    BlendSettings,
    blend,
    soft_mask,
)
from singan_kit.apps.quantize import quantize_to_centers
from singan_kit.architectures.singan.model import GeneratorPyramid


@dataclass
class AppResult:
    """An application's output image ``[1, 3, H, W]`` in [-1, 1] with notes for the user."""

    image: Tensor
    raw: Tensor | None = None  # before blending (harmonization and editing)
    blend_weights: np.ndarray | None = None  # [H, W] soft mask, 0 = original kept
    notes: list[str] = field(default_factory=list)


def _reference_at_model_size(model: GeneratorPyramid, source, what: str,
                              notes: list[str]) -> tuple[Tensor, Tensor]:
    """The image as read and resized to the finest scale's size."""
    image, read_notes = read_reference(source, what)
    notes.extend(read_notes)
    return image, fit_to_size(image, model.pyramid.finest_size, what, notes)


@torch.no_grad()
def blend_injected(model: GeneratorPyramid, source, mask_source, inject_scale: int, settings: BlendSettings,
                   what: str, seed: int = 0, generators: GeneratorPyramid | None = None) -> AppResult:
    """Inject ``source`` at ``inject_scale`` and blend the result into the training image.

    ``generators`` (default ``model``) lets a fine-tuned copy generate while ``model`` supplies
    the training image.
    """
    settings.validate()
    scale = resolve_inject_scale(model, inject_scale)
    notes: list[str] = []
    image, fitted = _reference_at_model_size(model, source, what, notes)
    mask, mask_notes = read_mask(mask_source)
    notes.extend(mask_notes)
    check_same_size(image, mask, what)
    weights = soft_mask(fit_mask_to_size(mask, model.pyramid.finest_size), settings)
    raw = inject_image(generators or model, fitted, scale, seed)
    background = model.reals[-1]
    return AppResult(blend(background, raw, weights).clamp(-1, 1), raw, weights, notes)


def harmonize(model: GeneratorPyramid, naive, mask, inject_scale: int, seed: int = 0,
              settings: BlendSettings = HARMONIZATION_BLEND, generators: GeneratorPyramid | None = None) -> AppResult:
    """Harmonize the object pasted into ``naive`` (marked white in ``mask``) with the background."""
    return blend_injected(model, naive, mask, inject_scale, settings, "naive image", seed, generators)


def edit(model: GeneratorPyramid, edited, mask, inject_scale: int, seed: int = 0,
         settings: BlendSettings = EDITING_BLEND) -> AppResult:
    """Blend a copy-paste edit of the training image (edited region white in ``mask``)."""
    return blend_injected(model, edited, mask, inject_scale, settings, "edited image", seed)


@torch.no_grad()
def paint(model: GeneratorPyramid, painting, inject_scale: int, seed: int = 0,
          centers: Tensor | None = None) -> AppResult:
    """Turn a clip-art ``painting`` into an image with the training image's textures.

    With ``centers`` (``[K, 3]`` colours from :func:`quantize_and_finetune`, whose fine-tuned
    model is then ``model``) the painting and the injected input are quantized to those colours.
    """
    scale = resolve_inject_scale(model, inject_scale)
    notes: list[str] = []
    _, fitted = _reference_at_model_size(model, painting, "painting", notes)
    transform = None
    if centers is not None:
        centers = centers.to(model.device)
        fitted = quantize_to_centers(fitted.to(model.device), centers)

        def transform(image: Tensor) -> Tensor:
            return quantize_to_centers(image, centers)
    return AppResult(inject_image(model, fitted, scale, seed, transform), notes=notes)


__all__ = ["AppResult", "harmonize", "edit", "paint", "blend_injected"]
