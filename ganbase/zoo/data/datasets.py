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
dispatches there when ``DataConfig.mode`` names one of those modes. The data contract
(``DataConfig``, ``Dataset``, ``BatchStream``) and the image-file helpers both use are
:mod:`ganbase.zoo.data.base`'s, re-exported here. No paper.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ganbase.errors import UserError
from ganbase.zoo.data.base import (
    IMAGE_EXTENSIONS,
    BatchStream,
    DataConfig,
    Dataset,
    check_channels,
    convert_channels,
    data_mode,
    decode_image,
    image_files,
    square_resize,
    subfolders,
)
from ganbase.zoo.data.synthetic import (
    SHAPE_NAMES,
    gaussian_mixture,
    render_digits,
    render_shapes,
)
from ganbase.zoo.data.translation import load_translation_dataset

__all__ = ["BUILTIN_DATASETS", "BUILTIN_DESCRIPTIONS", "BatchStream", "DataConfig", "Dataset", "data_mode",
           "load_dataset", "load_folder"]


# ----- loading ------------------------------------------------------------------------------

def _read_image(path: Path, size: int, channels: int) -> np.ndarray | None:
    """One image file -> ``[C, S, S]`` uint8, or None when it cannot be decoded."""
    image = decode_image(path, channels)
    if image is None:
        return None
    image = square_resize(image, size)
    return (image.clip(0, 1) * 255).round().astype(np.uint8).transpose(2, 0, 1)


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
    class_dirs = subfolders(folder)
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
