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

Frames are made and written one batch at a time (issue 23): each scale's walk draws from its own
stream and keeps only its last two steps, so memory does not grow with the number of frames. At a
larger canvas (``sizes``, e.g. ``--size 1920x1080``) the reconstruction path is resized to it, as
for samples, and frames whose untiled estimate exceeds the sampler's ``UNTILED_BYTES`` run in exact
tiles (:mod:`singan_kit.tiling`) within a memory budget; tiled and untiled frames are equal up to
float rounding. GIFs are written frame by frame (one local palette per frame), MP4s through ffmpeg.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
import torch
from PIL import GifImagePlugin, Image
from torch import Tensor

from ganbase.errors import UserError
from ganbase.io.checkpoint import atomic_output
from ganbase.io.images import to_uint8
from ganbase.runtime.memory import available_memory
from singan_kit.architectures.singan.model import GeneratorPyramid, scale_noise, start_image
from singan_kit.imresize import imresize
from singan_kit.sample import UNTILED_BYTES, WORKING_MEMORY, default_batch_size, sample_bytes
from singan_kit.tiling import maps_source, plan_for, run_plan, tile_for_budget

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


def walk_seed(seed: int, scale: int) -> int:
    """Seed of the walk of ``scale`` in an animation seeded with ``seed``."""
    return int(np.random.SeedSequence([seed, scale, 0xA1]).generate_state(1)[0])


class NoiseWalk:
    """The walk of one scale (module doc), one step at a time, around ``z_opt`` ``[1, 3, h, w]``
    (None: zero, as above the coarsest scale) on a ``size`` (h, w) canvas. Only the last two steps
    are kept. With ``loop`` the ``frames`` steps get the linear correction that makes step
    ``frames`` equal step 0: the walk is run once ahead (drawing the same numbers) to find that step."""

    def __init__(self, z_opt: Tensor | None, scale: int, size: tuple[int, int], frames: int, alpha: float,
                 beta: float, seed: int, loop: bool = False, device: torch.device | str = "cpu") -> None:
        self.z_opt, self.scale, self.size, self.device = z_opt, scale, tuple(size), device
        self.alpha, self.beta, self.seed, self.correction = alpha, beta, seed, None
        if loop:
            self._restart()
            first = self._advance()
            for _ in range(frames):
                last = self._advance()
            self.correction = first.sub_(last).div_(frames)  # [1, 3, h, w], added t times at step t
            del last
        self._restart()

    def _restart(self) -> None:
        self.generator = torch.Generator().manual_seed(self.seed)
        self.z1 = 0.05 * self._fresh()  # [1, 3, h, w]
        if self.z_opt is None:
            self.z2 = torch.zeros_like(self.z1)
        else:
            self.z1.add_(self.z_opt, alpha=0.95)
            self.z2 = self.z_opt
        self.index = 0

    def _fresh(self) -> Tensor:
        return scale_noise(self.scale, 1, self.size, self.generator, self.device)

    def _advance(self) -> Tensor:
        # z = alpha z_opt + (1 - alpha)(z1 + d), d = beta (z1 - z2) + (1 - beta) e, computed in place
        # on the fresh noise so that a step allocates one map: (1 - alpha)((1 - beta) e + (1 + beta) z1 - beta z2)
        z = self._fresh().mul(1 - self.beta)  # [1, 3, h, w], a new map (the noise is broadcast at scale 0)
        z.add_(self.z1, alpha=1 + self.beta).sub_(self.z2, alpha=self.beta).mul_(1 - self.alpha)
        if self.z_opt is not None:
            z.add_(self.z_opt, alpha=self.alpha)
        self.z2, self.z1 = self.z1, z  # never changed in place from here on: steps may hand it out
        return z

    def steps(self, count: int) -> Tensor:
        """The next ``count`` steps ``[count, 3, h, w]``; not to be changed in place."""
        out = []
        for _ in range(count):
            z = self._advance()
            if self.correction is not None:
                z = z + self.index * self.correction
            self.index += 1
            out.append(z)
        return out[0] if count == 1 else torch.cat(out)


