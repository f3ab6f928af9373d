"""Reading, converting and writing single images (SinGAN's inputs, samples and previews).

Any format imageio/Pillow reads is accepted; grayscale, gray+alpha, RGBA, palette and 16-bit
images are converted to 3-channel float RGB in [0, 1]. Problems (missing, not an image,
truncated, NaN or infinite values in float images, too many channels, decompression bombs beyond
Pillow's limit) become one-line :class:`UserError` messages.
"""

from __future__ import annotations

import os
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch
from torch import Tensor

from ganbase.errors import UserError
from ganbase.io.checkpoint import atomic_write_bytes


def load_image(path: str | os.PathLike) -> tuple[np.ndarray, list[str]]:
    """Load an image as ``float32 [H, W, 3]`` RGB in ``[0, 1]`` plus notes on any conversion."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"image not found: {path}")
    if not path.is_file():
        raise UserError(f"not a file: {path}")
    if path.stat().st_size == 0:
        raise UserError(f"cannot read image {path}: the file is empty")
    try:
        array = iio.imread(path)
    except Exception as exc:  # imageio raises many types for unreadable files
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "Could not find a backend" in reason:
            reason = "not an image, or a format none of imageio's plugins reads"
        raise UserError(f"cannot read image {path}: {reason}") from None
    notes: list[str] = []
    if array.ndim == 4:  # animated GIF / multi-page TIFF: first frame
        array = array[0]
        notes.append("multi-frame image: using the first frame")
    if array.ndim not in (2, 3) or array.size == 0:
        raise UserError(f"cannot read image {path}: unexpected array shape {array.shape}")
    if array.dtype == np.uint16:
        array = array.astype(np.float32) / 65535.0
        notes.append("16-bit image converted to float")
    elif array.dtype == np.uint8:
        array = array.astype(np.float32) / 255.0
    elif array.dtype == bool:
        array = array.astype(np.float32)
    elif np.issubdtype(array.dtype, np.floating):
        bad = int(np.count_nonzero(~np.isfinite(array)))
        if bad:
            raise UserError(f"image {path} has {bad} NaN or infinite pixel value(s)")
        array = np.clip(array.astype(np.float32), 0.0, 1.0)
    elif np.issubdtype(array.dtype, np.integer):
        array = np.clip(array.astype(np.float32) / float(np.iinfo(array.dtype).max), 0.0, 1.0)
    else:
        raise UserError(f"cannot read image {path}: unsupported pixel type {array.dtype}")
    if array.ndim == 2 or array.shape[2] == 1:
        array = np.repeat(array.reshape(*array.shape[:2], 1), 3, axis=2)
        notes.append("grayscale image converted to RGB")
    elif array.shape[2] == 2:
        array = np.repeat(array[:, :, :1], 3, axis=2)
        notes.append("gray+alpha image: alpha dropped, converted to RGB")
    elif array.shape[2] == 4:
        array = array[:, :, :3]
        notes.append("RGBA image: alpha channel dropped")
    elif array.shape[2] != 3:
        raise UserError(f"cannot read image {path}: {array.shape[2]} channels")
    return np.ascontiguousarray(array), notes


def check_output_path(out: str | os.PathLike, *inputs: str | os.PathLike | None) -> Path:
    """Refuse an output path that is a folder, lies under a file, or is one of the inputs."""
    out = Path(out)
    if out.is_dir():
        raise UserError(f"--out {out} is a folder; give a file name such as {out / 'out.png'}")
    blocking = next((parent for parent in out.parents if parent.exists() and not parent.is_dir()), None)
    if blocking is not None:
        raise UserError(f"cannot write --out {out}: {blocking} is a file, not a folder")
    for source in inputs:
        if source is not None and Path(source).exists() and out.exists() and out.samefile(source):
            raise UserError(f"--out {out} is the input file {source}; choose another output name")
    return out


def to_tensor(array: np.ndarray) -> Tensor:
    """``[H, W, 3]`` in [0, 1] -> ``[1, 3, H, W]`` in [-1, 1]."""
    return torch.from_numpy(array).permute(2, 0, 1)[None].float() * 2.0 - 1.0


def to_uint8(images: Tensor) -> np.ndarray:
    """``[N, 3, H, W]`` or ``[3, H, W]`` in [-1, 1] -> ``uint8 [N, H, W, 3]`` / ``[H, W, 3]``."""
    array = ((images.detach().float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return array.movedim(-3, -1).cpu().numpy()


def encode_image(array: np.ndarray, suffix: str = ".png") -> bytes:
    """Encode ``uint8 [H, W, 3]`` in the format named by ``suffix``."""
    return iio.imwrite("<bytes>", array, extension=suffix)


def save_image(path: str | os.PathLike, image: Tensor | np.ndarray) -> None:
    """Write one image (tensor in [-1, 1] or uint8 array) atomically; format from the suffix."""
    array = to_uint8(image) if isinstance(image, Tensor) else image
    if array.ndim == 4:
        array = array[0]
    atomic_write_bytes(path, encode_image(array, Path(path).suffix.lower() or ".png"))


def side_by_side(images: list[np.ndarray], gap: int = 2, fill: int = 255) -> np.ndarray:
    """Place ``uint8 [H_i, W_i, 3]`` images in a row, top-aligned."""
    height = max(image.shape[0] for image in images)
    width = sum(image.shape[1] for image in images) + gap * (len(images) - 1)
    row = np.full((height, width, 3), fill, dtype=np.uint8)
    x = 0
    for image in images:
        row[: image.shape[0], x:x + image.shape[1]] = image
        x += image.shape[1] + gap
    return row
