"""Image helpers for the GAN zoo: contact sheets, PNG files (grayscale too), and a
scatter-plot renderer for 2-D point samples (no plotting library needed). No paper.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from torch import Tensor

from ganbase.io.checkpoint import atomic_write_bytes
from ganbase.io.images import encode_image, to_uint8


def make_grid(images: np.ndarray, columns: int | None = None, padding: int = 2) -> np.ndarray:
    """Tile ``[N, H, W, C]`` uint8 images into one ``[rows*H, cols*W, C]`` sheet."""
    count, height, width, channels = images.shape
    columns = columns or max(1, math.ceil(math.sqrt(count)))
    rows = math.ceil(count / columns)
    sheet = np.zeros((rows * (height + padding) + padding, columns * (width + padding) + padding,
                      channels), dtype=np.uint8)
    for index in range(count):
        row, col = divmod(index, columns)
        top, left = padding + row * (height + padding), padding + col * (width + padding)
        sheet[top:top + height, left:left + width] = images[index]
    return sheet


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of an ``[H, W, C]`` or ``[H, W]`` uint8 array (C is 1 or 3)."""
    return encode_image(image[:, :, 0] if image.ndim == 3 and image.shape[2] == 1 else image)


def save_png(path: str | os.PathLike, image: np.ndarray) -> None:
    atomic_write_bytes(path, encode_png(image))


def render_points(samples: Tensor, reference: Tensor | None = None, size: int = 256,
                  extent: float = 3.0) -> np.ndarray:
    """Scatter plot of 2-D points on a ``size`` x ``size`` RGB canvas covering [-extent, extent]^2.

    Samples are drawn red over optional reference points (e.g. the real data) in grey.
    """
    canvas = np.full((size, size, 3), 255, dtype=np.uint8)

    def plot(points: Tensor, color: tuple[int, int, int]) -> None:
        xy = points.detach().float().cpu().numpy()[:, :2]
        cols = np.round((xy[:, 0] + extent) / (2 * extent) * (size - 1)).astype(int)
        rows = np.round((extent - xy[:, 1]) / (2 * extent) * (size - 1)).astype(int)
        for d_row in (-1, 0, 1):
            for d_col in (-1, 0, 1):
                r, c = rows + d_row, cols + d_col
                keep = (r >= 0) & (r < size) & (c >= 0) & (c < size)
                canvas[r[keep], c[keep]] = color

    if reference is not None:
        plot(reference, (190, 190, 190))
    plot(samples, (210, 30, 30))
    return canvas


def sample_sheet(samples: Tensor, columns: int | None = None) -> np.ndarray:
    """A contact sheet for image samples, or a scatter plot for 2-D point samples."""
    if samples.dim() == 2:
        return render_points(samples)
    return make_grid(to_uint8(samples), columns)


def save_image_files(directory: str | os.PathLike, samples: Tensor, prefix: str = "sample") -> list[Path]:
    """Write one PNG per image sample; returns the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, image in enumerate(to_uint8(samples)):
        path = directory / f"{prefix}_{index:05d}.png"
        save_png(path, image)
        paths.append(path)
    return paths
