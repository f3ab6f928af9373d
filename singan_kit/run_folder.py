"""Run folders: what a SinGAN training writes and how a trained model is loaded back.

A run folder holds
- ``config.json``: format version, package version, the resolved config, pyramid sizes and factor,
  the source image, noise amplitudes and how many scales are finished (the commit point: it is
  written last, atomically, after every finished scale);
- ``pyramid.safetensors``: the training image at every scale (float32, ``real_<n>``);
- ``generators.safetensors``: generator weights ``g<n>.<param>`` and the reconstruction noise
  ``z_opt``; ``discriminators.safetensors``: the last scale's critic (to initialise the next);
- ``real.png``, ``previews/scale_<n>.png`` (real | random sample | reconstruction), ``log.csv``.
Nothing is pickled; loading never executes code from the folder.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ganbase import __version__
from ganbase.checkpoint import atomic_write_json, load_tensors, read_json
from ganbase.errors import UserError
from singan_kit.config import SinGANConfig
from singan_kit.model import GeneratorPyramid
from singan_kit.pyramid import Pyramid

FORMAT = 1
CONFIG_FILE = "config.json"
PYRAMID_FILE = "pyramid.safetensors"
GENERATORS_FILE = "generators.safetensors"
DISCRIMINATORS_FILE = "discriminators.safetensors"
LOG_FILE = "log.csv"


def write_meta(run_dir: Path, config: SinGANConfig, pyramid: Pyramid, source: str,
               noise_amps: list[float], notes: list[str], device: str) -> None:
    atomic_write_json(run_dir / CONFIG_FILE, {
        "format": FORMAT,
        "version": __version__,
        "model": "singan",
        "source_image": source,
        "device": device,
        "config": config.to_dict(),
        "pyramid": pyramid.to_dict(),
        "scales_done": len(noise_amps),
        "noise_amps": [float(a) for a in noise_amps],
        "notes": notes,
    })


def read_meta(run_dir: str | Path) -> dict:
    """Read and check a run folder's config.json; problems become one-line UserErrors."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"run folder does not exist: {run_dir}")
    if not (run_dir / CONFIG_FILE).is_file():
        raise UserError(f"{run_dir} is not a SinGAN run folder (no {CONFIG_FILE})")
    meta = read_json(run_dir / CONFIG_FILE)
    if meta.get("model") != "singan":
        raise UserError(f"{run_dir} is not a SinGAN run folder (model is {meta.get('model')!r})")
    if not isinstance(meta.get("format"), int) or meta["format"] > FORMAT:
        raise UserError(
            f"{run_dir} was written by a newer version (format {meta.get('format')}, this is "
            f"{FORMAT}): upgrade singan-kit"
        )
    try:
        meta["config"] = SinGANConfig.from_dict(meta["config"])
        meta["pyramid"] = Pyramid.from_dict(meta["pyramid"])
        amps = [float(a) for a in meta["noise_amps"]]
        done = int(meta["scales_done"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"corrupt {run_dir / CONFIG_FILE}: bad or missing field {exc}") from None
    if done != len(amps) or done > meta["pyramid"].num_scales:
        raise UserError(f"corrupt {run_dir / CONFIG_FILE}: scales_done does not match noise_amps")
    meta["noise_amps"] = amps
    return meta


def load_reals(run_dir: Path, pyramid: Pyramid, device: torch.device | str) -> list[torch.Tensor]:
    tensors = load_tensors(run_dir / PYRAMID_FILE, device)
    reals = []
    for n, (h, w) in enumerate(pyramid.sizes):
        real = tensors.get(f"real_{n}")
        if real is None or tuple(real.shape) != (1, 3, h, w):
            raise UserError(f"corrupt {run_dir / PYRAMID_FILE}: scale {n} missing or of the wrong size")
        reals.append(real)
    return reals


def load_model(run_dir: str | Path, device: torch.device | str = "cpu", min_scales: int = 1) -> GeneratorPyramid:
    """Load the trained scales of a run folder as a :class:`GeneratorPyramid` in eval mode."""
    run_dir = Path(run_dir)
    meta = read_meta(run_dir)
    done = meta["scales_done"]
    if done < min_scales:
        raise UserError(f"{run_dir} has no trained scale yet; finish it with: singan train --resume {run_dir}")
    pyramid: Pyramid = meta["pyramid"]
    reals = load_reals(run_dir, pyramid, device)
    if done == 0:
        z_opt = torch.zeros_like(reals[0])
        return GeneratorPyramid(meta["config"], pyramid, reals, [], z_opt).eval()
    weights = load_tensors(run_dir / GENERATORS_FILE, device)
    if "z_opt" not in weights:
        raise UserError(f"corrupt {run_dir / GENERATORS_FILE}: no z_opt")
    model = GeneratorPyramid(meta["config"], pyramid, reals, meta["noise_amps"], weights["z_opt"])
    for n, generator in enumerate(model.generators):
        prefix = f"g{n}."
        state = {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}
        try:
            generator.load_state_dict(state)
        except RuntimeError as exc:
            reason = str(exc).splitlines()[0]
            raise UserError(f"weights in {run_dir / GENERATORS_FILE} do not match config.json "
                            f"at scale {n}: {reason}") from None
    return model.to(device).eval()


def load_critic(run_dir: str | Path, device: torch.device | str = "cpu") -> dict[str, torch.Tensor] | None:
    """The state dict of the last trained scale's critic, or None when no scale is trained."""
    run_dir = Path(run_dir)
    if not (run_dir / DISCRIMINATORS_FILE).is_file():
        return None
    critic = load_tensors(run_dir / DISCRIMINATORS_FILE, device)
    return {k[2:]: v for k, v in critic.items() if k.startswith("d.")}
