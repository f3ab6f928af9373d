"""Procedural, offline datasets for quick starts and tests (no downloads, nothing bundled).

- ``render_digits``: handwritten-style digits 0-9 drawn from stroke skeletons (several glyph
  variants per digit, e.g. 1 with/without flag and base, open/closed 4, 7 with/without bar) with
  random slant, rotation, scale, aspect, position, per-point wobble and stroke width, rendered
  anti-aliased from an exact distance-to-stroke field. White on black like MNIST (LeCun et al.
  1998), but synthetic: scikit-image ships no digit set and the zoo must work offline.
- ``render_shapes``: coloured circles, squares, triangles and crosses (class labels 0-3) on dark
  backgrounds, anti-aliased by 4x supersampling.
- ``gaussian_mixture``: the 2-D ring of 8 Gaussians used to show mode collapse (Metz et al.
  2017, "Unrolled GANs"; Gulrajani et al. 2017).
- ``photo_crops`` / ``canny_edges`` / ``render_colored_shapes``: material for the translation
  built-ins, cut from the photographs and textures bundled with scikit-image (van der Walt et al.
  2014): random square crops of the photos (``edges2photos``, after Isola et al. 2017's
  edges2shoes: Canny edges, black on white, paired with the crop), of the grass and gravel
  textures (``textures``), and shapes painted in one of N colours (``colored-shapes``). Every
  source is split by region: it is cut into square cells a quarter of its shorter side wide, and
  the cells on every fourth anti-diagonal (``(row + column) % 4 == 0``, a quarter of the area,
  spread over the whole image) hold the ``test`` split. Test crops lie inside one such cell;
  ``train`` crops touch none, so test pixels are never seen in training, yet both splits sample
  every part of every image (a single held-out strip would hold content, e.g. a different object
  or background, that training never showed).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from skimage.draw import polygon as polygon_pixels
from skimage.feature import canny
from skimage.transform import resize

Stroke = list[tuple[float, float]]


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float) -> Stroke:
    """Points on an elliptical arc; angles in degrees, counter-clockwise as seen (y points down)."""
    steps = max(4, int(abs(end - start) / 20))
    angles = np.radians(np.linspace(start, end, steps + 1))
    return [(cx + rx * math.cos(a), cy - ry * math.sin(a)) for a in angles]


# Glyph skeletons in a unit box (x right, y down); each digit has one or more variants, each a
# list of strokes (polylines).
DIGIT_GLYPHS: dict[int, list[list[Stroke]]] = {
    0: [[_arc(0.5, 0.5, 0.5, 0.5, 90, 450)]],
    1: [[[(0.5, 0.0), (0.5, 1.0)]],
        [[(0.2, 0.25), (0.55, 0.0), (0.55, 1.0)]],
        [[(0.2, 0.25), (0.55, 0.0), (0.55, 1.0)], [(0.2, 1.0), (0.9, 1.0)]]],
    2: [[_arc(0.5, 0.28, 0.45, 0.28, 160, -35) + [(0.0, 1.0), (1.0, 1.0)]],
        [_arc(0.5, 0.3, 0.45, 0.3, 170, -20) + [(0.05, 1.0), (0.3, 0.88), (1.0, 0.97)]]],
    3: [[_arc(0.5, 0.27, 0.42, 0.27, 150, -90), _arc(0.5, 0.73, 0.48, 0.27, 90, -150)],
        [[(0.05, 0.0), (0.95, 0.0), (0.4, 0.42)] + _arc(0.5, 0.7, 0.48, 0.3, 70, -150)]],
    4: [[[(0.72, 1.0), (0.72, 0.0), (0.0, 0.68), (1.0, 0.68)]],
        [[(0.12, 0.0), (0.0, 0.6), (1.0, 0.6)], [(0.72, 0.25), (0.72, 1.0)]]],
    5: [[[(0.9, 0.0), (0.15, 0.0), (0.1, 0.45)] + _arc(0.5, 0.68, 0.45, 0.32, 130, -150)]],
    6: [[_arc(0.58, 0.62, 0.5, 0.62, 70, 190), _arc(0.5, 0.72, 0.42, 0.28, 180, 540)]],
    7: [[[(0.0, 0.0), (1.0, 0.0), (0.35, 1.0)]],
        [[(0.0, 0.05), (1.0, 0.0), (0.4, 1.0)], [(0.3, 0.5), (0.85, 0.5)]]],
    8: [[_arc(0.5, 0.25, 0.36, 0.25, -90, 270), _arc(0.5, 0.72, 0.45, 0.28, 90, 450)]],
    9: [[_arc(0.5, 0.3, 0.42, 0.3, 0, 360), [(0.92, 0.3), (0.85, 1.0)]],
        [_arc(0.5, 0.3, 0.42, 0.3, 0, 360), _arc(0.42, 0.3, 0.5, 0.7, 0, -100)]],
}


def _segment_distance(pixels: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Distance from each pixel centre ``[P, 2]`` to the nearest of the segments ``[S, 2]``."""
    starts, ends = starts.astype(np.float32), ends.astype(np.float32)
    direction = ends - starts  # [S, 2]
    inverse_length_sq = 1.0 / np.maximum((direction**2).sum(1), 1e-12)
    offset_x = pixels[:, 0:1] - starts[None, :, 0]  # [P, S]
    offset_y = pixels[:, 1:2] - starts[None, :, 1]
    t = np.clip((offset_x * direction[:, 0] + offset_y * direction[:, 1]) * inverse_length_sq,
                0.0, 1.0)
    offset_x -= t * direction[:, 0]
    offset_y -= t * direction[:, 1]
    return np.sqrt((offset_x * offset_x + offset_y * offset_y).min(1))


