"""The contract between zoo models and the shared trainer (no paper; the zoo's own interface).

A zoo model is an ``nn.Module`` that owns its networks and its loss objects and knows its paper's
update rule, but holds no optimizers, does no I/O and chooses no device. It declares which
optimizers it wants (``optimizer_specs``) and performs its updates in ``train_step`` through a
:class:`StepContext` supplied by the trainer, which owns the optimizers, mixed precision and
gradient scaling. ``sample`` and ``decode`` are the inference side.
"""

from __future__ import annotations

import dataclasses
import math
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping, Protocol, Sequence

import torch
from torch import Tensor, nn

from ganbase.errors import UserError

DATA_KINDS = ("unconditional", "labeled", "paired", "unpaired", "multi-domain")
TRANSLATION_KINDS = ("paired", "unpaired", "multi-domain")


@dataclass(frozen=True)
class Batch:
    """One batch of real data: ``data`` is ``[N, C, H, W]`` images in [-1, 1] or ``[N, D]`` points.

    ``labels`` is ``[N]`` int64 class indices for labeled data, ``[N, D]`` float 0/1 domain
    labels for multi-domain data, else ``None``. ``target`` holds the other domain's images for
    translation data: aligned with ``data`` when paired, an independent draw when unpaired.
    """

    data: Tensor
    labels: Tensor | None = None
    target: Tensor | None = None


@dataclass(frozen=True)
class OptimizerSpec:
    """An optimizer a model asks for: which submodules it trains and the paper's hyperparameters.

    ``module`` names the attribute(s) it trains, joined by ``+`` (``"encoder+decoder"``); it is
    also the name ``StepContext.update`` knows the optimizer by.

    ``algorithm`` is ``"adam"`` (uses ``betas``) or ``"rmsprop"`` (uses ``alpha``).
    """

    module: str
    algorithm: str
    lr: float
    betas: tuple[float, float] = (0.9, 0.999)
    alpha: float = 0.99


class StepContext(Protocol):
    """What the trainer hands to ``train_step``: autocast for forward passes, and one-call updates."""

    def autocast(self) -> AbstractContextManager: ...

    def update(self, optimizer: str, loss: Tensor) -> None:
        """Zero that optimizer's gradients, backpropagate ``loss`` (scaled under AMP) and step."""


@dataclass(frozen=True)
class TrainingPhase:
    """Where a progressively grown model is at a step (Karras et al. 2018 schedule).

    ``level`` 0 is 4x4 and each level doubles; ``alpha`` blends the newest level in (0 at the
    start of a fade phase, 1 when stable); ``batch_size`` is the phase's minibatch size.
    ``name`` is e.g. ``"fade 16px"`` and ``index`` counts phases from 0.
    """

    index: int
    name: str
    level: int
    alpha: float
    batch_size: int


@dataclass(frozen=True)
class ModelConfig:
    """Fields every model config has. ``data_shape`` is ``(C, H, W)`` or ``(D,)`` for points."""

    data_shape: tuple[int, ...] = (1, 32, 32)
    num_classes: int = 0


