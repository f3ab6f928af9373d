"""Convolutional building blocks shared by SinGAN and the zoo.

``ConvBlock`` is the Conv-BatchNorm-LeakyReLU unit of DCGAN (Radford et al. 2016), which SinGAN
(Shaham et al. 2019) stacks five deep in every generator and critic. Its batch norm is
:class:`ganbase.nn.batchnorm.BatchNorm2d` (``nn.BatchNorm2d`` with a cheaper double backward on the
CPU, for the critic's gradient penalty). ``init_dcgan_weights`` is the
N(0, 0.02) initialisation both papers' official code uses.

Inside :func:`recomputed_activations` every ``ConvBlock`` that runs with gradients keeps only its
input for the backward pass and recomputes its convolution, batch norm and LeakyReLU there
(activation checkpointing, Chen et al. 2016, "Training Deep Nets with Sublinear Memory Cost"):
about a third of the activation memory of a SinGAN scale for about one more forward pass. The
recomputation does not update batch-norm running statistics a second time
(:func:`ganbase.nn.batchnorm.running_stats_frozen`), so results equal those without it.
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from typing import Iterator

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from ganbase.nn.batchnorm import BatchNorm2d, running_stats_frozen

_RECOMPUTE = ContextVar("recompute_conv_blocks", default=False)


@contextmanager
def recomputed_activations(enabled: bool = True) -> Iterator[None]:
    """Within the block, ``ConvBlock`` activations are recomputed in backward instead of kept."""
    token = _RECOMPUTE.set(enabled)
    try:
        yield
    finally:
        _RECOMPUTE.reset(token)


def activations_recomputed() -> bool:
    """Whether the caller runs inside :func:`recomputed_activations` (memory matters more than speed)."""
    return _RECOMPUTE.get()


def _recompute_contexts() -> tuple:
    return nullcontext(), running_stats_frozen()


class ConvBlock(nn.Sequential):
    """Conv2d -> BatchNorm2d -> LeakyReLU.

    SinGAN uses kernel 3, stride 1 and no padding (the generator pads its input once instead),
    with a LeakyReLU slope of 0.2.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        padding: int = 0,
        negative_slope: float = 0.2,
        batch_norm: bool = True,
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding)
        ]
        if batch_norm:
            layers.append(BatchNorm2d(out_channels))
        layers.append(nn.LeakyReLU(negative_slope, inplace=True))
        super().__init__(*layers)

    def forward(self, input: Tensor) -> Tensor:
        if _RECOMPUTE.get() and torch.is_grad_enabled():
            # non-reentrant checkpointing: supports torch.autograd.grad and the gradient penalty's
            # double backward
            return checkpoint(super().forward, input, use_reentrant=False, context_fn=_recompute_contexts)
        return super().forward(input)


@torch.no_grad()
def init_dcgan_weights(module: nn.Module) -> None:
    """DCGAN initialisation: conv weights ~ N(0, 0.02); BatchNorm weight ~ N(1, 0.02), bias 0.

    Apply with ``model.apply(init_dcgan_weights)``. Conv biases keep PyTorch's default, as in the
    official SinGAN code.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        module.weight.normal_(0.0, 0.02)
    elif isinstance(module, (nn.BatchNorm2d, nn.InstanceNorm2d)) and module.weight is not None:
        module.weight.normal_(1.0, 0.02)
        module.bias.zero_()