def render_digits(count: int, image_size: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``count`` digit images ``[N, 1, S, S]`` uint8 and labels ``[N]`` (balanced, shuffled)."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(count) % 10)
    images = np.zeros((count, 1, image_size, image_size), dtype=np.uint8)
    grid = (np.stack(np.meshgrid(np.arange(image_size), np.arange(image_size), indexing="xy"), -1)
            .reshape(-1, 2).astype(np.float32) + 0.5)
    for index, digit in enumerate(labels):
        variants = DIGIT_GLYPHS[int(digit)]
        strokes = variants[rng.integers(len(variants))]
        height = rng.uniform(0.58, 0.78) * image_size
        width = height * rng.uniform(0.45, 0.7)
        angle = math.radians(rng.normal(0.0, 8.0))
        shear = rng.normal(0.0, 0.18)
        centre = image_size / 2 + rng.normal(0.0, 0.04 * image_size, size=2)
        cos, sin = math.cos(angle), math.sin(angle)
        starts, ends = [], []
        for stroke in strokes:
            points = np.asarray(stroke, dtype=np.float64) - 0.5
            points = points + rng.normal(0.0, 0.025, size=points.shape)
            points = points * np.array([width, height])
            points[:, 0] += shear * -points[:, 1]
            points = points @ np.array([[cos, sin], [-sin, cos]]) + centre
            starts.append(points[:-1])
            ends.append(points[1:])
        distance = _segment_distance(grid, np.concatenate(starts), np.concatenate(ends))
        radius = rng.uniform(0.045, 0.09) * image_size
        ink = np.clip(radius + 0.5 - distance, 0.0, 1.0)
        images[index, 0] = (ink.reshape(image_size, image_size) * 255).round().astype(np.uint8)
    return images, labels.astype(np.int64)


SHAPE_NAMES = ("circle", "square", "triangle", "cross")


def _shape_polygon(kind: str, radius: float, angle: float) -> np.ndarray:
    """Vertices ``[V, 2]`` (x, y) of a shape centred at the origin."""
    if kind == "circle":
        corners = np.linspace(0, 2 * math.pi, 48, endpoint=False)
        return np.stack([np.cos(corners), np.sin(corners)], 1) * radius
    if kind == "square":
        corners = angle + np.arange(4) * math.pi / 2 + math.pi / 4
        return np.stack([np.cos(corners), np.sin(corners)], 1) * radius
    if kind == "triangle":
        corners = angle + np.arange(3) * 2 * math.pi / 3
        return np.stack([np.cos(corners), np.sin(corners)], 1) * radius
    arm = 0.33
    unit = np.array([(-arm, -1), (arm, -1), (arm, -arm), (1, -arm), (1, arm), (arm, arm), (arm, 1),
                     (-arm, 1), (-arm, arm), (-1, arm), (-1, -arm), (-arm, -arm)], dtype=np.float64)
    rotation = np.array([[math.cos(angle), math.sin(angle)], [-math.sin(angle), math.cos(angle)]])
    return unit @ rotation * radius * 0.9


def _hsv_to_rgb(hue: float, saturation: float, value: float) -> np.ndarray:
    channel = np.array([5.0, 3.0, 1.0])
    k = (channel + hue * 6.0) % 6.0
    return value - value * saturation * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def _paint_shape(rng: np.random.Generator, kind: str, colour: np.ndarray, image_size: int) -> np.ndarray:
    """One anti-aliased shape of ``colour`` on a random dark background, ``[3, S, S]`` uint8."""
    factor = 4
    big = image_size * factor
    background = rng.uniform(0.0, 0.25) * np.ones(3) + rng.uniform(0.0, 0.08, 3)
    radius = rng.uniform(0.22, 0.38) * big
    centre = rng.uniform(radius + 0.05 * big, big - radius - 0.05 * big, size=2)
    vertices = _shape_polygon(kind, radius, rng.uniform(0, 2 * math.pi)) + centre
    mask = np.zeros((big, big), dtype=np.float64)
    rows, cols = polygon_pixels(vertices[:, 1], vertices[:, 0], shape=(big, big))
    mask[rows, cols] = 1.0
    coverage = mask.reshape(image_size, factor, image_size, factor).mean((1, 3))
    picture = background[:, None, None] * (1 - coverage) + colour[:, None, None] * coverage
    return (np.clip(picture, 0, 1) * 255).round().astype(np.uint8)


def render_shapes(count: int, image_size: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``count`` RGB shape images ``[N, 3, S, S]`` uint8 and labels ``[N]`` (index into SHAPE_NAMES)."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(count) % len(SHAPE_NAMES))
    images = np.zeros((count, 3, image_size, image_size), dtype=np.uint8)
    for index, label in enumerate(labels):
        colour = _hsv_to_rgb(rng.uniform(), rng.uniform(0.6, 1.0), rng.uniform(0.75, 1.0))
        images[index] = _paint_shape(rng, SHAPE_NAMES[label], colour, image_size)
    return images, labels.astype(np.int64)


#: colour domains of ``colored-shapes``: name -> hue
COLOR_DOMAINS = {"red": 0.0, "yellow": 1 / 6, "green": 1 / 3, "cyan": 1 / 2, "blue": 2 / 3,
                 "magenta": 5 / 6}


def render_colored_shapes(count: int, image_size: int, domains: tuple[str, ...],
                          seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``count`` shapes ``[N, 3, S, S]`` uint8, each painted in one colour domain, and the domain
    indices ``[N]`` (balanced). Shape, size, position and background vary freely, so only the
    colour tells the domains apart."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(count) % len(domains))
    images = np.zeros((count, 3, image_size, image_size), dtype=np.uint8)
    for index, label in enumerate(labels):
        hue = (COLOR_DOMAINS[domains[label]] + rng.normal(0.0, 0.015)) % 1.0
        colour = _hsv_to_rgb(hue, rng.uniform(0.75, 1.0), rng.uniform(0.8, 1.0))
        kind = SHAPE_NAMES[rng.integers(len(SHAPE_NAMES))]
        images[index] = _paint_shape(rng, kind, colour, image_size)
    return images, labels.astype(np.int64)


def bundled_photos() -> list[np.ndarray]:
    """The colour photographs shipped inside scikit-image, float ``[H, W, 3]`` in [0, 1]."""
    from skimage import data

    photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(),
              data.immunohistochemistry(), data.hubble_deep_field(), data.retina(),
              data.stereo_motorcycle()[0]]
    return [photo.astype(np.float64) / 255.0 for photo in photos]


def bundled_textures() -> dict[str, np.ndarray]:
    """Grayscale textures shipped inside scikit-image, float ``[H, W, 1]`` in [0, 1]."""
    from skimage import data

    return {name: getattr(data, name)().astype(np.float64)[:, :, None] / 255.0
            for name in ("grass", "gravel", "brick")}


#: cells per shorter image side of the train/test region split, and the test cells' period
SPLIT_CELLS = 4


def is_test_cell(row: int, column: int) -> bool:
    """Whether grid cell (row, column) of a source image belongs to the held-out test split."""
    return (row + column) % SPLIT_CELLS == 0


def crop_box(height: int, width: int, split: str, rng: np.random.Generator) -> tuple[int, int, int]:
    """A random square crop ``(top, left, side)`` of a ``height x width`` image for ``split``.

    Sides are 1/8 to 1/4 of the shorter image side (half a cell to a cell). A ``test`` crop lies
    inside one test cell; a ``train`` crop is redrawn until it overlaps no test cell (including
    the partial cells at the right and bottom borders)."""
    cell = min(height, width) // SPLIT_CELLS
    side = int(rng.uniform(0.5, 1.0) * cell)
    if split == "test":
        cells = [(row, column) for row in range(height // cell) for column in range(width // cell)
                 if is_test_cell(row, column)]
        row, column = cells[rng.integers(len(cells))]
        return (row * cell + int(rng.integers(0, cell - side + 1)),
                column * cell + int(rng.integers(0, cell - side + 1)), side)
    while True:
        top = int(rng.integers(0, height - side + 1))
        left = int(rng.integers(0, width - side + 1))
        rows = range(top // cell, (top + side - 1) // cell + 1)
        columns = range(left // cell, (left + side - 1) // cell + 1)
        if not any(is_test_cell(row, column) for row in rows for column in columns):
            return top, left, side


def photo_crops(sources: list[np.ndarray], count: int, size: int, split: str,
                seed: int = 0) -> np.ndarray:
    """``count`` random square crops ``[N, C, S, S]`` uint8 from ``sources`` (``[H, W, C]``),
    taken in turn from each source, placed by :func:`crop_box` for ``split``."""
    rng = np.random.default_rng(seed + (0 if split == "train" else 7_919))
    channels = sources[0].shape[2]
    crops = np.zeros((count, channels, size, size), dtype=np.uint8)
    for index in range(count):
        image = sources[index % len(sources)]
        top, left, side = crop_box(image.shape[0], image.shape[1], split, rng)
        patch = image[top:top + side, left:left + side]
        patch = resize(patch, (size, size), anti_aliasing=side > size, preserve_range=True)
        crops[index] = (patch.clip(0, 1) * 255).round().astype(np.uint8).transpose(2, 0, 1)
    return crops


def canny_edges(images: np.ndarray, sigma: float) -> np.ndarray:
    """Canny edge maps of ``[N, C, S, S]`` uint8 images: black lines on white, ``[N, 1, S, S]``."""
    weights = np.array([0.2125, 0.7154, 0.0721])[: images.shape[1]]
    weights = weights / weights.sum()
    gray = np.tensordot(weights, images.astype(np.float64) / 255.0, axes=([0], [1]))  # [N, S, S]
    edges = np.stack([canny(plane, sigma=sigma) for plane in gray])
    return np.where(edges, 0, 255).astype(np.uint8)[:, None]


def gaussian_mixture(count: int, generator: torch.Generator, modes: int = 8, radius: float = 2.0,
                     std: float = 0.02) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` points ``[N, 2]`` from ``modes`` Gaussians on a circle, and their mode labels."""
    labels = torch.randint(0, modes, (count,), generator=generator)
    centres = mode_centres(modes, radius)
    return centres[labels] + std * torch.randn(count, 2, generator=generator), labels


def mode_centres(modes: int = 8, radius: float = 2.0) -> torch.Tensor:
    """Centres ``[modes, 2]`` of the ring mixture."""
    angles = torch.arange(modes, dtype=torch.float32) * (2 * math.pi / modes)
    return radius * torch.stack([torch.cos(angles), torch.sin(angles)], 1)
