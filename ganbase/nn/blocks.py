"""Convolutional building blocks shared by SinGAN and the zoo.

``ConvBlock`` is the Conv-BatchNorm-LeakyReLU unit of DCGAN (Radford et al. 2016), which SinGAN
(Shaham et al. 2019) stacks five deep in every generator and critic. Its batch norm is
:class:`ganbase.nn.batchnorm.BatchNorm2d` (``nn.BatchNorm2d`` with a cheaper double backward on the
CPU, for the critic's gradient penalty). ``init_dcgan_weights`` is the
N(0, 0.02) initialisation both papers' official code uses.
"""

from __future__ import annotations

import torch
from torch import nn

from ganbase.nn.batchnorm import BatchNorm2d


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
