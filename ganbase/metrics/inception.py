"""Inception-v3 features for SIFID, FID and KID, from weights the user supplies as a local file.

Nothing is downloaded. ``inception_weights`` must be a PyTorch state dict of torchvision's
``Inception3`` layout (``Conv2d_1a_3x3.conv.weight``, ``Mixed_5b.branch1x1.bn.running_mean``, ...,
``fc.weight``), loadable with ``torch.load(weights_only=True)`` or as ``.safetensors``:

- ``pt_inception-2015-12-05-6726825d.pth``, pytorch-fid's port of the TensorFlow FID Inception
  (Heusel et al. 2017; https://github.com/mseitzer/pytorch-fid/releases, ``fc`` has 1008 outputs).
  Use it for FID/KID comparable with published numbers. Its blocks differ slightly from
  torchvision's (average pools exclude padding, the last block max-pools); they are built that
  way when ``fc.weight`` has 1008 rows.
- ``inception_v3_google-0cc3c7bd.pth``, torchvision's ImageNet weights (``fc`` 1000 outputs), which
  SinGAN's SIFID code used (Shaham et al. 2019, ``SIFID/sifid_score.py``).

SIFID (Shaham et al. 2019, Sec. 4.1): the Frechet distance between the statistics of the 192-d
feature vectors at every position of the ``Conv2d_4a_3x3`` output (just before the second max
pool) for the real image and for one sample, at their own size, averaged over samples. FID /
KID: 2048-d pool3 features of images resized to 299x299 (bilinear), as pytorch-fid. Inputs are
mapped from [-1, 1] (this project's range) to the network's [-1, 1] unchanged.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganbase.errors import UserError
from ganbase.io.checkpoint import read_state_dict
from ganbase.metrics.features import (
    feature_statistics,
    frechet_distance,
    frechet_distance_of_features,
    kernel_distance,
)
from ganbase.metrics.image_metrics import as_batch

EXPECTED_WEIGHTS = ("a local Inception-v3 state dict of torchvision's layout: pytorch-fid's "
                    "pt_inception-2015-12-05-6726825d.pth (FID weights) or torchvision's "
                    "inception_v3_google-0cc3c7bd.pth; nothing is downloaded")
FID_CLASSES = 1008  # the TensorFlow graph's classifier size, which identifies the FID weights


class BasicConv(nn.Module):
    """Conv (no bias) + BatchNorm (eps 0.001) + ReLU, named ``conv`` / ``bn`` as in torchvision."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride: int = 1, padding=0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg_pool(x: Tensor, fid: bool) -> Tensor:
    # TensorFlow's average pool (FID weights) leaves the zero padding out of the mean
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=not fid)


class InceptionA(nn.Module):
    def __init__(self, in_channels: int, pool_features: int, fid: bool) -> None:
        super().__init__()
        self.fid = fid
        self.branch1x1 = BasicConv(in_channels, 64, 1)
        self.branch5x5_1, self.branch5x5_2 = BasicConv(in_channels, 48, 1), BasicConv(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv(in_channels, 64, 1)
        self.branch3x3dbl_2 = BasicConv(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv(96, 96, 3, padding=1)
        self.branch_pool = BasicConv(in_channels, pool_features, 1)

    def forward(self, x: Tensor) -> Tensor:
        double = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), self.branch5x5_2(self.branch5x5_1(x)), double,
                          self.branch_pool(_avg_pool(x, self.fid))], 1)


