"""Training data for the GAN zoo: image folders, labeled folders and built-in offline datasets.

Sources (``--data``): a folder of images (searched recursively; PNG, JPEG, BMP, GIF, TIFF, WebP),
a labeled folder (one subfolder per class, for conditional models), or a built-in dataset name,
optionally with a size: ``digits[:N]`` (procedural handwritten-style digits, 10 classes),
``shapes[:N]`` (coloured shapes, 4 classes), ``faces`` (the 100 faces of scikit-image's bundled
LFW subset, Huang et al. 2007, plus their mirror images) and ``gaussians`` (2-D ring of 8
Gaussians). Images are centre-cropped to squares, resized to ``--image-size``, converted to
``--channels`` and held in memory as uint8; batches are scaled to [-1, 1].

Image-to-image translation data (``paired``, ``unpaired``, ``multi-domain``, with
``--direction``, jitter and flips, and the built-ins ``edges2photos``, ``gray2color``,
``textures``, ``colored-shapes``) lives in :mod:`ganbase.zoo.data.translation`; ``load_dataset``
dispatches there when ``DataConfig.mode`` names one of those modes.

Batches come from a resumable stream: its whole state is a few integers, so a resumed run sees
exactly the batches (and random crops/flips) an uninterrupted one would. Under torchrun every
rank reads its own share of each epoch (``DistributedSampler``) and draws its own augmentations.
No paper.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import imageio.v3 as iio
import numpy as np
import torch
from skimage.color import rgb2gray
from skimage.transform import resize
from torch.utils.data import DistributedSampler

from ganbase.errors import UserError
from ganbase.zoo.data.synthetic import (
    SHAPE_NAMES,
    gaussian_mixture,
    render_digits,
    render_shapes,
)
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


# ----- loading ------------------------------------------------------------------------------

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


def _read_image(path: Path, size: int, channels: int) -> np.ndarray | None:
    """One image file -> ``[C, S, S]`` uint8, or None when it cannot be decoded."""
    image = decode_image(path, channels)
    if image is None:
        return None
    image = square_resize(image, size)
    return (image.clip(0, 1) * 255).round().astype(np.uint8).transpose(2, 0, 1)


def decode_image(path: Path, channels: int) -> np.ndarray | None:
    """One image file -> float ``[H, W, channels]`` in [0, 1], or None when it cannot be decoded."""
    try:
        image = np.asarray(iio.imread(path, index=0, plugin="pillow"))
    except Exception:  # imageio raises many types for undecodable files
        return None
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[0] < 1 or image.shape[1] < 1:
        return None
    if np.issubdtype(image.dtype, np.integer):
        image = image.astype(np.float64) / np.iinfo(image.dtype).max
    image = image.astype(np.float64)
    image = image[:, :, :1] if image.shape[2] in (1, 2) else image[:, :, :3]  # drop alpha
    if channels == 1 and image.shape[2] == 3:
        image = rgb2gray(image)[:, :, None]
    elif channels == 3 and image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return image


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def _read_folder(folder: Path, size: int, channels: int) -> np.ndarray:
    files = image_files(folder)
    if not files:
        raise UserError(f"no image files in {folder} (looked for {', '.join(IMAGE_EXTENSIONS)}, "
                        "recursively)")
    images = [image for image in (_read_image(path, size, channels) for path in files)
              if image is not None]
    if not images:
        raise UserError(f"none of the {len(files)} image files in {folder} could be read "
                        f"(e.g. {files[0].name}); are they corrupt?")
    return np.stack(images)


def load_folder(folder: str | Path, image_size: int, channels: int | None, labeled: bool) -> Dataset:
    """A folder of images; with ``labeled``, one subfolder per class (sorted names -> 0, 1, ...)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"data folder not found: {folder}")
    channels = channels or 3
    if not labeled:
        images = _read_folder(folder, image_size, channels)
        return Dataset(folder.name, (channels, image_size, image_size), torch.from_numpy(images))
    class_dirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(class_dirs) < 2:
        raise UserError(f"labeled data needs one subfolder per class in {folder}; "
                        f"found {len(class_dirs)} subfolder(s)")
    parts, labels = [], []
    for index, class_dir in enumerate(class_dirs):
        images = _read_folder(class_dir, image_size, channels)
        parts.append(images)
        labels.append(np.full(len(images), index, dtype=np.int64))
    return Dataset(folder.name, (channels, image_size, image_size),
                   torch.from_numpy(np.concatenate(parts)), torch.from_numpy(np.concatenate(labels)),
                   tuple(p.name for p in class_dirs))


