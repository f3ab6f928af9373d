"""The pieces every zoo data source shares (no paper): the data contract and reading image files.

:class:`DataConfig` (where data comes from and how it is shaped; saved in a run's ``config.json``),
:class:`Dataset` (images held in memory as uint8, or a point sampler, with optional labels),
:class:`BatchStream` (endless, resumable batches) and :func:`data_mode`; then the helpers that turn
image files into arrays: :func:`image_files`, :func:`decode_image`, :func:`square_resize`,
:func:`convert_channels`. Plain and labeled folders and the built-in sets are
:mod:`ganbase.zoo.data.datasets`'; translation data is :mod:`ganbase.zoo.data.translation`'s.

Batches come from a resumable stream: its whole state is a few integers, so a resumed run sees
exactly the batches (and random crops/flips) an uninterrupted one would. Under torchrun every
rank reads its own share of each epoch (``DistributedSampler``) and draws its own augmentations.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from skimage.color import rgb2gray
from skimage.transform import resize
from torch.utils.data import DistributedSampler

from ganbase.errors import UserError
from ganbase.io.images import read_image
from ganbase.zoo.models.base import Batch

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class DataConfig:
    """Where data comes from and how it is shaped. ``channels`` None keeps the source's own."""

    source: str
    image_size: int = 32
    channels: int | None = None
    labeled: bool = False
    #: "" (plain or labeled images), "paired", "unpaired" or "multi-domain"
    mode: str = ""
    #: translation data: AtoB or BtoA, random resize+crop jitter, horizontal flips, which split
    direction: str = "AtoB"
    jitter: bool = True
    flip: bool = True
    split: str = "train"
    #: unpaired data (adain, issue 24): a second folder for the B side (style images) instead of B/
    style_source: str = ""


@dataclass
class Dataset:
    """In-memory images ``[N, C, S, S]`` uint8 (or a point sampler) with optional labels."""

    name: str
    data_shape: tuple[int, ...]
    images: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    class_names: tuple[str, ...] = ()
    point_sampler: Callable[[int, torch.Generator], tuple[torch.Tensor, torch.Tensor]] | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return 0 if self.images is None else self.images.shape[0]

    def model_options(self) -> dict[str, object]:
        """Model config fields fixed by the data (shape, classes)."""
        return {"data_shape": tuple(self.data_shape), "num_classes": self.num_classes}

    def make_batch(self, index: torch.Tensor, generator: torch.Generator,
                   augment: bool = True) -> Batch:
        """Images ``index`` scaled to [-1, 1] (on CPU); ``generator`` drives any augmentation."""
        images = self.images[index].float() / 127.5 - 1.0
        return Batch(images, None if self.labels is None else self.labels[index])

    def fixed_batch(self, count: int, device: torch.device | str = "cpu") -> Batch:
        """The first ``count`` items, un-augmented: the inputs of progress grids."""
        if self.point_sampler is not None:
            points, labels = self.point_sampler(count, torch.Generator().manual_seed(0))
            return Batch(points.to(device), labels.to(device))
        index = torch.arange(min(count, len(self)))
        return _to_device(self.make_batch(index, torch.Generator().manual_seed(0), augment=False),
                          device)


def _to_device(batch: Batch, device: torch.device | str) -> Batch:
    def move(tensor: torch.Tensor | None) -> torch.Tensor | None:
        return None if tensor is None else tensor.to(device)

    return Batch(move(batch.data), move(batch.labels), move(batch.target))


def data_mode(data_kind: str) -> str:
    """The ``DataConfig.mode`` a model's ``data_kind`` needs."""
    return data_kind if data_kind in ("paired", "unpaired", "multi-domain") else ""


