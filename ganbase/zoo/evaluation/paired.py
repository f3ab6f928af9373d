"""Held-out evaluation of paired translation runs (pix2pix, Isola et al. 2017): mean L1 error and
PSNR between translations and ground truth on a split the run never trained on.

The run's own data settings are reloaded with ``split="test"`` (built-ins: crops from the region
held out of every source image; folders: a ``test/`` (or ``testA/``+``testB/``) subfolder) and
centre-cropped without jitter or flips. L1 is on the [-1, 1] scale the training loss uses; PSNR is
on [0, 1] intensities, averaged over images. For reference the same numbers are reported for a
trivial predictor: every pixel set to the mean colour of the training targets.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganbase.errors import UserError
from ganbase.zoo.data.datasets import DataConfig, load_dataset
from ganbase.zoo.data.translation import TRANSLATION_BUILTINS
from ganbase.zoo.inference.runs import load_model
from ganbase.zoo.inference.translate import translate_batch


def has_test_split(data: DataConfig) -> bool:
    source = Path(data.source)
    if data.source.partition(":")[0] in TRANSLATION_BUILTINS and not source.exists():
        return True
    return (source / "test").is_dir() or ((source / "testA").is_dir() and (source / "testB").is_dir())


def _scores(predictions: Tensor, targets: Tensor) -> tuple[float, float]:
    l1 = (predictions - targets).abs().mean().item()
    mse = (((predictions - targets) / 2.0) ** 2).flatten(1).mean(1).clamp_min(1e-10)
    return l1, float((10.0 * torch.log10(1.0 / mse)).mean())


def evaluate_paired(run_dir: str | Path, split: str = "test", device: str | torch.device = "cpu",
                    batch_size: int = 16, use_ema: bool = True) -> dict[str, Any]:
    """L1 / PSNR of a paired run on ``split`` plus the mean-colour baseline (``use_ema``: with the
    averaged generator when the run kept one)."""
    model, config, step = load_model(run_dir, device, use_ema=use_ema)
    if model.data_kind != "paired":
        raise UserError(f"evaluate needs a paired model (pix2pix); this run is {model.name}")
    try:
        data = DataConfig(**config["data"])
    except (KeyError, TypeError) as exc:
        raise UserError(f"corrupt config.json in {run_dir}: {exc}") from None
    if not has_test_split(data):
        raise UserError(f"{data.source} has no test split (a test/ subfolder)")
    test = load_dataset(dataclasses.replace(data, split=split))
    train = load_dataset(dataclasses.replace(data, split="train"))
    generator = torch.Generator().manual_seed(0)
    batch = test.make_batch(torch.arange(len(test)), generator, augment=False)
    predictions = translate_batch(model, batch.data, batch_size=batch_size)
    l1, psnr = _scores(predictions, batch.target)
    train_targets = train.make_batch(torch.arange(len(train)), generator, augment=False).target
    mean_colour = train_targets.mean((0, 2, 3), keepdim=True).expand_as(batch.target)
    base_l1, base_psnr = _scores(mean_colour, batch.target)
    if not (math.isfinite(l1) and math.isfinite(psnr)):
        raise UserError("the translations contain non-finite values")
    return {"step": step, "split": split, "images": len(test), "l1": l1, "psnr": psnr,
            "baseline_l1": base_l1, "baseline_psnr": base_psnr}
