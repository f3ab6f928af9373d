"""SinGAN's per-scale generator and the trained multi-scale model (inference only).

Generator of scale n (Shaham et al. 2019, Sec. 2.1): ``x_n = x_up + g_n(z_n + x_up)`` where
``x_up`` is the previous scale's output upsampled to this scale and ``g_n`` is a fully
convolutional net of 5 Conv3x3-BN-LeakyReLU(0.2) blocks (the last one a conv to 3 channels and
tanh). The nets use no padding; the input is zero-padded once by 5 px, so the output has the
input's size. At the coarsest scale ``x_up`` is zero and the noise is one channel broadcast to
three. This module never imports training code.
"""

from __future__ import annotations

from functools import partial
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganbase.errors import UserError
from ganbase.io.checkpoint import check_state_dict
from ganbase.nn.blocks import ConvBlock, init_dcgan_weights
from singan_kit.architectures.base import CanvasPlan, CanvasStage, sample_streams
from singan_kit.architectures.singan.config import SinGANConfig, filters_at_scale
from singan_kit.imresize import imresize
from singan_kit.pyramid import Pyramid, Upsampling

# noise_fn(scale, batch, (height, width)) -> noise [batch, 3, height, width] on the model's device
NoiseFn = Callable[[int, int, tuple[int, int]], Tensor]

class ScaleGenerator(nn.Module):
    """One scale's generator: residual refinement of the upsampled previous image."""

    def __init__(self, num_filters: int, num_layers: int = 5, kernel_size: int = 3,
                 image_channels: int = 3) -> None:
        super().__init__()
        blocks = [ConvBlock(image_channels, num_filters, kernel_size)]
        blocks += [ConvBlock(num_filters, num_filters, kernel_size) for _ in range(num_layers - 2)]
        self.body = nn.Sequential(*blocks)
        self.tail = nn.Sequential(nn.Conv2d(num_filters, image_channels, kernel_size), nn.Tanh())
        self.padding = num_layers * (kernel_size - 1) // 2
        self.apply(init_dcgan_weights)

    def forward(self, noise: Tensor, prev: Tensor) -> Tensor:
        """``noise`` (already scaled by the noise amplitude) and ``prev``: ``[N, 3, H, W]``."""
        padded = F.pad(noise + prev, [self.padding] * 4)  # [N, 3, H + 2p, W + 2p]
        return self.tail(self.body(padded)) + prev  # [N, 3, H, W]


def make_generator(scale: int, config: SinGANConfig) -> ScaleGenerator:
    filters = filters_at_scale(scale, config.num_filters, config.max_filters, config.filters_double_every)
    return ScaleGenerator(filters, config.num_layers, config.kernel_size)


def scale_noise(scale: int, batch: int, size: tuple[int, int], generator: torch.Generator | None = None,
                device: torch.device | str = "cpu") -> Tensor:
    """Gaussian noise ``[batch, 3, h, w]``; one channel broadcast to three at the coarsest scale."""
    channels = 1 if scale == 0 else 3
    noise = torch.randn((batch, channels, *size), generator=generator)
    return to_device(noise, device).expand(batch, 3, *size)


def to_device(tensor: Tensor, device: torch.device | str) -> Tensor:
    """Move a CPU tensor to ``device``; to CUDA through pinned memory, without waiting for the GPU."""
    device = torch.device(device)
    if device.type != "cuda":
        return tensor.to(device)
    return tensor.pin_memory().to(device, non_blocking=True)


def run_scales(generators: Sequence[nn.Module], noise_amps: Sequence[float], upsampling: Upsampling,
               prev: Tensor, start: int, sizes: Sequence[tuple[int, int]], noise_fn: NoiseFn,
               stop: int | None = None) -> Tensor:
    """Run generators ``start .. stop-1`` on ``prev`` (the input image of scale ``start``).

    ``sizes[n]`` is the output size of scale n; ``prev`` must have size ``sizes[start]``;
    ``upsampling`` brings each output to the next scale. Returns
    the output of scale ``stop - 1`` ``[N, 3, h, w]``. Shared by sampling, training's random
    path and every application that injects an image at a scale.
    """
    stop = len(generators) if stop is None else stop
    image = prev
    for n in range(start, stop):
        if n > start:
            image = upsampling(image, sizes[n])
        noise = noise_fn(n, image.shape[0], tuple(sizes[n]))
        image = generators[n](noise_amps[n] * noise + image, image)
    return image


