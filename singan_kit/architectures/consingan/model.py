"""ConSinGAN's rescaled pyramid, its growing generator and critic, and the trained model (inference).

ConSinGAN (Hinz et al., "Improved Techniques for Training Single-Image GANs", WACV 2021; official
code tohinz/ConSinGAN, ``models.py`` and ``functions.py``, generation mode):

- Pyramid: the finest stage is the image with its longer side fitted into ``max_size``; with
  ``S = num_stages - 1`` and ``factor = (min_size / shorter side) ** (1 / S)``, stage n is the
  finest image resized by ``factor ** e_n`` (:func:`~singan_kit.architectures.consingan.config.stage_exponents`),
  which puts more stages at the low resolutions than SinGAN's geometric rule.
- Generator: one network for all stages. A head (zero-pad 1, Conv3x3 to C filters, LeakyReLU)
  turns the 3-channel noise of stage 0 into features, which are upsampled bicubically by 2 px
  (more variation at the borders), zero-padded and refined by stage 0's block of ``num_layers``
  unpadded Conv3x3-LeakyReLU layers. Every further stage n upsamples the features bicubically to
  its size plus a margin of ``num_layers`` px per side, adds its own noise (C channels) times its
  amplitude, applies its block and adds the features upsampled to its size (a residual). A tail
  (zero-pad 1, Conv3x3 to 3 channels, tanh) turns the last features into the image. A new stage's
  block starts as a copy of the previous one.
- Critic: head + ``num_layers`` blocks + a Conv3x3 to one score channel, unpadded, LeakyReLU, no
  normalisation (the same every stage; each stage starts from the previous stage's weights).
- Reconstruction: the fixed "noise" of stage 0 is the real coarsest image itself; every further
  stage has a fixed Gaussian map scaled by its amplitude (0.1 x RMSE of the reconstruction
  against the real image when the stage was added).

Samples of any size come from noise maps of that size. This module never imports training code.
"""

from __future__ import annotations

import copy
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganbase.errors import UserError
from ganbase.nn.blocks import ConvBlock, init_dcgan_weights
from singan_kit.architectures.base import sample_streams
from singan_kit.architectures.consingan.config import ConSinGANConfig, stage_exponents
from singan_kit.imresize import ceil_size, imresize
from singan_kit.pyramid import Pyramid, fit_finest_size

IMAGE_CHANNELS = 3


def compute_stage_pyramid(height: int, width: int, num_stages: int, min_size: int = 25,
                          max_size: int = 250) -> Pyramid:
    """Stage sizes for an image of ``height x width`` pixels (ConSinGAN's rule, see module doc).

    Sizes round up as MATLAB's ``imresize`` does, tolerant to float round-off, so the coarsest
    stage's shorter side is exactly ``min_size`` (the official code sometimes gets ``min_size + 1``).
    """
    resize_factor, fine_h, fine_w = fit_finest_size(height, width, min_size, max_size)
    factor = (min_size / min(fine_h, fine_w)) ** (1.0 / (num_stages - 1))
    sizes = tuple((ceil_size(fine_h, factor**e), ceil_size(fine_w, factor**e)) for e in stage_exponents(num_stages))
    return Pyramid((height, width), resize_factor, factor, sizes)


def build_stage_pyramid(image: Tensor, pyramid: Pyramid) -> list[Tensor]:
    """Images ``[1, C, h_n, w_n]`` of every stage, coarse to fine, clamped to ``[-1, 1]``; each
    stage is resized from the finest image, as in the official code."""
    if tuple(image.shape[-2:]) != tuple(pyramid.input_size):
        raise ValueError(f"image is {tuple(image.shape[-2:])}, pyramid expects {pyramid.input_size}")
    finest = imresize(image, scale=pyramid.resize_factor, size=pyramid.finest_size)
    levels = []
    for size, exponent in zip(pyramid.sizes, stage_exponents(pyramid.num_scales)):
        level = finest if exponent == 0 else imresize(finest, scale=pyramid.scale_factor**exponent, size=size)
        levels.append(level.clamp(-1.0, 1.0).contiguous())
    return levels


def _resize_features(features: Tensor, size: tuple[int, int]) -> Tensor:
    return F.interpolate(features, size=size, mode="bicubic", align_corners=True)