def noise_walk(z_opt: Tensor, scale: int, frames: int, alpha: float, beta: float, seed: int,
               loop: bool = False) -> Tensor:
    """The whole walk ``[frames, 3, h, w]`` of one scale (see module doc); ``z_opt`` ``[1, 3, h, w]``."""
    return NoiseWalk(z_opt, scale, tuple(z_opt.shape[-2:]), frames, alpha, beta, seed, loop,
                     z_opt.device).steps(frames)


def walk_bytes(sizes: Sequence[tuple[int, int]], start_scale: int, batch: int, loop: bool = False) -> int:
    """Bytes the walks of all scales hold at their peak (float32): per scale the last two steps and
    the step being made, a batch of steps when more than one, ``z_opt`` at the coarsest scale and
    the loop correction (with its corrected step)."""
    maps = 3 + (batch if batch > 1 else 0) + 2 * loop
    return sum(4 * 3 * h * w * (maps + (n == 0)) for n, (h, w) in enumerate(sizes) if n >= start_scale)


def _check(model: GeneratorPyramid, frames: int, start_scale: int, alpha: float, beta: float) -> None:
    finest = model.num_trained - 1
    if frames < 2:
        raise UserError(f"an animation needs at least 2 frames, got {frames}")
    if not 0 <= start_scale <= finest:
        raise UserError(f"start scale must be between 0 and {finest}, got {start_scale}")
    if not (0 <= alpha <= 1 and 0 <= beta <= 1):
        raise UserError(f"alpha and beta must be between 0 and 1, got alpha={alpha}, beta={beta}")


@torch.no_grad()
def animation_batches(model: GeneratorPyramid, frames: int = 100, start_scale: int = 2, alpha: float = 0.1,
                      beta: float = 0.9, seed: int = 0, loop: bool = False, batch_size: int | None = None,
                      sizes: Sequence[tuple[int, int]] | None = None, max_memory: int | None = None,
                      tiled: bool | None = None) -> Iterator[Tensor]:
    """Frames ``[b, 3, H, W]`` in [-1, 1], ``batch_size`` at a time (None: the sampler's default, 1
    in tiles), everything checked before the first. ``sizes``: per-scale sizes of a larger (or
    smaller) canvas, e.g. from :func:`singan_kit.tiling.sizes_for_size`. ``tiled``: None tiles when
    a batch's untiled estimate with the walks exceeds ``UNTILED_BYTES`` or ``max_memory``; the tiles
    fit ``max_memory`` bytes (None: ``WORKING_MEMORY`` or what is available) less what the walks hold."""
    _check(model, frames, start_scale, alpha, beta)
    finest = model.num_trained - 1
    sizes = [tuple(s) for s in (sizes or model.pyramid.sizes)][:finest + 1]
    walks_held = walk_bytes(sizes, start_scale, batch_size or 1, loop)
    if tiled is None:  # tiles when the untiled batch would not fit the working limit or the budget
        limit = UNTILED_BYTES if max_memory is None else min(UNTILED_BYTES, max_memory)
        tiled = sample_bytes(model, sizes, batch_size or 1) + walks_held > limit
    if tiled:
        batch_size = batch_size or 1  # the batch walks_held counted
        if max_memory is None:  # the walks cannot be tiled: the working memory is for the tiles
            max_memory = min(available_memory(model.device), WORKING_MEMORY + walks_held)
        room = max_memory - walks_held
        if room <= 0:
            raise UserError(f"the noise walks of a {sizes[-1][1]}x{sizes[-1][0]} px animation alone need "
                            f"{walks_held / 2**30:.2f} GB, more than the {max_memory / 2**30:.2f} GB allowed; "
                            "raise --max-memory or ask for a smaller size")
        plan = plan_for(model, sizes, start_scale)
        tile = tile_for_budget(plan, batch_size, room)
    else:
        batch_size = batch_size or default_batch_size(model, sizes)
        base = start_image(model, sizes, start_scale)  # the reconstruction path's input at sizes [1, 3, h, w]
    walks = []
    for n in range(start_scale, finest + 1):
        z_opt = None
        if n == 0:
            z_opt = model.z_opt if tuple(model.z_opt.shape[-2:]) == sizes[0] else imresize(model.z_opt, size=sizes[0])
        walks.append(NoiseWalk(z_opt, n, sizes[n], frames, alpha, beta, walk_seed(seed, n), loop, model.device))

    def batches() -> Iterator[Tensor]:
        for first in range(0, frames, batch_size):
            count = min(batch_size, frames - first)
            steps = [walk.steps(count) for walk in walks]  # per scale [count, 3, h, w]
            if tiled:
                yield run_plan(plan, maps_source(steps), count, tile, model.device)
            else:
                def noise_fn(scale: int, batch: int, size: tuple[int, int], steps=steps) -> Tensor:
                    return steps[scale - start_scale]

                out = model.inject(base.expand(count, -1, -1, -1), start_scale, noise_fn, sizes)
                yield out.clamp_(-1.0, 1.0)

    return batches()


