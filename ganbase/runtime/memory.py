"""How much memory a request may use: parsing ``--max-memory`` and reading what the machine (or a
``prlimit --as`` cap, or a CUDA device) has left. Sampling and tiling size their batches and tiles
from it (issues 22 and 23). No paper.
"""

from __future__ import annotations

import re
import resource

import torch

from ganbase.errors import UserError

NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_BYTE_UNITS = {"": 1, "B": 1, "K": 2**10, "KB": 2**10, "M": 2**20, "MB": 2**20, "G": 2**30, "GB": 2**30,
               "T": 2**40, "TB": 2**40}


def parse_memory(text: str) -> int:
    """``"2GB"``, ``"512M"``, ``"1.5g"``, ``"1000000"`` -> bytes (binary units: 1 GB = 2**30)."""
    match = re.fullmatch(rf"\s*({NUMBER})\s*([KMGT]?B?)\s*", str(text).upper())
    if not match or float(match.group(1)) <= 0:
        raise UserError(f"invalid memory size {text!r}: use a positive amount like 2GB or 512MB")
    return int(float(match.group(1)) * _BYTE_UNITS[match.group(2)])


def available_memory(device: torch.device | str = "cpu") -> int:
    """Bytes this process may still allocate on ``device``: free memory of a CUDA device; on the CPU
    MemAvailable of /proc/meminfo, capped by an address-space limit (``ulimit -v``/``prlimit --as``)
    less what is already mapped; 8 GB where neither can be read."""
    if torch.device(device).type == "cuda":
        return int(torch.cuda.mem_get_info(torch.device(device))[0])
    budget = 8 * 2**30
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    budget = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = resource.getrlimit(resource.RLIMIT_AS)[0]
        if limit != resource.RLIM_INFINITY:
            with open("/proc/self/statm", encoding="ascii") as statm:
                mapped = int(statm.read().split()[0]) * resource.getpagesize()
            budget = min(budget, max(0, limit - mapped))
    except (OSError, ValueError):
        pass
    return budget


def check_fits(needed: int, what: str, option: str, device: torch.device | str = "cpu") -> None:
    """One-line refusal when a request needs more than :func:`available_memory`: ``needed`` is a
    lower bound in bytes (e.g. the images of one batch alone), ``option`` the option to lower."""
    available = available_memory(device)
    if needed > available:
        raise UserError(f"{what} needs at least {needed / 2**30:,.1f} GB, more than the "
                        f"{available / 2**30:,.1f} GB available; lower {option}")
