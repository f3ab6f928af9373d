"""``cgan``: conditional GAN (Mirza & Osindero 2014, "Conditional Generative Adversarial Nets").

Generator and discriminator both receive the class label y: G(z, y) and D(x, y), trained with the
non-saturating GAN loss. Needs labeled data (``digits``, ``shapes`` or a folder with one subfolder
per class); ``ganzoo sample --label 3`` draws class 3.

Two architectures (``-o architecture=...``):

- ``mlp`` (default): the widely used MLP cGAN for MNIST. A learned label embedding (10-d) is
  concatenated with z in G and with the flattened image in D. G: Linear layers 128 -> 256 -> 512
  -> 1024 -> the image, LeakyReLU(0.2), BatchNorm on all but the first hidden layer, tanh output.
  D: Linear 512 -> 512 -> 512 -> one logit, LeakyReLU(0.2), dropout 0.4 after the second and third.
- ``paper``: the layers of the paper's MNIST experiment (section 4.1), with separate input
  pathways joined in a shared hidden layer. G: z (100-d) -> 200 ReLU units and the one-hot y ->
  1000 ReLU units, concatenated -> 1200 ReLU units -> the image. D: x -> maxout layer (240 units,
  5 pieces) and y -> maxout layer (50 units, 5 pieces), concatenated -> maxout layer (240 units,
  4 pieces) -> one logit; dropout 0.5 on the inputs of D's joint layers. ``d_input_dropout``
  (default 0) also drops input pixels, ``g_dropout`` (default 0) adds dropout to G's joint layers.

Where and why the default deviates from the paper: the paper's conditioning idea (y fed to both G
and D, non-saturating loss) is kept, but its layers are replaced by the ``mlp`` ones above
(joined input instead of separate pathways; a learned embedding instead of a one-hot vector;
BatchNorm + LeakyReLU in G instead of ReLU; LeakyReLU + dropout 0.4 in D instead of maxout +
dropout 0.5). Reason, measured on ``digits`` with one CPU thread (docs/zoo_notes.md): with the
paper's layers and Adam, after 3000 steps G ignored z (every sample of a class the same image),
D scored real digits alike under their right and a wrong label, and a digit classifier recognised
0% of ``--label k`` samples as k; the ``mlp`` default reaches label control within the same
budget. Both architectures share these simplifications: z ~ N(0, I) instead of uniform on the
unit hypercube; tanh output on [-1, 1] data instead of a sigmoid; Adam(2e-4, betas (0.5, 0.999))
instead of SGD with a decaying learning rate and increasing momentum (a schedule the paper tuned
for MNIST); no dropout in G, because samples are drawn in eval mode, where dropout is off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganbase.errors import UserError
from ganbase.nn.losses import NonSaturatingLoss
from ganbase.zoo.models.adversarial import AdversarialModel, ConditionalMixin
from ganbase.zoo.models.base import ModelConfig, OptimizerSpec
from ganbase.zoo.models.registry import register_model

ARCHITECTURES = ("mlp", "paper")


@dataclass(frozen=True)
class CGANConfig(ModelConfig):
    num_classes: int = 10
    latent_dim: int = 100
    #: "mlp" (joined inputs, the default) or "paper" (separate z/y pathways, maxout D)
    architecture: str = "mlp"
    #: mlp: label embedding size, G and D hidden widths, D dropout
    label_dim: int = 10
    g_hidden: tuple[int, ...] = (128, 256, 512, 1024)
    d_hidden: tuple[int, ...] = (512, 512, 512)
    dropout: float = 0.4
    #: paper generator: noise pathway, label pathway, joint layer (the paper's 200, 1000, 1200)
    latent_hidden: int = 200
    label_hidden: int = 1000
    joint_hidden: int = 1200
    #: paper discriminator maxout layers: data, label, joint units (240, 50, 240) and their pieces
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


class EmbeddingGenerator(nn.Module):
    """``mlp``: [z, embed(y)] ``[N, latent_dim + label_dim]`` -> data of ``data_shape``."""

    def __init__(self, latent_dim: int, num_classes: int, data_shape: Sequence[int], label_dim: int,
                 hidden: Sequence[int]) -> None:
        super().__init__()
        self.data_shape = tuple(data_shape)
        self.label_embedding = nn.Embedding(num_classes, label_dim)
        layers: list[nn.Module] = []
        sizes = [latent_dim + label_dim, *hidden]
        for index, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
            layers.append(nn.Linear(n_in, n_out))
            if index > 0:  # no BatchNorm right after the input, as in the DCGAN guidelines
                layers.append(nn.BatchNorm1d(n_out))
            layers.append(nn.LeakyReLU(0.2, True))
        layers.append(nn.Linear(sizes[-1], math.prod(self.data_shape)))
        self.net = nn.Sequential(*layers)
        self.output = nn.Tanh() if len(self.data_shape) == 3 else nn.Identity()

    def forward(self, latent: Tensor, labels: Tensor) -> Tensor:
        inputs = torch.cat([latent, self.label_embedding(labels)], 1)  # [N, latent_dim + label_dim]
        return self.output(self.net(inputs)).view(-1, *self.data_shape)


class EmbeddingDiscriminator(nn.Module):
    """``mlp``: [flattened data, embed(y)] -> one logit per sample ``[N]``."""

    def __init__(self, data_shape: Sequence[int], num_classes: int, label_dim: int,
                 hidden: Sequence[int], dropout: float) -> None:
        super().__init__()
        self.label_embedding = nn.Embedding(num_classes, label_dim)
        layers: list[nn.Module] = []
        sizes = [math.prod(data_shape) + label_dim, *hidden]
        for index, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
            layers.append(nn.Linear(n_in, n_out))
            if index > 0 and dropout:  # dropout on all but the first hidden layer
                layers.append(nn.Dropout(dropout))
            layers.append(nn.LeakyReLU(0.2, True))
        layers.append(nn.Linear(sizes[-1], 1))
        self.net = nn.Sequential(*layers)

    def forward(self, data: Tensor, labels: Tensor) -> Tensor:
        inputs = torch.cat([data.flatten(1), self.label_embedding(labels)], 1)  # [N, D + label_dim]
        return self.net(inputs).flatten()


class Maxout(nn.Module):
    """Maxout units (Goodfellow et al. 2013): the max over ``pieces`` linear functions each."""

    def __init__(self, in_features: int, units: int, pieces: int) -> None:
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_features, units * pieces)

    def forward(self, inputs: Tensor) -> Tensor:
        return self.linear(inputs).view(-1, self.units, self.pieces).amax(-1)  # [N, units]


class ConditionalGenerator(nn.Module):
    """``paper``: z ``[N, latent_dim]`` and labels ``[N]`` -> data of ``data_shape`` (images in [-1, 1])."""

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
    """``paper``: data ``[N, ...]`` and labels ``[N]`` -> one logit per sample ``[N]``."""

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
    description = "label-conditioned MLP GAN (label embedding joined to z and x); --label picks the class"
    paper = "Mirza & Osindero 2014, Conditional Generative Adversarial Nets"
    data_kind = "labeled"
    config_class = CGANConfig
    accepts_points = True

    def __init__(self, config: CGANConfig) -> None:
        super().__init__(config)
        if config.num_classes < 2:
            raise UserError("cgan needs labeled data with at least 2 classes")
        if config.architecture not in ARCHITECTURES:
            raise UserError(f"cgan: unknown architecture {config.architecture!r}; "
                            f"use one of {', '.join(ARCHITECTURES)}")
        for name in ("dropout", "d_dropout", "d_input_dropout", "g_dropout"):
            if not 0.0 <= getattr(config, name) < 1.0:
                raise UserError(f"cgan: {name} must be in [0, 1), got {getattr(config, name)}")
        for name in ("g_hidden", "d_hidden"):
            if not getattr(config, name) or min(getattr(config, name)) < 1:
                raise UserError(f"cgan: {name} needs one or more positive widths, got {getattr(config, name)}")
        if config.label_dim < 1:
            raise UserError(f"cgan: label_dim must be at least 1, got {config.label_dim}")
        self.latent_dim = config.latent_dim
        if config.architecture == "mlp":
            self.generator = EmbeddingGenerator(config.latent_dim, config.num_classes, config.data_shape,
                                                config.label_dim, config.g_hidden)
            self.discriminator = EmbeddingDiscriminator(config.data_shape, config.num_classes,
                                                        config.label_dim, config.d_hidden, config.dropout)
        else:
            self.generator = ConditionalGenerator(config.latent_dim, config.num_classes, config.data_shape,
                                                  config.latent_hidden, config.label_hidden,
                                                  config.joint_hidden, config.g_dropout)
            self.discriminator = ConditionalMaxoutDiscriminator(
                config.data_shape, config.num_classes, config.d_data_units, config.d_label_units,
                config.d_joint_units, config.d_pieces, config.d_joint_pieces, config.d_dropout,
                config.d_input_dropout)
        self.loss = NonSaturatingLoss()

    def generate(self, latent: Tensor, labels: Tensor | None) -> Tensor:
        if self.training and latent.shape[0] < 2 and self.config.architecture == "mlp":
            raise UserError("cgan: the generator's BatchNorm needs --batch-size of at least 2")
        return self.generator(latent, labels)

    def score(self, data: Tensor, labels: Tensor | None) -> Tensor:
        return self.discriminator(data, labels)

    def optimizer_specs(self) -> list[OptimizerSpec]:
        betas = (self.config.beta1, 0.999)
        return [OptimizerSpec("discriminator", "adam", self.config.lr, betas),
                OptimizerSpec("generator", "adam", self.config.lr, betas)]
