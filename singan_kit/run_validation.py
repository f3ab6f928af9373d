"""Checks on everything a SinGAN/ConSinGAN run folder holds, before any of it is used.

``config.json`` is data a user (or a broken disk, or another program) may have edited: every value
is checked for its type, range and finiteness, the config against its architecture's ``validate()``,
and the pyramid and noise amplitudes against each other, so a NaN noise amplitude or a string where
a number belongs is a one-line error instead of black samples or ``swd nan``. Tensors are checked
for dtype and finiteness (shapes are checked against the config where the model is built). Bounds
(scales, filters, sizes) keep a hand-edited config from asking for gigabytes. Inference-only: no
training import. No paper.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import torch

from ganbase.errors import UserError
from singan_kit.pyramid import MAX_SCALES

MAX_FILTERS = 1024  # the paper uses 32-128 filters; 1024 is 9 M weights per 3x3 layer (architectures' validate())
MAX_SIDE = 16384  # px of any scale of a stored pyramid


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_config_types(config_class: type, data: Any, where: str) -> dict:
    """The fields of ``data`` have the types the config dataclass declares (``int``, ``float``,
    ``str``, ``bool``, optionally ``None``); ints are accepted for floats and converted."""
    if not isinstance(data, dict):
        raise UserError(f"corrupt {where}: 'config' must be an object, got {type(data).__name__}")
    checked = dict(data)
    for field in dataclasses.fields(config_class):
        if field.name not in data:
            continue
        value, kind = data[field.name], str(field.type)
        if value is None and "None" in kind:
            continue
        if "bool" in kind:
            ok = isinstance(value, bool)
        elif "float" in kind:
            ok = _number(value)
            if ok:
                checked[field.name] = float(value)
        elif "int" in kind:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif "str" in kind:
            ok = isinstance(value, str)
        else:
            ok = True
        if not ok:
            raise UserError(f"corrupt {where}: config setting {field.name} must be {kind}, got {value!r}")
    return checked


def check_config_bounds(config: Any, where: str) -> None:
    """Run the config's own ``validate()``: ranges, finiteness, and the bounds on filters (MAX_FILTERS)."""
    try:
        config.validate()
    except UserError as exc:
        raise UserError(f"corrupt {where}: {exc}") from None


def check_pyramid_data(data: Any, where: str) -> None:
    """``pyramid`` of config.json: positive integer sizes, at most MAX_SCALES scales, finite factors."""
    if not isinstance(data, dict):
        raise UserError(f"corrupt {where}: 'pyramid' must be an object")
    sizes, input_size = data.get("sizes"), data.get("input_size")

    def is_size(pair: Any) -> bool:
        return (isinstance(pair, list) and len(pair) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_SIDE for v in pair))

    if not isinstance(sizes, list) or not sizes or not all(is_size(s) for s in sizes):
        raise UserError(f"corrupt {where}: pyramid sizes must be a list of [height, width] pairs of 1..{MAX_SIDE} px")
    if len(sizes) > MAX_SCALES:
        raise UserError(f"corrupt {where}: {len(sizes)} scales, above the limit of {MAX_SCALES}")
    if not (isinstance(input_size, list) and len(input_size) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in input_size)):
        raise UserError(f"corrupt {where}: pyramid input_size must be [height, width] in px")
    for name, low, high in (("scale_factor", 0.0, 1.0), ("resize_factor", 0.0, 1.0)):
        value = data.get(name)
        if not _number(value) or not math.isfinite(value) or not low < value <= high:
            raise UserError(f"corrupt {where}: pyramid {name} must be a number in ({low:g}, {high:g}], got {value!r}")


def check_noise_amps(amps: Any, done: Any, where: str) -> list[float]:
    """``noise_amps``: one finite amplitude >= 0 per finished scale."""
    if not isinstance(done, int) or isinstance(done, bool) or done < 0:
        raise UserError(f"corrupt {where}: scales_done must be a whole number >= 0, got {done!r}")
    if not isinstance(amps, list):
        raise UserError(f"corrupt {where}: noise_amps must be a list of numbers")
    for scale, amp in enumerate(amps):
        if not _number(amp) or not math.isfinite(amp) or amp < 0:
            raise UserError(f"corrupt {where}: noise amplitude of scale {scale} is {amp!r}; "
                            "it must be a finite number >= 0")
    return [float(a) for a in amps]


def check_tensors(tensors: dict[str, torch.Tensor], path: Path | str) -> None:
    """Weights and images of a run are float32 and finite (batch-norm counters: int64)."""
    for name, tensor in tensors.items():
        expected = torch.int64 if name.endswith("num_batches_tracked") else torch.float32
        if tensor.dtype != expected:
            raise UserError(f"corrupt {path}: {name} is {str(tensor.dtype).removeprefix('torch.')}, "
                            f"expected {str(expected).removeprefix('torch.')}")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            bad = int((~torch.isfinite(tensor)).sum())
            raise UserError(f"corrupt {path}: {name} has {bad} NaN or infinite value(s)")
