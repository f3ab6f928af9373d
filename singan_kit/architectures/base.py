"""What every single-image architecture shares (SinGAN, Shaham et al. 2019; ConSinGAN, Hinz et al.
2021; any other registered one): the :class:`Architecture` object an architecture registers, the
frozen-config mixin :class:`RunConfig` with its JSON round trip and one-line validation errors, the
per-level learning-rate milestone, and what one fitted level reports (:class:`FitResult`,
:class:`ScaleSummary`).

This module is imported by inference (run folders, sampling, reports) as well as by training, so it
holds no training code; the shared training lifecycle is :mod:`singan_kit.architectures.lifecycle`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence, TypeVar

import numpy as np
import torch
from torch import Tensor, nn

from ganbase.errors import UserError
from singan_kit.pyramid import Pyramid

ConfigT = TypeVar("ConfigT", bound="RunConfig")


class RunConfig:
    """Mixin for frozen config dataclasses (no fields of its own).

    A subclass is a frozen dataclass with an ``architecture`` field (its registered name) and a
    ``validate()`` that returns the config or raises a one-line :class:`UserError`.
    """

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls: type[ConfigT], data: dict) -> ConfigT:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise UserError(f"config has unknown settings {unknown}; was it written by a newer version?")
        return cls(**data)

    def numbers_are_finite(self) -> bool:
        return all(math.isfinite(v) for v in dataclasses.astuple(self) if isinstance(v, float))

    def check(self: ConfigT, checks: Sequence[tuple[Any, str]]) -> ConfigT:
        """``checks``: (condition, message) pairs; the first false one is a one-line UserError."""
        for ok, message in checks:
            if not ok:
                raise UserError(f"invalid setting: {message}")
        return self


def lr_decay_iter(iters: int, decay_at: float = 0.8) -> int:
    """Iteration of a level at which the learning rates decay (1600 of the paper's 2000)."""
    return int(round(decay_at * iters))


def sample_seed(seed: int, index: int) -> int:
    """The seed of output ``index`` of a draw seeded with ``seed``."""
    return int(np.random.SeedSequence([seed, index, 0x5A]).generate_state(1)[0])


def sample_streams(seed: int, count: int, first_index: int = 0) -> list[torch.Generator]:
    """One random stream per output: output i draws from ``(seed, first_index + i)``, so a sample
    is the same whatever the batch it is drawn in."""
    return [torch.Generator().manual_seed(sample_seed(seed, first_index + i)) for i in range(count)]


# On the CPU a batch whose widest activation stays within the last-level cache (and below glibc's
# 32 MB mmap threshold, so its buffers are reused instead of page-faulted in) is much faster per
# sample: at 250 px with 128 filters, 1 at a time took 0.22 s/sample, 2 took 0.36-0.40, 16 took
# 0.57 (2-core EPYC, 32 MB L3; README "Speed").
CPU_BATCH_BYTES = 16 * 2**20


def cpu_batch_size(num_filters: int, size: tuple[int, int], limit: int) -> int:
    """Images per batch for generators of ``num_filters`` channels at ``size`` on the CPU: as many as
    keep the widest activation ``[batch, num_filters, h, w]`` (float32) within ``CPU_BATCH_BYTES``,
    between 1 and ``limit``."""
    per_image = 4 * num_filters * size[0] * size[1]
    return int(max(1, min(limit, CPU_BATCH_BYTES // per_image)))


@dataclass(frozen=True)
class CanvasStage:
    """One level of a fully convolutional sampler as a local operator, for tiled sampling
    (:mod:`singan_kit.tiling`): output pixel (y, x) of the level depends only on its input image and
    its noise within ``halo`` pixels of (y, x), both zero outside the canvas (the global zero padding).

    ``upsample(in_len, out_len, first, stop)`` gives rows ``first .. stop-1`` of the per-axis matrix
    that resizes the previous level's output to this level (None for the first level: its input is
    the plan's ``initial`` image). ``apply(noise, image)`` maps a tile grown by ``halo`` on each side,
    ``noise [b, noise_channels, h + 2 halo, w + 2 halo]`` and ``image [b, 3, ...]``, to the tile's
    output ``[b, 3, h, w]``. ``filters``: channels of its widest activation (for the memory budget).
    ``before_upsample`` and ``after_upsample`` are pointwise maps around the resize (None: identity).
    """

    size: tuple[int, int]
    noise_channels: int
    halo: int
    filters: int
    apply: Callable[[Tensor, Tensor], Tensor]
    upsample: Callable[[int, int, int, int], np.ndarray] | None = None
    before_upsample: Callable[[Tensor], Tensor] | None = None
    after_upsample: Callable[[Tensor], Tensor] | None = None


@dataclass(frozen=True)
class CanvasPlan:
    """The levels a sample runs through, from ``initial`` ``[1, 3, h, w]`` (the input of the first)."""

    initial: Tensor
    stages: tuple[CanvasStage, ...]


# (model, sizes per scale (h, w), start scale) -> CanvasPlan
CanvasPlanner = Callable[[nn.Module, Sequence[tuple[int, int]], int], CanvasPlan]

# (model, one random stream per sample, sizes per scale (h, w), start scale) -> [N, 3, h, w]
BatchSampler = Callable[[nn.Module, Sequence[Any], Sequence[tuple[int, int]], int], Tensor]
# (meta of config.json, real image per scale [1, 3, h, w], tensors of generators.safetensors, file name)
ModelBuilder = Callable[[dict, list[Tensor], dict[str, Tensor], str], nn.Module]


@dataclass(frozen=True)
class Architecture:
    """Everything the shared code needs to know about one single-image architecture.

    An architecture registers one of these (:func:`singan_kit.architectures.register`); the run
    folder's ``architecture`` field names it. The model it builds is an ``nn.Module`` with
    ``config``, ``pyramid``, ``reals``, ``noise_amps``, ``num_trained``, ``device`` and
    ``sizes_for(scale_h, scale_w)``.

    ``trainer`` is the trainer class, or its ``"module:Class"`` path so that inference never imports
    training code: it is resolved only when a run trains (a subclass of
    :class:`singan_kit.architectures.lifecycle.LevelTrainer`).
    """

    name: str
    title: str  # shown in reports, e.g. "SinGAN"
    paper: str  # e.g. "Shaham et al., ICCV 2019"
    config_class: type
    presets: dict[str, dict]  # preset name -> settings that differ from the config class's defaults
    compute_pyramid: Callable[[Any, int, int], Pyramid]  # (config, height, width) -> sizes of the levels
    build_pyramid: Callable[[Tensor, Pyramid], list[Tensor]]  # (image [1, 3, H, W], pyramid) -> reals
    build_model: ModelBuilder
    sample_batch: BatchSampler
    trainer: type | str
    scale_sample: Callable[[nn.Module, int, int], Tensor]  # (model, scale, seed) -> [1, 3, h, w] for reports
    scale_reconstruction: Callable[[nn.Module, int], Tensor]  # (model, scale) -> [1, 3, h, w]
    scale_filters: Callable[[Any, int], int]  # (config, scale) -> filters of the generator at that scale
    level_name: str = "scale"  # what one level is called in messages ("stage" for ConSinGAN)
    # its levels as local operators, for exact tiled sampling at any size (None: not offered)
    canvas_plan: CanvasPlanner | None = None
    # re-synthesis from the run's own patches (GPNN): (model, image [1, 3, H, W] at the finest size,
    # start level, hole [1, 1, H, W] or None) -> [1, 3, H, W], the image rebuilt from that level on
    # with source patches that do not touch the hole; None: inpainting, structural analogy and the
    # patch-based editing and harmonization are not offered
    resynthesize: Callable[[nn.Module, Tensor, int, Tensor | None], Tensor] | None = None
    # per-scale generators with noise inputs that images can be injected into: harmonization,
    # editing, paint-to-image, animation, super-resolution and their fine-tuning are offered
    scale_generators: bool = False
    # generic setting names (e.g. the CLI's "lr") -> the config fields they set
    setting_aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # False for training-free methods: "training" stores the pyramid, and their ``iters`` are
    # synthesis steps, which benchmarks that shorten training schedules leave as they are
    learns: bool = True


@dataclass
class FitResult:
    """Log rows (every ``log_every`` iterations) and per-iteration timing of one fit."""

    rows: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    median_iter_seconds: float = 0.0

    @property
    def last(self) -> dict:
        return self.rows[-1] if self.rows else {}


@dataclass(frozen=True)
class ScaleSummary:
    """What one finished SinGAN scale or ConSinGAN stage reports (one line printed by the CLI).

    ``trained_stages`` is set for ConSinGAN only: how many stages were trained together.
    """

    scale: int
    num_scales: int
    size: tuple[int, int]
    num_filters: int
    iters: int
    seconds: float
    noise_amp: float
    d_loss: float
    g_adv: float
    rec_loss: float
    median_iter_seconds: float
    trained_stages: int | None = None

    def line(self) -> str:
        h, w = self.size
        word = "scale" if self.trained_stages is None else "stage"
        together = "" if self.trained_stages is None else f"{self.trained_stages} stages trained, "
        return (f"{word} {self.scale}/{self.num_scales - 1}: {w}x{h} px, {self.num_filters} filters, "
                f"{together}{self.iters} iters in {self.seconds:.1f} s ({self.median_iter_seconds:.3f} s/iter), "
                f"noise amp {self.noise_amp:.4f}, D {self.d_loss:.3f}, G adv {self.g_adv:.3f}, "
                f"rec {self.rec_loss:.4f}")


__all__ = ["Architecture", "BatchSampler", "CanvasPlan", "CanvasPlanner", "CanvasStage", "FitResult", "ModelBuilder", "RunConfig", "ScaleSummary",
           "cpu_batch_size", "lr_decay_iter", "sample_seed", "sample_streams"]
