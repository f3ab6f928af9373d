"""Data for image-to-image translation: paired, unpaired and multi-domain sets.

Modes (chosen by the model's ``data_kind``):

- ``paired`` (pix2pix, Isola et al. 2017): a folder with ``A/`` and ``B/`` subfolders whose files
  match by name (extension aside), or a folder of single images holding A and B side by side
  (left half A, right half B), as the pix2pix datasets ship.
- ``unpaired`` (CycleGAN, Zhu et al. 2017): ``A/`` and ``B/`` (or CycleGAN's ``trainA/``,
  ``trainB/``, ``testA/``, ``testB/``) with any counts; every batch pairs A images in shuffled
  order with B images drawn at random, as the CycleGAN code does. Paired sources work too.
- ``multi-domain`` (StarGAN, Choi et al. 2018): one subfolder per domain (``blond/ black/``), or a
  CSV file ``filename,attr1,attr2,...`` with 0/1 (or -1/1) per-image attribute labels, paths
  relative to the CSV. Labels become ``[N, D]`` float 0/1 vectors.

``direction`` ``BtoA`` swaps the two sides. Training batches get the papers' jitter: resize to
``286/256`` of the crop size, then a random crop (the same crop for both sides of a pair), and
random horizontal flips; both switchable off (then images are resized to the crop size). StarGAN
data gets flips only, as in its paper. Built-in offline sets (see
:data:`TRANSLATION_DESCRIPTIONS`) are cut from images bundled with scikit-image.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ganbase.errors import UserError
from ganbase.zoo.data.base import (
    DataConfig,
    Dataset,
    convert_channels,
    decode_image,
    image_files,
    square_resize,
    subfolders,
)
from ganbase.zoo.data.synthetic import (
    bundled_photos,
    bundled_textures,
    canny_edges,
    photo_crops,
    render_colored_shapes,
)
from ganbase.zoo.models.base import Batch

DIRECTIONS = ("AtoB", "BtoA")
SPLITS = ("train", "test")
SHAPE_DOMAINS = ("red", "green", "blue", "yellow")


@dataclass
class TranslationDataset(Dataset):
    """Source images ``images`` ``[N, C_A, L, L]`` uint8 (``L`` is the load size), optional
    ``targets`` ``[M, C_B, L, L]`` (aligned with ``images`` when ``aligned``), optional domain
    labels ``[N, D]``; batches are cropped to ``crop_size``."""

    targets: torch.Tensor | None = None
    aligned: bool = True
    crop_size: int = 32
    flip: bool = True

    def model_options(self) -> dict[str, object]:
        options = super().model_options()
        if self.targets is not None:
            options["out_channels"] = self.targets.shape[1]
        if self.labels is not None:  # several attributes per image -> binary classification
            options["multi_label"] = bool((self.labels.sum(1) != 1).any())
        return options

    def make_batch(self, index: torch.Tensor, generator: torch.Generator,
                   augment: bool = True) -> Batch:
        count, channels = index.numel(), self.images.shape[1]
        sources = self.images[index]
        target = labels = None
        if self.labels is not None:
            labels = self.labels[index]
        if self.targets is not None and self.aligned:
            both = _crop_flip(torch.cat([sources, self.targets[index]], 1), self.crop_size,
                              generator, augment, self.flip)
            return Batch(both[:, :channels], labels, both[:, channels:])
        if self.targets is not None:
            other = torch.randint(0, self.targets.shape[0], (count,), generator=generator)
            target = _crop_flip(self.targets[other], self.crop_size, generator, augment, self.flip)
        return Batch(_crop_flip(sources, self.crop_size, generator, augment, self.flip), labels,
                     target)


def _crop_flip(images: torch.Tensor, size: int, generator: torch.Generator, augment: bool,
               flip: bool) -> torch.Tensor:
    """Random (``augment``) or centre ``size`` crops plus random flips; uint8 -> [-1, 1]."""
    count, _, height, width = images.shape
    if augment:
        tops = torch.randint(0, height - size + 1, (count,), generator=generator).tolist()
        lefts = torch.randint(0, width - size + 1, (count,), generator=generator).tolist()
        flips = (torch.rand(count, generator=generator) < 0.5).tolist()
    else:
        tops, lefts, flips = [(height - size) // 2] * count, [(width - size) // 2] * count, [False] * count
    out = []
    for image, top, left, mirror in zip(images, tops, lefts, flips):
        crop = image[:, top:top + size, left:left + size]
        out.append(crop.flip(-1) if mirror and flip else crop)
    return torch.stack(out).float() / 127.5 - 1.0


# ----- folders ------------------------------------------------------------------------------

def _sides(folder: Path, split: str) -> tuple[Path, Path] | None:
    """``A/``+``B/`` or CycleGAN's ``trainA/``+``trainB/`` (``testA/``+``testB/``) in ``folder``."""
    for a_name, b_name in ((f"{split}A", f"{split}B"), ("A", "B")):
        if (folder / a_name).is_dir() or (folder / b_name).is_dir():
            return folder / a_name, folder / b_name
    return None