def animate(model: GeneratorPyramid, frames: int = 100, start_scale: int = 2, alpha: float = 0.1,
            beta: float = 0.9, seed: int = 0, loop: bool = False, batch_size: int | None = None,
            on_batch=None, sizes: Sequence[tuple[int, int]] | None = None, max_memory: int | None = None,
            tiled: bool | None = None) -> Tensor:
    """All ``frames`` frames ``[F, 3, H, W]`` in [-1, 1] of :func:`animation_batches` at once."""
    outputs = []
    for batch in animation_batches(model, frames, start_scale, alpha, beta, seed, loop, batch_size, sizes,
                                   max_memory, tiled):
        outputs.append(batch)
        if on_batch is not None:
            on_batch(len(batch))
    return torch.cat(outputs)


def uint8_frames(batches: Iterable[Tensor], on_batch=None) -> Iterator[np.ndarray]:
    """``uint8 [H, W, 3]`` frames of ``[b, 3, H, W]`` batches, one batch converted at a time."""
    for batch in batches:
        yield from to_uint8(batch)
        if on_batch is not None:
            on_batch(len(batch))


def write_animation(frames: Iterable[np.ndarray], path: str | os.PathLike, fps: float = 10.0) -> Path:
    """Write ``uint8 [H, W, 3]`` frames (an array ``[F, H, W, 3]`` or any iterable, consumed one
    frame at a time) as a looping GIF or an MP4, atomically (a temporary file renamed at the end)."""
    path = check_animation_path(path)
    if fps <= 0:
        raise UserError(f"--fps must be > 0, got {fps}")
    with atomic_output(path) as tmp:
        if path.suffix.lower() == ".gif":
            _write_gif(frames, tmp, fps)
        else:
            _write_mp4(frames, tmp, fps)
    return path


def _write_gif(frames: Iterable[np.ndarray], path: str, fps: float) -> None:
    """A looping GIF written frame by frame, each frame with its own adaptive 256-colour palette
    (Pillow's encoder, fed one frame at a time instead of holding them all)."""
    duration = round(1000.0 / fps)
    with open(path, "wb") as fp:
        for index, frame in enumerate(frames):
            image = Image.fromarray(np.ascontiguousarray(frame)).convert("P", palette=Image.Palette.ADAPTIVE)
            if index == 0:
                header, _ = GifImagePlugin.getheader(image, info={"loop": 0, "duration": duration})
                fp.writelines(header)
            fp.writelines(GifImagePlugin.getdata(image, duration=duration, include_color_table=True))
            fp.flush()  # on disk now: a crash or a full disk shows at the frame, not after the last one
        fp.write(b";")  # GIF trailer


def _write_mp4(frames: Iterable[np.ndarray], path: str, fps: float) -> None:
    """An H.264 MP4 through imageio's ffmpeg plugin, frames piped one at a time (ffmpeg scales each
    side up to a multiple of 16, as imageio does)."""
    import imageio_ffmpeg

    writer = None
    for frame in frames:
        frame = np.ascontiguousarray(frame)
        if writer is None:
            writer = imageio_ffmpeg.write_frames(path, (frame.shape[1], frame.shape[0]), fps=fps,
                                                 output_params=["-f", "mp4"], macro_block_size=16)
            writer.send(None)  # start ffmpeg
        writer.send(frame)
    if writer is not None:
        writer.close()


__all__ = ["animate", "animation_batches", "noise_walk", "NoiseWalk", "uint8_frames", "walk_bytes", "walk_seed",
           "write_animation", "check_animation_path"]
