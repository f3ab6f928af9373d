"""Inference for trained zoo models: draw samples and latent interpolations (the latent walks of
Radford et al. 2016, Section 6.1). Imports no training code.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ganbase.errors import UserError
from ganbase.models import ZooModel


def draw_samples(model: ZooModel, num: int, seed: int = 0, label: int | None = None) -> Tensor:
    """``num`` samples, reproducible from ``seed``; ``label`` picks a class of a conditional model."""
    if num < 1:
        raise UserError(f"--num must be at least 1, got {num}")
    generator = torch.Generator().manual_seed(seed)
    labels = None if label is None else torch.tensor([label])
    with torch.no_grad():
        return model.sample(num, generator, labels)


def interpolate(model: ZooModel, steps: int, pairs: int = 1, seed: int = 0,
                label: int | None = None, spherical: bool = False) -> Tensor:
    """``pairs`` rows of ``steps`` samples walking between two random latents: ``[pairs*steps, ...]``."""
    if steps < 2:
        raise UserError(f"--steps must be at least 2, got {steps}")
    if pairs < 1:
        raise UserError(f"--pairs must be at least 1, got {pairs}")
    if len(model.config.data_shape) != 3:
        raise UserError("interpolate needs an image model; this run models 2-D points")
    generator = torch.Generator().manual_seed(seed)
    start, end = model.sample_latent(pairs, generator), model.sample_latent(pairs, generator)
    weights = torch.linspace(0.0, 1.0, steps, device=start.device)[None, :, None]  # [1, T, 1]
    if spherical:
        latents = slerp(start[:, None], end[:, None], weights)
    else:
        latents = torch.lerp(start[:, None], end[:, None], weights)
    latents = latents.reshape(pairs * steps, -1)
    labels = None if label is None else torch.tensor([label])
    with torch.no_grad():
        return model.decode(latents, labels)


def slerp(start: Tensor, end: Tensor, weights: Tensor) -> Tensor:
    """Spherical interpolation (White 2016, "Sampling Generative Networks")."""
    cos = (start * end).sum(-1, keepdim=True) / (start.norm(dim=-1, keepdim=True)
                                                 * end.norm(dim=-1, keepdim=True))
    omega = torch.arccos(cos.clamp(-1 + 1e-7, 1 - 1e-7))
    sin = torch.sin(omega)
    return (torch.sin((1 - weights) * omega) * start + torch.sin(weights * omega) * end) / sin
