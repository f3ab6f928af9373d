"""Shared fixtures: small synthetic images written to a temporary folder (no ../shared needed).

Where a test goes:

- ``tests/unit/``: fast and in-process. No subprocess (no ``subprocess``, ``python -m``, ``torchrun``),
  no CLI (no ``click.testing.CliRunner``, no ``cli`` import); call the library directly. Seconds each.
- ``tests/integration/``: everything that runs the CLI, a subprocess, a crash or kill, several processes
  (``torch.distributed``), or trains end to end.

``@pytest.mark.slow`` marks the longest tests (about 8 s and more on 2 CPU cores). CI runs them all;
``python -m pytest -q -m "not slow"`` leaves them out while developing. Helpers shared by several test
modules live in :mod:`tests.helpers` (e.g. ``assert_imports_no_training``).
"""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest


def blob_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth colourful test image with a few blobs, ``uint8 [H, W, 3]``."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.zeros((height, width, 3), np.float32)
    image[..., 2] = 0.4 + 0.4 * yy / height  # sky-like gradient
    for _ in range(6):
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        radius = rng.uniform(3, max(4, min(height, width) / 5))
        color = rng.uniform(0, 1, 3)
        mask = ((yy - cy) ** 2 + (xx - cx) ** 2) < radius**2
        image[mask] = color
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


@pytest.fixture
def image_path(tmp_path):
    path = tmp_path / "blobs.png"
    iio.imwrite(path, blob_image(48, 64))
    return path
