"""The training-free architectures (GPNN, Granot et al. 2022; GPDM, Elnekave & Weiss 2022) through
the `singan` CLI: a run is written at once, and sample (--num, --scale, --seed, --batch-size,
--grid), eval and report take it; loading and sampling one imports no training code."""

from __future__ import annotations

import json

import imageio.v3 as iio
import numpy as np
import pytest
from click.testing import CliRunner

from cli.singan import main
from tests.conftest import blob_image
from tests.helpers import assert_imports_no_training


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("preset,iters", [("gpnn", 2), ("gpdm", 5)])
def test_patch_runs_work_with_every_command(tmp_path, preset, iters):
    iio.imwrite(tmp_path / "photo.png", blob_image(36, 48, seed=5))
    run_dir = tmp_path / "run"
    run("train", tmp_path / "photo.png", "--preset", preset, "--iters", iters, "--out", run_dir, "--device", "cpu", "-q")
    meta = json.loads((run_dir / "config.json").read_text())
    assert meta["architecture"] == preset and meta["scales_done"] == len(meta["pyramid"]["sizes"])
    height, width = meta["pyramid"]["sizes"][-1]

    run("sample", run_dir, "--num", 3, "--scale", "1.5x0.75", "--seed", 2, "--batch-size", 2, "--grid",
        "--out", tmp_path / "a", "-q")
    run("sample", run_dir, "--num", 3, "--scale", "1.5x0.75", "--seed", 2, "--out", tmp_path / "b", "-q")
    names = sorted(p.name for p in (tmp_path / "a").glob("sample_*.png"))
    assert names == ["sample_0000.png", "sample_0001.png", "sample_0002.png"] and (tmp_path / "a" / "grid.png").is_file()
    first = iio.imread(tmp_path / "a" / names[0])
    assert first.shape == (round(height * 0.75), round(width * 1.5), 3)
    again = iio.imread(tmp_path / "b" / names[0])
    assert np.abs(first.astype(int) - again.astype(int)).mean() < 1.0  # same seed, other batch: the same sample
    assert not np.array_equal(first, iio.imread(tmp_path / "a" / names[1]))

    evaluated = run("eval", run_dir, "--num", 3, "--device", "cpu")
    assert "swd" in evaluated.output and "diversity" in evaluated.output
    run("report", run_dir, "--out", tmp_path / "report.html", "--eval-num", 2, "--device", "cpu")
    assert preset.upper() in (tmp_path / "report.html").read_text()


def test_loading_and_sampling_a_gpnn_run_imports_no_training(tmp_path):
    iio.imwrite(tmp_path / "photo.png", blob_image(30, 40, seed=6))
    run("train", tmp_path / "photo.png", "--preset", "gpnn", "--iters", 1, "--out", tmp_path / "run", "--device", "cpu", "-q")
    assert_imports_no_training(
        "import sys\nfrom singan_kit.api import SinGAN\nSinGAN.load(sys.argv[1], device='cpu').sample(2, seed=1)",
        tmp_path / "run")


def test_unknown_setting_for_a_patch_preset_is_one_line(tmp_path):
    iio.imwrite(tmp_path / "photo.png", blob_image(30, 40, seed=6))
    result = CliRunner().invoke(main, ["train", str(tmp_path / "photo.png"), "--preset", "gpnn", "--lr", "0.1",
                                       "--out", str(tmp_path / "run")])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1] == "Error: unknown settings ['lr'] for the gpnn preset"
    assert not (tmp_path / "run").exists()


def test_lr_sets_each_architectures_own_learning_rates(tmp_path):
    """``--lr`` is an alias each architecture resolves (setting_aliases): GPDM's pixel rate, SinGAN's
    and ConSinGAN's Adam rates of both networks."""
    from singan_kit.architectures import make_config

    assert make_config("gpdm", lr=0.01).lr == 0.01
    for preset in ("paper", "consingan"):
        config = make_config(preset, lr=1e-4)
        assert (config.lr_generator, config.lr_discriminator) == (1e-4, 1e-4)
    assert make_config("paper", lr=1e-4, lr_discriminator=2e-4).lr_discriminator == 2e-4  # the field wins
    iio.imwrite(tmp_path / "photo.png", blob_image(30, 40, seed=6))
    result = CliRunner().invoke(main, ["train", str(tmp_path / "photo.png"), "--preset", "gpdm", "--lr", "0.02",
                                       "--out", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "run" / "config.json").read_text())["config"]["lr"] == 0.02


@pytest.fixture
def gpnn_run(tmp_path):
    iio.imwrite(tmp_path / "photo.png", blob_image(40, 52, seed=8))
    run("train", tmp_path / "photo.png", "--preset", "gpnn", "--iters", 2, "--out", tmp_path / "run", "--device", "cpu",
        "-q")
    mask = np.zeros((40, 52), np.uint8)
    mask[12:24, 18:34] = 255
    iio.imwrite(tmp_path / "mask.png", mask)
    return tmp_path / "run"


