"""Run folders of the GAN zoo: layout, config, and loading a trained model for inference.

A run folder holds ``config.json`` (the fully resolved model, data and training settings),
``latest.json`` (points at the newest complete checkpoint), ``checkpoints/step_NNNNNNNN/``
(``model.safetensors``, optional ``ema.safetensors``, ``training_state.safetensors`` +
``training_state.json``), ``log.csv`` and ``samples/``. Every file is written atomically and
``latest.json`` only after the checkpoint it names is complete. This module is the inference
side: it never imports training code. No paper.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ganbase.errors import UserError
from ganbase.io.checkpoint import check_state_dict, load_tensors, read_json
from ganbase.io.run_safety import RunKind, register_run_kind
from ganbase.zoo.models import ZooModel, create_model

RUN_FORMAT = 1  # version of the run-folder layout; newer folders are refused, not misread
CONFIG_FILE = "config.json"
LATEST_FILE = "latest.json"
CHECKPOINTS_DIR = "checkpoints"
MODEL_WEIGHTS = "model.safetensors"
EMA_WEIGHTS = "ema.safetensors"
TRAINING_TENSORS = "training_state.safetensors"
TRAINING_META = "training_state.json"
LOG_FILE = "log.csv"
SAMPLES_DIR = "samples"


def checkpoint_dir_name(step: int) -> str:
    return f"{CHECKPOINTS_DIR}/step_{step:08d}"


def read_run_config(run_dir: str | os.PathLike) -> dict[str, Any]:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"run folder not found: {run_dir}")
    if not (run_dir / CONFIG_FILE).is_file():
        raise UserError(f"{run_dir} is not a ganzoo run folder (no {CONFIG_FILE})")
    config = read_json(run_dir / CONFIG_FILE)
    if config.get("model") == "singan":
        raise UserError(f"{run_dir} is a SinGAN run folder; use the singan command")
    run_format = config.get("format", 1)
    if not isinstance(run_format, int) or run_format > RUN_FORMAT:
        raise UserError(f"{run_dir} was written by a newer version (format {run_format!r}, this is "
                        f"{RUN_FORMAT}): upgrade singan-kit")
    for key in ("model", "model_config"):
        if key not in config:
            raise UserError(f"corrupt {run_dir / CONFIG_FILE}: missing {key!r}")
    if not isinstance(config["model"], str) or not isinstance(config["model_config"], dict):
        raise UserError(f"corrupt {run_dir / CONFIG_FILE}: 'model' must be a name and 'model_config' an object")
    return config


def latest_checkpoint(run_dir: str | os.PathLike) -> tuple[int, Path] | None:
    """(step, folder) of the newest complete checkpoint, or None if the run has none yet."""
    run_dir = Path(run_dir)
    if not (run_dir / LATEST_FILE).is_file():
        return None
    latest = read_json(run_dir / LATEST_FILE)
    try:
        step, folder = int(latest["step"]), run_dir / str(latest["checkpoint"])
    except (KeyError, TypeError, ValueError):
        raise UserError(f"corrupt {run_dir / LATEST_FILE}") from None
    if not folder.is_dir():
        raise UserError(f"{run_dir / LATEST_FILE} names a missing checkpoint folder {folder}")
    return step, folder


def build_model(config: dict[str, Any]) -> ZooModel:
    """The untrained model a run config describes."""
    options = dict(config["model_config"])
    return create_model(config["model"], **options)


def load_model(run_dir: str | os.PathLike, device: torch.device | str = "cpu",
               use_ema: bool = True) -> tuple[ZooModel, dict[str, Any], int]:
    """Load a run's newest weights for inference: (model in eval mode, run config, step).

    With ``use_ema`` the averaged generator weights replace the raw ones when the run kept them.
    """
    config = read_run_config(run_dir)
    found = latest_checkpoint(run_dir)
    if found is None:
        raise UserError(f"{run_dir} has no checkpoint yet; train it first")
    step, folder = found
    model = build_model(config)
    load_weights(model, load_tensors(folder / MODEL_WEIGHTS), folder / MODEL_WEIGHTS)
    if use_ema and model.ema_target and (folder / EMA_WEIGHTS).is_file():
        target = getattr(model, model.ema_target)
        load_weights(target, load_tensors(folder / EMA_WEIGHTS), folder / EMA_WEIGHTS)
    return model.to(device).eval(), config, step


def load_weights(module: torch.nn.Module, tensors: dict[str, torch.Tensor], path: Path) -> None:
    """``load_state_dict`` with a one-line error when the file does not fit the network."""
    check_state_dict(module.state_dict(), tensors, path)
    module.load_state_dict(tensors)


# ---------------------------------------------------------------------- data safety (issue 22)
# What a zoo run is to the shared ownership and output-path checks (ganbase.io.run_safety);
# samples/ is left out: `ganzoo sample` writes its default grid there.
register_run_kind("ganzoo", RunKind(
    title="ganzoo run", matches=lambda config: "ganzoo_version" in config and config.get("model") != "singan",
    own_names=frozenset({CONFIG_FILE, LATEST_FILE, CHECKPOINTS_DIR, LOG_FILE})))
