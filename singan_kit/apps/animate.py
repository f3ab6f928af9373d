"""Animation from a single image (Shaham et al. 2019, Sec. 4; official ``generate_gif``): a smooth
random walk in the noise maps of every scale from ``start_scale`` on.

Per scale, with ``z_opt`` the reconstruction noise (zero above the coarsest scale): start with
``z1 = 0.95 z_opt + 0.05 e`` and ``z2 = z_opt``; each frame draws fresh noise ``e`` and sets
``d = beta (z1 - z2) + (1 - beta) e``, ``z = alpha z_opt + (1 - alpha)(z1 + d)``, then shifts
``z2 <- z1 <- z``. ``beta`` is momentum (smoothness), ``alpha`` pulls back to the reconstruction.
Scales below ``start_scale`` follow the reconstruction path, keeping the global layout.
With ``loop`` the walk gets a linear correction so that the frame after the last is the first.
The official code retrains with min side 20 and noise padding for animation; here any trained
model is used as is.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch
from torch import Tensor

from ganbase.errors import UserError
from ganbase.io.checkpoint import atomic_write_bytes
from singan_kit.architectures.singan.model import GeneratorPyramid, scale_noise
from singan_kit.sample import default_batch_size

ANIMATION_FORMATS = (".gif", ".mp4")


def check_animation_path(path: str | os.PathLike) -> Path:
    """Refuse an unsupported suffix, or .mp4 without the ffmpeg plugin, before any work is done."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in ANIMATION_FORMATS:
        raise UserError(f"cannot write an animation as {path.name!r}: use a .gif or .mp4 file name")
    if suffix == ".mp4" and importlib.util.find_spec("imageio_ffmpeg") is None:
        raise UserError("writing .mp4 needs imageio's ffmpeg plugin: pip install imageio-ffmpeg "
                        "(or write a .gif)")
    return path


def noise_walk(z_opt: Tensor, scale: int, frames: int, alpha: float, beta: float,
               gen: torch.Generator, loop: bool = False) -> Tensor:
    """The walk ``[frames, 3, h, w]`` of one scale (see module doc); ``z_opt`` ``[1, 3, h, w]``."""
    size = tuple(z_opt.shape[-2:])

    def fresh() -> Tensor:
        return scale_noise(scale, 1, size, gen, z_opt.device)

    z1, z2 = 0.95 * z_opt + 0.05 * fresh(), z_opt
    steps = []
    for _ in range(frames + (1 if loop else 0)):
        diff = beta * (z1 - z2) + (1 - beta) * fresh()
        z = alpha * z_opt + (1 - alpha) * (z1 + diff)
        z2, z1 = z1, z
        steps.append(z)
    walk = torch.cat(steps)
    if loop:  # shift linearly so that step `frames` (one past the last frame) equals step 0
        weights = torch.arange(frames + 1, device=walk.device, dtype=walk.dtype).view(-1, 1, 1, 1) / frames
        walk = (walk + weights * (walk[:1] - walk[-1:]))[:frames]
    return walk


@torch.no_grad()
def animate(model: GeneratorPyramid, frames: int = 100, start_scale: int = 2, alpha: float = 0.1,
            beta: float = 0.9, seed: int = 0, loop: bool = False, batch_size: int | None = None,
            on_batch=None) -> Tensor:
    """``frames`` frames ``[F, 3, H, W]`` in [-1, 1] of a random walk around the training image,
    ``batch_size`` at a time (None: :func:`singan_kit.sample.default_batch_size`)."""
    finest = model.num_trained - 1
    if frames < 2:
        raise UserError(f"an animation needs at least 2 frames, got {frames}")
    if not 0 <= start_scale <= finest:
        raise UserError(f"start scale must be between 0 and {finest}, got {start_scale}")
    if not (0 <= alpha <= 1 and 0 <= beta <= 1):
        raise UserError(f"alpha and beta must be between 0 and 1, got alpha={alpha}, beta={beta}")
    gen = torch.Generator().manual_seed(seed)
    walks = {}
    for n in range(start_scale, finest + 1):
        z_opt = model.z_opt if n == 0 else torch.zeros((1, 3, *model.pyramid.sizes[n]), device=model.device)
        walks[n] = noise_walk(z_opt, n, frames, alpha, beta, gen, loop)
    base = model.reconstruction_input(start_scale)
    batch_size = batch_size or default_batch_size(model, model.pyramid.sizes)
    outputs = []
    for first in range(0, frames, batch_size):
        count = min(batch_size, frames - first)

        def noise_fn(scale: int, batch: int, size: tuple[int, int], first=first, count=count) -> Tensor:
            return walks[scale][first:first + count]

        outputs.append(model.inject(base.expand(count, -1, -1, -1), start_scale, noise_fn))
        if on_batch is not None:
            on_batch(count)
    return torch.cat(outputs).clamp_(-1.0, 1.0)


def write_animation(frames: np.ndarray, path: str | os.PathLike, fps: float = 10.0) -> Path:
    """Write ``uint8 [F, H, W, 3]`` frames as a looping GIF or an MP4, atomically."""
    path = check_animation_path(path)
    if fps <= 0:
        raise UserError(f"--fps must be > 0, got {fps}")
    if path.suffix.lower() == ".gif":
        data = iio.imwrite("<bytes>", frames, extension=".gif", duration=1000.0 / fps, loop=0)
        atomic_write_bytes(path, data)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".mp4", dir=path.parent)
    os.close(fd)
    try:
        iio.imwrite(tmp, frames, plugin="FFMPEG", fps=fps)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


__all__ = ["animate", "noise_walk", "write_animation", "check_animation_path"]