def test_inpainting_changes_only_the_masked_region(gpnn_run, tmp_path):
    edited = iio.imread(gpnn_run / "real.png").copy()
    edited[12:24, 18:34] = (255, 0, 255)  # a magenta block the inpainting must paint over
    iio.imwrite(tmp_path / "holed.png", edited)
    run("inpaint", gpnn_run, "--mask", tmp_path / "mask.png", "--image", tmp_path / "holed.png",
        "--out", tmp_path / "filled.png", "-q")
    filled = iio.imread(tmp_path / "filled.png").astype(int)
    hole = iio.imread(tmp_path / "mask.png") > 127
    assert np.array_equal(filled[~hole], edited.astype(int)[~hole])
    assert np.abs(filled[hole] - edited.astype(int)[hole]).mean() > 40  # the magenta is gone


def test_editing_a_gpnn_run_keeps_pixels_outside_the_dilated_mask(gpnn_run, tmp_path):
    real = iio.imread(gpnn_run / "real.png")
    edited = real.copy()
    edited[12:24, 18:34] = real[0:12, 0:16]  # a copy-paste edit
    iio.imwrite(tmp_path / "edited.png", edited)
    run("edit", gpnn_run, "--edited", tmp_path / "edited.png", "--mask", tmp_path / "mask.png", "--inject-scale", 1,
        "--dilate", 2, "--blur", 1, "--out", tmp_path / "out.png", "-q")
    out = iio.imread(tmp_path / "out.png").astype(int)
    far = np.ones((40, 52), bool)
    far[12 - 7:24 + 7, 18 - 7:34 + 7] = False  # beyond dilation 2 + blur 4 sigma
    assert np.array_equal(out[far], real.astype(int)[far])
    assert not np.array_equal(out[12:24, 18:34], real.astype(int)[12:24, 18:34])


def test_analogy_and_style_write_images_and_other_runs_are_refused_in_one_line(gpnn_run, tmp_path):
    structure = blob_image(40, 52, seed=9)
    iio.imwrite(tmp_path / "structure.png", structure)
    run("analogy", gpnn_run, "--structure", tmp_path / "structure.png", "--out", tmp_path / "analogy.png", "-q")
    assert iio.imread(tmp_path / "analogy.png").shape == (40, 52, 3)
    run("style", tmp_path / "structure.png", "--style", tmp_path / "photo.png", "--iters", 3, "--out",
        tmp_path / "styled.png", "-q")
    assert iio.imread(tmp_path / "styled.png").shape == (40, 52, 3)

    run("train", tmp_path / "photo.png", "--preset", "gpdm", "--iters", 1, "--out", tmp_path / "gpdm", "-q")
    result = CliRunner().invoke(main, ["inpaint", str(tmp_path / "gpdm"), "--mask", str(tmp_path / "mask.png"),
                                       "--out", str(tmp_path / "x.png")])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1].startswith("Error: not supported for gpdm runs")
    assert not (tmp_path / "x.png").exists()


def test_patch_options_reach_the_saved_config(tmp_path):
    iio.imwrite(tmp_path / "photo.png", blob_image(36, 48, seed=5))
    run("train", tmp_path / "photo.png", "--preset", "gpnn", "--patch-size", 5, "--noise", 1.5, "--alpha", 0.05,
        "--pyramid-ratio", 0.8, "--levels", 4, "--out", tmp_path / "run", "--device", "cpu", "-q")
    config = json.loads((tmp_path / "run" / "config.json").read_text())["config"]
    assert (config["patch_size"], config["noise"], config["alpha"], config["pyramid_ratio"], config["num_levels"]) == (
        5, 1.5, 0.05, 0.8, 4)
    result = CliRunner().invoke(main, ["train", str(tmp_path / "photo.png"), "--preset", "paper", "--patch-size", "5",
                                       "--out", str(tmp_path / "singan")])
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == ["Error: unknown settings ['patch_size'] for the paper preset"]
    assert not (tmp_path / "singan").exists()


def test_paint_on_a_gpnn_run_redraws_the_painting_with_the_photo_patches(gpnn_run, tmp_path):
    painting = np.zeros((40, 52, 3), np.uint8)
    painting[:, :26] = (200, 40, 40)
    painting[:, 26:] = (30, 60, 190)
    iio.imwrite(tmp_path / "painting.png", painting)
    run("paint", gpnn_run, "--paint", tmp_path / "painting.png", "--inject-scale", 1, "--out", tmp_path / "p.png", "-q")
    run("analogy", gpnn_run, "--structure", tmp_path / "painting.png", "--start-level", 1, "--out",
        tmp_path / "a.png", "-q")
    painted = iio.imread(tmp_path / "p.png")
    assert painted.shape == (40, 52, 3) and np.array_equal(painted, iio.imread(tmp_path / "a.png"))
    assert np.abs(painted.astype(int) - painting).mean() > 10  # not the flat painting: the photo's patches
    result = CliRunner().invoke(main, ["paint", str(gpnn_run), "--paint", str(tmp_path / "painting.png"),
                                       "--inject-scale", "1", "--quantize", "4", "--out", str(tmp_path / "q.png")])
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == [
        "Error: --quantize retrains a scale; gpnn runs learn nothing: paint without it"]
    assert not (tmp_path / "q.png").exists()