class ConSinGANGenerator(nn.Module):
    """The growing generator: ``head``, one ``body`` block per stage, ``tail``."""

    def __init__(self, num_filters: int = 64, num_layers: int = 3, negative_slope: float = 0.05,
                 num_stages: int = 1) -> None:
        super().__init__()
        self.num_layers = num_layers
        self.head = ConvBlock(IMAGE_CHANNELS, num_filters, 3, negative_slope=negative_slope, batch_norm=False)
        block = nn.Sequential(*[ConvBlock(num_filters, num_filters, 3, negative_slope=negative_slope,
                                          batch_norm=False) for _ in range(num_layers)])
        self.body = nn.ModuleList([block])
        self.tail = nn.Sequential(nn.Conv2d(num_filters, IMAGE_CHANNELS, 3), nn.Tanh())
        self.apply(init_dcgan_weights)
        for _ in range(num_stages - 1):
            self.add_stage()

    @property
    def num_stages(self) -> int:
        return len(self.body)

    def add_stage(self) -> None:
        """Grow by one stage whose block starts as a copy of the newest block."""
        self.body.append(copy.deepcopy(self.body[-1]))

    def forward(self, noise: Sequence[Tensor], noise_amps: Sequence[float],
                sizes: Sequence[tuple[int, int]]) -> Tensor:
        """Run the first ``len(noise)`` stages; returns ``[N, 3, h, w]`` at ``sizes[len(noise) - 1]``.

        ``noise[0]``: ``[N, 3, h0, w0]``; ``noise[n]``: ``[N, C, h_n + 2m, w_n + 2m]`` with the margin
        ``m = num_layers`` (what stage n's unpadded block eats); ``noise_amps[n]`` scales ``noise[n]``.
        """
        margin = self.num_layers
        features = self.head(F.pad(noise[0], [1] * 4))  # [N, C, h0, w0]
        height, width = features.shape[-2:]
        features = _resize_features(features, (height + 2, width + 2))
        features = self.body[0](F.pad(features, [margin - 1] * 4))  # [N, C, h0, w0]
        for stage in range(1, len(noise)):
            height, width = sizes[stage]
            upsampled = _resize_features(features, (height, width))  # [N, C, h, w]
            padded = _resize_features(features, (height + 2 * margin, width + 2 * margin))
            features = self.body[stage](padded + noise_amps[stage] * noise[stage]) + upsampled
        return self.tail(F.pad(features, [1] * 4))  # [N, 3, h, w]


class ConSinGANDiscriminator(nn.Module):
    """The patch critic: ``num_layers + 2`` unpadded Conv3x3 layers, the last to one score map."""

    def __init__(self, num_filters: int = 64, num_layers: int = 3, negative_slope: float = 0.05) -> None:
        super().__init__()
        self.head = ConvBlock(IMAGE_CHANNELS, num_filters, 3, negative_slope=negative_slope, batch_norm=False)
        self.body = nn.Sequential(*[ConvBlock(num_filters, num_filters, 3, negative_slope=negative_slope,
                                              batch_norm=False) for _ in range(num_layers)])
        self.tail = nn.Conv2d(num_filters, 1, 3)
        self.apply(init_dcgan_weights)

    def forward(self, images: Tensor) -> Tensor:
        return self.tail(self.body(self.head(images)))  # [N, 1, H - 2(L + 2), W - 2(L + 2)]


def make_generator(config: ConSinGANConfig, num_stages: int = 1) -> ConSinGANGenerator:
    return ConSinGANGenerator(config.num_filters, config.num_layers, config.negative_slope, num_stages)


def make_discriminator(config: ConSinGANConfig) -> ConSinGANDiscriminator:
    return ConSinGANDiscriminator(config.num_filters, config.num_layers, config.negative_slope)


