"""The region split of the built-in translation sets (``ganbase.zoo.data.synthetic.crop_box``): test crops
lie inside the held-out cells, train crops never touch them, and both splits reach every part of
the image (so the test split is in-distribution). Pure numpy, well under a second."""

from __future__ import annotations

import numpy as np

from ganbase.zoo.data.synthetic import SPLIT_CELLS, crop_box, is_test_cell


def _test_mask(height: int, width: int) -> np.ndarray:
    cell = min(height, width) // SPLIT_CELLS
    rows = np.arange(height)[:, None] // cell
    columns = np.arange(width)[None, :] // cell
    return (rows + columns) % SPLIT_CELLS == 0  # same rule as is_test_cell, vectorised


def test_train_and_test_crops_never_share_a_pixel_and_cover_the_image():
    height, width = 300, 451  # chelsea's size: not a multiple of the cell size
    mask = _test_mask(height, width)
    assert is_test_cell(0, 0) and not is_test_cell(0, 1)
    assert 0.2 < mask.mean() < 0.3  # a quarter of the area is held out
    rng = np.random.default_rng(0)
    seen = {"train": np.zeros_like(mask), "test": np.zeros_like(mask)}
    for split, count in (("train", 300), ("test", 100)):
        for _ in range(count):
            top, left, side = crop_box(height, width, split, rng)
            assert 0 <= top and top + side <= height and 0 <= left and left + side <= width
            assert height // 8 - 1 <= side <= height // 4
            inside = mask[top:top + side, left:left + side]
            assert inside.all() if split == "test" else not inside.any()
            seen[split][top:top + side, left:left + side] = True
    assert not (seen["train"] & seen["test"]).any()
    for covered in seen.values():  # every quarter of the image is sampled by both splits
        for rows in (slice(0, height // 2), slice(height // 2, None)):
            for columns in (slice(0, width // 2), slice(width // 2, None)):
                assert covered[rows, columns].any()
