"""``adain``: arbitrary style transfer with adaptive instance normalisation (Huang & Belongie,
"Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization", ICCV 2017).

A fixed VGG-19 encoder f up to ``relu4_1`` (:class:`~ganbase.nn.vgg.VGG19Encoder`, weights from the
user's file), the AdaIN layer t = AdaIN(f(c), f(s)) and a learned decoder g that mirrors the encoder
(pooling replaced by nearest-neighbour upsampling, reflection padding, no normalisation layers).
The loss is L_c + lambda * L_s (Eq. 11): L_c = ||f(g(t)) - t||^2 against the AdaIN target (Eq. 12),
L_s = sum over relu1_1, relu2_1, relu3_1, relu4_1 of ||mu(phi(g(t))) - mu(phi(s))||^2 +
||sigma(...) - sigma(...)||^2 (Eq. 13), each as a mean squared error as in the authors' PyTorch
code (naoto0804/pytorch-AdaIN ``train.py``, whose default lambda is 10, Adam lr 1e-4, batch 8).
Content images come from ``--data`` and style images from ``--style-data`` (or ``A/`` and ``B/`` of
one folder), each a random crop per step. At test time t is blended with f(c) by ``alpha``
(Eq. 14) and several styles are mixed by blending their statistics (AdaIN is affine in them, so
this equals the paper's weighted sum of AdaIN outputs).

The encoder's weights are part of the model (and so of every checkpoint), so a trained run
stylizes without the VGG file. Simplifications: the authors resize images to 512 px on the
shorter side before 256 px crops; here the zoo's translation data pipeline centre-crops to a
square, resizes to 286/256 of ``--image-size`` and crops (the paper's scale needs ``--image-size
256``); the authors' inverse-time learning-rate decay (5e-5 per step) is replaced by the zoo's
schedules (constant by default); images are this project's [-1, 1] RGB and the decoder outputs
that range directly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganbase.errors import UserError
from ganbase.nn.style_transfer import adain, mean_std
from ganbase.nn.vgg import LAYOUTS, VGG19Encoder, load_vgg19
from ganbase.zoo.models.base import Batch, ModelConfig, OptimizerSpec, StepContext
from ganbase.zoo.models.registry import register_model
from ganbase.zoo.models.translation import TranslationModel, check_translation_config, interleave

ENCODER_LAYER = "relu4_1"
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
#: the decoder, from relu4_1 back to RGB: ("conv", in, out) with reflection padding and ReLU, or "up"
DECODER_PLAN = (("conv", 512, 256), "up", ("conv", 256, 256), ("conv", 256, 256), ("conv", 256, 256),
                ("conv", 256, 128), "up", ("conv", 128, 128), ("conv", 128, 64), "up",
                ("conv", 64, 64), ("conv", 64, 3))


class Decoder(nn.Module):
    """Mirror of VGG-19 up to relu4_1: 3x3 convs with reflection padding, ReLU after all but the
    last, nearest-neighbour x2 upsampling where the encoder pools."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for index, item in enumerate(DECODER_PLAN):
            if item == "up":
                layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
                continue
            _, cin, cout = item
            layers += [nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3)]
            if index < len(DECODER_PLAN) - 1:
                layers.append(nn.ReLU())
        self.layers = nn.Sequential(*layers)

    def forward(self, features: Tensor) -> Tensor:
        return self.layers(features)


@dataclass(frozen=True)
class AdaINConfig(ModelConfig):
    data_shape: tuple[int, ...] = (3, 256, 256)
    out_channels: int = 3
    #: the VGG-19 file training starts from ("" when rebuilding a trained run: its weights are saved)
    vgg_weights: str = ""
    vgg_layout: str = "torchvision"
    style_weight: float = 10.0
    content_weight: float = 1.0
    lr: float = 1e-4


