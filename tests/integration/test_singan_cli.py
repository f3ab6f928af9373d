"""CLI tests of ``singan`` via click's CliRunner: help, a tiny train + sample, and bad input."""

from __future__ import annotations

import json

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from cli.singan import main
from singan_kit.architectures.scale_checkpoint import PROGRESS_FILE
from tests.conftest import blob_image


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result


def assert_one_line_error(result, fragment):
    assert result.exit_code != 0
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert lines[-1].startswith("Error: "), result.output
    assert fragment in lines[-1], result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args", [["--help"], ["train", "--help"], ["sample", "--help"]])
def test_help(args):
    result = run(*args)
    assert result.exit_code == 0
    assert "Usage" in result.output


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    iio.imwrite(folder / "img.png", blob_image(40, 56, seed=1))
    result = run("train", folder / "img.png", "--preset", "tiny", "--out", folder / "run", "--device", "cpu",
                 "--iters", "4", "--fine-iters", "2")
    assert result.exit_code == 0, result.output
    assert "scale 0/" in result.output and "done:" in result.output
    lines = [line for line in result.output.splitlines() if " iters in " in line]  # the per-scale summaries
    assert " 4 iters in " in lines[0] and " 2 iters in " in lines[-1]  # linear from --iters to --fine-iters
    return folder / "run"


def test_train_and_sample(trained, tmp_path):
    meta = json.loads((trained / "config.json").read_text())
    assert (meta["config"]["iters"], meta["config"]["fine_iters"]) == (4, 2)
    assert meta["scales_done"] == len(meta["pyramid"]["sizes"])
    out = tmp_path / "samples"
    result = run("sample", trained, "--num", 5, "--scale", "1.5x2", "--out", out, "--grid", "--batch-size", 2)
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in out.iterdir())
    assert files == ["grid.png"] + [f"sample_{i:04d}.png" for i in range(5)]
    h, w = meta["pyramid"]["sizes"][-1]
    assert iio.imread(out / "sample_0000.png").shape == (round(h * 2), round(w * 1.5), 3)
    threads = torch.get_num_threads()
    one_thread = run("sample", trained, "--num", 5, "--scale", "1.5x2", "--out", tmp_path / "t1", "--threads", 1,
                     "--batch-size", 2)
    assert one_thread.exit_code == 0, one_thread.output
    assert torch.get_num_threads() == threads  # the caller's setting comes back
    difference = iio.imread(tmp_path / "t1" / "sample_0003.png").astype(int) - iio.imread(out / "sample_0003.png")
    assert np.abs(difference).max() <= 1  # the same sample; threads may change float rounding


def test_quiet_train(tmp_path):
    iio.imwrite(tmp_path / "img.png", blob_image(40, 40))
    result = run("train", tmp_path / "img.png", "--preset", "tiny", "--iters", 1, "--out", tmp_path / "r", "-q")
    assert result.exit_code == 0 and result.output == ""


def test_resume_finished_run_is_a_no_op(trained):
    result = run("train", "--resume", trained)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("scale", ["abc", "0x2", "-1", "2x"])
def test_bad_scale(trained, scale):
    assert_one_line_error(run("sample", trained, "--scale", scale, "--num", 1), "invalid scale")


def test_bad_inputs_leave_no_run_folder(tmp_path):
    out = tmp_path / "out"
    assert_one_line_error(run("train", tmp_path / "missing.png", "--out", out), "not found")
    (tmp_path / "notes.txt").write_text("hello")
    assert_one_line_error(run("train", tmp_path / "notes.txt", "--out", out), "cannot read image")
    iio.imwrite(tmp_path / "full.png", blob_image(60, 80))
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    assert_one_line_error(run("train", tmp_path / "cut.png", "--out", out), "cannot read image")
    iio.imwrite(tmp_path / "small.png", blob_image(20, 30))
    assert_one_line_error(run("train", tmp_path / "small.png", "--out", out), "min_size")
    assert not out.exists()
    assert_one_line_error(run("train", "--out", out), "missing IMAGE")
    assert_one_line_error(run("train", tmp_path / "full.png", "--device", "banana", "--out", out), "device")
    assert_one_line_error(run("train", tmp_path / "full.png", "--iters", 0, "--out", out), "iters")
    assert not out.exists()


def test_bad_run_folders(trained, tmp_path):
    assert_one_line_error(run("sample", tmp_path / "nope"), "does not exist")
    assert_one_line_error(run("sample", tmp_path), "not a SinGAN run folder")
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in trained.iterdir():
        if path.is_file():
            (broken / path.name).write_bytes(path.read_bytes())
    data = (broken / "generators.safetensors").read_bytes()
    (broken / "generators.safetensors").write_bytes(data[:100])
    assert_one_line_error(run("sample", broken, "--num", 1), "corrupt or truncated")
    (broken / "config.json").write_text("{")
    assert_one_line_error(run("sample", broken), "corrupt JSON")
    assert_one_line_error(run("train", "--resume", tmp_path / "nope"), "does not exist")
    assert_one_line_error(run("sample", trained, "--start-scale", 99, "--num", 1), "start scale")
    assert_one_line_error(run("sample", trained, "--num", 0), "--num")


@pytest.mark.parametrize("kind", ["gray", "rgba", "palette", "16bit"])
def test_image_kinds_are_converted(tmp_path, kind):
    rgb = blob_image(40, 40)
    path = tmp_path / f"{kind}.png"
    if kind == "gray":
        iio.imwrite(path, rgb[..., 0])
    elif kind == "rgba":
        iio.imwrite(path, np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)]))
    elif kind == "palette":
        from PIL import Image

        Image.fromarray(rgb).convert("P").save(path)
    else:
        iio.imwrite(path, rgb[..., 1].astype(np.uint16) * 257)
    result = run("train", path, "--preset", "tiny", "--iters", 1, "--out", tmp_path / "r")
    assert result.exit_code == 0, result.output
    if kind == "rgba":
        assert "alpha" in result.output


def test_cli_checkpoint_minutes(image_path, tmp_path):
    bad = CliRunner().invoke(main, ["train", str(image_path), "--out", str(tmp_path / "r"),
                                      "--checkpoint-minutes", "-1"])
    assert bad.exit_code != 0 and "--checkpoint-minutes" in bad.output and "Traceback" not in bad.output
    done = CliRunner().invoke(main, ["train", str(image_path), "--out", str(tmp_path / "r"), "--preset", "tiny",
                                       "--iters", "9", "--threads", "1", "--checkpoint-minutes", "0", "-q"])
    assert done.exit_code == 0, done.output
    assert not (tmp_path / "r" / PROGRESS_FILE).exists()
