"""Generator and discriminator networks shared by several zoo models.

- ``DCGANGenerator`` / ``DCGANDiscriminator``: the all-convolutional pair of Radford et al. 2016
  ("Unsupervised Representation Learning with Deep Convolutional GANs"): transposed convolutions
  with BatchNorm and ReLU, tanh output; strided convolutions with LeakyReLU(0.2), no BatchNorm on
  the first layer, no pooling, no fully connected hidden layers. Their depth follows the image
  size (4x4 -> size by doubling), so 32, 64 and 128 pixel images work.
- ``MLPGenerator`` / ``MLPDiscriminator``: fully connected pairs as in Goodfellow et al. 2014 and
  the 2-D toy experiments of Gulrajani et al. 2017 (the label-conditioned pair of Mirza &
  Osindero 2014 lives in :mod:`ganbase.zoo.models.cgan`).
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

from torch import Tensor, nn

from ganbase.errors import UserError
from ganbase.nn.blocks import init_dcgan_weights

NORMALIZATIONS: dict[str, Callable[[int], nn.Module]] = {
    "batch": nn.BatchNorm2d,
    "layer": lambda channels: nn.GroupNorm(1, channels),  # LayerNorm over C, H, W
    "none": lambda channels: nn.Identity(),
}


def num_doublings(image_size: int) -> int:
    """Number of 2x up/down-sampling stages between 4x4 and ``image_size``."""
    stages = int(round(math.log2(image_size))) - 2 if image_size > 0 else -1
    if image_size < 16 or image_size > 256 or 2 ** (stages + 2) != image_size:
        raise UserError(f"image size {image_size} not supported by DCGAN-style networks: "
                        "use a power of two from 16 to 256 (e.g. 32, 64, 128)")
    return stages


def check_image_shape(model_name: str, data_shape: Sequence[int]) -> tuple[int, int]:
    """Return (channels, size) for square image data, or explain why the data does not fit."""
    if len(data_shape) != 3:
        raise UserError(f"model {model_name!r} needs image data, got points of shape "
                        f"{tuple(data_shape)} (use gan, wgan, wgan-gp or lsgan for 2-D points)")
    channels, height, width = data_shape
    if height != width:
        raise UserError(f"model {model_name!r} needs square images, got {height}x{width}")
    num_doublings(height)
    return channels, height


class DCGANGenerator(nn.Module):
    """z ``[N, latent_dim]`` -> image ``[N, C, S, S]`` in [-1, 1] (raw logits without tanh)."""

    def __init__(self, latent_dim: int, channels: int, image_size: int, width: int = 64,
                 tanh_output: bool = True) -> None:
        super().__init__()
        stages = num_doublings(image_size)
        widths = [width * 2 ** (stages - 1 - i) for i in range(stages)]  # e.g. 512..64 at 64px
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, widths[0], 4, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]), nn.ReLU(True),
        ]
        for w_in, w_out in zip(widths, widths[1:]):
            layers += [nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(w_out), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=False),
                   nn.Tanh() if tanh_output else nn.Identity()]
        self.net = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)

    def forward(self, latent: Tensor) -> Tensor:
        return self.net(latent[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """Image ``[N, C, S, S]`` -> one raw score per image ``[N]`` (a logit or a critic value).

    ``norm`` picks the hidden-layer normalisation: ``batch`` (DCGAN, WGAN), ``layer`` (WGAN-GP,
    whose penalty is per sample and so must not mix samples) or ``none``.
    """

    def __init__(self, channels: int, image_size: int, width: int = 64, norm: str = "batch") -> None:
        super().__init__()
        if norm not in NORMALIZATIONS:
            raise UserError(f"unknown normalisation {norm!r}; use one of {', '.join(NORMALIZATIONS)}")
        stages = num_doublings(image_size)
        widths = [width * 2**i for i in range(stages)]
        layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 4, 2, 1),
                                   nn.LeakyReLU(0.2, True)]
        for w_in, w_out in zip(widths, widths[1:]):
            layers += [nn.Conv2d(w_in, w_out, 4, 2, 1, bias=False),
                       NORMALIZATIONS[norm](w_out), nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(widths[-1], 1, 4, 1, 0))
        self.net = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)

    def forward(self, images: Tensor) -> Tensor:
        return self.net(images).flatten()


def mlp(sizes: Sequence[int], activation: Callable[[], nn.Module], dropout: float = 0.0) -> nn.Sequential:
    """Linear layers with ``activation`` (and dropout) between them, none after the last."""
    layers: list[nn.Module] = []
    for index, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if index < len(sizes) - 2:
            layers.append(activation())
            if dropout:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    """z -> data of ``data_shape``; tanh output for images, linear for points."""

    def __init__(self, latent_dim: int, data_shape: Sequence[int], hidden: Sequence[int]) -> None:
        super().__init__()
        self.data_shape = tuple(data_shape)
        self.net = mlp([latent_dim, *hidden, math.prod(data_shape)], lambda: nn.ReLU(True))
        self.output = nn.Tanh() if len(self.data_shape) == 3 else nn.Identity()

    def forward(self, latent: Tensor) -> Tensor:
        return self.output(self.net(latent)).view(-1, *self.data_shape)


class MLPDiscriminator(nn.Module):
    """Data -> one raw score per sample ``[N]``; LeakyReLU(0.2) and dropout."""

    def __init__(self, data_shape: Sequence[int], hidden: Sequence[int], dropout: float = 0.0) -> None:
        super().__init__()
        self.net = mlp([math.prod(data_shape), *hidden, 1], lambda: nn.LeakyReLU(0.2, True), dropout)

    def forward(self, data: Tensor) -> Tensor:
        return self.net(data.flatten(1)).flatten()


def generator_critic_pair(model_name: str, data_shape: Sequence[int], latent_dim: int, width: int,
                          hidden: Sequence[int], critic_norm: str) -> tuple[nn.Module, nn.Module]:
    """DCGAN networks for images; MLPs (as in WGAN-GP's 2-D toy experiments) for points."""
    if len(data_shape) == 1:
        return (MLPGenerator(latent_dim, data_shape, hidden),
                MLPDiscriminator(data_shape, hidden))
    channels, size = check_image_shape(model_name, data_shape)
    return (DCGANGenerator(latent_dim, channels, size, width),
            DCGANDiscriminator(channels, size, width, norm=critic_norm))