class ZooModel(nn.Module):
    """Base class of every registered model. Subclasses set the class attributes below."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    paper: ClassVar[str] = ""
    data_kind: ClassVar[str] = "unconditional"
    config_class: ClassVar[type[ModelConfig]] = ModelConfig
    accepts_points: ClassVar[bool] = False
    #: attribute name of the submodule whose weights the trainer may average (EMA); None for none
    ema_target: ClassVar[str | None] = "generator"
    #: the paper's batch size and learning-rate schedule (``ganzoo train`` defaults)
    default_batch_size: ClassVar[int] = 64
    default_lr_schedule: ClassVar[str] = "constant"
    #: ``ganzoo train``'s default ``--ema-decay`` (0: no generator averaging)
    default_ema_decay: ClassVar[float] = 0.0

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config

    # ----- training side -------------------------------------------------------------------
    def optimizer_specs(self) -> Sequence[OptimizerSpec]:
        raise NotImplementedError

    def real_batches_per_step(self) -> int:
        """How many real batches one ``train_step`` consumes (the critic iterations of WGANs)."""
        return 1

    def train_step(self, batches: Sequence[Batch], context: StepContext) -> dict[str, float]:
        """Do one full training iteration and return its losses as plain floats."""
        raise NotImplementedError

    def training_phase(self, step: int) -> TrainingPhase | None:
        """Progressive models: the phase (resolution, fade-in alpha, batch size) at ``step``, a
        pure function of the step so that a resumed run continues the same phase. The trainer
        calls ``enter_phase`` with it before every step. None (the default): no phases."""
        return None

    def enter_phase(self, phase: TrainingPhase) -> None:
        """Switch the networks to ``phase`` (only called when ``training_phase`` returns one)."""

    # ----- inference side ------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def sample_latent(self, num: int, generator: torch.Generator | None = None) -> Tensor:
        """Latent codes on the model's device, drawn on CPU from ``generator`` for reproducibility."""
        raise NotImplementedError

    def decode(self, latent: Tensor, labels: Tensor | None = None) -> Tensor:
        """Map latent codes (and labels for conditional models) to samples."""
        raise NotImplementedError

    @torch.no_grad()
    def sample(self, num: int, generator: torch.Generator | None = None,
               labels: Tensor | None = None) -> Tensor:
        """``num`` samples from the model: images in [-1, 1] ``[N, C, H, W]`` or points ``[N, D]``."""
        return self.decode(self.sample_latent(num, generator), labels)

    def preview_inputs(self, grid_size: int, batch: Batch, generator: torch.Generator) -> Batch:
        """The fixed inputs of the trainer's periodic grids: ``grid_size`` latents by default;
        ``batch`` is a fixed, un-augmented batch of real data (translation models use it)."""
        return Batch(self.sample_latent(grid_size, generator))

    def preview(self, inputs: Batch) -> tuple[Tensor, int | None]:
        """Images (or points) for a progress grid and its number of columns (None: square)."""
        return self.decode(inputs.data), None

    def check_labels(self, num: int, labels: Tensor | None) -> Tensor | None:
        """Validate labels for ``decode``; unconditional models refuse them."""
        if labels is None:
            return None
        raise UserError(f"model {self.name!r} is unconditional and takes no --label")


def build_config(config_class: type[ModelConfig], options: Mapping[str, Any]) -> ModelConfig:
    """Build a frozen config, turning unknown keys and wrong types into one-line UserErrors."""
    fields = {f.name: f for f in dataclasses.fields(config_class)}
    unknown = sorted(set(options) - set(fields))
    if unknown:
        raise UserError(f"unknown model option(s) {', '.join(unknown)}; valid: {', '.join(fields)}")
    values: dict[str, Any] = {}
    defaults = config_class()
    for key, value in options.items():
        default = getattr(defaults, key)
        values[key] = coerce_option(key, value, default)
    return config_class(**values)


def coerce_option(key: str, value: Any, default: Any) -> Any:
    """Coerce a (possibly string) option value to the type of its default."""
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(value)
                return value.lower() in ("true", "1", "yes")
            return bool(value)
        if isinstance(default, tuple):
            items = value.split(",") if isinstance(value, str) else list(value)
            item_type = type(default[0]) if default else int
            return tuple(item_type(item) for item in items)
        if isinstance(default, (int, float, str)):
            return check_number_option(key, type(default)(value))
    except (TypeError, ValueError):
        raise UserError(f"model option {key}={value!r}: expected {type(default).__name__}") from None
    return value


#: integer options that size a network or an interval: 0 would build an empty layer or divide by 0
POSITIVE_OPTION_NAMES = ("latent_dim", "w_dim", "width", "d_width", "fmap_base", "fmap_max", "phase_images",
                         "n_critic", "r1_interval", "pl_interval", "d_pieces", "d_joint_pieces")


def check_number_option(key: str, value: Any) -> Any:
    """Refuse numbers no model can use: nan/inf, negative counts, zero sizes, learning rates <= 0."""
    if isinstance(value, float) and not math.isfinite(value):
        raise UserError(f"model option {key}={value}: must be a finite number")
    if isinstance(value, int) and not isinstance(value, bool):
        minimum = 1 if key in POSITIVE_OPTION_NAMES or key.endswith(("_hidden", "_units")) else 0
        if value < minimum:
            raise UserError(f"model option {key}={value}: must be at least {minimum}")
    if key in ("lr", "d_lr") and value <= 0:
        raise UserError(f"model option {key}={value}: a learning rate must be > 0")
    return value

