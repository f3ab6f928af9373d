"""Floating-point work of a PyTorch computation, counted from the shapes of its operators.

Used by the speed benchmarks to turn seconds into GFLOP/s and compare them with the machine's
matrix-multiply rate. Counting runs the computation under a dispatch mode that adds up
``torch.utils.flop_counter``'s per-operator formulas (convolutions and their backward passes,
matrix products): a multiply-add counts as 2 FLOPs; elementwise work is not counted. Run it on
the ``meta`` device to count without computing. We use our own small mode rather than
``FlopCounterMode`` because the latter's module hooks refuse ``torch.autograd.grad`` (the
gradient penalty's double backward).
"""

from __future__ import annotations

import time
from typing import Any, Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry


class _FlopCount(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.total = 0
        self.by_operator: dict[str, int] = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        packet = func._overloadpacket
        if packet in flop_registry:
            flops = int(flop_registry[packet](*args, **kwargs, out_val=out))
            self.total += flops
            self.by_operator[str(packet)] = self.by_operator.get(str(packet), 0) + flops
        return out


def count_flops(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
    """FLOPs of ``fn(*args, **kwargs)`` (total, and per operator such as ``aten.convolution``)."""
    counter = _FlopCount()
    with counter:
        fn(*args, **kwargs)
    return counter.total, counter.by_operator


def matmul_gflops(device: torch.device, size: int | None = None, repeats: int = 5) -> float:
    """Median float32 matrix-multiply rate of ``device`` in GFLOP/s, at the current thread count.

    On CUDA the product uses TF32 exactly when cuDNN's convolutions do
    (``torch.backends.cudnn.allow_tf32``), so that the two rates are comparable.
    """
    size = size or (8192 if device.type == "cuda" else 2048)
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    saved = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32
    try:
        torch.mm(a, b)
        rates = []
        for _ in range(repeats):
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
            torch.mm(a, b)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            rates.append(2 * size**3 / (time.perf_counter() - start) / 1e9)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = saved
    return sorted(rates)[len(rates) // 2]


__all__ = ["count_flops", "matmul_gflops"]
