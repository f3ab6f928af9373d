"""Checkpoints inside one SinGAN scale (Shaham et al. 2019), so that an interrupted scale continues
where it stopped instead of starting again.

At the paper's settings on a CPU the finest scale alone takes hours (5.6 h of the 7.4 h for a
250 px image on 2 cores), so besides the finished scales a run folder keeps, every few minutes,
the state of the scale in progress: generator and critic weights (batch-norm statistics
included), both Adam states, the scale's noise generator at the start of a block of random data,
the log rows and the fit time so far. Continuing from it gives the same weights, bit for bit, as
an uninterrupted scale (same device and thread count).

Everything is one safetensors file, its JSON metadata in the file's header, written atomically:
it is there whole or not at all. It is removed once its scale is committed to config.json; one
left behind by a crash in between belongs to a finished scale and is ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from torch import Tensor

from ganbase import __version__
from ganbase.errors import UserError
from ganbase.io.checkpoint import load_tensors, save_tensors
from ganbase.io.train_state import flatten_optimizer, unflatten_optimizer

PROGRESS_FILE = "scale_progress.safetensors"
_META_KEY = "scale_progress"


@dataclass
class ScaleProgress:
    """A scale's fit stopped between two iterations, at the start of a block of random data."""

    iteration: int  # iterations done
    generator: dict[str, Tensor]  # state_dict()
    critic: dict[str, Tensor]
    opt_g: dict[str, Any]  # optimizer.state_dict()
    opt_d: dict[str, Any]
    noise_state: Tensor  # the scale's noise generator's get_state() before the next block
    rows: list[dict] = field(default_factory=list)  # log rows so far
    seconds: float = 0.0  # fit time so far


def save_progress(run_dir: str | Path, scale: int, progress: ScaleProgress) -> None:
    """Write ``progress`` of ``scale`` into ``run_dir`` (atomically, replacing an older one)."""
    tensors = {f"generator/{k}": v for k, v in progress.generator.items()}
    tensors.update({f"critic/{k}": v for k, v in progress.critic.items()})
    opt_g_tensors, opt_g_meta = flatten_optimizer("opt_g", progress.opt_g)
    opt_d_tensors, opt_d_meta = flatten_optimizer("opt_d", progress.opt_d)
    tensors.update(opt_g_tensors)
    tensors.update(opt_d_tensors)
    tensors["noise_state"] = progress.noise_state
    meta = {"version": __version__, "scale": scale, "iteration": progress.iteration, "seconds": progress.seconds,
            "rows": progress.rows, "opt_g": opt_g_meta, "opt_d": opt_d_meta}
    save_tensors(Path(run_dir) / PROGRESS_FILE, tensors, metadata={_META_KEY: json.dumps(meta)})


def _progress_meta(path: Path) -> dict:
    """The JSON metadata of a progress file (read from the safetensors header only)."""
    try:
        with safe_open(path, framework="pt") as handle:
            return json.loads(handle.metadata()[_META_KEY])
    except RuntimeError as error:  # safetensors reports a file that is missing (or vanishes) this way
        raise OSError(f"cannot read {path}: {error}") from error


_DAMAGE = (SafetensorError, UserError, OSError, ValueError, KeyError, TypeError)  # what a damaged file raises


def load_progress(run_dir: str | Path, scale: int, device: str | torch.device = "cpu") -> ScaleProgress | None:
    """The saved progress of ``scale``, or None when there is none (or only one of an earlier,
    finished scale). A damaged file is a one-line UserError that says how to go on without it."""
    path = Path(run_dir) / PROGRESS_FILE
    if not path.is_file():
        return None
    try:
        meta = _progress_meta(path)
        if int(meta["scale"]) != scale:
            return None
        tensors = load_tensors(path, device)
        opt_tensors = {k: v for k, v in tensors.items() if k.startswith(("opt_g/", "opt_d/"))}
        return ScaleProgress(
            iteration=int(meta["iteration"]),
            generator={k[len("generator/"):]: v for k, v in tensors.items() if k.startswith("generator/")},
            critic={k[len("critic/"):]: v for k, v in tensors.items() if k.startswith("critic/")},
            opt_g=unflatten_optimizer("opt_g", opt_tensors, meta["opt_g"]),
            opt_d=unflatten_optimizer("opt_d", opt_tensors, meta["opt_d"]),
            noise_state=tensors["noise_state"].to("cpu"),
            rows=list(meta["rows"]), seconds=float(meta["seconds"]))
    except _DAMAGE as exc:
        raise UserError(f"damaged {path} ({type(exc).__name__}): remove it to train scale {scale} "
                        "again from its start") from None


def progress_iteration(run_dir: str | Path, scale: int) -> int | None:
    """Iterations of ``scale`` saved in ``run_dir``'s progress file, if it holds that scale."""
    path = Path(run_dir) / PROGRESS_FILE
    try:
        meta = _progress_meta(path)
        return int(meta["iteration"]) if int(meta["scale"]) == scale else None
    except _DAMAGE:
        return None


def remove_progress(run_dir: str | Path) -> None:
    (Path(run_dir) / PROGRESS_FILE).unlink(missing_ok=True)


__all__ = ["PROGRESS_FILE", "ScaleProgress", "load_progress", "progress_iteration", "remove_progress",
           "save_progress"]