@register_model("adain")
class AdaIN(TranslationModel):
    description = "arbitrary style transfer: fixed VGG-19 encoder, AdaIN, learned decoder"
    paper = "Huang & Belongie 2017, Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization"
    data_kind = "unpaired"
    config_class = AdaINConfig
    ema_target = None  # the authors average nothing
    default_batch_size = 8
    default_lr_schedule = "constant"

    def __init__(self, config: AdaINConfig) -> None:
        super().__init__(config)
        channels, _ = check_translation_config(self.name, config)
        if channels != 3 or config.out_channels != 3:
            raise UserError("adain needs RGB content and style images (--channels 3)")
        if config.vgg_layout not in LAYOUTS:
            raise UserError(f"model option vgg_layout={config.vgg_layout!r}: use {', '.join(LAYOUTS)}")
        # a new run: the layout is the file's (and config.json records it); not while create_model
        # counts parameters on the meta device, where the file's tensors are not needed
        if config.vgg_weights and torch.get_default_device().type != "meta":
            self.encoder = load_vgg19(config.vgg_weights, last=ENCODER_LAYER)
            self.config = replace(config, vgg_layout=self.encoder.layout)
        else:
            self.encoder = VGG19Encoder(config.vgg_layout, last=ENCODER_LAYER)
        self.decoder = Decoder()

    @property
    def size_multiple(self) -> int:
        return 8  # three poolings; stylize pads other sizes and crops back

    def optimizer_specs(self) -> Sequence[OptimizerSpec]:
        return [OptimizerSpec("decoder", "adam", self.config.lr)]

    # ----- the model ---------------------------------------------------------------------------
    def style_statistics(self, style: Tensor) -> tuple[Tensor, Tensor]:
        """mu and sigma ``[N, 512, 1, 1]`` of the style images' relu4_1 features."""
        return mean_std(self.encoder(style, (ENCODER_LAYER,))[ENCODER_LAYER])

    def transfer(self, content: Tensor, style_mean: Tensor, style_std: Tensor, alpha: float = 1.0) -> Tensor:
        """g((1 - alpha) f(c) + alpha AdaIN(f(c), stats)) for ``[N, 3, H, W]`` content, H and W
        multiples of 8 (Eq. 14)."""
        features = self.encoder(content, (ENCODER_LAYER,))[ENCODER_LAYER]
        target = adain(features, style_mean, style_std)
        return self.decoder(alpha * target + (1.0 - alpha) * features)

    def losses(self, content: Tensor, style: Tensor) -> tuple[Tensor, Tensor]:
        """(L_c, L_s) of one batch (Eqs. 12, 13)."""
        features = self.encoder(content, (ENCODER_LAYER,))[ENCODER_LAYER]
        style_features = self.encoder(style, STYLE_LAYERS)
        target = adain(features, *mean_std(style_features[ENCODER_LAYER])).detach()
        output_features = self.encoder(self.decoder(target), STYLE_LAYERS)
        content_loss = F.mse_loss(output_features[ENCODER_LAYER], target)
        style_loss = content_loss.new_zeros(())
        for name in STYLE_LAYERS:
            out_mean, out_std = mean_std(output_features[name])
            want_mean, want_std = mean_std(style_features[name])
            style_loss = style_loss + F.mse_loss(out_mean, want_mean) + F.mse_loss(out_std, want_std)
        return content_loss, style_loss

    def train_step(self, batches: Sequence[Batch], context: StepContext) -> dict[str, Tensor]:
        content, style = batches[0].data, batches[0].target
        if style is None:
            raise UserError("adain needs style images: --style-data FOLDER (or A/ and B/ in --data)")
        with context.autocast():
            content_loss, style_loss = self.losses(content, style)
        total = self.config.content_weight * content_loss.float() + self.config.style_weight * style_loss.float()
        context.update("decoder", total)
        return {"loss": total.detach(), "content": content_loss.detach(), "style": style_loss.detach()}

    # ----- inference and grids -----------------------------------------------------------------
    def translate(self, images: Tensor, reverse: bool = False, domains: Tensor | None = None) -> Tensor:
        raise UserError("adain needs a style image: use `ganzoo stylize RUN INPUT --style STYLE --out DIR`")

    def preview(self, inputs: Batch) -> tuple[Tensor, int | None]:
        """Rows of content | style | result."""
        style = inputs.target
        result = self.transfer(inputs.data, *self.style_statistics(style))
        return interleave([inputs.data, style, result.clamp(-1, 1)]), 3
