"""Data loading tests: folders (recursive, mixed formats and sizes), labeled folders, bad
folders, channel handling, built-in datasets, and the resumable batch stream."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from ganbase.errors import UserError
from ganbase.zoo.data.datasets import BatchStream, DataConfig, load_dataset


def _write(path, shape, dtype=np.uint8, value=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(str(path)))
    array = rng.integers(0, 255, size=shape).astype(dtype) if value is None else np.full(shape, value, dtype)
    iio.imwrite(path, array)


@pytest.fixture
def mixed_folder(tmp_path):
    root = tmp_path / "photos"
    _write(root / "a.png", (40, 60, 3))
    _write(root / "nested" / "deeper" / "b.jpg", (30, 30, 3))
    _write(root / "c.png", (20, 25))  # grayscale
    _write(root / "d.png", (50, 50, 4))  # RGBA
    (root / "notes.txt").write_text("not an image")
    return root


def test_folder_is_recursive_and_resizes_mixed_sizes(mixed_folder):
    dataset = load_dataset(DataConfig(str(mixed_folder), image_size=16))
    assert dataset.images.shape == (4, 3, 16, 16) and dataset.images.dtype == torch.uint8
    assert dataset.labels is None and dataset.data_shape == (3, 16, 16)


def test_folder_converts_to_requested_channels(mixed_folder):
    gray = load_dataset(DataConfig(str(mixed_folder), image_size=8, channels=1))
    assert gray.images.shape == (4, 1, 8, 8)


def test_constant_image_keeps_its_value(tmp_path):
    _write(tmp_path / "grey.png", (10, 20, 3), value=200)
    dataset = load_dataset(DataConfig(str(tmp_path), image_size=8))
    assert (dataset.images == 200).all()


def test_missing_empty_and_unreadable_folders(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_dataset(DataConfig(str(tmp_path / "nope")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no image files"):
        load_dataset(DataConfig(str(tmp_path / "empty")))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "x.png").write_bytes(b"definitely not a png")
    (broken / "y.jpg").write_bytes(b"")
    with pytest.raises(UserError, match="none of the 2 image files"):
        load_dataset(DataConfig(str(broken)))


def test_wrong_channels_and_sizes(mixed_folder):
    for channels in (0, 2, 4):
        with pytest.raises(UserError, match="--channels must be 1"):
            load_dataset(DataConfig(str(mixed_folder), channels=channels))
    with pytest.raises(UserError, match="--image-size"):
        load_dataset(DataConfig(str(mixed_folder), image_size=2))
    with pytest.raises(UserError, match="positive integer"):
        load_dataset(DataConfig("digits:lots"))


def test_labeled_folder(tmp_path):
    for name, count in (("cats", 2), ("dogs", 3)):
        for index in range(count):
            _write(tmp_path / "pets" / name / f"{index}.png", (12, 12, 3))
    dataset = load_dataset(DataConfig(str(tmp_path / "pets"), image_size=8, labeled=True))
    assert dataset.class_names == ("cats", "dogs")
    assert sorted(dataset.labels.tolist()) == [0, 0, 1, 1, 1]


def test_labeled_folder_errors(tmp_path, mixed_folder):
    flat = tmp_path / "flat"
    _write(flat / "a.png", (8, 8, 3))
    with pytest.raises(UserError, match="one subfolder per class"):
        load_dataset(DataConfig(str(flat), labeled=True))
    _write(tmp_path / "two" / "a" / "x.png", (8, 8, 3))
    (tmp_path / "two" / "b").mkdir()
    with pytest.raises(UserError, match="no image files"):
        load_dataset(DataConfig(str(tmp_path / "two"), labeled=True))
    with pytest.raises(UserError, match="needs labeled data"):
        load_dataset(DataConfig("faces", labeled=True))


def test_builtin_digits_and_shapes():
    digits = load_dataset(DataConfig("digits:50", image_size=32))
    assert digits.images.shape == (50, 1, 32, 32) and digits.num_classes == 10
    assert sorted(set(digits.labels.tolist())) == list(range(10))
    ink = digits.images.float().mean((1, 2, 3))
    assert (ink > 5).all() and (ink < 128).all()  # white strokes on black, not empty, not full
    assert torch.equal(digits.images, load_dataset(DataConfig("digits:50", 32)).images)  # fixed
    shapes = load_dataset(DataConfig("shapes:12", image_size=16, channels=1))
    assert shapes.images.shape == (12, 1, 16, 16) and shapes.num_classes == 4


def test_builtin_faces_and_gaussians():
    faces = load_dataset(DataConfig("faces", image_size=32))
    assert faces.images.shape == (200, 1, 32, 32) and faces.labels is None
    gaussians = load_dataset(DataConfig("gaussians"))
    batch = BatchStream(gaussians, 512, seed=0).next()
    assert batch.data.shape == (512, 2)
    assert ((batch.data.norm(dim=1) - 2.0).abs() < 0.15).all()


def test_batch_stream_covers_epochs_and_resumes_exactly():
    dataset = load_dataset(DataConfig("digits:10", image_size=8))
    stream = BatchStream(dataset, batch_size=4, seed=1)
    first_epoch = [stream.next() for _ in range(2)]
    assert first_epoch[0].data.min() >= -1 and first_epoch[0].data.max() <= 1
    third = stream.next()  # 2 from epoch 0 + 2 from epoch 1
    seen = torch.cat([b.labels for b in first_epoch] + [third.labels[:2]])
    assert sorted(seen.tolist()) == sorted(dataset.labels.tolist())
    state = stream.state_dict()
    expected = [stream.next().data for _ in range(3)]
    resumed = BatchStream(dataset, batch_size=4, seed=1)
    resumed.load_state_dict(state)
    assert all(torch.equal(a, resumed.next().data) for a in expected)
    with pytest.raises(UserError, match="--batch-size"):
        BatchStream(dataset, batch_size=0, seed=1)
