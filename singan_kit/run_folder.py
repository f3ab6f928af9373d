"""Run folders: what a SinGAN training writes and how a trained model is loaded back.

A run folder holds
- ``config.json``: format version, package version, the architecture (a name registered in
  :mod:`singan_kit.architectures`: "singan", "consingan", ...), the resolved config, pyramid sizes and factor,
  the source image, noise amplitudes and how many scales are finished (the commit point: it is
  written last, atomically, after every finished scale);
- ``pyramid.safetensors``: the training image at every scale (float32, ``real_<n>``);
- ``generators.safetensors``: generator weights ``g<n>.<param>`` and the reconstruction noise
  ``z_opt`` (ConSinGAN: ``g.<param>`` and ``z_opt_<n>``); ``discriminators.safetensors``: the critics
  ``d<n>.<param>`` of the last two scales (the last finished one initialises the next scale);
- ``real.png``, ``previews/scale_<n>.png`` (real | random sample | reconstruction), ``log.csv``;
- while a SinGAN scale trains: ``scale_progress.safetensors``, its state every few minutes
  (:mod:`singan_kit.architectures.scale_checkpoint`), removed once the scale is committed.
Nothing is pickled; loading never executes code from the folder. Every file is replaced
atomically, and whatever a crash leaves between two commits of config.json is ignored or redone.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import torch

from ganbase import __version__
from ganbase.errors import UserError
from ganbase.io.checkpoint import (
    atomic_write_json,
    atomic_write_text,
    load_tensors,
    read_json,
)
from ganbase.io.run_safety import RunKind, register_run_kind
from singan_kit.architectures import registry as registered
from singan_kit.architectures.base import RunConfig
from singan_kit.architectures.scale_checkpoint import PROGRESS_FILE
from singan_kit.pyramid import Pyramid
from singan_kit.run_validation import (
    check_config_bounds,
    check_config_types,
    check_noise_amps,
    check_pyramid_data,
    check_tensors,
)

FORMAT = 1
CONFIG_FILE = "config.json"
PYRAMID_FILE = "pyramid.safetensors"
GENERATORS_FILE = "generators.safetensors"
DISCRIMINATORS_FILE = "discriminators.safetensors"
LOG_FILE = "log.csv"


def write_meta(run_dir: Path, config: RunConfig, pyramid: Pyramid, source: str,
               noise_amps: list[float], notes: list[str], device: str) -> None:
    atomic_write_json(run_dir / CONFIG_FILE, {
        "format": FORMAT,
        "version": __version__,
        "model": "singan",
        "architecture": config.architecture,
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
    if meta.setdefault("architecture", "singan") not in registered.names():
        raise UserError(f"{run_dir} holds a {meta['architecture']!r} model, unknown to this version: "
                        "upgrade singan-kit")
    config_class = registered.get(meta["architecture"]).config_class
    where = run_dir / CONFIG_FILE
    try:  # types, ranges and finiteness first: singan_kit.run_validation
        data = check_config_types(config_class, meta["config"], where)
        check_pyramid_data(meta["pyramid"], where)
        amps = check_noise_amps(meta["noise_amps"], meta["scales_done"], where)
        done = meta["scales_done"]
        meta["config"] = config_class.from_dict(data)
        meta["pyramid"] = Pyramid.from_dict(meta["pyramid"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"corrupt {run_dir / CONFIG_FILE}: bad or missing field {exc}") from None
    check_config_bounds(meta["config"], where)
    if meta["config"].architecture != meta["architecture"]:
        raise UserError(f"corrupt {run_dir / CONFIG_FILE}: the config's architecture is not {meta['architecture']!r}")
    if done != len(amps) or done > meta["pyramid"].num_scales:
        raise UserError(f"corrupt {run_dir / CONFIG_FILE}: scales_done does not match noise_amps")
    meta["noise_amps"] = amps
    return meta


def load_reals(run_dir: Path, pyramid: Pyramid, device: torch.device | str) -> list[torch.Tensor]:
    tensors = load_tensors(run_dir / PYRAMID_FILE, device)
    check_tensors(tensors, run_dir / PYRAMID_FILE)
    reals = []
    for n, (h, w) in enumerate(pyramid.sizes):
        real = tensors.get(f"real_{n}")
        if real is None or tuple(real.shape) != (1, 3, h, w):
            raise UserError(f"corrupt {run_dir / PYRAMID_FILE}: scale {n} missing or of the wrong size")
        reals.append(real)
    return reals


# ``architectures=ALL_ARCHITECTURES``: load_model takes a run of any registered architecture
ALL_ARCHITECTURES = None


def load_model(run_dir: str | Path, device: torch.device | str = "cpu", min_scales: int = 1,
               architectures: tuple[str, ...] | None = ("singan",)) -> torch.nn.Module:
    """Load the trained scales of a run folder in eval mode, as its architecture builds them (a
    :class:`~singan_kit.architectures.singan.model.GeneratorPyramid` for SinGAN, a
    :class:`~singan_kit.architectures.consingan.model.ConSinGANModel` for ConSinGAN, ...). Runs of
    other ``architectures`` than those given (the caller's code can handle) are refused with a
    one-line error; ``ALL_ARCHITECTURES`` takes any."""
    run_dir = Path(run_dir)
    meta = read_meta(run_dir)
    if architectures is not None and meta["architecture"] not in architectures:
        raise UserError(f"not supported for {meta['architecture']} runs ({run_dir}); this needs a "
                        f"{' or '.join(architectures)} run")
    done = meta["scales_done"]
    if done < min_scales:
        raise UserError(f"{run_dir} has no trained scale yet; finish it with: singan train --resume {run_dir}")
    reals = load_reals(run_dir, meta["pyramid"], device)
    weights = load_tensors(run_dir / GENERATORS_FILE, device) if done else {}
    check_tensors(weights, run_dir / GENERATORS_FILE)
    build_model = architecture_of(meta).build_model
    return build_model(meta, reals, weights, str(run_dir / GENERATORS_FILE)).to(device).eval()


def architecture_of(meta: dict):
    """The registered :class:`~singan_kit.architectures.base.Architecture` of a run's ``meta``."""
    return registered.get(meta["architecture"])


def critic_tensors(critics: dict[int, dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The contents of ``discriminators.safetensors``: the critics of the given scales (``d<n>.*``)."""
    return {f"d{scale}.{k}": v for scale, state in critics.items() for k, v in state.items()}


def load_critic(run_dir: str | Path, device: torch.device | str = "cpu") -> dict[str, torch.Tensor] | None:
    """The state dict of the last finished scale's critic, or None when no scale is trained.

    The file keeps the critics of the last two scales, so that after a crash between writing it
    for a new scale and committing that scale in config.json, the committed scale's critic is
    still there. Files of older versions hold one critic as ``d.*``.
    """
    run_dir = Path(run_dir)
    if not (run_dir / DISCRIMINATORS_FILE).is_file():
        return None
    done = read_meta(run_dir)["scales_done"]
    critic = load_tensors(run_dir / DISCRIMINATORS_FILE, device)
    for prefix in (f"d{done - 1}.", "d."):
        state = {k[len(prefix):]: v for k, v in critic.items() if k.startswith(prefix)}
        if state:
            return state
    raise UserError(f"corrupt {run_dir / DISCRIMINATORS_FILE}: no critic for scale {done - 1}")


def write_log(run_dir: str | Path, scale: int, rows: list[dict], fields: list[str]) -> None:
    """Rewrite ``log.csv`` atomically: the rows of the scales before ``scale``, then ``rows``.

    Rows that an interrupted attempt at ``scale`` (or later) left behind are dropped, so the log of
    a resumed run holds every scale once.
    """
    path = Path(run_dir) / LOG_FILE
    kept = []
    if path.is_file():
        for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8", errors="replace"))):
            value = row.get(fields[0]) or ""
            if value.isdigit() and int(value) < scale and None not in row and None not in row.values():
                kept.append(row)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(kept + list(rows))
    atomic_write_text(path, buffer.getvalue())


# ---------------------------------------------------------------------- data safety (issue 22)
# What a SinGAN run is to the shared ownership and output-path checks (ganbase.io.run_safety).
register_run_kind("singan", RunKind(
    title="SinGAN run", matches=lambda config: config.get("model") == "singan",
    own_names=frozenset({CONFIG_FILE, PYRAMID_FILE, GENERATORS_FILE, DISCRIMINATORS_FILE, LOG_FILE,
                         "real.png", "previews", PROGRESS_FILE})))