class InceptionB(nn.Module):
    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv(in_channels, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv(in_channels, 64, 1)
        self.branch3x3dbl_2 = BasicConv(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv(96, 96, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        double = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), double, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionC(nn.Module):
    def __init__(self, in_channels: int, channels_7x7: int, fid: bool) -> None:
        super().__init__()
        c = channels_7x7
        self.fid = fid
        self.branch1x1 = BasicConv(in_channels, 192, 1)
        self.branch7x7_1 = BasicConv(in_channels, c, 1)
        self.branch7x7_2 = BasicConv(c, c, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv(c, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv(in_channels, c, 1)
        self.branch7x7dbl_2 = BasicConv(c, c, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv(c, c, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv(c, c, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv(c, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv(in_channels, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        single = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        double = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            double = layer(double)
        return torch.cat([self.branch1x1(x), single, double, self.branch_pool(_avg_pool(x, self.fid))], 1)


class InceptionD(nn.Module):
    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3_1, self.branch3x3_2 = BasicConv(in_channels, 192, 1), BasicConv(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv(in_channels, 192, 1)
        self.branch7x7x3_2 = BasicConv(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv(192, 192, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        seven = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), seven, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionE(nn.Module):
    """``pool``: "avg" (torchvision), "avg_fid" (Mixed_7b of the FID net) or "max" (its Mixed_7c)."""

    def __init__(self, in_channels: int, pool: str) -> None:
        super().__init__()
        self.pool = pool
        self.branch1x1 = BasicConv(in_channels, 320, 1)
        self.branch3x3_1 = BasicConv(in_channels, 384, 1)
        self.branch3x3_2a = BasicConv(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv(in_channels, 448, 1)
        self.branch3x3dbl_2 = BasicConv(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv(in_channels, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        single = self.branch3x3_1(x)
        double = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.pool == "max" else _avg_pool(x, self.pool == "avg_fid")
        return torch.cat([self.branch1x1(x),
                          self.branch3x3_2a(single), self.branch3x3_2b(single),
                          self.branch3x3dbl_3a(double), self.branch3x3dbl_3b(double),
                          self.branch_pool(pooled)], 1)


class InceptionFeatures(nn.Module):
    """Inception-v3 (Szegedy et al. 2016) up to pool3, with torchvision's parameter names.
    ``fid`` builds the FID variant's pooling (pytorch-fid's ``FIDInceptionA/C/E_1/E_2``)."""

    def __init__(self, fid: bool) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv(80, 192, 3)
        self.Mixed_5b = InceptionA(192, 32, fid)
        self.Mixed_5c = InceptionA(256, 64, fid)
        self.Mixed_5d = InceptionA(288, 64, fid)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, 128, fid)
        self.Mixed_6c = InceptionC(768, 160, fid)
        self.Mixed_6d = InceptionC(768, 160, fid)
        self.Mixed_6e = InceptionC(768, 192, fid)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, "avg_fid" if fid else "avg")
        self.Mixed_7c = InceptionE(2048, "max" if fid else "avg")

    def sifid_features(self, x: Tensor) -> Tensor:
        """``[N, 3, H, W]`` in [-1, 1] -> ``Conv2d_4a_3x3`` output ``[N, 192, h, w]`` (no resizing)."""
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        return self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(F.max_pool2d(x, 3, stride=2)))

    def forward(self, x: Tensor) -> Tensor:
        """``[N, 3, H, W]`` in [-1, 1] -> pool3 features ``[N, 2048]`` of the 299x299 resized input."""
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        x = F.max_pool2d(self.sifid_features(x), 3, stride=2)
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
                      self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c):
            x = block(x)
        return x.mean((2, 3))


def _read_state_dict(path: Path) -> dict[str, Tensor]:
    return read_state_dict(path, "Inception", EXPECTED_WEIGHTS)


def load_inception(weights: str | Path | None, device: torch.device | str = "cpu") -> InceptionFeatures:
    """The Inception network with the user's weights, in eval mode; a one-line UserError naming
    the expected file when ``weights`` is None, missing or not an Inception-v3 state dict."""
    if weights is None:
        raise UserError(f"SIFID/FID/KID need Inception weights: pass {EXPECTED_WEIGHTS}")
    path = Path(weights).expanduser()
    if not path.is_file():
        raise UserError(f"Inception weights not found: {path}; expected {EXPECTED_WEIGHTS}")
    state = _read_state_dict(path)
    classifier = state.get("fc.weight")
    model = InceptionFeatures(fid=classifier is not None and classifier.shape[0] == FID_CLASSES)
    expected = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    missing = sorted(k for k in expected if k not in state)
    wrong = sorted(k for k in expected if k in state and state[k].shape != expected[k].shape)
    if missing or wrong:
        detail = f"missing {missing[:2]}" if missing else f"wrong shape {wrong[:2]}"
        raise UserError(f"{path} is not an Inception-v3 state dict ({detail}); expected {EXPECTED_WEIGHTS}")
    model.load_state_dict({k: state[k].float() for k in expected}, strict=False)
    return model.to(device).eval()


@torch.no_grad()
def inception_features(model: InceptionFeatures, images: Tensor, batch_size: int = 32) -> Tensor:
    """pool3 features ``[N, 2048]`` of images ``[N, C, H, W]`` in [-1, 1] (grayscale repeated to RGB)."""
    images = as_batch(images)
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    device = next(model.parameters()).device
    return torch.cat([model(images[i:i + batch_size].to(device)).double().cpu()
                      for i in range(0, images.shape[0], batch_size)])


def _model(weights: str | Path | InceptionFeatures | None, device: torch.device | str) -> InceptionFeatures:
    return weights.to(device) if isinstance(weights, InceptionFeatures) else load_inception(weights, device)


@torch.no_grad()
def sifid(real: Tensor, samples: Tensor, weights: str | Path | InceptionFeatures | None,
          device: torch.device | str = "cpu") -> float:
    """Mean SIFID of ``samples [N, 3, H, W]`` to the ``real`` image (lower is better); see module
    doc. ``weights``: a weights file or a network from :func:`load_inception`."""
    model = _model(weights, device)
    real_map = model.sifid_features(as_batch(real).to(device))  # [1, 192, h, w]
    if real_map.shape[-2] * real_map.shape[-1] < 2:
        raise UserError(f"SIFID needs images of at least 31x31 px, got {tuple(real.shape[-2:])}")
    real_stats = feature_statistics(real_map[0].flatten(1).T)
    distances = []
    for sample in as_batch(samples):
        sample_map = model.sifid_features(sample[None].to(device))
        distances.append(frechet_distance(*real_stats, *feature_statistics(sample_map[0].flatten(1).T)))
    return sum(distances) / len(distances)


def fid_and_kid(real_images: Tensor, fake_images: Tensor, weights: str | Path | InceptionFeatures | None,
                device: torch.device | str = "cpu", seed: int = 0) -> dict[str, float]:
    """FID and KID of two image sets on pool3 features (see module doc); ``weights`` as for :func:`sifid`."""
    model = _model(weights, device)
    real_features = inception_features(model, real_images)
    fake_features = inception_features(model, fake_images)
    return {"fid": frechet_distance_of_features(real_features, fake_features),
            "kid": kernel_distance(real_features, fake_features, seed=seed)}
