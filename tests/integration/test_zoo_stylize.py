"""CLI tests of neural style transfer (issue 24): ``ganzoo stylize --method gatys`` and ``ganzoo train
adain`` + ``ganzoo stylize RUN``, with random VGG-19 weights the tests write (no pretrained VGG here),
and their one-line errors."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from cli.ganzoo import main
from ganbase.nn.vgg import VGG_WEIGHTS_ENV, random_vgg19_state


def invoke(*args, env=None):
    return CliRunner(env=env).invoke(main, [str(a) for a in args])


def assert_one_line_error(result, fragment):
    assert result.exit_code != 0 and "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert fragment in lines[0], lines[0]


def _image(path, shape, seed):
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("style")
    torch.save(random_vgg19_state("torchvision", seed=1), root / "vgg19.pth")
    torch.save(random_vgg19_state("adain", seed=2), root / "vgg_normalised.pth")
    for index in range(4):
        _image(root / "content" / f"c{index}.png", (20, 20, 3), index)
        _image(root / "styles" / f"s{index}.png", (20, 20, 3), 10 + index)
    _image(root / "inputs" / "a.png", (37, 50, 3), 20)
    _image(root / "inputs" / "sub" / "b.jpg", (21, 16, 3), 21)
    return root


def test_gatys_writes_the_image_at_the_requested_size(files, tmp_path):
    out = tmp_path / "out.png"
    result = invoke("stylize", files / "inputs" / "a.png", "--style", files / "styles" / "s0.png",
                    "--vgg-weights", files / "vgg19.pth", "--out", out, "--steps", "3", "--size", "32",
                    "--init", "content", "--preserve-color", "--quiet")
    assert result.exit_code == 0, result.output
    assert iio.imread(out).shape == (24, 32, 3)


def test_gatys_finds_the_weights_in_the_environment(files, tmp_path):
    out = tmp_path / "env.png"
    result = invoke("stylize", files / "inputs" / "a.png", "--style", files / "styles" / "s0.png",
                    "--out", out, "--steps", "2", "--size", "24", "--optimizer", "adam",
                    env={VGG_WEIGHTS_ENV: str(files / "vgg_normalised.pth")})
    assert result.exit_code == 0, result.output
    assert "gatys" in result.output and out.is_file()


def test_gatys_one_line_errors(files, tmp_path):
    content, style = files / "inputs" / "a.png", files / "styles" / "s0.png"
    out = tmp_path / "x.png"
    assert_one_line_error(invoke("stylize", content, "--style", style, "--out", out, env={VGG_WEIGHTS_ENV: ""}),
                          "vgg19-dcbb9e9d.pth")
    assert_one_line_error(invoke("stylize", content, "--style", style, "--out", out, "--vgg-weights",
                                 tmp_path / "missing.pth"), "VGG weights not found")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    assert_one_line_error(invoke("stylize", content, "--style", style, "--out", out, "--vgg-weights",
                                 tmp_path / "junk.pth"), "cannot read VGG weights")
    assert_one_line_error(invoke("stylize", content, "--style", f"{style},{style}", "--out", out,
                                 "--vgg-weights", files / "vgg19.pth"), "exactly one --style")
    assert not out.exists()


def test_adain_train_stylize_and_errors(files, tmp_path):
    run = tmp_path / "run"
    tiny = ["--steps", "2", "--batch-size", "2", "--image-size", "16", "--quiet"]
    assert_one_line_error(invoke("train", "adain", "--data", files / "content", "--style-data",
                                 files / "styles", "--out", run, *tiny, env={VGG_WEIGHTS_ENV: ""}),
                          "needs VGG-19 weights")
    assert not run.exists()
    result = invoke("train", "adain", "--data", files / "content", "--style-data", files / "styles",
                    "--vgg-weights", files / "vgg_normalised.pth", "--out", run, *tiny)
    assert result.exit_code == 0, result.output
    grid = iio.imread(run / "samples" / "step_00000002.png")
    assert grid.shape[1] == 3 * 16 + 4 * 2  # content | style | result, 2 px padding
    assert_one_line_error(invoke("train", "adain", "--out", run, "--resume", "--style-data", files / "content"),
                          "--style-data cannot change")
    assert_one_line_error(invoke("train", "dcgan", "--data", "digits:16", "--out", tmp_path / "d",
                                 "--vgg-weights", files / "vgg19.pth", *tiny), "--vgg-weights is for")
    assert_one_line_error(invoke("train", "dcgan", "--data", "digits:16", "--out", tmp_path / "d",
                                 "--style-data", files / "styles", *tiny), "--style-data is for")
    assert_one_line_error(invoke("train", "adain", "--data", "textures", "--style-data", files / "styles",
                                 "--vgg-weights", files / "vgg19.pth", "--out", tmp_path / "t", *tiny),
                          "not a built-in dataset")

    out = tmp_path / "stylized"
    result = invoke("stylize", run, files / "inputs", "--style",
                    f"{files / 'styles' / 's0.png'},{files / 'styles' / 's1.png'}", "--style-weights", "0.3,0.7",
                    "--alpha", "0.8", "--preserve-color", "--out", out)
    assert result.exit_code == 0, result.output
    assert "2 image(s)" in result.output
    assert iio.imread(out / "a.png").shape == (37, 50, 3)
    assert iio.imread(out / "sub" / "b.jpg").shape == (21, 16, 3)
    single = invoke("stylize", run, files / "inputs" / "a.png", "--style", files / "styles" / "s2.png",
                    "--out", tmp_path / "one", "--quiet")
    assert single.exit_code == 0 and iio.imread(tmp_path / "one" / "a.png").shape == (37, 50, 3)

    style = str(files / "styles" / "s0.png")
    assert_one_line_error(invoke("stylize", run, files / "inputs", "--style", style, "--style-weights",
                                 "0.3,0.7", "--out", out), "--style-weights has 2 value(s) for 1 style(s)")
    assert_one_line_error(invoke("stylize", run, files / "inputs", "--style", tmp_path / "none.png",
                                 "--out", out), "style image not found")
    assert_one_line_error(invoke("stylize", run, files / "inputs", "--style", style, "--method", "gatys",
                                 "--out", out), "gatys takes one CONTENT image")
    assert_one_line_error(invoke("translate", run, files / "inputs", "--out", tmp_path / "t"), "ganzoo stylize")