class GeneratorPyramid(nn.Module):
    """A trained (or partly trained) SinGAN: the generators of every scale, their noise amplitudes,
    the reconstruction noise and the training pyramid. The user-facing API is :class:`singan_kit.SinGAN`."""

    def __init__(self, config: SinGANConfig, pyramid: Pyramid, reals: Sequence[Tensor],
                 noise_amps: Sequence[float], z_opt: Tensor) -> None:
        super().__init__()
        self.config = config
        self.pyramid = pyramid
        self.generators = nn.ModuleList(make_generator(n, config) for n in range(len(noise_amps)))
        self.noise_amps = list(noise_amps)
        self.register_buffer("z_opt", z_opt)  # [1, 3, h0, w0] reconstruction noise of scale 0
        for n, real in enumerate(reals):
            self.register_buffer(f"real_{n}", real)  # [1, 3, h_n, w_n] in [-1, 1]
        self._reconstructions: list[Tensor] | None = None

    @property
    def num_trained(self) -> int:
        return len(self.generators)

    @property
    def reals(self) -> list[Tensor]:
        return [getattr(self, f"real_{n}") for n in range(self.pyramid.num_scales)]

    @property
    def device(self) -> torch.device:
        return self.z_opt.device

    @property
    def upsampling(self) -> Upsampling:
        """How an output becomes the next scale's input (the pyramid's factor, the config's precision)."""
        return Upsampling(self.pyramid.scale_factor, self.config.upsample_precision)

    def _apply(self, fn, *args, **kwargs):
        self.forget_reconstructions()  # cached on the old device
        return super()._apply(fn, *args, **kwargs)

    def forget_reconstructions(self) -> None:
        """Drop the cached reconstruction path; call it after changing a trained generator's weights."""
        self._reconstructions = None

    @torch.no_grad()
    def reconstructions(self) -> list[Tensor]:
        """Outputs of the reconstruction path (fixed noise ``z_opt``, zero at finer scales).

        Computed once and extended as scales are added, never recomputed per training step.
        """
        if self._reconstructions is None or len(self._reconstructions) > self.num_trained:
            self._reconstructions = []
        outputs = self._reconstructions
        sizes = self.pyramid.sizes
        for n in range(len(outputs), self.num_trained):
            if n == 0:
                image = self.generators[0](self.noise_amps[0] * self.z_opt, torch.zeros_like(self.z_opt))
            else:
                prev = self.upsampling(outputs[n - 1], sizes[n])
                image = self.generators[n](prev, prev)  # z_opt is zero above the coarsest scale
            outputs.append(image)
        return outputs

    def reconstruction_input(self, scale: int) -> Tensor:
        """The image the reconstruction path feeds into ``scale`` (zero at scale 0)."""
        if scale == 0:
            return torch.zeros_like(self.z_opt)
        return self.upsampling(self.reconstructions()[scale - 1], self.pyramid.sizes[scale])

    def sizes_for(self, scale_h: float = 1.0, scale_w: float = 1.0) -> list[tuple[int, int]]:
        """Per-scale output sizes when the result is ``scale_h`` x taller, ``scale_w`` x wider."""
        return [(max(1, round(h * scale_h)), max(1, round(w * scale_w))) for h, w in self.pyramid.sizes]

    @torch.no_grad()
    def random_input(self, scale: int, count: int, noise_fn: NoiseFn, batch_size: int | None = None) -> Tensor:
        """Inputs ``[count, 3, h, w]`` of ``scale`` on random paths: the coarser scales run on fresh
        noise from an empty image and the result is upsampled (zero at scale 0).

        With ``batch_size`` below ``count`` the generators run ``batch_size`` images at a time, on
        noise drawn for all ``count`` first, in the order one batch would draw it, so the random
        numbers are the same either way."""
        sizes = self.pyramid.sizes
        if scale == 0:
            return torch.zeros((count, 3, *sizes[0]), device=self.device)
        if batch_size is not None and batch_size < count:
            noises = [noise_fn(n, count, tuple(sizes[n])) for n in range(scale)]  # [count, 3, h_n, w_n]
            return torch.cat([self.random_input(scale, min(batch_size, count - first),
                                                lambda n, b, s, first=first: noises[n][first:first + b])
                              for first in range(0, count, batch_size)])
        empty = torch.zeros((count, 3, *sizes[0]), device=self.device)
        coarse = run_scales(self.generators, self.noise_amps, self.upsampling, empty, 0, sizes, noise_fn, stop=scale)
        return self.upsampling(coarse, sizes[scale])

    @torch.no_grad()
    def inject(self, image: Tensor, start: int, noise_fn: NoiseFn,
               sizes: Sequence[tuple[int, int]] | None = None, stop: int | None = None) -> Tensor:
        """Run the generators from scale ``start`` to the finest (or to ``stop - 1``) on ``image``,
        the input of scale ``start``. Sampling and every application go through here."""
        sizes = list(sizes or self.pyramid.sizes)
        return run_scales(self.generators, self.noise_amps, self.upsampling, image, start, sizes, noise_fn, stop=stop)


def batched_noise(streams: Sequence[torch.Generator], device: torch.device) -> NoiseFn:
    """Noise for one output per random stream, each drawn on the CPU from its own stream."""
    def noise_fn(scale: int, batch: int, size: tuple[int, int]) -> Tensor:
        noise = torch.cat([scale_noise(scale, 1, size, g) for g in streams])
        return to_device(noise, device)  # one transfer for the batch
    return noise_fn


def seeded_noise(seed: int, count: int, device: torch.device, first_index: int = 0) -> NoiseFn:
    """Noise for ``count`` outputs, output i drawn from its own stream ``(seed, first_index + i)``."""
    return batched_noise(sample_streams(seed, count, first_index), device)


