"""``cgan``: conditional GAN (Mirza & Osindero 2014, "Conditional Generative Adversarial Nets").

Generator and discriminator both receive the class label y as a one-hot vector: G(z, y) and
D(x, y), trained with the non-saturating GAN loss. Needs labeled data (``digits``, ``shapes`` or
a folder with one subfolder per class); ``ganzoo sample --label 3`` draws class 3.

Architecture of the paper's MNIST experiment (section 4.1), with separate input pathways that
join in a shared hidden layer:

- G: z (100-d) -> 200 ReLU units and y -> 1000 ReLU units, concatenated -> 1200 ReLU units ->
  the image. The label's pathway is five times wider than the noise's, so the class dominates
  the joint layer.
- D: x -> maxout layer (240 units, 5 pieces) and y -> maxout layer (50 units, 5 pieces),
  concatenated -> maxout layer (240 units, 4 pieces) -> one logit.
- Dropout 0.5 in D on the inputs of its joint layers; ``d_input_dropout`` (default 0) also drops
  input pixels, ``g_dropout`` (default 0) adds the paper's dropout to G's joint layers.

Simplifications: z ~ N(0, I) instead of uniform on the unit hypercube; tanh output on [-1, 1]
data instead of a sigmoid; Adam(2e-4, 0.5) instead of SGD with a decaying learning rate and
increasing momentum (whose schedule the paper tuned for MNIST); no dropout in G by default,
because samples are drawn in eval mode, where dropout is off.

Known limitation (measured on ``digits`` on one CPU thread, see docs/zoo_notes.md): in the first
few thousand steps D tells real from generated images by their artefacts and scores a real image
alike under its right and a wrong label, so the label hardly steers G yet; and G tends to ignore
z (one image per class), the z pathway being the narrow one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganbase.errors import UserError
from ganbase.losses import NonSaturatingLoss
from ganbase.models.adversarial import AdversarialModel, ConditionalMixin
from ganbase.models.base import ModelConfig, OptimizerSpec
from ganbase.models.registry import register_model


@dataclass(frozen=True)
class CGANConfig(ModelConfig):
    num_classes: int = 10
    latent_dim: int = 100
    #: generator: noise pathway, label pathway, joint layer (the paper's 200, 1000, 1200)
    latent_hidden: int = 200
    label_hidden: int = 1000
    joint_hidden: int = 1200
    #: discriminator maxout layers: data, label, joint units (240, 50, 240) and their pieces
    d_data_units: int = 240
    d_label_units: int = 50
    d_joint_units: int = 240
    d_pieces: int = 5
    d_joint_pieces: int = 4
    d_dropout: float = 0.5
    d_input_dropout: float = 0.0
    g_dropout: float = 0.0
    lr: float = 2e-4
    beta1: float = 0.5


class Maxout(nn.Module):
    """Maxout units (Goodfellow et al. 2013): the max over ``pieces`` linear functions each."""

    def __init__(self, in_features: int, units: int, pieces: int) -> None:
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_features, units * pieces)

    def forward(self, inputs: Tensor) -> Tensor:
        return self.linear(inputs).view(-1, self.units, self.pieces).amax(-1)  # [N, units]


class ConditionalGenerator(nn.Module):
    """z ``[N, latent_dim]`` and labels ``[N]`` -> data of ``data_shape`` (images in [-1, 1])."""

    def __init__(self, latent_dim: int, num_classes: int, data_shape: Sequence[int],
                 latent_hidden: int, label_hidden: int, joint_hidden: int, dropout: float) -> None:
        super().__init__()
        self.data_shape = tuple(data_shape)
        self.num_classes = num_classes
        self.latent_path = nn.Sequential(nn.Linear(latent_dim, latent_hidden), nn.ReLU(True))
        self.label_path = nn.Sequential(nn.Linear(num_classes, label_hidden), nn.ReLU(True))
        self.joint = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(latent_hidden + label_hidden, joint_hidden), nn.ReLU(True),
            nn.Dropout(dropout), nn.Linear(joint_hidden, math.prod(self.data_shape)))
        self.output = nn.Tanh() if len(self.data_shape) == 3 else nn.Identity()

    def forward(self, latent: Tensor, labels: Tensor) -> Tensor:
        one_hot = F.one_hot(labels, self.num_classes).to(latent.dtype)
        hidden = torch.cat([self.latent_path(latent), self.label_path(one_hot)], 1)
        return self.output(self.joint(hidden)).view(-1, *self.data_shape)


class ConditionalMaxoutDiscriminator(nn.Module):
    """Data ``[N, ...]`` and labels ``[N]`` -> one logit per sample ``[N]``."""

    def __init__(self, data_shape: Sequence[int], num_classes: int, data_units: int,
                 label_units: int, joint_units: int, pieces: int, joint_pieces: int,
                 dropout: float, input_dropout: float) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.input_dropout = nn.Dropout(input_dropout)
        self.data_path = Maxout(math.prod(data_shape), data_units, pieces)
        self.label_path = Maxout(num_classes, label_units, pieces)
        self.joint = nn.Sequential(nn.Dropout(dropout),
                                   Maxout(data_units + label_units, joint_units, joint_pieces),
                                   nn.Dropout(dropout), nn.Linear(joint_units, 1))

    def forward(self, data: Tensor, labels: Tensor) -> Tensor:
        one_hot = F.one_hot(labels, self.num_classes).to(data.dtype)
        hidden = torch.cat([self.data_path(self.input_dropout(data.flatten(1))), self.label_path(one_hot)], 1)
        return self.joint(hidden).flatten()


@register_model("cgan")
class CGAN(ConditionalMixin, AdversarialModel):
    description = "label-conditioned MLP GAN (separate z/y pathways, maxout D); --label picks the class"
    paper = "Mirza & Osindero 2014, Conditional Generative Adversarial Nets"
    data_kind = "labeled"
    config_class = CGANConfig
    accepts_points = True

    def __init__(self, config: CGANConfig) -> None:
        super().__init__(config)
        if config.num_classes < 2:
            raise UserError("cgan needs labeled data with at least 2 classes")
        for name in ("d_dropout", "d_input_dropout", "g_dropout"):
            if not 0.0 <= getattr(config, name) < 1.0:
                raise UserError(f"cgan: {name} must be in [0, 1), got {getattr(config, name)}")
        self.latent_dim = config.latent_dim
        self.generator = ConditionalGenerator(config.latent_dim, config.num_classes, config.data_shape,
                                              config.latent_hidden, config.label_hidden,
                                              config.joint_hidden, config.g_dropout)
        self.discriminator = ConditionalMaxoutDiscriminator(
            config.data_shape, config.num_classes, config.d_data_units, config.d_label_units,
            config.d_joint_units, config.d_pieces, config.d_joint_pieces, config.d_dropout,
            config.d_input_dropout)
        self.loss = NonSaturatingLoss()

    def generate(self, latent: Tensor, labels: Tensor | None) -> Tensor:
        return self.generator(latent, labels)

    def score(self, data: Tensor, labels: Tensor | None) -> Tensor:
        return self.discriminator(data, labels)

    def optimizer_specs(self) -> list[OptimizerSpec]:
        betas = (self.config.beta1, 0.999)
        return [OptimizerSpec("discriminator", "adam", self.config.lr, betas),
                OptimizerSpec("generator", "adam", self.config.lr, betas)]