class BatchStream:
    """Endless batches: shuffled epochs over in-memory images, or fresh draws from a sampler.

    The shuffle of epoch ``e`` and the points of draw ``i`` depend only on ``(seed, e)`` and
    ``(seed, i)``, and the augmentation of batch ``b`` on ``(seed, b)``, so ``state_dict`` is four
    integers.
    """

    def __init__(self, dataset: Dataset, batch_size: int, seed: int,
                 device: torch.device | str = "cpu", rank: int = 0, world_size: int = 1) -> None:
        if batch_size < 1:
            raise UserError(f"--batch-size must be at least 1, got {batch_size}")
        self.dataset, self.batch_size, self.seed = dataset, batch_size, seed
        self.device = torch.device(device)
        self.rank, self.world_size = rank, world_size
        self.epoch, self.position, self.draws, self.batches = 0, 0, 0, 0
        self._order: torch.Tensor | None = None

    def _epoch_order(self) -> torch.Tensor:
        """This rank's share of epoch ``epoch``'s shuffle (the whole shuffle for one process):
        ``DistributedSampler`` permutes with seed ``seed * 1_000_003 + epoch``."""
        if self._order is None:
            sampler = DistributedSampler(self.dataset, num_replicas=self.world_size, rank=self.rank,
                                         shuffle=True, seed=self.seed * 1_000_003)
            sampler.set_epoch(self.epoch)
            self._order = torch.tensor(list(sampler), dtype=torch.long)
        return self._order

    def _draw_seed(self, base: int, count: int) -> int:
        """Seed of draw ``count``: ranks draw interleaved seeds, so no two ranks share one."""
        return base + count * self.world_size + self.rank

    def next(self) -> Batch:
        if self.dataset.point_sampler is not None:
            generator = torch.Generator().manual_seed(self._draw_seed(self.seed * 1_000_003, self.draws))
            self.draws += 1
            points, labels = self.dataset.point_sampler(self.batch_size, generator)
            return Batch(points.to(self.device), labels.to(self.device))
        parts, filled = [], 0
        while filled < self.batch_size:
            order = self._epoch_order()
            take = order[self.position:self.position + self.batch_size - filled]
            parts.append(take)
            filled += take.numel()
            self.position += take.numel()
            if self.position >= order.numel():
                self.epoch, self.position, self._order = self.epoch + 1, 0, None
        generator = torch.Generator().manual_seed(self._draw_seed((self.seed + 1) * 2_000_003, self.batches))
        self.batches += 1
        return _to_device(self.dataset.make_batch(torch.cat(parts), generator), self.device)

    def state_dict(self) -> dict[str, int]:
        state = {"epoch": self.epoch, "position": self.position, "draws": self.draws,
                 "batches": self.batches}
        if self.world_size > 1:
            state["world_size"] = self.world_size
        return state

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.position, self.draws = int(state["epoch"]), int(state["position"]), int(state["draws"])
        self.batches = int(state.get("batches", 0))  # absent in checkpoints of older versions
        saved_world = int(state.get("world_size", 1))
        if saved_world != self.world_size:  # resumed with another number of processes
            self.position = self.position * saved_world // self.world_size
        self._order = None



# ----- image files ------------------------------------------------------------------------

def check_channels(channels: int | None) -> None:
    if channels is not None and channels not in (1, 3):
        raise UserError(f"--channels must be 1 (grayscale) or 3 (RGB), got {channels}")


def convert_channels(images: np.ndarray, channels: int) -> np.ndarray:
    """``[N, C, H, W]`` uint8 with C in {1, 3} -> ``channels`` channels."""
    if images.shape[1] == channels:
        return images
    if channels == 3:
        return np.repeat(images, 3, axis=1)
    weights = np.array([0.2125, 0.7154, 0.0721], dtype=np.float64)[None, :, None, None]
    return (images * weights).sum(1, keepdims=True).round().clip(0, 255).astype(np.uint8)


def square_resize(image: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop ``[H, W, C]`` float image to a square and resize to ``size``."""
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    image = image[top:top + side, left:left + side]
    if side != size:
        image = resize(image, (size, size), anti_aliasing=side > size, preserve_range=True)
    return image


def decode_image(path: Path, channels: int) -> np.ndarray | None:
    """One image file -> float ``[H, W, channels]`` in [0, 1], or None when it cannot be decoded."""
    try:  # the project's one decoder: modes, bit depths, EXIF orientation, the pixel limit
        image = read_image(path)[0]
    except UserError:
        return None
    image = (image[:, :, None] if image.ndim == 2 else image).astype(np.float64)
    if channels == 1 and image.shape[2] == 3:
        image = rgb2gray(image)[:, :, None]
    elif channels == 3 and image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return image


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)




def subfolders(folder: Path) -> list[Path]:
    """The visible subfolders of ``folder``, sorted by name: classes or domains, index = position."""
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
