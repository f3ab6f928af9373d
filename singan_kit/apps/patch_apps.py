"""Applications of patch re-synthesis (GPNN, Granot et al., CVPR 2022, Sec. 5; GPDM, Elnekave &
Weiss, ECCV 2022, Sec. 4.3), for runs whose architecture declares ``resynthesize``:

- inpainting: the masked region of the run's image (or of a given image of that size) is filled,
  coarse to fine from a start level, with source patches that do not touch the hole; the hole
  starts as the mean colour of the rest, and every pixel outside the mask is kept exactly;
- editing and harmonization: the edited or naive image is rebuilt from the start level with the
  source's patches, then blended into the source through the dilated, blurred mask as SinGAN's;
- structural analogy: image B rebuilt from the start level with the run image's patches, so B's
  layout is drawn with them;
- style transfer (GPDM, no run): the content image is the start of a patch-distribution match
  to the style image (one level, no noise; the official ``style_transfer.py`` settings).
Which runs offer the first three is decided by the architecture's capability, not by its name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from ganbase.errors import UserError
from singan_kit import architectures
from singan_kit.apps.inputs import check_same_size, fit_mask_to_size, fit_to_size, read_mask, read_reference
from singan_kit.apps.masks import BlendSettings, blend, soft_mask
from singan_kit.architectures.base import sample_streams
from singan_kit.architectures.gpdm.config import GPDMConfig
from singan_kit.architectures.gpdm.model import match_patches
from singan_kit.imresize import imresize

LEVELS_FROM_FINEST = 5  # start level of inpainting, editing and analogy: 5 levels below the finest (official code)


@dataclass(frozen=True)
class StyleSettings:
    """GPDM style transfer (official ``scripts/style_transfer.py``): images fitted into 256 px, 7 x 7
    patches, 256 projections, 500 Adam steps at 0.05 (x0.9 every 100), one level, no noise."""

    max_size: int = 256
    patch_size: int = 7
    num_projections: int = 256
    iters: int = 500
    lr: float = 0.05

    def config(self) -> GPDMConfig:
        return GPDMConfig(patch_size=self.patch_size, num_projections=self.num_projections, iters=self.iters,
                          lr=self.lr, noise=0.0, num_levels=1, min_size=self.patch_size,
                          max_size=self.max_size).validate()


def resynthesizing_architectures() -> tuple[str, ...]:
    """Names of the registered architectures that declare ``resynthesize``."""
    return tuple(name for name in architectures.names() if architectures.get(name).resynthesize is not None)


def resynthesizes(model: nn.Module) -> bool:
    return architectures.get(model.config.architecture).resynthesize is not None


def resynthesizer(model: nn.Module, what: str):
    """The run's ``resynthesize`` capability, or one line saying the application needs it."""
    architecture = architectures.get(model.config.architecture)
    if architecture.resynthesize is None:
        raise UserError(f"{what} is not available for {architecture.name} runs: it needs an architecture that "
                        "re-synthesises from the run's patches (train one with --preset gpnn)")
    return architecture.resynthesize


def start_level(model: nn.Module, level: int | None) -> int:
    """``level`` checked (None: ``LEVELS_FROM_FINEST`` below the finest; negative counts from the finest)."""
    finest = model.num_trained - 1
    if level is None:
        return max(0, finest - LEVELS_FROM_FINEST)
    resolved = level + finest + 1 if level < 0 else level
    if not 0 <= resolved <= finest:
        raise UserError(f"start level {level} is outside the pyramid: use 0 to {finest} (or -1 to -{finest + 1})")
    return resolved


