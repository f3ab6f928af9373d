"""Starting and resuming zoo training runs: what :func:`ganbase.zoo.api.train` / ``resume`` run (no paper).

:func:`start_training` validates the data and settings, writes the run's ``config.json`` and trains
from scratch; :func:`resume_training` rebuilds model, data and trainer from a run folder and
continues from its newest checkpoint. The training itself is :class:`ganbase.zoo.training.trainer.Trainer`'s;
the settings, each model's paper defaults and the resume checks are :mod:`ganbase.zoo.training.config`'s.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganbase import __version__
from ganbase.errors import UserError
from ganbase.io.checkpoint import atomic_write_json, remove_temp_files
from ganbase.io.run_lock import RunLock
from ganbase.io.run_safety import check_run_target
from ganbase.runtime.device import resolve_device
from ganbase.runtime.distributed import SINGLE, World
from ganbase.zoo.data.datasets import DataConfig, data_mode, load_dataset
from ganbase.zoo.inference.runs import (
    CONFIG_FILE,
    LATEST_FILE,
    RUN_FORMAT,
    build_model,
    latest_checkpoint,
    read_run_config,
)
from ganbase.zoo.models import create_model, get_model_class
from ganbase.zoo.training.config import TrainConfig
from ganbase.zoo.training.trainer import Trainer


def config_as_json(config: Any) -> dict[str, Any]:
    return {key: list(value) if isinstance(value, tuple) else value
            for key, value in dataclasses.asdict(config).items()}


def start_training(model_name: str, data_config: DataConfig, train_config: TrainConfig,
                   run_dir: str | Path, model_options: dict[str, Any] | None = None,
                   device: str | torch.device = "auto", quiet: bool = False, world: World = SINGLE,
                   sync_batchnorm: bool = False) -> dict[str, float]:
    """Create a run folder with its ``config.json`` and train from scratch (``world``: see
    :class:`Trainer`; rank 0 writes the folder)."""
    run_dir = Path(run_dir)
    check_run_target(run_dir, "ganzoo")  # never into another kind's run or a folder of other files (issue 22)
    if (run_dir / LATEST_FILE).exists():
        raise UserError(f"{run_dir} already holds a run; pass --resume to continue it or "
                        "choose another --out")
    train_config.validate()
    model_class = get_model_class(model_name)
    resolved_device = resolve_device(device)
    data_config = dataclasses.replace(data_config, labeled=model_class.data_kind == "labeled",
                                      mode=data_mode(model_class.data_kind))
    dataset = load_dataset(data_config)
    source = Path(data_config.source)
    if source.is_dir() and source.resolve() in (run_dir.resolve(), *run_dir.resolve().parents):
        raise UserError(f"--out {run_dir} is inside the data folder {source}; its sample grids would "
                        "become training data: choose another --out")
    options = dict(model_options or {})
    options.update(dataset.model_options())
    _seed_everything(train_config.seed)
    model = create_model(model_name, **options)
    with run_lock(run_dir, world):
        trainer = Trainer(model, dataset, run_dir, train_config, resolved_device, quiet, world, sync_batchnorm)
        run_dir.mkdir(parents=True, exist_ok=True)
        if world.is_main:
            atomic_write_json(run_dir / CONFIG_FILE, {
                "format": RUN_FORMAT,
                "ganzoo_version": __version__,
                "model": model_name,
                "model_config": config_as_json(model.config),
                "data": config_as_json(data_config),
                "class_names": list(dataset.class_names),
                "training": config_as_json(train_config),
            })
        return trainer.fit()


def resume_training(run_dir: str | Path, steps: int | None = None, device: str | torch.device = "auto",
                    quiet: bool = False, world: World = SINGLE, sync_batchnorm: bool = False) -> dict[str, float]:
    """Continue a run from its newest checkpoint, optionally to a new total ``steps``."""
    run_dir = Path(run_dir)
    read_run_config(run_dir)  # a zoo run, before the lock touches the folder
    with run_lock(run_dir, world):
        return _resume_locked(run_dir, steps, device, quiet, world, sync_batchnorm)


def run_lock(run_dir: Path, world: World) -> contextlib.AbstractContextManager:
    """The run-folder lock, held by the process that writes the folder (rank 0 of a torchrun job)."""
    return RunLock(run_dir, "ganzoo train") if world.is_main else contextlib.nullcontext()


def _resume_locked(run_dir: Path, steps: int | None, device: str | torch.device, quiet: bool, world: World,
                   sync_batchnorm: bool) -> dict[str, float]:
    config = read_run_config(run_dir)
    found = latest_checkpoint(run_dir)
    remove_temp_files(run_dir)  # left by writes that a crash interrupted
    step, folder = found if found is not None else (0, None)  # None: stopped before its first checkpoint
    try:
        train_config = TrainConfig(**config["training"])
        data_config = DataConfig(**config["data"])
    except (KeyError, TypeError) as exc:
        raise UserError(f"corrupt {run_dir / CONFIG_FILE}: {exc}") from None
    if steps is not None and steps != train_config.steps:
        if steps < step:
            raise UserError(f"--steps {steps} is below the checkpoint's step {step}")
        train_config = dataclasses.replace(train_config, steps=steps)
        config["training"] = config_as_json(train_config)
        if world.is_main:
            atomic_write_json(run_dir / CONFIG_FILE, config)
    dataset = load_dataset(data_config)
    if folder is None:
        _seed_everything(train_config.seed)  # as start_training, so the model starts the same
    model = build_model(config)
    trainer = Trainer(model, dataset, run_dir, train_config, resolve_device(device), quiet, world,
                      sync_batchnorm)
    if folder is not None:
        trainer.load_checkpoint(folder)
    return trainer.fit()


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


__all__ = ["config_as_json", "resume_training", "start_training"]