def _read_all(files: list[Path], size: int, channels: int) -> np.ndarray:
    images = []
    for path in files:
        image = decode_image(path, channels)
        if image is None:
            raise UserError(f"cannot read image {path}; is it corrupt?")
        images.append(_to_uint8(square_resize(image, size)))
    return np.stack(images)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return (image.clip(0, 1) * 255).round().astype(np.uint8).transpose(2, 0, 1)


def _side_files(directory: Path, what: str) -> list[Path]:
    if not directory.is_dir():
        raise UserError(f"{what} data: missing folder {directory}")
    files = image_files(directory)
    if not files:
        raise UserError(f"{what} data: {directory} has no images")
    return files


def _matched_files(a_dir: Path, b_dir: Path) -> tuple[list[Path], list[Path]]:
    a_files = {p.relative_to(a_dir).with_suffix(""): p for p in _side_files(a_dir, "paired")}
    b_files = {p.relative_to(b_dir).with_suffix(""): p for p in _side_files(b_dir, "paired")}
    only_a = sorted(str(a_files[k].relative_to(a_dir)) for k in set(a_files) - set(b_files))
    only_b = sorted(str(b_files[k].relative_to(b_dir)) for k in set(b_files) - set(a_files))
    if only_a or only_b:
        parts = []
        for names, here, there in ((only_a, a_dir, b_dir), (only_b, b_dir, a_dir)):
            if names:
                more = f", ... ({len(names)} in all)" if len(names) > 3 else ""
                parts.append(f"{here.name}/ has {', '.join(names[:3])}{more} without a match "
                             f"in {there.name}/")
        raise UserError("paired data: file names must match; " + "; ".join(parts))
    keys = sorted(a_files)
    return [a_files[k] for k in keys], [b_files[k] for k in keys]


def _side_by_side(folder: Path, size: int, channels: int) -> tuple[np.ndarray, np.ndarray]:
    files = image_files(folder)
    if not files:
        raise UserError(f"no image files in {folder}: paired data needs A/ and B/ subfolders or "
                        "images holding A and B side by side")
    sources, targets = [], []
    for path in files:
        image = decode_image(path, channels)
        if image is None:
            raise UserError(f"cannot read image {path}; is it corrupt?")
        half = image.shape[1] // 2
        if half < 1:
            raise UserError(f"{path} is too narrow to hold A and B side by side")
        sources.append(_to_uint8(square_resize(image[:, :half], size)))
        targets.append(_to_uint8(square_resize(image[:, half:2 * half], size)))
    return np.stack(sources), np.stack(targets)


def _two_sided_folder(folder: Path, size: int, channels: int, mode: str,
                      split: str) -> tuple[np.ndarray, np.ndarray]:
    sides = _sides(folder, split)
    if sides is None:
        if mode == "unpaired":
            raise UserError(f"unpaired data needs A/ and B/ (or trainA/ and trainB/) subfolders "
                            f"in {folder}")
        return _side_by_side(folder, size, channels)
    a_dir, b_dir = sides
    if mode == "paired":
        a_files, b_files = _matched_files(a_dir, b_dir)
    else:
        a_files, b_files = _side_files(a_dir, "unpaired"), _side_files(b_dir, "unpaired")
    return _read_all(a_files, size, channels), _read_all(b_files, size, channels)