@torch.no_grad()
def inpaint(model: nn.Module, mask_source, image_source=None, level: int | None = None) -> tuple[Tensor, list[str]]:
    """The run's image (or ``image_source``) with the white region of the mask filled ``[1, 3, H, W]``."""
    resynthesize = resynthesizer(model, "inpainting")
    notes: list[str] = []
    real = model.reals[model.num_trained - 1]
    mask, mask_notes = read_mask(mask_source)
    notes.extend(mask_notes)
    image = real
    if image_source is not None:
        given, read_notes = read_reference(image_source, "image")
        notes.extend(read_notes)
        check_same_size(given, mask, "image")
        image = fit_to_size(given, model.pyramid.finest_size, "image", notes).to(model.device)
    elif tuple(mask.shape) != tuple(real.shape[-2:]):
        notes.append(f"mask is {mask.shape[1]}x{mask.shape[0]} px: resized to the run's image")
    mask = fit_mask_to_size(mask, tuple(real.shape[-2:]))
    hole = torch.from_numpy(mask.astype(np.float32)).to(model.device)[None, None]
    if hole.min() > 0.5:
        raise UserError("the mask covers the whole image: nothing is left to fill the hole from")
    kept = (1 - hole)
    mean = (image * kept).sum(dim=(2, 3), keepdim=True) / kept.sum()
    start = image * kept + mean * hole
    filled = resynthesize(model, start, start_level(model, level), hole)
    return (image * kept + filled * hole).clamp(-1, 1), notes


@torch.no_grad()
def blend_resynthesized(model: nn.Module, source, mask_source, level: int | None, settings: BlendSettings,
                        what: str) -> tuple[Tensor, list[str]]:
    """Editing / harmonization: ``source`` rebuilt with the run's patches, blended into the run's image."""
    resynthesize = resynthesizer(model, "patch-based " + what.split()[0] + " blending")
    settings.validate()
    notes: list[str] = []
    image, read_notes = read_reference(source, what)
    notes.extend(read_notes)
    mask, mask_notes = read_mask(mask_source)
    notes.extend(mask_notes)
    check_same_size(image, mask, what)
    fitted = fit_to_size(image, model.pyramid.finest_size, what, notes).to(model.device)
    weights = soft_mask(fit_mask_to_size(mask, model.pyramid.finest_size), settings)
    raw = resynthesize(model, fitted, start_level(model, level), None)
    return blend(model.reals[model.num_trained - 1], raw, weights).clamp(-1, 1), notes


@torch.no_grad()
def structural_analogy(model: nn.Module, structure, level: int | None = None,
                       what: str = "structure image") -> tuple[Tensor, list[str]]:
    """Image ``structure``'s layout drawn with the run image's patches ``[1, 3, H, W]`` (also
    paint-to-image on patch runs: ``what`` names the input in messages)."""
    resynthesize = resynthesizer(model, "structural analogy" if what == "structure image" else f"{what} re-synthesis")
    image, notes = read_reference(structure, what)
    fitted = fit_to_size(image, model.pyramid.finest_size, what, notes).to(model.device)
    return resynthesize(model, fitted, start_level(model, level), None).clamp(-1, 1), notes


def _fit_into(image: Tensor, max_size: int) -> Tensor:
    height, width = image.shape[-2:]
    factor = min(1.0, max_size / max(height, width))
    return image if factor == 1.0 else imresize(image, size=(round(height * factor), round(width * factor)))


def style_transfer(content, style, settings: StyleSettings = StyleSettings(), seed: int = 0,
                   device: torch.device | str = "cpu") -> tuple[Tensor, list[str]]:
    """``content`` repainted with the patches of ``style`` ``[1, 3, h, w]`` (content fitted into max_size)."""
    config = settings.config()
    notes: list[str] = []
    content_image, content_notes = read_reference(content, "content image")
    style_image, style_notes = read_reference(style, "style image")
    notes.extend(content_notes + style_notes)
    content_image = _fit_into(content_image, settings.max_size).to(device)
    style_image = _fit_into(style_image, settings.max_size).to(device)
    if min(content_image.shape[-2:]) < config.patch_size or min(style_image.shape[-2:]) < config.patch_size:
        raise UserError(f"the content and style images need at least {config.patch_size} px a side")
    return match_patches(content_image, style_image, sample_streams(seed, 1), config), notes


__all__ = ["LEVELS_FROM_FINEST", "StyleSettings", "blend_resynthesized", "inpaint", "resynthesizer",
           "resynthesizes", "resynthesizing_architectures", "start_level",
           "structural_analogy", "style_transfer"]
