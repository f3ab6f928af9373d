"""Inputs of SinGAN's applications (Shaham et al. 2019): reference images and masks from files,
arrays or tensors, checked and brought to the size of a trained model.

Decisions (documented in the README, "SinGAN applications"):
- A reference image (naive paste, edit, painting) of another size than the model's finest scale
  is resized to it, with a note when its aspect ratio differs; beyond a 4-fold difference (e.g. a
  strip) it is refused, since the result would be mostly stretch.
- A mask must have the size of its reference image, otherwise the input is refused.
- A mask is the mean of its channels; a mask with grey values (e.g. saved as JPEG) is thresholded
  at 0.5, with a note. An empty mask is refused.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch import Tensor

from ganbase.errors import UserError
from ganbase.io.images import load_image, to_tensor
from singan_kit.imresize import imresize

BINARY_TOLERANCE = 0.02  # mask values this close to 0 or 1 count as black or white
MAX_STRETCH = 4.0  # a reference image whose aspect ratio differs more than this from the model's is refused


def read_reference(source, what: str = "image") -> tuple[Tensor, list[str]]:
    """An image as ``[1, 3, H, W]`` in [-1, 1]: a path, a ``uint8``/float ``[H, W, 3]`` array in
    [0, 255]/[0, 1], or a tensor ``[1, 3, H, W]``/``[3, H, W]`` already in [-1, 1]."""
    if isinstance(source, (str, os.PathLike)):
        array, notes = load_image(source)
        return to_tensor(array), [f"{what}: {n}" for n in notes]
    if isinstance(source, Tensor):
        image = source.detach().float()
        image = image[None] if image.dim() == 3 else image
        if image.dim() != 4 or image.shape[:2] != (1, 3):
            raise UserError(f"{what} tensor must be [1, 3, H, W] or [3, H, W], got {tuple(source.shape)}")
        return image.cpu().clamp(-1, 1), []
    array = np.asarray(source)
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise UserError(f"{what} array must be [H, W, 3], got {array.shape}")
    array = array[..., :3]
    array = array.astype(np.float32) / 255.0 if array.dtype == np.uint8 else np.clip(array, 0, 1)
    return to_tensor(np.ascontiguousarray(array, dtype=np.float32)), []


def read_mask(source, what: str = "mask") -> tuple[np.ndarray, list[str]]:
    """A binary mask ``bool [H, W]`` (True: the region to change) from a path, array or tensor."""
    if isinstance(source, (str, os.PathLike)):
        array, notes = load_image(source)
        notes = [f"{what}: {n}" for n in notes if "grayscale" not in n]
        gray = array.mean(axis=2)
    else:
        notes = []
        data = source.detach().cpu().numpy() if isinstance(source, Tensor) else np.asarray(source)
        data = np.squeeze(data)
        if data.dtype == np.uint8:
            data = data / 255.0
        gray = data.astype(np.float32)
        if gray.ndim == 3:
            gray = gray.mean(axis=0 if gray.shape[0] in (1, 3) and gray.shape[-1] not in (1, 3) else 2)
        if gray.ndim != 2:
            raise UserError(f"{what} must be [H, W] or [H, W, 3], got {data.shape}")
        gray = np.clip(gray, 0, 1)
    grey_pixels = np.mean((gray > BINARY_TOLERANCE) & (gray < 1 - BINARY_TOLERANCE))
    if grey_pixels > 0:
        notes.append(f"{what} is not binary ({100 * grey_pixels:.1f} % grey pixels): thresholded at 0.5")
    mask = gray >= 0.5
    if not mask.any():
        raise UserError(f"{what} is empty (no white pixels): white marks the region to change")
    return mask, notes


def check_same_size(image: Tensor, mask: np.ndarray, image_what: str, mask_what: str = "mask") -> None:
    height, width = image.shape[-2:]
    if tuple(mask.shape) != (height, width):
        raise UserError(f"{mask_what} is {mask.shape[1]}x{mask.shape[0]} px but the {image_what} is "
                        f"{width}x{height} px; they must have the same size")


def fit_to_size(image: Tensor, size: tuple[int, int], what: str, notes: list[str]) -> Tensor:
    """Resize ``image`` ``[1, C, H, W]`` to ``size`` (the model's finest scale), noting aspect changes."""
    height, width = image.shape[-2:]
    if (height, width) == tuple(size):
        return image
    stretch = (width / height) / (size[1] / size[0])
    if not 1 / MAX_STRETCH <= stretch <= MAX_STRETCH:
        raise UserError(f"{what} is {width}x{height} px, far from the shape of the model's {size[1]}x{size[0]} px "
                        f"images (aspect ratios differ {max(stretch, 1 / stretch):.0f}-fold); crop it to "
                        "about that shape")
    if abs(stretch - 1) > 0.02:
        notes.append(f"{what} is {width}x{height} px, the model's images {size[1]}x{size[0]} px: "
                     "resized, its aspect ratio changes")
    return imresize(image, size=tuple(size)).clamp(-1, 1)


def fit_mask_to_size(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a binary mask to ``size`` (bicubic, then thresholded at 0.5)."""
    if tuple(mask.shape) == tuple(size):
        return mask
    resized = imresize(torch.from_numpy(mask.astype(np.float32))[None, None], size=tuple(size))
    return resized[0, 0].numpy() >= 0.5
