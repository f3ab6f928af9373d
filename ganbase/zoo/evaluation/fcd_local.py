"""``fcd_local``: a Frechet distance on the features of a small CNN classifier trained here, on the
labeled dataset a zoo model was trained on (the built-in ``digits`` / ``shapes`` or a labeled
folder). Same formula as FID (Heusel et al. 2017) and the "Frechet ChemNet/classifier distance"
idea of using a domain classifier instead of Inception, but the numbers depend on this
classifier: never compare ``fcd_local`` with published FIDs, only between runs evaluated here.

The classifier (3 conv layers 16-32-64 with ReLU and max pooling, global average pooling to a
64-d feature, a linear layer to the classes) is trained once per dataset: Adam (1e-3), batch
64, ``TRAIN_STEPS`` steps, seed 0, on 90% of the images; its accuracy on the other 10% is stored
next to the weights. Weights are cached as safetensors + JSON in ``cache_dir`` (default
``$SINGAN_KIT_CACHE`` or ``$XDG_CACHE_HOME/singan-kit`` or ``~/.cache/singan-kit``), keyed by a
digest of the dataset's pixels and labels, so a changed folder gets a new classifier.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganbase.errors import UserError
from ganbase.io.checkpoint import (
    atomic_write_json,
    load_tensors,
    read_json,
    save_tensors,
)
from ganbase.metrics.features import frechet_distance_of_features
from ganbase.zoo.data.datasets import Dataset

CLASSIFIER_VERSION = 1
TRAIN_STEPS = 400
BATCH_SIZE = 64


class SmallClassifier(nn.Module):
    """``[N, C, S, S]`` in [-1, 1] -> class logits; ``features`` gives the 64-d penultimate layer."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(64, num_classes)

    def features(self, images: Tensor) -> Tensor:
        return self.body(images).mean((2, 3))  # [N, 64]

    def forward(self, images: Tensor) -> Tensor:
        return self.head(self.features(images))


def default_cache_dir() -> Path:
    if os.environ.get("SINGAN_KIT_CACHE"):
        return Path(os.environ["SINGAN_KIT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "singan-kit"


def dataset_digest(dataset: Dataset) -> str:
    """SHA-256 over the classifier version, the images' shape and bytes, and the labels."""
    digest = hashlib.sha256(f"v{CLASSIFIER_VERSION}:{tuple(dataset.images.shape)}".encode())
    digest.update(dataset.images.contiguous().numpy().tobytes())
    digest.update(dataset.labels.contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def _as_input(images: Tensor) -> Tensor:
    return images.float() / 127.5 - 1.0 if images.dtype == torch.uint8 else images.float()


def train_classifier(dataset: Dataset, device: torch.device | str = "cpu",
                     steps: int | None = None) -> tuple[SmallClassifier, float]:
    """Train the classifier on 90% of ``dataset`` (seed 0) for ``steps`` (default ``TRAIN_STEPS``)
    steps; returns it and its held-out accuracy."""
    steps = TRAIN_STEPS if steps is None else steps
    generator = torch.Generator().manual_seed(0)
    order = torch.randperm(len(dataset), generator=generator)
    held_out = max(1, len(dataset) // 10)
    test_index, train_index = order[:held_out], order[held_out:]
    torch.manual_seed(0)
    model = SmallClassifier(dataset.data_shape[0], dataset.num_classes).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(steps):
        batch = train_index[torch.randint(len(train_index), (BATCH_SIZE,), generator=generator)]
        loss = F.cross_entropy(model(_as_input(dataset.images[batch]).to(device)), dataset.labels[batch].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        predictions = torch.cat([model(_as_input(dataset.images[test_index[i:i + 256]]).to(device)).argmax(1).cpu()
                                 for i in range(0, held_out, 256)])
    return model, float((predictions == dataset.labels[test_index]).float().mean())


def load_or_train_classifier(dataset: Dataset, cache_dir: str | Path | None = None,
                             device: torch.device | str = "cpu",
                             steps: int | None = None) -> tuple[SmallClassifier, dict]:
    """The cached classifier of ``dataset`` (trained and cached on first use) and its metadata."""
    steps = TRAIN_STEPS if steps is None else steps
    if dataset.labels is None or dataset.images is None or dataset.num_classes < 2:
        raise UserError(f"fcd_local needs labeled images (digits, shapes or a folder with one subfolder "
                        f"per class); {dataset.name!r} has no labels")
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    stem = folder / "fcd_local" / f"{dataset.name}-{dataset_digest(dataset)}-{steps}steps"
    weights, meta_path = stem.with_suffix(".safetensors"), stem.with_suffix(".json")
    model = SmallClassifier(dataset.data_shape[0], dataset.num_classes)
    if weights.is_file() and meta_path.is_file():
        try:
            model.load_state_dict(load_tensors(weights))
            return model.to(device).eval(), read_json(meta_path)
        except (UserError, RuntimeError):
            pass  # a corrupt or foreign cache entry is retrained and replaced
    model, accuracy = train_classifier(dataset, device, steps)
    meta = {"dataset": dataset.name, "images": len(dataset), "shape": list(dataset.data_shape),
            "classes": dataset.num_classes, "steps": steps, "held_out_accuracy": accuracy,
            "version": CLASSIFIER_VERSION}
    save_tensors(weights, model.state_dict())
    atomic_write_json(meta_path, meta)  # written last: marks the entry complete
    return model, meta


@torch.no_grad()
def classifier_features(model: SmallClassifier, images: Tensor, batch_size: int = 256) -> Tensor:
    device = next(model.parameters()).device
    return torch.cat([model.features(_as_input(images[i:i + batch_size]).to(device)).double().cpu()
                      for i in range(0, images.shape[0], batch_size)])


def fcd_local(real_images: Tensor, fake_images: Tensor, model: SmallClassifier) -> float:
    """Frechet distance of the classifier's 64-d features of two image sets (uint8 or [-1, 1])."""
    return frechet_distance_of_features(classifier_features(model, real_images),
                                        classifier_features(model, fake_images))
