"""MATLAB-style bicubic resizing with anti-aliasing, as matrix products in torch.

SinGAN's official code resizes with a numpy port of MATLAB's ``imresize`` (bicubic kernel
a = -0.5, kernel stretched by 1/scale when downscaling so it low-pass filters, symmetric
boundary handling). We build the same per-axis weight matrices once per shape and apply them as
two matrix products, which is exact, differentiable, batched and runs on any device.

Unlike the official code we do not round intermediate images to uint8 when upsampling between
scales; the pyramid itself comes from 8-bit images as in the original.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor


def _cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's 'bicubic')."""
    absx = np.abs(x)
    absx2, absx3 = absx**2, absx**3
    near = (1.5 * absx3 - 2.5 * absx2 + 1.0) * (absx <= 1)
    far = (-0.5 * absx3 + 2.5 * absx2 - 4.0 * absx + 2.0) * ((absx > 1) & (absx <= 2))
    return near + far


def ceil_size(length: int, scale: float) -> int:
    """``ceil(length * scale)`` as MATLAB computes output sizes, tolerant to float round-off.

    ``186 * (25/186)`` may evaluate to 25.000000000000004; the intended size is 25.
    """
    value = length * scale
    nearest = round(value)
    if abs(value - nearest) < 1e-6 * max(1.0, abs(value)):
        return int(nearest)
    return int(math.ceil(value))


@lru_cache(maxsize=512)
def _weights(in_len: int, out_len: int, scale: float, antialias: bool) -> np.ndarray:
    """Resampling matrix ``[out_len, in_len]`` for one axis (rows sum to 1)."""
    return weight_rows(in_len, scale, antialias, 0, out_len)


def weight_rows(in_len: int, scale: float, antialias: bool, first: int, stop: int) -> np.ndarray:
    """Rows ``first .. stop-1`` ``[stop - first, in_len]`` of one axis's resampling matrix, each
    computed exactly as in the whole matrix (tiled sampling resizes a tile at a time with them)."""
    kernel_width = 4.0
    if antialias and scale < 1:
        kernel_width /= scale
    out_len = stop - first
    x = np.arange(first + 1, stop + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)  # output pixel centre in input coordinates (1-based)
    left = np.floor(u - kernel_width / 2.0)
    taps = int(math.ceil(kernel_width)) + 2
    indices = left[:, None] + np.arange(taps)[None, :]  # [out, taps], 1-based
    distance = u[:, None] - indices
    if antialias and scale < 1:
        weights = scale * _cubic(scale * distance)
    else:
        weights = _cubic(distance)
    weights /= weights.sum(axis=1, keepdims=True)
    # Symmetric boundary: index sequence 1..n, n..1 repeated (MATLAB's 'symmetric' padding).
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len)[::-1]])
    columns = mirror[np.mod(indices.astype(np.int64) - 1, 2 * in_len)]
    matrix = np.zeros((out_len, in_len), dtype=np.float64)
    np.add.at(matrix, (np.repeat(np.arange(out_len), taps), columns.ravel()), weights.ravel())
    return matrix


def resize_matrix(in_len: int, out_len: int, scale: float, device: torch.device | str = "cpu",
                  dtype: torch.dtype = torch.float32, antialias: bool = True) -> Tensor:
    """The ``[out_len, in_len]`` matrix that resizes one axis by ``scale``."""
    return torch.from_numpy(_weights(in_len, out_len, float(scale), antialias)).to(device=device, dtype=dtype)


def imresize(images: Tensor, scale: float | None = None, size: tuple[int, int] | None = None,
             antialias: bool = True) -> Tensor:
    """Resize ``[N, C, H, W]`` images like MATLAB's ``imresize(img, scale, 'bicubic')``.

    Give ``scale`` (output size ``ceil(scale * H), ceil(scale * W)``) or ``size=(H', W')`` (the
    kernel then uses ``H'/H`` and ``W'/W``), or both: the kernel uses ``scale`` and the result is
    the first ``size`` pixels of a ``scale`` resize, grown if needed (how SinGAN upsamples one
    scale and crops to the next).
    """
    height, width = images.shape[-2:]
    if scale is None and size is None:
        raise ValueError("give scale or size")
    if scale is None:
        scale_h, scale_w = size[0] / height, size[1] / width
        full_h, full_w = size
    else:
        scale_h = scale_w = float(scale)
        full_h, full_w = ceil_size(height, scale), ceil_size(width, scale)
        if size is not None:
            full_h, full_w = max(full_h, size[0]), max(full_w, size[1])
    out_h, out_w = size if size is not None else (full_h, full_w)
    rows = resize_matrix(height, full_h, scale_h, images.device, images.dtype, antialias)[:out_h]
    cols = resize_matrix(width, full_w, scale_w, images.device, images.dtype, antialias)[:out_w]
    return torch.matmul(rows, torch.matmul(images, cols.t()))  # [N, C, out_h, out_w]