def _domain_folder(folder: Path, size: int, channels: int) -> tuple[np.ndarray, np.ndarray, tuple]:
    domain_dirs = subfolders(folder)
    if len(domain_dirs) < 2:
        raise UserError(f"multi-domain data needs one subfolder per domain in {folder} (or a CSV "
                        f"of attribute labels); found {len(domain_dirs)} subfolder(s)")
    parts, labels = [], []
    for index, directory in enumerate(domain_dirs):
        images = _read_all(_side_files(directory, "multi-domain"), size, channels)
        parts.append(images)
        labels.append(np.repeat(np.eye(len(domain_dirs))[index:index + 1], len(images), 0))
    return np.concatenate(parts), np.concatenate(labels), tuple(p.name for p in domain_dirs)


def _domain_csv(path: Path, size: int, channels: int) -> tuple[np.ndarray, np.ndarray, tuple]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:  # spreadsheets on Windows save CSV as Latin-1 / cp1252: every byte decodes
        text = raw.decode("latin-1")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if len(rows) < 2 or len(rows[0]) < 3:
        raise UserError(f"{path}: expected a header 'filename,attr1,attr2,...' (2+ attributes) "
                        "and one row per image")
    names, files, labels = tuple(c.strip() for c in rows[0][1:]), [], []
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        try:
            values = [float(v) for v in row[1:]]
        except ValueError:
            values = []
        if len(values) != len(names) or any(v not in (-1.0, 0.0, 1.0) for v in values):
            raise UserError(f"{path} line {line}: expected a file name and {len(names)} labels "
                            "of 0/1 (or -1/1)")
        files.append(path.parent / row[0].strip())
        labels.append([1.0 if v > 0 else 0.0 for v in values])
    missing = [str(f.name) for f in files if not f.is_file()]
    if missing:
        raise UserError(f"{path}: {len(missing)} listed image(s) not found, e.g. "
                        f"{', '.join(missing[:3])}")
    return _read_all(files, size, channels), np.asarray(labels), names


# ----- built-ins ----------------------------------------------------------------------------

def _edges2photos(count: int, size: int, split: str) -> tuple:
    photos = photo_crops(bundled_photos(), count, size, split)
    return canny_edges(photos, sigma=max(1.0, size / 48)), photos, None, ()


def _gray2color(count: int, size: int, split: str) -> tuple:
    photos = photo_crops(bundled_photos(), count, size, split)
    return convert_channels(photos, 1), photos, None, ()


def _textures(count: int, size: int, split: str) -> tuple:
    textures = bundled_textures()
    grass = photo_crops([textures["grass"]], count, size, split, seed=1)
    gravel = photo_crops([textures["gravel"]], count, size, split, seed=2)
    return grass, gravel, None, ()


def _colored_shapes(count: int, size: int, split: str) -> tuple:
    images, domains = render_colored_shapes(count, size, SHAPE_DOMAINS,
                                            seed=0 if split == "train" else 1)
    return images, None, np.eye(len(SHAPE_DOMAINS))[domains], SHAPE_DOMAINS


#: name -> (loader(count, load size, split), modes it serves, default train count)
TRANSLATION_BUILTINS: dict[str, tuple[Callable[[int, int, str], tuple], tuple[str, ...], int]] = {
    "edges2photos": (_edges2photos, ("paired", "unpaired"), 400),
    "gray2color": (_gray2color, ("paired", "unpaired"), 400),
    "textures": (_textures, ("unpaired",), 300),
    "colored-shapes": (_colored_shapes, ("multi-domain",), 1200),
}

