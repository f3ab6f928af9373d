"""Sample quality of unconditional and class-conditional zoo runs against their training data.

Metrics (definitions in :mod:`ganbase.metrics.image_metrics` and :mod:`ganbase.metrics.features`): ProGAN's
multi-scale SWD of 7x7 patches (Karras et al. 2018), improved precision / recall with k = 3
(Kynkaanniemi et al. 2019) on images downsampled to 16x16 pixels (instead of the paper's VGG-16
features, which would need a download), ``fcd_local`` (a Frechet distance on a small classifier
trained here, see :mod:`ganbase.zoo.evaluation.fcd_local`; labeled data only) and, with local Inception weights,
FID and KID. ``num`` samples are drawn from the run's newest checkpoint (the EMA generator when
kept; conditional models: labels ``i mod classes``, so classes are balanced) and compared with
``num`` random training images (all of them when there are fewer). Inference only.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from ganbase.errors import UserError
from ganbase.metrics.features import precision_recall
from ganbase.metrics.image_metrics import downsample_features
from ganbase.metrics.swd import multiscale_swd
from ganbase.runtime.device import resolve_device
from ganbase.zoo.data.datasets import DataConfig, Dataset, load_dataset
from ganbase.zoo.inference.runs import load_model
from ganbase.zoo.models.base import TRANSLATION_KINDS

PRECISION_RECALL_SIZE = 16


def zoo_data(config: dict, data: str | None) -> Dataset:
    """The run's own training data, or ``data`` (a source) shaped like the run's images."""
    shape = tuple(config["model_config"].get("data_shape", ()))
    if len(shape) != 3:
        raise UserError(f"ganzoo eval works on image models; this {config['model']} run generates points")
    try:
        saved = DataConfig(**config["data"])
    except (KeyError, TypeError) as exc:
        raise UserError(f"corrupt run config: bad data settings ({exc})") from None
    source = DataConfig(source=data, image_size=shape[-1], channels=shape[0], labeled=saved.labeled) \
        if data is not None else saved
    dataset = load_dataset(source)
    if dataset.images is None or tuple(dataset.data_shape) != shape:
        raise UserError(f"data {source.source!r} gives images of shape {tuple(dataset.data_shape)}, "
                        f"the model makes {shape}")
    return dataset


@torch.no_grad()
def draw_zoo_samples(model, num: int, seed: int, num_classes: int, batch_size: int) -> Tensor:
    """``num`` samples on CPU, ``[N, C, S, S]`` in [-1, 1]; conditional models cycle the labels."""
    generator = torch.Generator().manual_seed(seed)
    conditional = model.data_kind == "labeled"
    batches = []
    for first in range(0, num, batch_size):
        count = min(batch_size, num - first)
        labels = (torch.arange(first, first + count) % num_classes).to(model.device) if conditional else None
        batches.append(model.sample(count, generator, labels).float().clamp(-1, 1).cpu())
    return torch.cat(batches)


def evaluate_zoo_run(run_dir: str | Path, data: str | None = None, num: int = 1000, seed: int = 0,
                     device: str | torch.device = "cpu", inception_weights: str | None = None,
                     batch_size: int | None = None, cache_dir: str | Path | None = None,
                     use_ema: bool = True) -> dict:
    """Evaluate a zoo run's samples against its data (or ``data``); see the module docstring.

    Returns ``swd`` and ``swd_<width>`` per pyramid level, ``precision``, ``recall``,
    ``fcd_local`` and ``classifier_accuracy`` (labeled data), ``fid`` and ``kid`` (with
    ``inception_weights``), and ``model``, ``step``, ``data``, ``size``, ``num_samples``, ``num_real``.
    """
    if num < 4:
        raise UserError(f"--num must be at least 4 (precision/recall use 3 nearest neighbours), got {num}")
    device = resolve_device(device)
    inception = None
    if inception_weights is not None:  # a bad weights file fails before any work
        from ganbase.metrics.inception import load_inception

        inception = load_inception(inception_weights, device)
    model, config, step = load_model(run_dir, device, use_ema=use_ema)
    if model.data_kind in TRANSLATION_KINDS:
        raise UserError(f"{model.name} translates images; evaluate it with `ganzoo evaluate {run_dir}`")
    dataset = zoo_data(config, data)
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:num]
    real_uint8 = dataset.images[order]
    real = real_uint8.float() / 127.5 - 1.0
    fake = draw_zoo_samples(model, num, seed, max(1, dataset.num_classes), batch_size or 256)
    result: dict = multiscale_swd(real, fake, seed=seed)
    result.update(precision_recall(downsample_features(real, PRECISION_RECALL_SIZE),
                                   downsample_features(fake, PRECISION_RECALL_SIZE)))
    if dataset.labels is not None and dataset.num_classes >= 2:
        from ganbase.zoo.evaluation.fcd_local import fcd_local, load_or_train_classifier

        classifier, meta = load_or_train_classifier(dataset, cache_dir, device)
        result["fcd_local"] = fcd_local(real_uint8, fake, classifier)
        result["classifier_accuracy"] = meta["held_out_accuracy"]
    if inception is not None:
        from ganbase.metrics.inception import fid_and_kid

        result.update(fid_and_kid(real, fake, inception, device, seed))  # grayscale is repeated to RGB
    size = real.shape[-1]
    result.update(model=model.name, step=step, data=dataset.name, size=f"{size}x{size}",
                  num_samples=num, num_real=real.shape[0])
    return result
