"""Inference of trained ``adain`` runs (Huang & Belongie, ICCV 2017): stylize image files or folders
with one style or a weighted mix of styles, the content-style trade-off ``alpha`` (Eq. 14) and
optional colour preservation. Imports no training code.

Any input size works: each content image is padded on the bottom and right (reflection) to a
multiple of 8, stylized at its own size and cropped back, so outputs keep the inputs' relative
names and sizes. Style images are used at their own size (their statistics do not depend on it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ganbase.errors import UserError
from ganbase.io.checkpoint import load_tensors
from ganbase.nn.style_transfer import preserve_color
from ganbase.zoo.inference.runs import MODEL_WEIGHTS, latest_checkpoint, load_weights, read_run_config
from ganbase.zoo.inference.translate import find_inputs, pad_to_multiple, read_input, write_image
from ganbase.zoo.models import create_model
from ganbase.zoo.models.adain import AdaIN


@dataclass(frozen=True)
class StyleMix:
    """Style images and their weights (normalised to sum 1), alpha and colour preservation."""

    styles: tuple[Path, ...]
    weights: tuple[float, ...] = ()
    alpha: float = 1.0
    preserve_color: bool = False

    def validate(self) -> tuple[float, ...]:
        """The normalised weights (equal when none are given)."""
        if not self.styles:
            raise UserError("adain needs at least one --style image")
        if not 0.0 <= self.alpha <= 1.0:
            raise UserError(f"--alpha must be in [0, 1], got {self.alpha}")
        weights = self.weights or (1.0,) * len(self.styles)
        if len(weights) != len(self.styles):
            raise UserError(f"--style-weights has {len(weights)} value(s) for {len(self.styles)} style(s)")
        if min(weights) < 0 or sum(weights) <= 0:
            raise UserError("--style-weights must be >= 0 and not all 0")
        for path in self.styles:
            if not path.is_file():
                raise UserError(f"style image not found: {path}")
        return tuple(w / sum(weights) for w in weights)


def load_adain_run(run: str | os.PathLike, device: torch.device | str = "cpu") -> tuple[AdaIN, int]:
    """(the run's model in eval mode, its step); the encoder comes from the checkpoint, so the VGG
    file the run was trained from is not needed."""
    config = read_run_config(run)
    if config["model"] != "adain":
        raise UserError(f"{run} holds a {config['model']} run; stylize needs an adain run (or --method gatys)")
    found = latest_checkpoint(run)
    if found is None:
        raise UserError(f"{run} has no checkpoint yet; train it first")
    step, folder = found
    model = create_model("adain", **{**config["model_config"], "vgg_weights": ""})
    load_weights(model, load_tensors(folder / MODEL_WEIGHTS), folder / MODEL_WEIGHTS)
    return model.to(device).eval(), step


@torch.no_grad()
def stylize_tensor(model: AdaIN, content: Tensor, mean: Tensor, std: Tensor, alpha: float,
                   keep_color: bool) -> Tensor:
    """One ``[1, 3, H, W]`` content image in [-1, 1] at any size -> its stylized image, same size."""
    height, width = content.shape[-2:]
    padded = pad_to_multiple(content.to(model.device), model.size_multiple)
    result = model.transfer(padded, mean, std, alpha)[..., :height, :width].clamp(-1, 1)
    return preserve_color(result, content.to(result.device)) if keep_color else result


@torch.no_grad()
def stylize_files(model: AdaIN, source: str | os.PathLike, out_dir: str | os.PathLike,
                  mix: StyleMix) -> int:
    """Stylize an image or a folder of images (recursively) into ``out_dir``; returns the count."""
    weights = mix.validate()
    job = find_inputs(source, "A")
    out_dir = Path(out_dir)
    clash = next((path for name, path in job.inputs.items()
                  if (out_dir / name).exists() and (out_dir / name).samefile(path)), None)
    if clash is not None:
        raise UserError(f"--out {out_dir} would overwrite the input {clash}; choose another folder")
    mean = std = None
    for path, weight in zip(mix.styles, weights):  # blend the statistics (AdaIN is affine in them)
        style_mean, style_std = model.style_statistics(read_input(path, 3).to(model.device))
        mean = weight * style_mean if mean is None else mean + weight * style_mean
        std = weight * style_std if std is None else std + weight * style_std
    for name, path in job.inputs.items():
        result = stylize_tensor(model, read_input(path, 3), mean, std, mix.alpha, mix.preserve_color)
        write_image(out_dir / name, result[0].cpu())
    return len(job.inputs)
