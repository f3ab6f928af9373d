"""Neural style transfer by optimising the image (Gatys, Ecker & Bethge, "Image Style Transfer Using
Convolutional Neural Networks", CVPR 2016): what ``ganzoo stylize --method gatys`` runs.

The output image x minimises alpha * L_content + beta * L_style over VGG-19 features (a frozen
:class:`~ganbase.nn.vgg.VGG19Encoder` from the user's weights): the content loss is half the summed
squared difference to the content image's ``relu4_2`` responses (Eq. 1), the style loss the
equally weighted (w_l = 1/5) Gram-matrix losses of Eq. 4 at ``relu1_1``, ``relu2_1``, ``relu3_1``,
``relu4_1``, ``relu5_1``; max pooling is replaced by average pooling (Sec. 2). The paper
initialises from white noise and uses L-BFGS with alpha/beta = 1e-3 (or 1e-4); those are the
defaults. ``init="content"`` starts from the content image (converges in far fewer steps) and
``optimizer="adam"`` is offered for memory-bound cases.

Simplifications: the pixels are optimised in the network's input space and clamped to [-1, 1]
after each step (the paper leaves the range unconstrained); the style image is resized to the
content image's size; ``preserve_color`` swaps luminance after the optimisation
(:func:`~ganbase.nn.style_transfer.preserve_color`) instead of optimising the luminance channel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm import tqdm

from ganbase.errors import UserError
from ganbase.io.images import load_image, save_image, to_tensor
from ganbase.nn.style_transfer import gram_matrix, gram_style_loss, preserve_color
from ganbase.nn.vgg import VGG19Encoder

CONTENT_LAYER = "relu4_2"
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
OPTIMIZERS = ("lbfgs", "adam")
INITS = ("noise", "content")


@dataclass(frozen=True)
class GatysConfig:
    """Settings of one optimisation; the defaults are the paper's (see module docstring)."""

    steps: int = 500
    content_weight: float = 1.0
    style_weight: float = 1e3
    optimizer: str = "lbfgs"
    lr: float = 0.0  # 0: 1.0 for L-BFGS (its step size), 0.02 for Adam (on [-1, 1] pixels)
    init: str = "noise"
    size: int = 512  # the longer side of the output
    preserve_color: bool = False
    seed: int = 0

    def validate(self) -> None:
        if self.steps < 1:
            raise UserError(f"--steps must be at least 1, got {self.steps}")
        if self.size < 16:
            raise UserError(f"--size must be at least 16, got {self.size}")
        if self.optimizer not in OPTIMIZERS:
            raise UserError(f"--optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.init not in INITS:
            raise UserError(f"--init must be one of {', '.join(INITS)}, got {self.init!r}")
        if min(self.content_weight, self.style_weight) < 0 or self.content_weight + self.style_weight <= 0:
            raise UserError("--content-weight and --style-weight must be >= 0, not both 0")
        if not self.lr >= 0:
            raise UserError(f"--lr must be > 0 (0: the optimizer's default), got {self.lr}")


def resize_longer_side(image: Tensor, size: int) -> Tensor:
    """``[1, 3, H, W]`` -> the same aspect ratio with the longer side ``size`` (antialiased bilinear)."""
    height, width = image.shape[-2:]
    scale = size / max(height, width)
    shape = (max(1, round(height * scale)), max(1, round(width * scale)))
    if shape == (height, width):
        return image
    return F.interpolate(image, size=shape, mode="bilinear", align_corners=False, antialias=True)


class GatysLoss:
    """alpha * L_content + beta * L_style against fixed content and style targets."""

    def __init__(self, encoder: VGG19Encoder, content: Tensor, style: Tensor) -> None:
        self.encoder = encoder
        with torch.no_grad():
            self.content_target = encoder(content, (CONTENT_LAYER,))[CONTENT_LAYER]
            style_features = encoder(style, STYLE_LAYERS)
            self.style_targets = {name: gram_matrix(style_features[name]) for name in STYLE_LAYERS}

    def __call__(self, image: Tensor) -> tuple[Tensor, Tensor]:
        """(content loss, style loss) of ``image``, unweighted."""
        features = self.encoder(image, (CONTENT_LAYER, *STYLE_LAYERS))
        content = 0.5 * (features[CONTENT_LAYER] - self.content_target).pow(2).sum()
        style = sum(gram_style_loss(features[name], self.style_targets[name]) for name in STYLE_LAYERS)
        return content, style / len(STYLE_LAYERS)


def stylize_gatys(encoder: VGG19Encoder, content: Tensor, style: Tensor, config: GatysConfig,
                  quiet: bool = False, on_step: Callable[[int, float, float], None] | None = None) -> Tensor:
    """Optimise an image with ``content``'s content and ``style``'s style (both ``[1, 3, H, W]`` in
    [-1, 1], any sizes); returns ``[1, 3, h, w]`` in [-1, 1] with the longer side ``config.size``.
    ``on_step(step, content_loss, style_loss)`` is called after every step (losses before it)."""
    config.validate()
    device = next(encoder.parameters()).device
    content = resize_longer_side(content.to(device), config.size)
    style = F.interpolate(style.to(device), size=content.shape[-2:], mode="bilinear", align_corners=False,
                          antialias=True)
    loss_of = GatysLoss(encoder, content, style)
    if config.init == "content":
        start = content.clone()
    else:
        noise = torch.randn(content.shape, generator=torch.Generator().manual_seed(config.seed))
        start = (noise * 0.5).clamp(-1, 1).to(device)
    image = start.requires_grad_(True)
    if config.optimizer == "lbfgs":
        optimizer: torch.optim.Optimizer = torch.optim.LBFGS([image], lr=config.lr or 1.0, max_iter=1,
                                                             history_size=50)
    else:
        optimizer = torch.optim.Adam([image], lr=config.lr or 0.02)
    last = {}

    def closure() -> Tensor:
        optimizer.zero_grad(set_to_none=True)
        content_loss, style_loss = loss_of(image)
        total = config.content_weight * content_loss + config.style_weight * style_loss
        total.backward()
        last.update(content=float(content_loss.detach()), style=float(style_loss.detach()))
        return total

    bar = tqdm(range(config.steps), disable=quiet, unit="step", desc="gatys", dynamic_ncols=True)
    for step in bar:
        optimizer.step(closure)
        with torch.no_grad():
            image.clamp_(-1, 1)
        if not all(math.isfinite(value) for value in last.values()):
            raise UserError(f"the loss became non-finite at step {step}; lower --lr or --style-weight")
        bar.set_postfix(content=f"{last['content']:.3g}", style=f"{last['style']:.3g}")
        if on_step is not None:
            on_step(step, last["content"], last["style"])
    result = image.detach()
    return preserve_color(result, content) if config.preserve_color else result


def stylize_file(content_path: Path, style_path: Path, out: Path, encoder: VGG19Encoder, config: GatysConfig,
                 quiet: bool = False) -> tuple[int, int]:
    """Read the two images, optimise, write ``out`` atomically (format from its suffix); returns
    the output (height, width)."""
    content = to_tensor(load_image(content_path)[0])
    style = to_tensor(load_image(style_path)[0])
    result = stylize_gatys(encoder, content, style, config, quiet)
    save_image(out, result)
    return tuple(result.shape[-2:])
