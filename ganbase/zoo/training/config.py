"""Training settings of a zoo run and each model's paper defaults (no paper of its own).

:class:`TrainConfig` is what a run's ``config.json`` saves under ``"training"``; :data:`DEFAULT_STEPS`
is the one definition of the default run length. :func:`train_config` fills in what a caller
leaves unset the way ``ganzoo train`` does: the length from :data:`DEFAULT_STEPS`, and the batch
size, generator EMA and learning-rate schedule from the model's paper (the ``default_*`` class
attributes of its :class:`~ganbase.zoo.models.base.ZooModel`, e.g. batch 64, pix2pix / CycleGAN 1,
StarGAN 16; EMA 0.999 for StyleGAN2; ``hold-linear`` for the translators).
:func:`check_resume` refuses a resume that would change what a run keeps from its folder
(:data:`RESUME_FIXED_SETTINGS`) or that names another model. Importing this module
does not load the trainer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable

from ganbase.errors import UserError
from ganbase.zoo.inference.runs import read_run_config
from ganbase.zoo.models.base import DATA_KINDS, ZooModel
from ganbase.zoo.models.registry import get_model_class, model_names

#: total generator iterations of a run when the caller does not choose
DEFAULT_STEPS = 10000

#: learning-rate multiplier as a function of (total steps) -> (step -> factor)
LR_SCHEDULES: dict[str, Callable[[int], Callable[[int], float]]] = {
    "constant": lambda total: lambda step: 1.0,
    "linear": lambda total: lambda step: max(0.0, 1.0 - step / max(1, total)),
    # constant for the first half, then linear to 0 (pix2pix / CycleGAN / StarGAN code)
    "hold-linear": lambda total: lambda step: min(1.0, max(0.0, (total - step) / max(1, total - total // 2))),
}

#: the settings each model's paper chooses (``ZooModel.default_<name>``)
PAPER_SETTINGS = ("batch_size", "ema_decay", "lr_schedule")

#: ``ganzoo train`` settings saved with a run: ``--resume`` refuses to change them (only the total
#: ``--steps`` and the per-invocation ``--device``, threads, output and DDP choices may differ)
RESUME_FIXED_SETTINGS = ("data", "batch_size", "image_size", "channels", "seed", "amp", "ema_decay",
                         "lr_schedule", "sample_every", "checkpoint_every", "log_every", "options",
                         "direction", "no_jitter", "no_flip", "style_data", "vgg_weights")


@dataclass(frozen=True)
class TrainConfig:
    """Training settings saved in ``config.json``; the device is chosen per invocation."""

    steps: int = DEFAULT_STEPS
    batch_size: int = ZooModel.default_batch_size
    seed: int = 0
    amp: bool = False
    ema_decay: float = ZooModel.default_ema_decay
    lr_schedule: str = ZooModel.default_lr_schedule
    sample_every: int = 500
    checkpoint_every: int = 1000
    log_every: int = 20
    grid_size: int = 64

    def validate(self) -> None:
        for name in ("steps", "batch_size", "sample_every", "checkpoint_every", "log_every", "grid_size"):
            if getattr(self, name) < 1:
                raise UserError(f"--{name.replace('_', '-')} must be at least 1")
        if self.lr_schedule not in LR_SCHEDULES:
            raise UserError(f"unknown --lr-schedule {self.lr_schedule!r}; use {', '.join(LR_SCHEDULES)}")
        if not (self.ema_decay == 0.0 or 0.0 < self.ema_decay < 1.0):
            raise UserError(f"--ema-decay must be 0 (off) or in (0, 1), got {self.ema_decay}")


def paper_defaults(model_name: str) -> dict[str, Any]:
    """The batch size, EMA decay and learning-rate schedule of ``model_name``'s paper."""
    model_class = get_model_class(model_name)
    return {name: getattr(model_class, f"default_{name}") for name in PAPER_SETTINGS}


def paper_default_exceptions(setting: str) -> tuple[Any, dict[Any, list[str]]]:
    """(the value most models use, {other value: the models that use it}) for one of
    :data:`PAPER_SETTINGS`; models in the order of their data kind, then by name."""
    base = getattr(ZooModel, f"default_{setting}")
    exceptions: dict[Any, list[str]] = {}
    for name in sorted(model_names(), key=lambda n: (DATA_KINDS.index(get_model_class(n).data_kind), n)):
        value = paper_defaults(name)[setting]
        if value != base:
            exceptions.setdefault(value, []).append(name)
    return base, exceptions


def train_config(model_name: str, steps: int | None = None, batch_size: int | None = None,
                 ema_decay: float | None = None, lr_schedule: str | None = None, **settings: Any) -> TrainConfig:
    """A :class:`TrainConfig` for ``model_name``: what is None (batch size and schedule also when
    empty or 0) comes from :data:`DEFAULT_STEPS` and the model's paper; ``settings`` are the
    other fields (``seed``, ``amp``, ``sample_every``, ...)."""
    paper = paper_defaults(model_name)
    config = TrainConfig(steps=DEFAULT_STEPS if steps is None else steps,
                         batch_size=batch_size or paper["batch_size"],
                         ema_decay=paper["ema_decay"] if ema_decay is None else ema_decay,
                         lr_schedule=lr_schedule or paper["lr_schedule"])
    return replace(config, **settings)


def check_resume(run_dir: str | os.PathLike, model_name: str, given: Iterable[str] = ()) -> None:
    """Refuse to resume ``run_dir`` as ``model_name`` when it holds another model's run, or when
    the caller set any of :data:`RESUME_FIXED_SETTINGS` (``given``: the names set explicitly; the
    first fixed one, in that tuple's order, is named). Unknown models fail first."""
    get_model_class(model_name)
    given = set(given)
    changed = [name for name in RESUME_FIXED_SETTINGS if name in given]
    if changed:
        raise UserError(f"--{changed[0].replace('_', '-')} cannot change on --resume; "
                        "the run keeps its saved settings (only --steps and --device may)")
    saved = read_run_config(run_dir)["model"]
    if saved != model_name:
        raise UserError(f"{run_dir} is a {saved!r} run, not {model_name!r}")


__all__ = ["DEFAULT_STEPS", "LR_SCHEDULES", "PAPER_SETTINGS", "RESUME_FIXED_SETTINGS", "TrainConfig",
           "check_resume", "paper_default_exceptions", "paper_defaults", "train_config"]
