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


def _median_rate(fn: Callable[[], Any], flops: float, device: torch.device, repeats: int) -> float:
    """Median GFLOP/s of ``fn`` (``flops`` per call) over ``repeats`` timed calls after one warm-up."""
    fn()
    rates = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        rates.append(flops / (time.perf_counter() - start) / 1e9)
    return sorted(rates)[len(rates) // 2]


def matmul_rates(device: torch.device, size: int | None = None, repeats: int = 5) -> dict[str, float]:
    """Median float32 matrix-multiply rates of ``device`` in GFLOP/s, per kernel library, at the
    current thread count.

    CUDA: ``torch.mm`` (cuBLAS), with TF32 exactly when cuDNN's convolutions use it
    (``torch.backends.cudnn.allow_tf32``), so that the rates are comparable. CPU: ``torch.mm``
    (the BLAS torch was built with, MKL on x86) and, where torch has oneDNN, the same product as a
    1x1 convolution on a channels-last tensor, which is one oneDNN GEMM: the library that runs
    our convolutions. The two differ a lot on some machines (MKL takes a half-width AVX2 path on
    AMD CPUs; measured 175 against 340 GFLOP/s on 2 Zen 5 cores), so the faster one is the
    machine's limit.
    """
    rates = {}
    if device.type == "cuda":
        size = size or 8192
        a = torch.randn(size, size, device=device)
        b = torch.randn(size, size, device=device)
        saved = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32
        try:
            rates["torch.mm"] = _median_rate(lambda: torch.mm(a, b), 2 * size**3, device, repeats)
        finally:
            torch.backends.cuda.matmul.allow_tf32 = saved
        return rates
    size = size or 2048
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    rates["torch.mm"] = _median_rate(lambda: torch.mm(a, b), 2 * size**3, device, repeats)
    if torch.backends.mkldnn.is_available():
        side = int(size**0.5 * 1.42)  # about 2x size pixels: [1, size, side, side] x [size, size]
        pixels = torch.randn(1, size, side, side, device=device).contiguous(memory_format=torch.channels_last)
        weight = torch.randn(size, size, 1, 1, device=device)
        with torch.no_grad():
            rates["oneDNN (1x1 conv)"] = _median_rate(lambda: torch.nn.functional.conv2d(pixels, weight),
                                                      2 * size * size * side * side, device, repeats)
    return rates


def matmul_gflops(device: torch.device, size: int | None = None, repeats: int = 5) -> float:
    """The machine's float32 matrix-multiply limit in GFLOP/s: the fastest of :func:`matmul_rates`."""
    return max(matmul_rates(device, size, repeats).values())


__all__ = ["count_flops", "matmul_gflops", "matmul_rates"]
