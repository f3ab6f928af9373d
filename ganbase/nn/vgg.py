"""VGG-19 feature encoder (Simonyan & Zisserman, ICLR 2015) from weights the user supplies as a local file.

Used by neural style transfer (Gatys et al., CVPR 2016; AdaIN, Huang & Belongie, ICCV 2017) and
by any future perceptual measure. Nothing is downloaded. Two layouts are recognised by their keys
and shapes, as a ``torch.load(weights_only=True)`` state dict (nothing is unpickled beyond
tensors) or as ``.safetensors``:

- ``torchvision``: torchvision's ImageNet checkpoint ``vgg19-dcbb9e9d.pth`` (548 MB,
  https://download.pytorch.org/models/vgg19-dcbb9e9d.pth), keys ``features.N.weight`` with the
  16 convolutions at N = 0, 2, 5, 7, 10, ... 34 (``classifier.*`` keys are ignored). Zero padding,
  max pools with floor; inputs are RGB in [0, 1] normalised with the ImageNet mean/std.
- ``adain``: the AdaIN authors' ``vgg_normalised.pth`` (about 80 MB; the PyTorch conversion of
  ``vgg_normalised.t7`` from https://github.com/xunhuang1995/AdaIN-style, distributed by
  https://github.com/naoto0804/pytorch-AdaIN releases), keys ``N.weight`` of an ``nn.Sequential``
  whose module 0 is a 1x1 3->3 convolution and whose 3x3 convolutions sit at N = 2, 5, 9, 12, 16,
  ... 51 (each after a reflection pad, before a ReLU; pools with ceil). The 1x1 convolution maps
  RGB in [0, 1] to the 0-255 BGR mean-subtracted input of the Caffe weights, so inputs are RGB in
  [0, 1] with no further normalisation.

The file is found from ``--vgg-weights PATH`` or the environment variable :data:`VGG_WEIGHTS_ENV`.
Inputs of :meth:`VGG19Encoder.forward` are this project's [-1, 1] images; feature names are
``relu1_1`` ... ``relu5_4``.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganbase.errors import UserError
from ganbase.io.checkpoint import read_state_dict

VGG_WEIGHTS_ENV = "GANBASE_VGG_WEIGHTS"
EXPECTED_WEIGHTS = ("a local VGG-19 state dict: torchvision's vgg19-dcbb9e9d.pth (548 MB, "
                    "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth) or the AdaIN authors' "
                    "vgg_normalised.pth (80 MB, github.com/naoto0804/pytorch-AdaIN releases), .pth or "
                    f".safetensors, via --vgg-weights or ${VGG_WEIGHTS_ENV}; nothing is downloaded")

#: output channels of the convolutions of each block (block b, conv i -> ``conv{b}_{i}``)
BLOCKS = ((64, 64), (128, 128), (256, 256, 256, 256), (512, 512, 512, 512), (512, 512, 512, 512))
LAYER_NAMES = tuple(f"relu{b + 1}_{i + 1}" for b, block in enumerate(BLOCKS) for i in range(len(block)))
LAYOUTS = ("torchvision", "adain")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _conv_shapes() -> list[tuple[int, int]]:
    """(in, out) channels of the 16 convolutions, in order."""
    shapes, channels = [], 3
    for block in BLOCKS:
        for out in block:
            shapes.append((channels, out))
            channels = out
    return shapes


def layout_indices(layout: str) -> list[int]:
    """The ``nn.Sequential`` index of each 3x3 convolution in a file of ``layout``.

    torchvision: conv, relu per layer and one pool per block; adain: a leading 1x1 conv, then
    pad, conv, relu per layer and one pool per block."""
    index = 0 if layout == "torchvision" else 1
    step, before = (2, 0) if layout == "torchvision" else (3, 1)
    out = []
    for block in BLOCKS:
        for _ in block:
            out.append(index + before)
            index += step
        index += 1  # the pool
    return out


def _depth(layer: str) -> int:
    """How many convolutions a feature needs (``relu4_1`` -> 13)."""
    if layer not in LAYER_NAMES:
        raise UserError(f"unknown VGG-19 layer {layer!r}; valid: {', '.join(LAYER_NAMES)}")
    return LAYER_NAMES.index(layer) + 1


class VGG19Encoder(nn.Module):
    """The convolutions of VGG-19 up to ``last`` (e.g. ``relu4_1``), frozen, in the given layout.

    Parameters are named ``convs.K.weight`` (K = 0..15) and, for ``adain``, ``preprocess.weight``;
    :func:`load_vgg19` fills them from a file. ``pool`` is ``"max"`` (the trained network) or
    ``"avg"`` (Gatys et al. 2016 Sec. 2: average pooling gives slightly more appealing results)."""

    def __init__(self, layout: str = "torchvision", last: str = "relu5_1", pool: str = "max") -> None:
        super().__init__()
        if layout not in LAYOUTS:
            raise UserError(f"unknown VGG layout {layout!r}; use {', '.join(LAYOUTS)}")
        if pool not in ("max", "avg"):
            raise UserError(f"VGG pooling must be max or avg, got {pool!r}")
        self.layout, self.last, self.pool = layout, last, pool
        count = _depth(last)
        self.convs = nn.ModuleList(nn.Conv2d(i, o, 3) for i, o in _conv_shapes()[:count])
        self.preprocess = nn.Conv2d(3, 3, 1) if layout == "adain" else None
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> VGG19Encoder:
        return super().train(False)  # a fixed feature extractor: never in training mode

    def network_input(self, images: Tensor) -> Tensor:
        """``[N, 3, H, W]`` in [-1, 1] -> what the first 3x3 convolution sees (before padding)."""
        rgb = (images + 1.0) / 2.0
        if self.preprocess is not None:
            return self.preprocess(rgb)
        return (rgb - self.mean) / self.std

    def forward(self, images: Tensor, layers: tuple[str, ...] = ("relu4_1",)) -> dict[str, Tensor]:
        """Features ``{name: [N, C, h, w]}`` of ``images`` in [-1, 1] at ``layers``."""
        needed = max(_depth(name) for name in layers)
        if needed > len(self.convs):
            raise UserError(f"this VGG encoder stops at {self.last}; {LAYER_NAMES[needed - 1]} is deeper")
        wanted = set(layers)
        x, out, k = self.network_input(images), {}, 0
        pad = "reflect" if self.layout == "adain" else "constant"
        for b, block in enumerate(BLOCKS):
            if b:
                if self.pool == "avg":
                    x = F.avg_pool2d(x, 2, ceil_mode=self.layout == "adain")
                else:
                    x = F.max_pool2d(x, 2, ceil_mode=self.layout == "adain")
            for i in range(len(block)):
                x = F.relu(self.convs[k](F.pad(x, (1, 1, 1, 1), mode=pad)))
                k += 1
                name = f"relu{b + 1}_{i + 1}"
                if name in wanted:
                    out[name] = x
                if k == needed:
                    return out
        return out


def detect_layout(state: dict[str, Tensor]) -> str | None:
    """``torchvision`` or ``adain`` from the keys (and the 1x1 convolution's shape), else None."""
    if "features.0.weight" in state:
        return "torchvision"
    first = state.get("0.weight")
    if first is not None and tuple(first.shape) == (3, 3, 1, 1):
        return "adain"
    return None


def _read_state_dict(path: Path) -> dict[str, Tensor]:
    try:
        return read_state_dict(path, "VGG", EXPECTED_WEIGHTS)
    except UserError as exc:  # a damaged .safetensors file: say which files are expected too
        if EXPECTED_WEIGHTS in str(exc):
            raise
        raise UserError(f"{exc}; expected {EXPECTED_WEIGHTS}") from None


def vgg_weights_path(weights: str | os.PathLike | None) -> Path:
    """``weights``, else ``$GANBASE_VGG_WEIGHTS``; a one-line UserError when neither names a file."""
    chosen = weights if weights not in (None, "") else os.environ.get(VGG_WEIGHTS_ENV) or None
    if chosen is None:
        raise UserError(f"style transfer needs VGG-19 weights: pass {EXPECTED_WEIGHTS}")
    path = Path(chosen).expanduser()
    if not path.is_file():
        raise UserError(f"VGG weights not found: {path}; expected {EXPECTED_WEIGHTS}")
    return path


def load_vgg19(weights: str | os.PathLike | None, last: str = "relu5_1", pool: str = "max",
               device: torch.device | str = "cpu") -> VGG19Encoder:
    """The frozen encoder up to ``last`` with the user's weights (layout detected from the file)."""
    path = vgg_weights_path(weights)
    state = _read_state_dict(path)
    layout = detect_layout(state)
    if layout is None:
        raise UserError(f"{path} is not a VGG-19 state dict (no features.0.weight or 0.weight of "
                        f"shape 3x3x1x1); expected {EXPECTED_WEIGHTS}")
    model = VGG19Encoder(layout, last, pool)
    prefix = "features." if layout == "torchvision" else ""
    mapping = {f"convs.{k}.{p}": f"{prefix}{n}.{p}"
               for k, n in enumerate(layout_indices(layout)[:len(model.convs)]) for p in ("weight", "bias")}
    if layout == "adain":
        mapping.update({"preprocess.weight": "0.weight", "preprocess.bias": "0.bias"})
    expected = model.state_dict()
    missing = [source for source in mapping.values() if source not in state]  # in layer order
    wrong = [source for name, source in mapping.items()
             if source in state and tuple(state[source].shape) != tuple(expected[name].shape)]
    if missing or wrong:
        detail = f"missing {missing[:2]}" if missing else f"wrong shape {wrong[:2]}"
        raise UserError(f"{path} is not a VGG-19 state dict of the {layout} layout ({detail}); "
                        f"expected {EXPECTED_WEIGHTS}")
    model.load_state_dict({name: state[source].float() for name, source in mapping.items()})
    return model.to(device)


def random_vgg19_state(layout: str, seed: int = 0, last: str = "relu5_4") -> dict[str, Tensor]:
    """A state dict of ``layout`` with random (He-initialised) weights up to ``last``: what the
    tests and offline demos write as a stand-in, since no pretrained weights ship with the project."""
    generator = torch.Generator().manual_seed(seed)
    prefix = "features." if layout == "torchvision" else ""
    state = {}
    for (cin, cout), index in list(zip(_conv_shapes(), layout_indices(layout)))[:_depth(last)]:
        state[f"{prefix}{index}.weight"] = torch.randn(cout, cin, 3, 3, generator=generator) * (2 / (9 * cin)) ** 0.5
        state[f"{prefix}{index}.bias"] = torch.randn(cout, generator=generator) * 0.01
    if layout == "adain":
        state["0.weight"] = torch.randn(3, 3, 1, 1, generator=generator)
        state["0.bias"] = torch.randn(3, generator=generator)
    return state
