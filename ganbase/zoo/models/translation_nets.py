"""Networks of the image-to-image translation models.

- ``UNetGenerator``: the encoder-decoder with skip connections of pix2pix (Isola et al. 2017,
  "Image-to-Image Translation with Conditional Adversarial Networks", appendix 6.1.1): 4x4
  stride-2 convolutions C64-C128-C256-C512-C512..., LeakyReLU(0.2) in the encoder, ReLU in the
  decoder, no normalisation on the first and innermost layers, dropout 0.5 as the generator's
  noise in the first three decoder layers, skip connections concatenating layer i with layer
  n - i, tanh output. ``unet_256`` has 8 down-samplings (1x1 bottleneck at 256 px), ``unet_128``
  7; any ``unet_<2^k>`` with k >= 5 is accepted.
- ``PatchDiscriminator70``: the 70x70 PatchGAN C64-C128-C256-C512 (4x4 kernels, the last two
  layers stride 1), no normalisation on the first layer, one logit per overlapping 70x70 patch.
- ``ResNetGenerator``: CycleGAN's generator (Zhu et al. 2017, appendix 7.2, after Johnson et al.
  2016): c7s1-64, d128, d256, 6 or 9 residual blocks, u128, u64, c7s1-3, reflection padding,
  instance normalisation.

Weights start from N(0, 0.02) as in both papers' code.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor, nn

from ganbase.errors import UserError

NORMS: dict[str, Callable[[int], nn.Module]] = {
    "batch": nn.BatchNorm2d,
    "instance": lambda channels: nn.InstanceNorm2d(channels, affine=False),
    "none": lambda channels: nn.Identity(),
}


def norm_factory(name: str) -> Callable[[int], nn.Module]:
    if name not in NORMS:
        raise UserError(f"unknown norm {name!r}; use one of {', '.join(NORMS)}")
    return NORMS[name]


@torch.no_grad()
def init_normal(module: nn.Module) -> None:
    """Convolutions ~ N(0, 0.02) with zero bias; BatchNorm scale ~ N(1, 0.02), zero shift."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        module.weight.normal_(0.0, 0.02)
        if module.bias is not None:
            module.bias.zero_()
    elif isinstance(module, nn.BatchNorm2d):
        module.weight.normal_(1.0, 0.02)
        module.bias.zero_()


def unet_depth(name: str, image_size: int) -> int:
    """Number of down-samplings of ``unet_<N>`` (``auto`` means ``unet_<image_size>``)."""
    size_text = str(image_size) if name == "auto" else name.removeprefix("unet_")
    size = int(size_text) if size_text.isdigit() else 0
    depth = int(round(math.log2(size))) if size > 0 else 0
    if not name.startswith(("unet_", "auto")) or depth < 5 or 2**depth != size:
        raise UserError(f"unknown generator {name!r} for {image_size}px images: use unet_256, "
                        "unet_128 or unet_<power of two, at least 32> (auto = unet_<image size>)")
    if image_size % 2**depth:
        raise UserError(f"{name} needs image sizes that are multiples of {2**depth}, "
                        f"got {image_size}")
    return depth


class UNetGenerator(nn.Module):
    """Image ``[N, in, H, W]`` -> ``[N, out, H, W]`` in [-1, 1]; H, W multiples of 2^depth."""

    def __init__(self, in_channels: int, out_channels: int, depth: int, width: int = 64,
                 norm: str = "batch", dropout: float = 0.5) -> None:
        super().__init__()
        make_norm = norm_factory(norm)
        bias = norm != "batch"
        widths = [width * min(2**i, 8) for i in range(depth)]  # 64, 128, 256, 512, 512, ...
        self.multiple = 2**depth
        self.downs = nn.ModuleList()
        for i, w_out in enumerate(widths):
            if i == 0:
                self.downs.append(nn.Conv2d(in_channels, w_out, 4, 2, 1, bias=bias))
                continue
            layers = [nn.LeakyReLU(0.2, True), nn.Conv2d(widths[i - 1], w_out, 4, 2, 1, bias=bias)]
            if i < depth - 1:
                layers.append(make_norm(w_out))
            self.downs.append(nn.Sequential(*layers))
        self.ups = nn.ModuleList()  # ups[i] undoes downs[i]
        for i, w_in in enumerate(widths):
            n_in = w_in if i == depth - 1 else 2 * w_in
            if i == 0:
                self.ups.append(nn.Sequential(nn.ReLU(True),
                                              nn.ConvTranspose2d(n_in, out_channels, 4, 2, 1),
                                              nn.Tanh()))
                continue
            layers = [nn.ReLU(True), nn.ConvTranspose2d(n_in, widths[i - 1], 4, 2, 1, bias=bias),
                      make_norm(widths[i - 1])]
            if i >= depth - 3 and dropout > 0:  # the first three decoder layers
                layers.append(nn.Dropout(dropout))
            self.ups.append(nn.Sequential(*layers))
        self.apply(init_normal)

    def forward(self, images: Tensor) -> Tensor:
        skips = []
        x = images
        for down in self.downs:
            x = down(x)
            skips.append(x)
        x = self.ups[-1](skips[-1])
        for i in range(len(self.downs) - 2, -1, -1):
            x = self.ups[i](torch.cat([skips[i], x], 1))
        return x


class PatchDiscriminator70(nn.Module):
    """Image ``[N, C, H, W]`` -> patch logits ``[N, 1, H', W']``; 70x70 receptive field at
    ``num_layers=3`` (PatchGAN, Isola et al. 2017)."""

    def __init__(self, in_channels: int, width: int = 64, num_layers: int = 3,
                 norm: str = "batch") -> None:
        super().__init__()
        make_norm = norm_factory(norm)
        bias = norm != "batch"
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        w_in = width
        for n in range(1, num_layers + 1):
            w_out = width * min(2**n, 8)
            stride = 2 if n < num_layers else 1
            layers += [nn.Conv2d(w_in, w_out, 4, stride, 1, bias=bias), make_norm(w_out),
                       nn.LeakyReLU(0.2, True)]
            w_in = w_out
        layers.append(nn.Conv2d(w_in, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)
        self.apply(init_normal)

    def forward(self, images: Tensor) -> Tensor:
        return self.net(images)


class ResidualBlock(nn.Module):
    """x + (pad-conv3-norm-ReLU-pad-conv3-norm)(x), reflection padding."""

    def __init__(self, channels: int, make_norm: Callable[[int], nn.Module], bias: bool) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), make_norm(channels),
            nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), make_norm(channels))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResNetGenerator(nn.Module):
    """Image ``[N, in, H, W]`` -> ``[N, out, H, W]`` in [-1, 1]; H, W multiples of 4."""

    multiple = 4

    def __init__(self, in_channels: int, out_channels: int, num_blocks: int = 9, width: int = 64,
                 norm: str = "instance") -> None:
        super().__init__()
        make_norm = norm_factory(norm)
        bias = norm != "batch"
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, width, 7, bias=bias),
                                   make_norm(width), nn.ReLU(True)]
        for factor in (1, 2):  # d128, d256
            layers += [nn.Conv2d(width * factor, width * factor * 2, 3, 2, 1, bias=bias),
                       make_norm(width * factor * 2), nn.ReLU(True)]
        layers += [ResidualBlock(width * 4, make_norm, bias) for _ in range(num_blocks)]
        for factor in (4, 2):  # u128, u64
            layers += [nn.ConvTranspose2d(width * factor, width * factor // 2, 3, 2, 1, 1, bias=bias),
                       make_norm(width * factor // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, out_channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(init_normal)

    def forward(self, images: Tensor) -> Tensor:
        return self.net(images)
