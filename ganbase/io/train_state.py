"""Full training state as safetensors + JSON, never pickles (no paper).

Optimizer states are flattened: every tensor becomes ``{prefix}/{param}/{key}`` in one
safetensors file and everything else (param groups, scalar state, step counts, scheduler and
GradScaler state, Python's RNG) goes to JSON. RNG states of torch (CPU and CUDA) and NumPy are
stored as tensors, so a resumed run continues bit for bit.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
from torch import Tensor


def flatten_optimizer(prefix: str, state: dict[str, Any]) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Split ``optimizer.state_dict()`` into tensors and JSON-able metadata."""
    tensors: dict[str, Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for param_id, entries in state["state"].items():
        for key, value in entries.items():
            if isinstance(value, Tensor):
                tensors[f"{prefix}/{param_id}/{key}"] = value
            else:
                scalars.setdefault(str(param_id), {})[key] = value
    groups = [{key: list(value) if isinstance(value, tuple) else value for key, value in group.items()}
              for group in state["param_groups"]]
    return tensors, {"param_groups": groups, "scalars": scalars}


def unflatten_optimizer(prefix: str, tensors: dict[str, Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`flatten_optimizer`."""
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith(prefix + "/"):
            param_id, key = name[len(prefix) + 1:].split("/", 1)
            state.setdefault(int(param_id), {})[key] = value
    for param_id, entries in meta["scalars"].items():
        state.setdefault(int(param_id), {}).update(entries)
    groups = [{key: tuple(value) if key == "betas" else value for key, value in group.items()}
              for group in meta["param_groups"]]
    return {"state": state, "param_groups": groups}


def capture_rng() -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Current RNG states of torch (CPU, every CUDA device), NumPy and Python."""
    tensors = {"rng/torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for index, value in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng/cuda_{index}"] = value
    kind, keys, position, has_gauss, cached = np.random.get_state()
    tensors["rng/numpy_keys"] = torch.from_numpy(np.asarray(keys, dtype=np.int64))
    python_version, python_state, python_gauss = random.getstate()
    meta = {"numpy": [kind, int(position), int(has_gauss), float(cached)],
            "python": [python_version, list(python_state), python_gauss]}
    return tensors, meta


def restore_rng(tensors: dict[str, Tensor], meta: dict[str, Any]) -> None:
    torch.set_rng_state(tensors["rng/torch_cpu"].to("cpu", torch.uint8))
    cuda_states = sorted(name for name in tensors if name.startswith("rng/cuda_"))
    if cuda_states and torch.cuda.is_available():
        count = min(len(cuda_states), torch.cuda.device_count())
        torch.cuda.set_rng_state_all([tensors[f"rng/cuda_{i}"].to("cpu", torch.uint8)
                                      for i in range(count)])
    kind, position, has_gauss, cached = meta["numpy"]
    keys = tensors["rng/numpy_keys"].numpy().astype(np.uint32)
    np.random.set_state((kind, keys, position, has_gauss, cached))
    version, state, gauss = meta["python"]
    random.setstate((version, tuple(state), gauss))
