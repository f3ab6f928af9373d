"""Replay a fixed-shape training step as one CUDA graph (PyTorch's ``torch.cuda.graphs``).

Single-image GANs train on batches of one small image, so a step is hundreds of tiny kernels and
a GPU spends most of its time waiting for Python to launch them. A CUDA graph records the
launches of one step once and replays them with a single call. Autograd's backward, double
backward (gradient penalties) and fused/capturable optimizer steps can all be captured: the
step's inputs live in static buffers that are refilled before each replay, its outputs in
static tensors that each replay overwrites.

Rules for a step function that is captured: all its inputs are tensors passed as arguments (no
fresh host data, no ``.item()``, no CPU random draws inside), its shapes never change, and its
optimizers are built with ``capturable=True`` and tensor learning rates (changed in place with
``fill_``). ``GraphedStep`` runs the first ``warmup`` calls eagerly on a side stream (as the
PyTorch docs require, so that lazy state such as optimizer moments and cuDNN's algorithm choice
exists before capture), then captures and replays.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import Tensor

StepFn = Callable[..., Tensor]


class GraphedStep:
    """Call ``step(*inputs)`` eagerly ``warmup`` times, then as a replayed CUDA graph.

    Every call returns the step's output tensor. From the capture on it is the same static
    tensor, overwritten by each replay: clone it to keep a value.
    """

    def __init__(self, step: StepFn, device: torch.device, warmup: int = 3) -> None:
        if device.type != "cuda":
            raise ValueError("CUDA graphs need a CUDA device")
        self.step = step
        self.device = device
        self.warmup = max(1, warmup)
        self.calls = 0
        self.graph: torch.cuda.CUDAGraph | None = None
        self.static_inputs: list[Tensor] = []
        self.static_output: Tensor | None = None
        self._side_stream = torch.cuda.Stream(device)

    def __call__(self, *inputs: Tensor) -> Tensor:
        self.calls += 1
        if self.graph is not None:
            for buffer, value in zip(self.static_inputs, inputs):
                buffer.copy_(value, non_blocking=True)
            self.graph.replay()
            return self.static_output
        current = torch.cuda.current_stream(self.device)
        self._side_stream.wait_stream(current)
        with torch.cuda.stream(self._side_stream):
            output = self.step(*inputs)
        current.wait_stream(self._side_stream)
        if self.calls >= self.warmup:
            self._capture(inputs)
        return output

    def _capture(self, examples: Sequence[Tensor]) -> None:
        self.static_inputs = [torch.empty_like(t, memory_format=torch.contiguous_format).copy_(t)
                              for t in examples]
        torch.cuda.synchronize(self.device)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self.static_output = self.step(*self.static_inputs)
        self.graph = graph

    def release(self) -> None:
        """Drop the graph and its memory pool."""
        self.graph = None
        self.static_inputs = []
        self.static_output = None


def graphs_available(device: torch.device) -> bool:
    """CUDA graphs need a CUDA device; ROCm and very old drivers are not tried."""
    return device.type == "cuda" and torch.cuda.is_available() and torch.version.hip is None


def set_learning_rate(optimizer: torch.optim.Optimizer, value: float) -> None:
    """Set every group's learning rate; tensor rates (captured in a graph) change in place."""
    for group in optimizer.param_groups:
        if isinstance(group["lr"], Tensor):
            group["lr"].fill_(value)
        else:
            group["lr"] = value


def make_adam(params, lr: float, betas: tuple[float, float], device: torch.device,
              capturable: bool = False, fused: bool = True) -> torch.optim.Adam:
    """Adam, fused into one kernel per parameter where torch has one for the device (CUDA; the CPU
    since torch 2.4, where it is ~4x cheaper than the per-tensor loop, a few % of a coarse SinGAN
    iteration). With ``capturable`` (CUDA) its step and learning rate live on the device.
    ``fused=False``: the plain per-tensor loop (``foreach=False``), the reference implementation."""
    params = list(params)
    options: dict = dict(betas=betas)
    if device.type == "cuda" and capturable:
        options["capturable"] = True
        lr = torch.tensor(lr, dtype=torch.float32, device=device)
    if not fused:
        return torch.optim.Adam(params, lr=lr, foreach=False, **options)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True, **options)
    except RuntimeError:  # no fused kernel for this device in this torch version: same math, unfused
        return torch.optim.Adam(params, lr=lr, **options)


__all__ = ["GraphedStep", "graphs_available", "set_learning_rate", "make_adam"]
