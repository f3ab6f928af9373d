"""Inference for trained zoo models: draw samples and latent interpolations (the latent walks of
Radford et al. 2016, Section 6.1), plus the style-space tools of StyleGAN (Karras et al. 2019,
"A Style-Based Generator Architecture for GANs"): the truncation trick in w, style-mixing grids
(Fig. 3: coarse styles from one set of seeds, the rest from another), walks in w and noise-only
variation (Fig. 4). Imports no training code.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ganbase.errors import UserError
from ganbase.zoo.models import ZooModel
from ganbase.zoo.models.style_family import StyleModel, broadcast_w

#: style-mixing grids take the styles of the 4x4 and 8x8 layers (the paper's "coarse") by default
COARSE_LAYERS = 4


def style_model(model: ZooModel, feature: str) -> StyleModel:
    """``model`` if it is style-based, else a one-line error naming ``feature``."""
    if not isinstance(model, StyleModel):
        raise UserError(f"{feature} needs a style-based model (stylegan, stylegan2); this run is "
                        f"{model.name!r}")
    return model


def draw_samples(model: ZooModel, num: int, seed: int = 0, label: int | None = None,
                 truncation: float | None = None) -> Tensor:
    """``num`` samples, reproducible from ``seed``; ``label`` picks a class of a conditional model;
    ``truncation`` (style models) pulls w towards its average (psi 0: the average image)."""
    if num < 1:
        raise UserError(f"--num must be at least 1, got {num}")
    generator = torch.Generator().manual_seed(seed)
    labels = None if label is None else torch.tensor([label])
    with torch.no_grad():
        if truncation is not None:
            styled = style_model(model, "--truncation")
            return styled.decode(styled.sample_latent(num, generator), labels, truncation)
        return model.sample(num, generator, labels)


@torch.no_grad()
def vary_noise(model: ZooModel, num: int, seed: int = 0, truncation: float = 1.0) -> Tensor:
    """``num`` images of the latent drawn from ``seed`` that differ only in their noise inputs."""
    if num < 1:
        raise UserError(f"--num must be at least 1, got {num}")
    styled = style_model(model, "--vary-noise")
    w = styled.truncate(styled.mapping(styled.sample_latent(1, torch.Generator().manual_seed(seed))),
                        truncation)
    ws = broadcast_w(w.expand(num, -1), styled.num_ws)
    return styled.synthesize(ws, styled.noise(num, seed + 1))


@torch.no_grad()
def style_mix(model: ZooModel, rows: int, cols: int, seed: int = 0, row_seed: int | None = None,
              coarse_layers: int = COARSE_LAYERS, truncation: float = 1.0) -> tuple[Tensor, int]:
    """A style-mixing sheet and its column count: the top row shows ``cols`` images from
    ``seed``, the left column ``rows`` images from ``row_seed`` (default ``seed + 1``); the cell
    at (r, c) takes its first ``coarse_layers`` styles from row r and the rest from column c.
    All images share one noise realisation; the top-left corner is blank."""
    if rows < 1 or cols < 1:
        raise UserError(f"--rows and --cols must be at least 1, got {rows} and {cols}")
    styled = style_model(model, "mix")
    if not 1 <= coarse_layers < styled.num_ws:
        raise UserError(f"--coarse-layers must be between 1 and {styled.num_ws - 1}, got {coarse_layers}")
    row_seed = seed + 1 if row_seed is None else row_seed

    def ws_for(count: int, from_seed: int) -> Tensor:
        z = styled.sample_latent(count, torch.Generator().manual_seed(from_seed))
        return broadcast_w(styled.truncate(styled.mapping(z), truncation), styled.num_ws)

    column_ws, row_ws = ws_for(cols, seed), ws_for(rows, row_seed)
    noise = styled.noise(1, 0)
    header = styled.synthesize(column_ws, noise)
    sheet = [torch.ones_like(header[:1]), header]
    for row in range(rows):
        mixed = column_ws.clone()
        mixed[:, :coarse_layers] = row_ws[row, :coarse_layers]
        sheet += [styled.synthesize(row_ws[row:row + 1], noise), styled.synthesize(mixed, noise)]
    return torch.cat(sheet), cols + 1


def interpolate(model: ZooModel, steps: int, pairs: int = 1, seed: int = 0,
                label: int | None = None, spherical: bool = False, space: str = "z",
                truncation: float = 1.0) -> Tensor:
    """``pairs`` rows of ``steps`` samples walking between two random latents: ``[pairs*steps, ...]``.

    ``space="w"`` (style models) walks linearly between the mapped (and truncated) w's with one
    fixed noise realisation, the paper's perceptually smoother path."""
    if steps < 2:
        raise UserError(f"--steps must be at least 2, got {steps}")
    if pairs < 1:
        raise UserError(f"--pairs must be at least 1, got {pairs}")
    if len(model.config.data_shape) != 3:
        raise UserError("interpolate needs an image model; this run models 2-D points")
    if space not in ("z", "w"):
        raise UserError(f"--space must be z or w, got {space!r}")
    generator = torch.Generator().manual_seed(seed)
    start, end = model.sample_latent(pairs, generator), model.sample_latent(pairs, generator)
    if space == "w" or truncation != 1.0:
        return _walk_in_w(style_model(model, "--space w / --truncation"), start, end, steps,
                          spherical, space, truncation)
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


@torch.no_grad()
def _walk_in_w(model: StyleModel, start: Tensor, end: Tensor, steps: int, spherical: bool,
               space: str, truncation: float) -> Tensor:
    if spherical and space == "w":
        raise UserError("--slerp walks in z; walks in w are linear")
    weights = torch.linspace(0.0, 1.0, steps, device=start.device)[None, :, None]
    if space == "w":
        start, end = model.mapping(start), model.mapping(end)
        points = torch.lerp(start[:, None], end[:, None], weights).reshape(-1, start.shape[-1])
    else:
        walk = slerp if spherical else torch.lerp
        points = model.mapping(walk(start[:, None], end[:, None], weights).reshape(-1, start.shape[-1]))
    ws = broadcast_w(model.truncate(points, truncation), model.num_ws)
    return model.synthesize(ws, model.noise(1, 0))