def _resized(images: np.ndarray, size: int) -> np.ndarray:
    if images.shape[-1] == size:
        return images
    floats = images.transpose(0, 2, 3, 1).astype(np.float64) / 255.0
    out = np.stack([square_resize(image, size) for image in floats])
    return (out.clip(0, 1) * 255).round().astype(np.uint8).transpose(0, 3, 1, 2)


def _builtin_digits(count: int, size: int, channels: int | None) -> Dataset:
    images, labels = render_digits(count or 6000, size, seed=0)
    images = convert_channels(images, channels or 1)
    return Dataset("digits", images.shape[1:], torch.from_numpy(images), torch.from_numpy(labels),
                   tuple(str(d) for d in range(10)))


def _builtin_shapes(count: int, size: int, channels: int | None) -> Dataset:
    images, labels = render_shapes(count or 4000, size, seed=0)
    images = convert_channels(images, channels or 3)
    return Dataset("shapes", images.shape[1:], torch.from_numpy(images), torch.from_numpy(labels),
                   SHAPE_NAMES)


def _builtin_faces(count: int, size: int, channels: int | None) -> Dataset:
    from skimage.data import lfw_subset  # the first 100 of its 200 images are faces

    faces = (lfw_subset()[:100] * 255).round().astype(np.uint8)[:, None]
    faces = np.concatenate([faces, faces[..., ::-1]])  # mirror images double the set
    images = convert_channels(_resized(faces, size), channels or 1)
    images = images[:count] if count else images
    return Dataset("faces", images.shape[1:], torch.from_numpy(np.ascontiguousarray(images)))


def _builtin_gaussians(count: int, size: int, channels: int | None) -> Dataset:
    return Dataset("gaussians", (2,), labels=None, class_names=tuple(str(m) for m in range(8)),
                   point_sampler=gaussian_mixture)


BUILTIN_DATASETS: dict[str, Callable[[int, int, int | None], Dataset]] = {
    "digits": _builtin_digits,
    "shapes": _builtin_shapes,
    "faces": _builtin_faces,
    "gaussians": _builtin_gaussians,
}

BUILTIN_DESCRIPTIONS = {
    "digits": "procedural handwritten-style digits 0-9, grayscale, 10 classes (default 6000)",
    "shapes": "coloured circles/squares/triangles/crosses, RGB, 4 classes (default 4000)",
    "faces": "scikit-image's bundled LFW faces (100 + mirrored), grayscale, unlabeled",
    "gaussians": "2-D ring of 8 Gaussians (points, 8 classes) for loss sanity checks",
}


def _parse_builtin(source: str) -> tuple[str, int] | None:
    name, _, count = source.partition(":")
    if name not in BUILTIN_DATASETS or Path(source).exists():
        return None
    if count and (not count.isdigit() or int(count) < 1):
        raise UserError(f"bad dataset size in {source!r}: use {name}:N with N a positive integer")
    return name, int(count or 0)


def load_dataset(config: DataConfig) -> Dataset:
    """Load ``config.source``: a built-in name (``digits``, ``digits:2000``, ...) or a folder."""
    check_channels(config.channels)
    if config.image_size < 4:
        raise UserError(f"--image-size must be at least 4, got {config.image_size}")
    if config.mode:
        from ganbase.zoo.data.translation import load_translation_dataset

        return load_translation_dataset(config)
    builtin = _parse_builtin(config.source)
    if builtin is None:
        return load_folder(config.source, config.image_size, config.channels, config.labeled)
    name, count = builtin
    dataset = BUILTIN_DATASETS[name](count, config.image_size, config.channels)
    if config.labeled and dataset.labels is None and dataset.point_sampler is None:
        raise UserError(f"this model needs labeled data, but {name!r} has no labels "
                        "(use digits, shapes or a folder with one subfolder per class)")
    return dataset
