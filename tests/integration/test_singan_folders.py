"""Tests of folders of images and runs (train, sample, harmonize with inputs matched by name) and
of the Python API ``from singan_kit import SinGAN``."""

from __future__ import annotations

import json
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from ganbase.errors import UserError
from singan_kit import SinGAN
from singan_kit.architectures import make_config
from singan_kit.architectures.lifecycle import create_run
from singan_kit.architectures.singan.train import SinGANTrainer
from singan_kit.batch.folders import run_names
from tests.conftest import blob_image
from tests.helpers import assert_imports_no_training
from tests.integration.test_singan_cli import assert_one_line_error, run


@pytest.fixture(scope="module")
def photo_runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("folders")
    photos = folder / "photos"
    photos.mkdir()
    iio.imwrite(photos / "alpha.png", blob_image(40, 48, seed=1))
    iio.imwrite(photos / "beta.jpg", blob_image(40, 40, seed=2))
    (photos / "broken.png").write_bytes(b"not an image")
    (photos / "notes.txt").write_text("ignored: not an image file name")
    result = run("train", photos, "--out", folder / "runs", "--preset", "tiny", "--iters", 2, "--device", "cpu", "-q")
    return folder, result


def test_train_folder_summary(photo_runs):
    folder, result = photo_runs
    assert result.exit_code == 1, result.output  # one image failed: scripts must be able to tell
    assert "Error: 1 of 3 images failed" in result.output
    lines = result.output.splitlines()
    assert any(line.startswith("alpha.png") and "done" in line for line in lines)
    assert any(line.startswith("beta.jpg") and "done" in line for line in lines)
    assert any(line.startswith("broken.png") and "failed" in line and "cannot read image" in line for line in lines)
    assert "2 done, 0 skipped, 1 failed" in result.output
    assert sorted(p.name for p in (folder / "runs").iterdir()) == ["alpha", "beta"]  # nothing for broken.png


def test_train_folder_skips_finished_and_resumes_unfinished(photo_runs, tmp_path):
    folder, _ = photo_runs
    photos = folder / "photos"
    partial = folder / "runs" / "gamma"
    iio.imwrite(photos / "gamma.png", blob_image(40, 44, seed=3))
    create_run(photos / "gamma.png", partial, make_config("tiny", iters=2), torch.device("cpu"))
    SinGANTrainer(partial, "cpu", progress=False, threads=1).train_scale(0)
    result = run("train", photos, "--out", folder / "runs", "--preset", "tiny", "--iters", 2, "-q")
    (photos / "gamma.png").unlink()
    assert result.exit_code == 1, result.output  # broken.png failed
    assert "already trained" in result.output and "resumed at scale 1" in result.output
    assert "1 done, 2 skipped, 1 failed" in result.output
    meta = json.loads((partial / "config.json").read_text())
    assert meta["scales_done"] == len(meta["pyramid"]["sizes"])


def test_sample_every_run(photo_runs, tmp_path):
    folder, _ = photo_runs
    result = run("sample", folder / "runs", "--num", 2, "--out", tmp_path / "samples", "-q")
    assert result.exit_code == 0, result.output
    for name in ["alpha", "beta"]:
        assert sorted(p.name for p in (tmp_path / "samples" / name).iterdir()) == ["sample_0000.png",
                                                                                  "sample_0001.png"]
    assert_one_line_error(run("sample", tmp_path / "samples"), "not a SinGAN run folder")


def test_harmonize_folder_matches_inputs_by_name(photo_runs, tmp_path):
    folder, _ = photo_runs
    naive, masks = tmp_path / "naive", tmp_path / "masks"
    naive.mkdir()
    masks.mkdir()
    real = iio.imread(folder / "runs" / "alpha" / "real.png")
    mask = np.zeros(real.shape[:2], np.uint8)
    mask[5:12, 5:12] = 255
    iio.imwrite(naive / "alpha.png", real)
    iio.imwrite(masks / "alpha_mask.png", mask)
    out = tmp_path / "out"
    result = run("harmonize", folder / "runs", "--naive", naive, "--mask", masks, "--inject-scale", -1,
                 "--out", out, "-q")
    assert result.exit_code == 0, result.output
    assert [p.name for p in out.iterdir()] == ["alpha.png"]
    assert iio.imread(out / "alpha.png").shape == real.shape
    assert "no --naive named beta" in result.output  # skipped, not failed
    assert "1 done," in result.output and ", 0 failed" in result.output
    assert_one_line_error(run("harmonize", folder / "runs", "--naive", naive / "alpha.png", "--mask", masks,
                              "--inject-scale", 1), "every run failed")


def test_run_names_are_stable_and_unique():
    names = run_names([Path("a.png"), Path("a.JPG"), Path("b.png")])
    assert names == {Path("a.png"): "a_png", Path("a.JPG"): "a_jpg", Path("b.png"): "b"}


def test_python_api_round_trip(tmp_path):
    model = SinGAN.train(blob_image(40, 52, seed=4), preset="tiny", iters=2, device="cpu")
    saved = model.save(tmp_path / "saved")
    loaded = SinGAN.load(saved, device="cpu")
    assert loaded.num_scales == model.num_scales and "scales" in repr(loaded)
    height, width = loaded.size
    samples = loaded.sample(3, scale=(1.5, 1.0), seed=2)
    assert samples.shape == (3, height, round(width * 1.5), 3) and samples.dtype == np.uint8
    assert np.array_equal(samples, model.sample(3, scale=(1.5, 1.0), seed=2))
    real = iio.imread(saved / "real.png")
    mask = np.zeros((height, width), bool)
    mask[4:10, 4:12] = True
    assert loaded.harmonize(real, mask, inject_scale=1).shape == real.shape
    assert loaded.edit(real, mask, inject_scale=-1).shape == real.shape
    assert loaded.paint(real, inject_scale=1, quantize=3, quantize_iters=2).shape == real.shape
    clip = loaded.animate(frames=4, start_scale=1)
    assert clip.shape == (4, height, width, 3)
    with pytest.raises(UserError, match=r"already exists and is not empty"):
        model.save(saved)


def test_api_inference_imports_no_training_code(tmp_path):
    model = SinGAN.train(blob_image(40, 40, seed=6), preset="tiny", iters=1, out=tmp_path / "run", device="cpu")
    del model
    code = ("import sys, numpy as np; from singan_kit import SinGAN; m = SinGAN.load(sys.argv[1], 'cpu'); "
            "m.sample(1); h, w = m.size; mask = np.zeros((h, w), bool); mask[2:6, 2:6] = True; "
            "m.harmonize(np.zeros((h, w, 3), np.uint8), mask, 1); m.animate(3, 0)")
    assert_imports_no_training(code, tmp_path / "run")