def noise_shapes(config: ConSinGANConfig, sizes: Sequence[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """Per-stage noise shapes ``(C, H, W)`` for output sizes ``sizes`` (see the generator's forward)."""
    margin = config.num_layers
    return [(IMAGE_CHANNELS, *sizes[0])] + [(config.num_filters, h + 2 * margin, w + 2 * margin)
                                           for h, w in sizes[1:]]


class ConSinGANModel(nn.Module):
    """A trained (or partly trained) ConSinGAN: the generator with one block per trained stage, the
    noise amplitudes, the fixed reconstruction noise per stage and the training pyramid."""

    def __init__(self, config: ConSinGANConfig, pyramid: Pyramid, reals: Sequence[Tensor],
                 noise_amps: Sequence[float], fixed_noise: Sequence[Tensor]) -> None:
        super().__init__()
        if len(fixed_noise) != len(noise_amps):
            raise ValueError("need one fixed noise map per noise amplitude")
        self.config = config
        self.pyramid = pyramid
        self.generator = make_generator(config, max(1, len(noise_amps)))
        self.noise_amps = list(noise_amps)
        for n, real in enumerate(reals):
            self.register_buffer(f"real_{n}", real)  # [1, 3, h_n, w_n] in [-1, 1]
        self._num_fixed = 0
        for noise in fixed_noise:
            self.add_fixed_noise(noise)

    @property
    def num_trained(self) -> int:
        return len(self.noise_amps)

    @property
    def reals(self) -> list[Tensor]:
        return [getattr(self, f"real_{n}") for n in range(self.pyramid.num_scales)]

    @property
    def fixed_noise(self) -> list[Tensor]:
        """Reconstruction inputs: ``[1, 3, h0, w0]`` (the real coarsest image), then ``[1, C, ...]``."""
        return [getattr(self, f"z_opt_{n}") for n in range(self._num_fixed)]

    def add_fixed_noise(self, noise: Tensor) -> None:
        self.register_buffer(f"z_opt_{self._num_fixed}", noise)
        self._num_fixed += 1

    @property
    def device(self) -> torch.device:
        return self.real_0.device

    def sizes_for(self, scale_h: float = 1.0, scale_w: float = 1.0) -> list[tuple[int, int]]:
        """Per-stage output sizes when the result is ``scale_h`` x taller, ``scale_w`` x wider."""
        return [(max(1, round(h * scale_h)), max(1, round(w * scale_w))) for h, w in self.pyramid.sizes]

    @torch.no_grad()
    def reconstruction(self, stages: int | None = None) -> Tensor:
        """The reconstruction ``[1, 3, h, w]`` of the first ``stages`` trained stages (all by default)."""
        stages = self.num_trained if stages is None else stages
        return self.generator(self.fixed_noise[:stages], self.noise_amps, self.pyramid.sizes)


@torch.no_grad()
def sample_batch(model: ConSinGANModel, streams: Sequence[torch.Generator], sizes: Sequence[tuple[int, int]],
                 start_scale: int = 0) -> Tensor:
    """One sample ``[len(streams), 3, h, w]`` per random stream, at output sizes ``sizes``.

    Stages below ``start_scale`` use their fixed reconstruction noise (resized to ``sizes``), so the
    real image's coarse structure is kept; every other stage draws fresh noise from each sample's
    own stream, so a sample does not depend on the batch it is generated in.
    """
    count = len(streams)
    noise = []
    for stage, shape in enumerate(noise_shapes(model.config, sizes[:model.num_trained])):
        if stage < start_scale:
            fixed = model.fixed_noise[stage]
            if tuple(fixed.shape[-2:]) != shape[1:]:
                fixed = imresize(fixed, size=shape[1:])
            noise.append(fixed.expand(count, -1, -1, -1))
        else:
            draws = [torch.randn((1, *shape), generator=stream) for stream in streams]
            noise.append(torch.cat(draws).to(model.device))
    return model.generator(noise, model.noise_amps, sizes)


def model_from_tensors(config: ConSinGANConfig, pyramid: Pyramid, reals: Sequence[Tensor],
                       noise_amps: Sequence[float], weights: dict[str, Tensor], source: str) -> ConSinGANModel:
    """Build a model from the tensors of a run folder's weights file ``source`` (``g.*``: the
    generator, ``z_opt_<n>``: the fixed noise); mismatches become one-line UserErrors."""
    stages = len(noise_amps)
    try:
        fixed = [weights[f"z_opt_{n}"] for n in range(stages)]
    except KeyError as missing:
        raise UserError(f"corrupt {source}: no fixed noise {missing}") from None
    model = ConSinGANModel(config, pyramid, reals, noise_amps, fixed)
    if stages:
        state = {k[2:]: v for k, v in weights.items() if k.startswith("g.")}
        try:
            model.generator.load_state_dict(state)
        except RuntimeError as exc:
            reason = str(exc).splitlines()[0]
            raise UserError(f"weights in {source} do not match config.json: {reason}") from None
    return model


def build_model(meta: dict, reals: list[Tensor], weights: dict[str, Tensor], source: str) -> ConSinGANModel:
    """The model of a run folder from its config.json ``meta`` and tensors (see :func:`model_from_tensors`)."""
    return model_from_tensors(meta["config"], meta["pyramid"], reals, meta["noise_amps"], weights, source)


@torch.no_grad()
def scale_sample(model: ConSinGANModel, scale: int, seed: int) -> Tensor:
    """One random sample at ``scale`` ``[1, 3, h, w]``: the generator's first ``scale + 1`` stages."""
    stream = sample_streams(seed, 1)[0]
    noise = [torch.randn((1, *shape), generator=stream).to(model.device)
             for shape in noise_shapes(model.config, model.pyramid.sizes[:scale + 1])]
    return model.generator(noise, model.noise_amps, model.pyramid.sizes).clamp(-1, 1)


def scale_reconstruction(model: ConSinGANModel, scale: int) -> Tensor:
    """The reconstruction of the first ``scale + 1`` stages ``[1, 3, h, w]`` (the fixed noise)."""
    return model.reconstruction(stages=scale + 1).clamp(-1, 1)


__all__ = ["ConSinGANGenerator", "ConSinGANDiscriminator", "ConSinGANModel", "compute_stage_pyramid",
           "build_stage_pyramid", "make_generator", "make_discriminator", "noise_shapes", "sample_batch",
           "model_from_tensors", "build_model", "scale_sample", "scale_reconstruction"]