def sample_batch(model: GeneratorPyramid, streams: Sequence[torch.Generator], sizes: Sequence[tuple[int, int]],
                 start_scale: int) -> Tensor:
    """One sample per stream ``[len(streams), 3, h, w]``: fresh noise from ``start_scale`` on, the
    reconstruction path below it (resized to ``sizes`` when they differ from the training sizes)."""
    prev = start_image(model, sizes, start_scale).expand(len(streams), -1, -1, -1)
    return model.inject(prev, start_scale, batched_noise(streams, model.device), sizes)


def start_image(model: GeneratorPyramid, sizes: Sequence[tuple[int, int]], start_scale: int) -> Tensor:
    """The input ``[1, 3, h, w]`` of ``start_scale`` when sampling at ``sizes``: zero at scale 0,
    else the reconstruction path resized to ``sizes[start_scale]``."""
    if start_scale == 0:
        return torch.zeros((1, 3, *sizes[0]), device=model.device)
    base = model.reconstruction_input(start_scale)
    if tuple(base.shape[-2:]) != tuple(sizes[start_scale]):
        base = imresize(base, size=tuple(sizes[start_scale]))
    return base


def local_scale(generator: ScaleGenerator, noise_amp: float, noise: Tensor, image: Tensor) -> Tensor:
    """One scale on a tile grown by the generator's padding p (zero outside the canvas), exactly as
    :func:`run_scales` + :meth:`ScaleGenerator.forward` compute it on the whole canvas:
    ``noise [b, 1 or 3, h + 2p, w + 2p]``, ``image [b, 3, h + 2p, w + 2p]`` -> ``[b, 3, h, w]``."""
    p = generator.padding
    z_in = noise_amp * noise.expand_as(image) + image  # what run_scales passes as the generator's noise
    inner = image[..., p:image.shape[-2] - p, p:image.shape[-1] - p]
    return generator.tail(generator.body(z_in + image)) + inner


def canvas_plan(model: GeneratorPyramid, sizes: Sequence[tuple[int, int]], start_scale: int) -> CanvasPlan:
    """SinGAN's scales from ``start_scale`` on as local operators (tiled sampling): each generator
    sees its input within its padding (5 px for 5 layers of 3x3); the upsampling between scales is
    the bicubic resize of :attr:`GeneratorPyramid.upsampling`, taken a band of rows at a time, with
    its pointwise maps before and after."""
    upsampling = model.upsampling
    stages = []
    for n in range(start_scale, model.num_trained):
        generator = model.generators[n]
        stages.append(CanvasStage(
            size=tuple(sizes[n]), noise_channels=1 if n == 0 else 3, halo=generator.padding,
            filters=max(m.out_channels for m in generator.modules() if isinstance(m, nn.Conv2d)),
            apply=partial(local_scale, generator, model.noise_amps[n]),
            upsample=None if n == start_scale else upsampling.rows,
            before_upsample=upsampling.before_resize, after_upsample=upsampling.after_resize))
    return CanvasPlan(start_image(model, sizes, start_scale), tuple(stages))


def scale_sample(model: GeneratorPyramid, scale: int, seed: int) -> Tensor:
    """One random sample at ``scale`` ``[1, 3, h, w]``: the random path from scale 0 to ``scale``."""
    empty = torch.zeros((1, 3, *model.pyramid.sizes[0]), device=model.device)
    return model.inject(empty, 0, seeded_noise(seed, 1, model.device), stop=scale + 1).clamp(-1, 1)


def scale_reconstruction(model: GeneratorPyramid, scale: int) -> Tensor:
    """The reconstruction at ``scale`` ``[1, 3, h, w]`` (the fixed noise ``z_opt``)."""
    return model.reconstructions()[scale].clamp(-1, 1)


def model_from_tensors(meta: dict, reals: list[Tensor], weights: dict[str, Tensor], source: str) -> GeneratorPyramid:
    """The model of a run folder from its tensors (``g<n>.*`` per scale and ``z_opt``); mismatches
    with config.json become one-line UserErrors naming ``source``."""
    pyramid: Pyramid = meta["pyramid"]
    if meta["scales_done"] == 0:
        return GeneratorPyramid(meta["config"], pyramid, reals, [], torch.zeros_like(reals[0]))
    if "z_opt" not in weights:
        raise UserError(f"corrupt {source}: no z_opt")
    if weights["z_opt"].shape != reals[0].shape:  # the coarsest scale's reconstruction noise
        raise UserError(f"corrupt {source}: z_opt has shape {list(weights['z_opt'].shape)}, expected "
                        f"{list(reals[0].shape)} (scale 0 of config.json)")
    model = GeneratorPyramid(meta["config"], pyramid, reals, meta["noise_amps"], weights["z_opt"])
    for n, generator in enumerate(model.generators):
        prefix = f"g{n}."
        state = {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}
        check_state_dict(generator.state_dict(), state, source, f"scale {n} of the model in config.json")
        generator.load_state_dict(state)
    return model
