"""Fully convolutional patch (Markovian) discriminators.

A patch critic scores every receptive-field patch of its input independently and returns a map of
scores (PatchGAN, Isola et al. 2017; SinGAN's per-scale critic, Shaham et al. 2019). With the
SinGAN defaults (5 layers, 3x3 kernels, no padding) each score sees an 11x11 patch.
"""

from __future__ import annotations

from torch import Tensor, nn

from ganbase.nn.blocks import ConvBlock, init_dcgan_weights


class PatchDiscriminator(nn.Module):
    """``num_layers`` convolutions: (num_layers - 1) ConvBlocks then a conv to one score channel.

    Input ``[N, C, H, W]``; output ``[N, 1, H - 2p, W - 2p]`` where ``p = num_layers * (k - 1) / 2``
    for ``padding=0``. No final activation: the scores are used as WGAN critic values or logits.
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_filters: int = 32,
        num_layers: int = 5,
        kernel_size: int = 3,
        padding: int = 0,
        negative_slope: float = 0.2,
    ) -> None:
        super().__init__()
        if num_layers < 2:
            raise ValueError(f"num_layers must be at least 2, got {num_layers}")
        blocks = [ConvBlock(in_channels, num_filters, kernel_size, 1, padding, negative_slope)]
        blocks += [
            ConvBlock(num_filters, num_filters, kernel_size, 1, padding, negative_slope)
            for _ in range(num_layers - 2)
        ]
        self.body = nn.Sequential(*blocks)
        self.tail = nn.Conv2d(num_filters, 1, kernel_size, padding=padding)
        self.receptive_field = 1 + num_layers * (kernel_size - 1)
        self.apply(init_dcgan_weights)

    def forward(self, images: Tensor) -> Tensor:
        return self.tail(self.body(images))  # [N, 1, H', W']
