"""SinGAN's image pyramid: how many scales, which factor, and the images at every scale.

The rule of the official code (Shaham et al. 2019, ``adjust_scales2image``):
1. ``scale1 = min(max_size / max(H, W), 1)``: the finest scale's longer side is at most max_size.
2. ``num_scales = ceil(log_f0(min_size / min(H, W))) + 1`` with the initial factor f0 = 0.75, and
   ``stop_scale = num_scales - ceil(log_f0(min(max_size, max(H, W)) / max(H, W)))``.
3. The factor is then adjusted to ``(min_size / min(h, w)) ** (1 / stop_scale)`` on the resized
   image ``(h, w)``, so the coarsest scale's shorter side is exactly ``min_size``.
Scale ``n`` (0 = coarsest) is the resized image scaled by ``factor ** (stop_scale - n)``.

Between scales an image is resized by ``1 / factor`` and cropped to the next scale's size
(:class:`Upsampling`). Its ``precision`` "uint8" also takes the official code's 8-bit round trip:
its ``imresize`` converts the tensor to ``uint8`` by truncation (``astype(np.uint8)`` of
``255 * (x + 1) / 2``), resizes those integers and clamps the result back to ``[-1, 1]``; "float"
resizes the float image as it is.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import Tensor

from ganbase.errors import UserError
from singan_kit.imresize import ceil_size, imresize, weight_rows

MAX_SCALES = 64  # the paper's rule gives 8-12; 64 allows --scale-factor up to ~0.96 at 250/25 px
UPSAMPLE_PRECISIONS = ("float", "uint8")


@dataclass(frozen=True)
class Pyramid:
    """Sizes of a SinGAN pyramid. ``sizes[n]`` is ``(height, width)`` of scale n, coarse to fine."""

    input_size: tuple[int, int]
    resize_factor: float  # scale1: input -> finest scale
    scale_factor: float  # ratio between consecutive scales (< 1)
    sizes: tuple[tuple[int, int], ...]

    @property
    def num_scales(self) -> int:
        return len(self.sizes)

    @property
    def finest_size(self) -> tuple[int, int]:
        return self.sizes[-1]

    def to_dict(self) -> dict:
        data = asdict(self)
        data["sizes"] = [list(s) for s in self.sizes]
        data["input_size"] = list(self.input_size)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Pyramid":
        return cls(
            input_size=tuple(data["input_size"]),
            resize_factor=float(data["resize_factor"]),
            scale_factor=float(data["scale_factor"]),
            sizes=tuple(tuple(int(v) for v in s) for s in data["sizes"]),
        )


def fit_finest_size(height: int, width: int, min_size: int, max_size: int) -> tuple[float, int, int]:
    """``(resize_factor, height, width)`` of the finest level: the longer side fitted into
    ``max_size`` (never enlarged); one-line errors when the image or the sizes cannot work."""
    if min_size < 1 or max_size < min_size:
        raise UserError(f"need 1 <= min_size <= max_size, got min_size={min_size}, max_size={max_size}")
    if min(height, width) < min_size:
        raise UserError(
            f"image is {width}x{height} px; its shorter side must be at least min_size={min_size} px"
        )
    resize_factor = min(max_size / max(height, width), 1.0)
    fine_h, fine_w = ceil_size(height, resize_factor), ceil_size(width, resize_factor)
    if min(fine_h, fine_w) < min_size:
        raise UserError(
            f"image is {width}x{height} px: after fitting its longer side into max_size={max_size} px "
            f"the shorter side is {min(fine_h, fine_w)} px, below min_size={min_size}; "
            "raise --max-size or lower --min-size"
        )
    return resize_factor, fine_h, fine_w


def compute_pyramid(height: int, width: int, min_size: int = 25, max_size: int = 250,
                    scale_factor_init: float = 0.75) -> Pyramid:
    """Pyramid sizes for an image of ``height x width`` pixels (SinGAN's rule, see module doc)."""
    if not 0 < scale_factor_init < 1:
        raise UserError(f"scale factor must be between 0 and 1, got {scale_factor_init}")
    resize_factor, fine_h, fine_w = fit_finest_size(height, width, min_size, max_size)
    short, long = min(height, width), max(height, width)
    log_f0 = math.log(scale_factor_init)
    num_scales = math.ceil(math.log(min_size / short) / log_f0 - 1e-9) + 1
    scales_to_stop = math.ceil(math.log(min(max_size, long) / long) / log_f0 - 1e-9)
    stop_scale = num_scales - scales_to_stop
    if stop_scale + 1 > MAX_SCALES:  # a factor near 1 (0.9999 gives thousands) would train for days
        raise UserError(
            f"scale factor {scale_factor_init:g} gives {stop_scale + 1} scales for a {width}x{height} px image "
            f"(min_size={min_size}, max_size={max_size}), above the limit of {MAX_SCALES}; lower --scale-factor "
            f"(the paper uses 0.75) or raise --min-size"
        )
    fine_short = min(fine_h, fine_w)
    if fine_short == min_size or stop_scale < 1:
        # The finest scale is already as small as the coarsest may be: a single scale.
        stop_scale = 0 if fine_short == min_size else 1
    factor = (min_size / fine_short) ** (1.0 / stop_scale) if stop_scale else scale_factor_init
    sizes = tuple(
        (ceil_size(fine_h, factor ** (stop_scale - n)), ceil_size(fine_w, factor ** (stop_scale - n)))
        for n in range(stop_scale + 1)
    )
    return Pyramid((height, width), resize_factor, factor, sizes)


def build_pyramid(image: Tensor, pyramid: Pyramid) -> list[Tensor]:
    """Images ``[1, C, h_n, w_n]`` for every scale, coarse to fine, clamped to ``[-1, 1]``.

    ``image`` is the full-resolution input ``[1, C, H, W]`` in ``[-1, 1]``. As in the official code,
    the input is first resized to the finest size and every scale is resized from that image.
    """
    if tuple(image.shape[-2:]) != tuple(pyramid.input_size):
        raise ValueError(f"image is {tuple(image.shape[-2:])}, pyramid expects {pyramid.input_size}")
    finest = imresize(image, scale=pyramid.resize_factor, size=pyramid.finest_size)
    levels = []
    for n, size in enumerate(pyramid.sizes):
        factor = pyramid.scale_factor ** (pyramid.num_scales - 1 - n)
        level = finest if factor == 1.0 else imresize(finest, scale=factor, size=size)
        levels.append(level.clamp(-1.0, 1.0).contiguous())
    return levels


@dataclass(frozen=True)
class Upsampling:
    """How one scale's image becomes the next scale's input: resized by ``1 / scale_factor`` and
    cropped to the next size, in float or through the official code's 8 bits (see the module doc).

    The 8-bit round trip is two pointwise maps around the (linear) resize, :meth:`before_resize`
    and :meth:`after_resize`, so a tiled sampler can apply them tile by tile around the resize's
    matrix rows (:meth:`rows`).
    """

    scale_factor: float
    precision: str = "float"

    def before_resize(self, image: Tensor) -> Tensor:
        """``image`` in [-1, 1] as the resize sees it: unchanged ("float") or truncated to 8 bits
        ("uint8": ``floor(255 * clamp((x + 1) / 2, 0, 1))``, mapped back to [-1, 1])."""
        if self.precision == "float":
            return image
        levels = torch.floor(255.0 * ((image + 1.0) / 2.0).clamp(0.0, 1.0))  # integers 0..255
        return levels * (2.0 / 255.0) - 1.0

    def after_resize(self, image: Tensor) -> Tensor:
        """The resized image: unchanged ("float") or clamped to [-1, 1] ("uint8", as the official
        code's conversion back to a tensor does)."""
        return image if self.precision == "float" else image.clamp(-1.0, 1.0)

    def resize(self, image: Tensor, scale: float, size: tuple[int, int]) -> Tensor:
        """``image`` resized by ``scale`` and cropped to ``size``, at this precision (the official
        code's ``imresize`` goes through 8 bits whatever the direction)."""
        return self.after_resize(imresize(self.before_resize(image), scale=scale, size=tuple(size)))

    def __call__(self, image: Tensor, size: tuple[int, int]) -> Tensor:
        """``image [N, C, h, w]`` upsampled to ``size`` ``[N, C, *size]``."""
        return self.resize(image, 1.0 / self.scale_factor, size)

    def rows(self, in_len: int, out_len: int, first: int, stop: int) -> np.ndarray:
        """Rows ``first .. stop-1`` of one axis's upsampling matrix ``[stop - first, in_len]``: the
        resize by 1/factor keeps the first ``out_len`` rows, so a row depends on its index only."""
        return weight_rows(in_len, 1.0 / self.scale_factor, True, first, stop)


__all__ = ["Pyramid", "UPSAMPLE_PRECISIONS", "Upsampling", "compute_pyramid", "build_pyramid"]
