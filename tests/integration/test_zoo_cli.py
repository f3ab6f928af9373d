"""CLI tests for ``ganzoo``: every command, its --help, and one-line errors for bad input."""

from __future__ import annotations

import imageio.v3 as iio
import pytest
from click.testing import CliRunner

from cli.ganzoo import main

TINY_TRAIN = ["--steps", "2", "--batch-size", "8", "--image-size", "16", "--quiet"]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_one_line_error(result, fragment):
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def cgan_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "cgan"
    result = invoke("train", "cgan", "--data", "digits:30", "--out", run, *TINY_TRAIN,
                    "-o", "g_hidden=8,16", "-o", "d_hidden=16,8", "-o", "latent_dim=4")
    assert result.exit_code == 0, result.output
    return run


@pytest.mark.parametrize("command", [[], ["list"], ["train"], ["sample"], ["interpolate"]])
def test_help(command):
    result = invoke(*command, "--help")
    assert result.exit_code == 0 and "Usage:" in result.output


def test_list_shows_models_papers_and_data_kinds():
    result = invoke("list")
    assert result.exit_code == 0
    for name in ("gan", "cgan", "dcgan", "wgan", "wgan-gp", "lsgan", "vae", "Goodfellow",
                 "Arjovsky", "labeled", "unconditional", "gaussians"):
        assert name in result.output


def test_train_writes_a_run_folder(cgan_run):
    assert (cgan_run / "config.json").is_file() and (cgan_run / "latest.json").is_file()
    assert (cgan_run / "log.csv").read_text().startswith("step,seconds,lr,d_loss,g_loss")
    grid = iio.imread(cgan_run / "samples" / "step_00000002.png")
    assert grid.shape[1] == 10 * 18 + 2  # one column per digit class


def test_sample_grid_files_and_label(cgan_run, tmp_path):
    result = invoke("sample", cgan_run, "--num", 6, "--grid", tmp_path / "g.png",
                    "--out", tmp_path / "each", "--label", 3, "--seed", 1)
    assert result.exit_code == 0, result.output
    assert iio.imread(tmp_path / "g.png").ndim == 2  # grayscale sheet
    files = sorted((tmp_path / "each").glob("*.png"))
    assert len(files) == 6 and iio.imread(files[0]).shape == (16, 16)
    default = invoke("sample", cgan_run, "--num", 4)
    assert default.exit_code == 0 and (cgan_run / "samples" / "sampled_seed0.png").is_file()


def test_interpolate(cgan_run, tmp_path):
    result = invoke("interpolate", cgan_run, "--steps", 5, "--pairs", 2, "--label", "7",
                    "--out", tmp_path / "walk.png", "--slerp")
    assert result.exit_code == 0, result.output
    assert iio.imread(tmp_path / "walk.png").shape == (2 * 18 + 2, 5 * 18 + 2)


def test_resume_extends_a_run(tmp_path):
    run = tmp_path / "gan"
    assert invoke("train", "gan", "--data", "gaussians", "--out", run, "--steps", 2,
                  "-o", "hidden=8", "--quiet").exit_code == 0
    result = invoke("train", "gan", "--out", run, "--resume", "--steps", 4, "--quiet")
    assert result.exit_code == 0, result.output
    assert '"step": 4' in (run / "latest.json").read_text()
    points = invoke("sample", run, "--num", 5, "--out", tmp_path / "pts", "--grid", tmp_path / "p.png")
    assert points.exit_code == 0
    assert len((tmp_path / "pts" / "samples.csv").read_text().splitlines()) == 6
    assert_one_line_error(invoke("train", "gan", "--out", run, "--resume", "--batch-size", 4),
                          "--batch-size cannot change on --resume")
    assert_one_line_error(invoke("train", "dcgan", "--out", run, "--resume"), "is a 'gan' run")
    assert_one_line_error(invoke("train", "gan", "--data", "gaussians", "--out", run),
                          "already holds a run")
    assert_one_line_error(invoke("interpolate", run), "needs an image model")


@pytest.mark.parametrize("args, fragment", [
    (["train", "stylegan9", "--data", "digits", "--out", "{tmp}/r"], "known models: cgan"),
    (["train", "dcgan", "--out", "{tmp}/r"], "missing --data"),
    (["train", "dcgan", "--data", "{tmp}/nothing", "--out", "{tmp}/r"], "not found"),
    (["train", "dcgan", "--data", "{tmp}", "--out", "{tmp}/r"], "no image files"),
    (["train", "dcgan", "--data", "digits:10", "--channels", "2", "--out", "{tmp}/r"], "--channels"),
    (["train", "dcgan", "--data", "digits:10", "--image-size", "48", "--out", "{tmp}/r"], "power of two"),
    (["train", "dcgan", "--data", "gaussians", "--out", "{tmp}/r"], "needs image data"),
    (["train", "cgan", "--data", "faces", "--out", "{tmp}/r"], "needs labeled data"),
    (["train", "dcgan", "--data", "digits:10", "--amp", "--device", "cpu", "--out", "{tmp}/r"], "--amp"),
    (["train", "dcgan", "--data", "digits:10", "--device", "tpu", "--out", "{tmp}/r"], "unknown device"),
    (["train", "dcgan", "--data", "digits:10", "-o", "depth=3", "--out", "{tmp}/r"], "unknown model option"),
    (["train", "dcgan", "--data", "digits:10", "-o", "width", "--out", "{tmp}/r"], "KEY=VALUE"),
    (["train", "dcgan", "--data", "digits:10", "--steps", "0", "--out", "{tmp}/r"], "--steps"),
    (["train", "dcgan", "--data", "digits:10", "--steps", "many", "--out", "{tmp}/r"], "--steps"),
    (["train", "dcgan", "--out", "{tmp}/r", "--resume"], "run folder not found"),
    (["sample", "{tmp}/missing"], "run folder not found"),
    (["sample", "{tmp}"], "not a ganzoo run folder"),
    (["frobnicate"], "No such command"),
])
def test_bad_input_is_one_line_error(args, fragment, tmp_path):
    assert_one_line_error(invoke(*[a.format(tmp=tmp_path) for a in args]), fragment)


def test_sample_errors_on_a_real_run(cgan_run, tmp_path):
    assert_one_line_error(invoke("sample", cgan_run, "--label", "12"), "label out of range")
    assert_one_line_error(invoke("sample", cgan_run, "--label", "zebra"), "unknown --label")
    assert_one_line_error(invoke("sample", cgan_run, "--num", 0), "--num")
    assert_one_line_error(invoke("interpolate", cgan_run, "--steps", 1), "--steps")