TRANSLATION_DESCRIPTIONS = {
    "edges2photos": "paired: Canny edges (A, gray) <-> crops of scikit-image's photos (B, RGB)",
    "gray2color": "paired: grayscale (A) <-> colour (B) crops of scikit-image's photos",
    "textures": "unpaired: grass (A) <-> gravel (B) crops of scikit-image's textures, gray",
    "colored-shapes": "multi-domain: shapes in 4 colour domains (red, green, blue, yellow)",
}


def _builtin(config: DataConfig, load_size: int) -> tuple | None:
    name, _, count_text = config.source.partition(":")
    if name not in TRANSLATION_BUILTINS or Path(config.source).exists():
        return None
    loader, modes, default = TRANSLATION_BUILTINS[name]
    if config.mode not in modes:
        raise UserError(f"{name!r} is {modes[0]} data, but this model needs {config.mode} data "
                        f"(try {_builtins_for(config.mode)})")
    if count_text and (not count_text.isdigit() or int(count_text) < 1):
        raise UserError(f"bad dataset size in {config.source!r}: use {name}:N, N a positive integer")
    count = int(count_text or default)
    if config.split == "test":
        count = max(16, count // 4)
    return (name, *loader(count, load_size, config.split))


def _builtins_for(mode: str) -> str:
    return " or ".join(name for name, (_, modes, _) in TRANSLATION_BUILTINS.items() if mode in modes)


def load_translation_dataset(config: DataConfig) -> TranslationDataset:
    """Load paired, unpaired or multi-domain data as ``config.mode`` asks."""
    if config.direction not in DIRECTIONS:
        raise UserError(f"--direction must be AtoB or BtoA, got {config.direction!r}")
    if config.split not in SPLITS:
        raise UserError(f"split must be train or test, got {config.split!r}")
    multi_domain = config.mode == "multi-domain"
    if multi_domain and config.direction != "AtoB":
        raise UserError("--direction applies to paired and unpaired data, not to multi-domain data")
    size = config.image_size
    load_size = round(size * 286 / 256) if config.jitter and not multi_domain else size
    builtin = _builtin(config, load_size)
    if builtin is not None and config.style_source:  # issue 24
        raise UserError("--style-data goes with --data FOLDER of content images, not a built-in dataset")
    if builtin is not None:
        name, sources, targets, labels, names = builtin
        if config.channels is not None:
            sources = convert_channels(sources, config.channels)
            targets = None if targets is None else convert_channels(targets, config.channels)
    else:
        name, sources, targets, labels, names = _load_folder(config, load_size)
    if config.direction == "BtoA":
        sources, targets = targets, sources
    return TranslationDataset(
        name, (sources.shape[1], size, size), torch.from_numpy(np.ascontiguousarray(sources)),
        None if labels is None else torch.from_numpy(labels.astype(np.float32)), tuple(names),
        targets=None if targets is None else torch.from_numpy(np.ascontiguousarray(targets)),
        aligned=config.mode == "paired", crop_size=size, flip=config.flip)


def _load_folder(config: DataConfig, load_size: int) -> tuple:
    path = Path(config.source)
    channels = config.channels or 3
    if config.style_source:  # adain (issue 24): content images in source, style images in style_source
        if config.mode != "unpaired":
            raise UserError(f"--style-data is for style transfer (unpaired) models, not {config.mode} data")
        sources = _read_all(_side_files(path, "content"), load_size, channels)
        styles = _read_all(_side_files(Path(config.style_source), "style"), load_size, channels)
        return path.name, sources, styles, None, ()
    if config.mode == "multi-domain" and path.is_file() and path.suffix.lower() == ".csv":
        images, labels, names = _domain_csv(path, load_size, channels)
        return path.stem, images, None, labels, names
    if not path.is_dir():
        raise UserError(f"data folder not found: {path} (built-in {config.mode} data: "
                        f"{_builtins_for(config.mode)})")
    if config.split != "train" and (path / config.split).is_dir():
        path = path / config.split
    if config.mode == "multi-domain":
        images, labels, names = _domain_folder(path, load_size, channels)
        return path.name, images, None, labels, names
    sources, targets = _two_sided_folder(path, load_size, channels, config.mode, config.split)
    return path.name, sources, targets, None, ()
