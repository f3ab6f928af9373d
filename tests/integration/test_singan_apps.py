"""Tests of SinGAN's applications with a tiny model: harmonization, editing, paint-to-image
(+ quantization), animation, super-resolution, their CLI commands and their bad-input errors."""

from __future__ import annotations

import importlib.util

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from singan_kit.apps.animate import animate
from singan_kit.apps.inject import resolve_inject_scale
from singan_kit.apps.masks import BlendSettings, soft_mask
from singan_kit.apps.quantize import kmeans_colors, quantize_to_centers
from singan_kit.apps.reference import harmonize
from singan_kit.apps.super_resolution import sr_steps
from singan_kit.run_folder import load_model
from tests.conftest import blob_image
from tests.integration.test_singan_cli import assert_one_line_error, run

SMALL_BLEND = ["--dilate", "1", "--blur", "1"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("apps")
    iio.imwrite(folder / "bg.png", blob_image(40, 56, seed=5))
    result = run("train", folder / "bg.png", "--preset", "tiny", "--out", folder / "run", "--device", "cpu", "-q")
    assert result.exit_code == 0, result.output
    real = iio.imread(folder / "run" / "real.png")
    naive = real.copy()
    naive[8:16, 10:22] = [250, 20, 20]  # a red object pasted in
    mask = np.zeros(real.shape[:2], np.uint8)
    mask[8:16, 10:22] = 255
    iio.imwrite(folder / "naive.png", naive)
    iio.imwrite(folder / "mask.png", mask)
    return folder


def files_of(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_soft_mask_is_zero_beyond_dilation_plus_blur():
    mask = np.zeros((80, 80), bool)
    mask[38:42, 38:42] = True
    weights = soft_mask(mask, BlendSettings(dilation_radius=3, blur_sigma=2.0))
    assert weights.max() == pytest.approx(1.0) and weights.min() == 0.0
    assert (weights[mask] > 0.5).all()
    yy, xx = np.mgrid[:80, :80]
    distance = np.maximum(np.maximum(38 - yy, yy - 41), np.maximum(38 - xx, xx - 41))
    assert (weights[distance > 3 + 8 + 1] == 0).all()  # radius + 4 sigma (+1 px of disk rounding)


@pytest.mark.parametrize("command, option", [("harmonize", "--naive"), ("edit", "--edited")])
def test_blend_keeps_background_outside_the_mask(trained, tmp_path, command, option):
    out = tmp_path / "out.png"
    result = run(command, trained / "run", option, trained / "naive.png", "--mask", trained / "mask.png",
                 "--inject-scale", 1, "--out", out, *SMALL_BLEND)
    assert result.exit_code == 0, result.output
    image, real = iio.imread(out), iio.imread(trained / "run" / "real.png")
    assert image.shape == real.shape and image.dtype == np.uint8
    mask = iio.imread(trained / "mask.png") > 0
    weights = soft_mask(mask, BlendSettings(1, 1.0))
    assert (weights == 0).mean() > 0.3
    assert np.array_equal(image[weights == 0], real[weights == 0])  # documented invariant
    inside = image[mask].astype(float)
    assert np.abs(inside - real[mask]).mean() > 5  # the pasted object is there ...
    assert inside[:, 0].mean() > real[mask][:, 0].mean()  # ... and still reddish


def test_harmonization_from_python_with_arrays(trained):
    model = load_model(trained / "run")
    naive = iio.imread(trained / "naive.png")
    mask = iio.imread(trained / "mask.png")
    a = harmonize(model, naive, mask, -1, seed=1, settings=BlendSettings(1, 1.0))
    b = harmonize(model, naive, mask, -1, seed=1, settings=BlendSettings(1, 1.0))
    c = harmonize(model, naive, mask, 1, seed=1, settings=BlendSettings(1, 1.0))
    assert torch.equal(a.image, b.image)  # seeded
    assert not torch.equal(a.image, c.image)  # the injection scale matters
    assert a.image.min() >= -1 and a.image.max() <= 1 and a.image.shape == model.reals[-1].shape


def test_harmonization_fine_tune_leaves_run_folder_alone(trained, tmp_path):
    before = files_of(trained / "run")
    out = tmp_path / "tuned.png"
    result = run("harmonize", trained / "run", "--naive", trained / "naive.png", "--mask", trained / "mask.png",
                 "--inject-scale", 2, "--fine-tune", 3, "--out", out, "-q", *SMALL_BLEND)
    assert result.exit_code == 0, result.output
    plain = tmp_path / "plain.png"
    run("harmonize", trained / "run", "--naive", trained / "naive.png", "--mask", trained / "mask.png",
        "--inject-scale", 2, "--out", plain, "-q", *SMALL_BLEND)
    assert not np.array_equal(iio.imread(out), iio.imread(plain))
    assert files_of(trained / "run") == before


def test_paint_and_quantize(trained, tmp_path):
    before = files_of(trained / "run")
    painting = np.zeros((40, 40, 3), np.uint8)
    painting[:20] = [40, 90, 200]
    painting[20:] = [60, 160, 60]
    iio.imwrite(tmp_path / "clipart.png", painting)
    plain, quantized = tmp_path / "plain.png", tmp_path / "quantized.png"
    result = run("paint", trained / "run", "--paint", tmp_path / "clipart.png", "--inject-scale", 1, "--out", plain)
    assert result.exit_code == 0, result.output
    assert "aspect ratio" in result.output  # square, resized to the model's 40x29 size
    result = run("paint", trained / "run", "--paint", tmp_path / "clipart.png", "--inject-scale", 1,
                 "--quantize", 3, "--quantize-iters", 3, "--out", quantized, "-q")
    assert result.exit_code == 0, result.output
    a, b = iio.imread(plain), iio.imread(quantized)
    assert a.shape == b.shape == iio.imread(trained / "run" / "real.png").shape
    assert not np.array_equal(a, b)
    assert files_of(trained / "run") == before
    # The layout of the painting survives: top half bluer than the bottom half.
    assert a[: a.shape[0] // 3, :, 2].mean() > a[-a.shape[0] // 3:, :, 2].mean()


def test_kmeans_recovers_colours():
    image = torch.zeros(1, 3, 10, 12)
    colours = torch.tensor([[-1.0, 0.0, 1.0], [0.5, 0.5, -0.5], [1.0, -1.0, 0.0]])
    for i, colour in enumerate(colours):
        image[0, :, :, 4 * i:4 * i + 4] = colour.view(3, 1, 1)
    centers = kmeans_colors(image + 0.01 * torch.randn_like(image), 3, seed=0)
    order = [int(torch.cdist(c[None], centers).argmin()) for c in colours]
    assert sorted(order) == [0, 1, 2]
    assert torch.allclose(centers[order], colours, atol=0.02)
    quantized = quantize_to_centers(image, centers)
    assert set(map(tuple, quantized[0].reshape(3, -1).t().tolist())) <= set(map(tuple, centers.tolist()))


def test_animation_walk_is_smooth_and_loops(trained):
    model = load_model(trained / "run")
    frames = animate(model, frames=12, start_scale=1, seed=3)
    assert frames.shape == (12, *model.reals[-1].shape[1:])
    assert frames.min() >= -1 and frames.max() <= 1
    flat = frames.reshape(12, -1)
    distances = torch.cdist(flat, flat)
    assert (distances + torch.eye(12) * 1e9).min() > 0  # all frames differ
    consecutive = torch.diagonal(distances, 1).mean()
    pairs = distances[torch.triu(torch.ones(12, 12, dtype=torch.bool), diagonal=3)].mean()
    assert consecutive < pairs  # a walk, not independent samples
    looped = animate(model, frames=12, start_scale=1, seed=3, loop=True).reshape(12, -1)
    assert torch.dist(looped[-1], looped[0]) < 0.6 * torch.dist(flat[-1], flat[0])


def test_animate_cli_gif_and_mp4_without_plugin(trained, tmp_path, monkeypatch):
    out = tmp_path / "clip.gif"
    result = run("animate", trained / "run", "--frames", 6, "--start-scale", 1, "--fps", 5, "--loop",
                 "--out", out, "-q")
    assert result.exit_code == 0, result.output
    clip = iio.imread(out, index=None)
    assert clip.shape[0] == 6 and clip.shape[1:3] == iio.imread(trained / "run" / "real.png").shape[:2]
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "imageio_ffmpeg" else real_find_spec(name, *a))
    assert_one_line_error(run("animate", trained / "run", "--out", tmp_path / "clip.mp4"), "pip install imageio-ffmpeg")
    assert_one_line_error(run("animate", trained / "run", "--out", tmp_path / "clip.avi"), ".gif or .mp4")
    assert_one_line_error(run("animate", trained / "run", "--start-scale", 99, "--out", tmp_path / "x.gif"),
                          "start scale")
    assert not (tmp_path / "clip.mp4").exists() and not (tmp_path / "x.gif").exists()


def test_super_resolution_rule_and_cli(tmp_path):
    steps, factor = sr_steps(4)
    assert steps == 6 and factor == pytest.approx(4 ** (-1 / 6))  # about 0.794, as the official code
    assert sr_steps(2.5)[0] == 4 and sr_steps(1.05)[0] == 1
    iio.imwrite(tmp_path / "small.png", blob_image(24, 30, seed=2))
    out, keep = tmp_path / "big.png", tmp_path / "srrun"
    result = run("sr", tmp_path / "small.png", "--factor", 2.5, "--preset", "tiny", "--iters", 2, "--out", out,
                 "--run", keep, "--device", "cpu", "-q")
    assert result.exit_code == 0, result.output
    assert iio.imread(out).shape == (60, 75, 3)
    meta = load_model(keep)
    assert meta.config.alpha == 100 and meta.config.min_size == 18 and meta.pyramid.finest_size == (24, 30)
    before = files_of(keep)
    again = tmp_path / "again.png"
    result = run("sr", tmp_path / "small.png", "--factor", 2.5, "--out", again, "--run", keep, "-q")
    assert result.exit_code == 0, result.output
    assert files_of(keep) == before and np.array_equal(iio.imread(out), iio.imread(again))
    for bad in [1, 0.5, -2]:
        assert_one_line_error(run("sr", tmp_path / "small.png", "--factor", bad, "--out", tmp_path / "x.png"),
                              "factor must be a number > 1")
    assert not (tmp_path / "x.png").exists()


def test_inject_scale_bounds(trained, tmp_path):
    model = load_model(trained / "run")
    finest = model.num_trained - 1
    assert resolve_inject_scale(model, -1) == finest and resolve_inject_scale(model, 1) == 1
    out = tmp_path / "o.png"
    for scale in [0, finest + 1, -(finest + 1)]:
        assert_one_line_error(run("harmonize", trained / "run", "--naive", trained / "naive.png", "--mask",
                                  trained / "mask.png", "--inject-scale", scale, "--out", out),
                              "outside the pyramid")
        assert_one_line_error(run("paint", trained / "run", "--paint", trained / "naive.png", "--inject-scale",
                                  scale, "--out", out), "outside the pyramid")
    assert not out.exists()


def test_bad_masks(trained, tmp_path):
    out = tmp_path / "o.png"
    base = ["harmonize", trained / "run", "--naive", trained / "naive.png", "--inject-scale", 1, "--out", out]
    iio.imwrite(tmp_path / "wrong.png", np.full((10, 10), 255, np.uint8))
    assert_one_line_error(run(*base, "--mask", tmp_path / "wrong.png"), "must have the same size")
    iio.imwrite(tmp_path / "empty.png", np.zeros((29, 40), np.uint8))
    assert_one_line_error(run(*base, "--mask", tmp_path / "empty.png"), "mask is empty")
    assert_one_line_error(run(*base, "--mask", tmp_path / "missing.png"), "not found")
    assert_one_line_error(run(*base[:-2], "--out", tmp_path / "o.txt", "--mask", trained / "mask.png"),
                          "cannot write an image")
    assert not out.exists()
    grey = iio.imread(trained / "mask.png").astype(float) * 0.8 + 20  # e.g. a JPEG-damaged mask
    iio.imwrite(tmp_path / "grey.png", grey.astype(np.uint8))
    result = run(*base, "--mask", tmp_path / "grey.png")
    assert result.exit_code == 0 and "thresholded at 0.5" in result.output
    assert out.is_file()


@pytest.mark.parametrize("args", [["harmonize", "--help"], ["edit", "--help"], ["paint", "--help"],
                                  ["animate", "--help"], ["sr", "--help"]])
def test_help(args):
    result = run(*args)
    assert result.exit_code == 0 and "Usage" in result.output
