"""CLI tests for zoo part 2: train, translate (names, sizes, --compare, directions, domains),
eval (and its alias evaluate) of paired runs, and one-line errors for bad translation input."""

from __future__ import annotations

import json
import re

import imageio.v3 as iio
import numpy as np
import pytest
from click.testing import CliRunner

from cli.ganzoo import main
from tests.helpers import assert_imports_no_training

TINY = ["--steps", "2", "--batch-size", "2", "--image-size", "32", "--quiet",
        "-o", "width=4", "-o", "d_width=4"]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_one_line_error(result, fragment):
    assert result.exit_code != 0 and "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for name, data, extra in (("pix2pix", "edges2photos:8", []),
                              ("cyclegan", "textures:8", ["-o", "num_blocks=1"]),
                              ("stargan", "colored-shapes:16", ["-o", "num_blocks=1"])):
        result = invoke("train", name, "--data", data, "--out", root / name, *TINY, *extra)
        assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def inputs(tmp_path):
    folder = tmp_path / "in"
    rng = np.random.default_rng(0)
    for name, shape in (("a.png", (37, 50, 3)), ("b.jpg", (32, 32, 3)), ("sub/c.png", (5, 9, 3)),
                        ("d.png", (32, 32))):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        iio.imwrite(folder / name, rng.integers(0, 256, shape, dtype=np.uint8))
    return folder


def _sizes(folder):
    return {p.relative_to(folder).as_posix(): iio.imread(p).shape[:2]
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_list_shows_the_translation_models_and_their_data():
    output = invoke("list").output
    for text in ("pix2pix   paired", "cyclegan  unpaired", "stargan   multi-domain", "Isola",
                 "Zhu", "Choi", "edges2photos", "gray2color", "textures", "colored-shapes"):
        assert text in output


def test_translate_keeps_count_names_and_sizes(runs, inputs, tmp_path):
    result = invoke("translate", runs / "pix2pix", inputs, "--out", tmp_path / "out",
                    "--compare", tmp_path / "cmp.png", "--batch-size", 1)
    assert result.exit_code == 0, result.output
    assert _sizes(tmp_path / "out") == _sizes(inputs)
    assert iio.imread(tmp_path / "out" / "a.png").shape == (37, 50, 3)  # gray edges -> RGB
    assert iio.imread(tmp_path / "cmp.png").shape == (4 * 130 + 2, 2 * 130 + 2, 3)
    single = invoke("translate", runs / "cyclegan", inputs / "a.png", "--out", tmp_path / "one",
                    "--direction", "BtoA")
    assert single.exit_code == 0 and iio.imread(tmp_path / "one" / "a.png").shape == (37, 50)


def test_translate_paired_folder_compares_with_ground_truth(runs, tmp_path):
    for side, value in (("A", 0), ("B", 255)):
        (tmp_path / "pair" / side).mkdir(parents=True)
        iio.imwrite(tmp_path / "pair" / side / "x.png", np.full((32, 32, 3), value, np.uint8))
    result = invoke("translate", runs / "pix2pix", tmp_path / "pair", "--out", tmp_path / "o",
                    "--compare", tmp_path / "c.png")
    assert result.exit_code == 0, result.output
    sheet = iio.imread(tmp_path / "c.png")
    assert sheet.shape == (130 + 2, 3 * 130 + 2, 3) and sheet[2:130, 262:390].min() == 255


def test_stargan_translates_to_every_or_one_domain(runs, inputs, tmp_path):
    result = invoke("translate", runs / "stargan", inputs, "--out", tmp_path / "all")
    assert result.exit_code == 0, result.output
    for domain in ("red", "green", "blue", "yellow"):
        assert _sizes(tmp_path / "all" / domain) == _sizes(inputs)
    red = iio.imread(tmp_path / "all" / "red" / "b.jpg").astype(float)
    blue = iio.imread(tmp_path / "all" / "blue" / "b.jpg").astype(float)
    assert np.abs(red - blue).mean() > 0.1
    one = invoke("translate", runs / "stargan", inputs, "--out", tmp_path / "b", "--target-domain",
                 "blue")
    assert one.exit_code == 0 and _sizes(tmp_path / "b") == _sizes(inputs)


def test_evaluate_reports_held_out_scores(runs):
    result = invoke("evaluate", runs / "pix2pix")
    assert result.exit_code == 0, result.output
    match = re.search(r"held-out test split, 16 images at step 2: L1 ([\d.]+), PSNR ([\d.]+) dB",
                      result.output)
    assert match and 0 < float(match[1]) < 2 and 0 < float(match[2]) < 60
    assert invoke("eval", runs / "pix2pix").output == result.output  # one command, two names
    scores = json.loads(invoke("eval", runs / "pix2pix", "--split", "train", "--json").output)
    assert scores["split"] == "train" and scores["images"] > 0 and scores["l1"] > 0


@pytest.mark.parametrize("args, fragment", [
    (["translate", "{runs}/stargan", "{inputs}", "--out", "{tmp}/o", "--target-domain", "purple"],
     "unknown target domain 'purple'; known domains: red, green, blue, yellow"),
    (["translate", "{runs}/pix2pix", "{inputs}", "--out", "{tmp}/o", "--direction", "BtoA"],
     "translates one way only"),
    (["translate", "{runs}/pix2pix", "{inputs}", "--out", "{tmp}/o", "--target-domain", "red"],
     "--target-domain is for multi-domain models"),
    (["translate", "{runs}/cyclegan", "{tmp}/missing", "--out", "{tmp}/o"], "input not found"),
    (["translate", "{runs}/cyclegan", "{tmp}/empty", "--out", "{tmp}/o"], "no images in"),
    (["sample", "{runs}/cyclegan"], "no latent space"),
    (["evaluate", "{runs}/cyclegan"], "needs a paired model"),
    (["train", "pix2pix", "--data", "textures", "--out", "{tmp}/r"], "needs paired data"),
    (["train", "cyclegan", "--data", "{tmp}/unpaired", "--out", "{tmp}/r"], "has no images"),
    (["train", "pix2pix", "--data", "{tmp}/unmatched", "--out", "{tmp}/r"], "without a match"),
    (["train", "stargan", "--data", "edges2photos", "--out", "{tmp}/r"], "needs multi-domain data"),
    (["train", "pix2pix", "--data", "edges2photos:4", "--image-size", "48", "--out", "{tmp}/r"],
     "unknown generator"),
])
def test_bad_translation_input_is_one_line_error(args, fragment, runs, inputs, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "unpaired" / "A").mkdir(parents=True)
    (tmp_path / "unpaired" / "B").mkdir()
    iio.imwrite(tmp_path / "unpaired" / "A" / "x.png", np.zeros((8, 8, 3), np.uint8))
    for side, name in (("A", "x.png"), ("B", "y.png")):
        (tmp_path / "unmatched" / side).mkdir(parents=True)
        iio.imwrite(tmp_path / "unmatched" / side / name, np.zeros((8, 8, 3), np.uint8))
    filled = [a.format(runs=runs, inputs=inputs, tmp=tmp_path) for a in args]
    assert_one_line_error(invoke(*filled), fragment)


def test_translation_inference_imports_no_training_code():
    assert_imports_no_training(["ganbase.zoo.inference.translate", "ganbase.zoo.inference.runs"],
                               also_forbidden=["ganbase.zoo.data"])
