"""Shared base of the image-to-image translation models (pix2pix, Isola et al. 2017; CycleGAN, Zhu
et al. 2017; StarGAN, Choi et al. 2018) and CycleGAN's image pool (Shrivastava et al. 2017).

A translation model maps source images to target images instead of sampling from noise. Its
inference side is ``translate(images, reverse=False, domains=None)``; ``ganzoo translate`` pads
inputs to a multiple of ``size_multiple`` and crops the outputs back. Progress grids show fixed
real inputs next to their translations. Training helpers: ``frozen`` stops gradients into a
discriminator during a generator update (saving its backward pass, as the papers' code does).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from torch import Tensor, nn

from ganbase.errors import UserError
from ganbase.zoo.models.base import Batch, ModelConfig, ZooModel

PREVIEW_ROWS = 8


def gray_to_rgb(images: Tensor) -> Tensor:
    """Repeat a single channel three times so grids can mix gray and colour images."""
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


@contextmanager
def frozen(module: nn.Module) -> Iterator[None]:
    """No parameter gradients for ``module`` inside the block (inputs still get gradients)."""
    module.requires_grad_(False)
    try:
        yield
    finally:
        module.requires_grad_(True)


class TranslationModel(ZooModel):
    """Base of the translation models: no latent space; ``translate`` is the inference API."""

    default_batch_size = 1
    default_lr_schedule = "hold-linear"  # the papers' code: constant, then linear decay to 0

    @property
    def size_multiple(self) -> int:
        """Input heights and widths must be multiples of this."""
        raise NotImplementedError

    @property
    def bidirectional(self) -> bool:
        """Whether ``translate(..., reverse=True)`` maps target images back to the source domain."""
        return False

    def translate(self, images: Tensor, reverse: bool = False, domains: Tensor | None = None) -> Tensor:
        """Translate ``[N, C, H, W]`` images in [-1, 1]; ``domains`` ``[N, D]`` for StarGAN."""
        raise NotImplementedError

    def check_input(self, images: Tensor, channels: int) -> None:
        if images.dim() != 4 or images.shape[1] != channels:
            raise UserError(f"model {self.name!r} expects {channels}-channel images, got shape "
                            f"{tuple(images.shape)}")
        height, width = images.shape[-2:]
        if height % self.size_multiple or width % self.size_multiple:
            raise UserError(f"model {self.name!r} needs heights and widths that are multiples of "
                            f"{self.size_multiple}, got {height}x{width}")

    # ----- progress grids ------------------------------------------------------------------
    def preview_inputs(self, grid_size: int, batch: Batch, generator: torch.Generator) -> Batch:
        rows = min(PREVIEW_ROWS, batch.data.shape[0])

        def head(tensor: Tensor | None) -> Tensor | None:
            return None if tensor is None else tensor[:rows]

        return Batch(batch.data[:rows], head(batch.labels), head(batch.target))

    def preview(self, inputs: Batch) -> tuple[Tensor, int | None]:
        """Rows of (input | translation [| target]); subclasses add columns."""
        columns = [inputs.data, self.translate(inputs.data)]
        if inputs.target is not None:
            columns.append(inputs.target)
        return interleave(columns), len(columns)

    # ----- no sampling from noise ----------------------------------------------------------
    def sample_latent(self, num: int, generator: torch.Generator | None = None) -> Tensor:
        raise UserError(f"model {self.name!r} translates images and has no latent space; "
                        f"use `ganzoo translate RUN INPUT --out DIR`")


def interleave(columns: list[Tensor]) -> Tensor:
    """``[N, C, H, W]`` tensors -> one ``[N * len(columns), 3, H, W]`` tensor, row by row."""
    stacked = torch.stack([gray_to_rgb(c.float()) for c in columns], 1)
    return stacked.flatten(0, 1)


class ImagePool(nn.Module):
    """History of generated images for discriminator updates (CycleGAN section 4, after
    Shrivastava et al. 2017): until full, images pass through and are stored; then each image is,
    with probability 1/2, swapped for a random stored one (which it replaces), else passed as is.

    The history is a buffer, so checkpoints keep it and a resumed run continues bit for bit.
    Random choices use torch's global generator (which checkpoints also keep).
    """

    def __init__(self, size: int, image_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.size = size
        self.register_buffer("images", torch.zeros(size, *image_shape))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def query(self, images: Tensor) -> Tensor:
        if self.size == 0 or images.shape[1:] != self.images.shape[1:]:
            return images.detach()
        out = []
        for image in images.detach():
            count = int(self.count)
            if count < self.size:
                self.images[count] = image
                self.count += 1
                out.append(image)
            elif torch.rand(()) < 0.5:
                slot = int(torch.randint(0, self.size, ()))
                out.append(self.images[slot].clone())
                self.images[slot] = image
            else:
                out.append(image)
        return torch.stack(out)


def check_translation_config(name: str, config: ModelConfig) -> tuple[int, int]:
    """(channels, size) of square image data for a translation model."""
    if len(config.data_shape) != 3 or config.data_shape[1] != config.data_shape[2]:
        raise UserError(f"model {name!r} needs square image data, got shape {config.data_shape}")
    return config.data_shape[0], config.data_shape[1]
