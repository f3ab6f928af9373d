"""HTML reports (singan_kit.report, ganbase.zoo.evaluation.report): a tiny SinGAN run and a tiny zoo run are
reported, the pages parsed back (every scale referenced, every image a decodable embedded PNG that
shows what its caption says, nothing external); CLI help, output and one-line errors."""

from __future__ import annotations

import base64
from html.parser import HTMLParser

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from cli.ganzoo import main as ganzoo_main
from cli.singan import main as singan_main
from ganbase.io.images import to_uint8
from ganbase.zoo.evaluation.report import build_zoo_report, spread
from singan_kit.report import (
    SAMPLE_SIZES,
    build_report,
    scale_log_rows,
    scale_sample,
    start_scales,
)
from singan_kit.run_folder import ALL_ARCHITECTURES, load_model, read_meta
from singan_kit.sample import generate
from tests.conftest import blob_image
from tests.helpers import assert_imports_no_training

DATA_URI_PREFIX = "data:image/png;base64,"


class ReportParser(HTMLParser):
    """Collects every start tag's attributes and the images with their alt text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.images: dict[str, np.ndarray] = {}

    def handle_starttag(self, tag, attrs):
        attributes = {key: value or "" for key, value in attrs}
        self.tags.append((tag, attributes))
        if tag == "img":
            src = attributes["src"]
            assert src.startswith(DATA_URI_PREFIX), src[:60]
            image = iio.imread(base64.b64decode(src[len(DATA_URI_PREFIX):], validate=True), extension=".png")
            assert image.size > 0
            # the displayed size keeps the image's aspect ratio (within rounding)
            width, height = int(attributes["width"]), int(attributes["height"])
            assert abs(width / height - image.shape[1] / image.shape[0]) < 0.05 * width / height
            assert attributes["alt"] not in self.images, attributes["alt"]
            self.images[attributes["alt"]] = image

    def values(self, attribute: str) -> list[str]:
        return [attrs[attribute] for _, attrs in self.tags if attribute in attrs]


def parse(path) -> tuple[str, ReportParser]:
    text = path.read_text(encoding="utf-8")
    parser = ReportParser()
    parser.feed(text)
    return text, parser


def assert_self_contained(text: str, parser: ReportParser) -> None:
    assert "http:" not in text and "https:" not in text and "url(" not in text
    assert not [tag for tag, _ in parser.tags if tag in ("script", "link", "iframe", "object", "embed")]
    for attribute in ("src", "href"):
        assert all(value.startswith(DATA_URI_PREFIX) for value in parser.values(attribute))


def invoke(main, *args):
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_one_line_error(result, fragment):
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[-1].startswith("Error: ") and fragment in lines[-1], result.output


@pytest.fixture(scope="module")
def singan_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("singan_report")
    iio.imwrite(folder / "img.png", blob_image(40, 56, seed=2))
    result = invoke(singan_main, "train", folder / "img.png", "--preset", "tiny", "--iters", 12,
                    "--out", folder / "run", "--device", "cpu", "--threads", 1, "--quiet")
    assert result.exit_code == 0, result.output
    return folder / "run"


@pytest.fixture(scope="module")
def zoo_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("zoo_report") / "dcgan"
    result = invoke(ganzoo_main, "train", "dcgan", "--data", "digits:30", "--out", run, "--steps", 6,
                    "--batch-size", 8, "--image-size", 16, "--sample-every", 2, "--log-every", 1,
                    "--threads", 1, "--device", "cpu", "--quiet", "-o", "width=8", "-o", "latent_dim=8")
    assert result.exit_code == 0, result.output
    return run


@pytest.fixture(scope="module")
def singan_report(singan_run):
    return build_report(singan_run, singan_run.parent / "report.html", num_samples=2, with_eval=False)


def test_singan_report_shows_every_scale_with_the_right_images(singan_run, singan_report):
    text, parser = parse(singan_report)
    assert_self_contained(text, parser)
    meta = read_meta(singan_run)
    num_scales = meta["pyramid"].num_scales
    assert meta["scales_done"] == num_scales >= 3
    scale_sections = [int(attrs["data-scale"]) for tag, attrs in parser.tags
                      if tag == "section" and "data-scale" in attrs]
    assert scale_sections == list(range(num_scales))
    assert sorted(int(v) for v in parser.values("data-scale")) == sorted(list(range(num_scales)) * 2)

    model = load_model(singan_run)
    images = parser.images
    starts = start_scales(num_scales)
    assert len(images) == 1 + num_scales * 5 + 1 + len(starts) * len(SAMPLE_SIZES)
    for n, (h, w) in enumerate(meta["pyramid"].sizes):
        real = to_uint8(model.reals[n])[0]
        assert np.array_equal(images[f"scale {n}: {w}x{h} px"], real)
        assert np.array_equal(images[f"scale {n} real"], real)
        assert np.array_equal(images[f"scale {n} reconstruction (fixed noise z_opt)"],
                              to_uint8(model.reconstructions()[n])[0])
        assert images[f"scale {n} random sample (seed 0)"].shape == (h, w, 3)
        assert images[f"scale {n} losses (log.csv)"].shape[1] > 500  # a matplotlib figure
    assert np.array_equal(images[f"training image, {w}x{h} px (the finest scale)"], real)
    assert f"data-start-scale=\"{num_scales // 2}\"" in text
    for start in starts:
        for label, scale_w, scale_h in SAMPLE_SIZES:
            sample_w, sample_h = round(w * scale_w), round(h * scale_h)
            sheet = images[f"2 samples, {label} ({sample_w}x{sample_h} px), start scale {start}"]
            assert sheet.shape[0] == sample_h + 4  # one row of two, 2 px padding
    assert "losses over the whole training" in " ".join(images)
    assert 'id="settings"' in text and "noise_amp_factor" in text


def test_singan_report_is_reproducible_and_seeded(singan_run, singan_report, tmp_path):
    first = parse(singan_report)[1].images
    again = parse(build_report(singan_run, tmp_path / "b.html", num_samples=2, with_eval=False))[1].images
    assert first.keys() == again.keys()
    assert all(np.array_equal(first[key], again[key]) for key in first)
    model = load_model(singan_run)
    last = model.num_trained - 1
    assert np.array_equal(first[f"scale {last} random sample (seed 0)"], to_uint8(scale_sample(model, last, 0))[0])
    assert torch.equal(scale_sample(model, last, 0), generate(model, 1, seed=0))  # one random path
    assert not torch.equal(scale_sample(model, last, 0), scale_sample(model, last, 5))


def test_consingan_report(tmp_path):
    iio.imwrite(tmp_path / "img.png", blob_image(40, 56, seed=3))
    result = invoke(singan_main, "train", tmp_path / "img.png", "--preset", "consingan", "--stages", 3,
                    "--iters", 3, "--num-filters", 8, "--min-size", 16, "--max-size", 40,
                    "--out", tmp_path / "run", "--device", "cpu", "--threads", 1, "--quiet")
    assert result.exit_code == 0, result.output
    text, parser = parse(build_report(tmp_path / "run", num_samples=1, with_eval=False))
    assert_self_contained(text, parser)
    assert "ConSinGAN report" in text and "Hinz et al." in text
    model = load_model(tmp_path / "run", architectures=ALL_ARCHITECTURES)
    assert [int(a["data-scale"]) for t, a in parser.tags if t == "section" and "data-scale" in a] == [0, 1, 2]
    for n in range(3):
        assert np.array_equal(parser.images[f"scale {n} reconstruction (fixed noise z_opt)"],
                              to_uint8(model.reconstruction(stages=n + 1))[0])
    assert np.array_equal(parser.images["scale 2 random sample (seed 0)"], to_uint8(generate(model, 1, seed=0))[0])


def test_singan_report_eval_table_shows_evaluate_run(singan_run, tmp_path):
    from singan_kit.evaluate import evaluate_run

    text, parser = parse(build_report(singan_run, tmp_path / "e.html", num_samples=1, eval_num=3))
    assert_self_contained(text, parser)
    section = text[text.index('<section id="evaluation"'):]
    scores = evaluate_run(singan_run, num=3, seed=0)
    assert {"swd", "diversity", "nn_coherence", "nn_completeness", "memorization"} <= set(scores)
    for key, value in scores.items():
        numeric = isinstance(value, (int, float))
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        cell = f'<td class="num">{shown}</td>' if numeric else f"<td>{shown}</td>"
        assert f"<td>{key}</td>{cell}" in section, key


def test_scale_log_rows_keep_the_last_attempt_of_a_scale():
    rows = [{"scale": 0.0, "iter": 10.0, "d_loss": 1.0}, {"scale": 0.0, "iter": 20.0, "d_loss": 2.0},
            {"scale": 0.0, "iter": 10.0, "d_loss": 3.0}, {"scale": 1.0, "iter": 10.0, "d_loss": 4.0}]
    per_scale = scale_log_rows(rows)
    assert [r["d_loss"] for r in per_scale[0]] == [3.0] and [r["d_loss"] for r in per_scale[1]] == [4.0]
    assert start_scales(1) == [0] and start_scales(2) == [0, 1] and start_scales(8) == [0, 1, 4]


def test_zoo_report_shows_grids_over_time_and_losses(zoo_run, tmp_path):
    out = build_zoo_report(zoo_run, tmp_path / "zoo.html", with_eval=False)
    text, parser = parse(out)
    assert_self_contained(text, parser)
    assert [int(v) for v in parser.values("data-step")] == [2, 4, 6]
    for step in (2, 4, 6):
        assert np.array_equal(parser.images[f"step {step}"], iio.imread(zoo_run / "samples" / f"step_{step:08d}.png"))
    assert "sample grid at step 6" in parser.images
    assert parser.images["losses from log.csv (6 rows)"].shape[1] >= 700  # d_loss and g_loss panels
    assert "Radford" in text  # the model's paper


def test_zoo_report_eval_table_shows_evaluate_zoo_run(zoo_run, tmp_path, monkeypatch):
    from ganbase.zoo.evaluation.quality import evaluate_zoo_run

    monkeypatch.setenv("SINGAN_KIT_CACHE", str(tmp_path / "cache"))  # fcd_local's classifier
    text, parser = parse(build_zoo_report(zoo_run, tmp_path / "zoo.html", eval_num=8))
    assert_self_contained(text, parser)
    section = text[text.index('<section id="evaluation"'):]
    scores = evaluate_zoo_run(zoo_run, num=8, seed=0)
    assert {"swd", "precision", "recall"} <= set(scores)
    for key, value in scores.items():
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        cell = f'<td class="num">{shown}</td>' if isinstance(value, (int, float)) else f"<td>{shown}</td>"
        assert f"<td>{key}</td>{cell}" in section, key
    assert "SWD x1000 at the 16 px level" in section


def test_zoo_report_of_a_point_model_notes_there_is_no_eval_table(tmp_path):
    run = tmp_path / "gan"
    result = invoke(ganzoo_main, "train", "gan", "--data", "gaussians", "--out", run, "--steps", 2,
                    "--batch-size", 16, "--sample-every", 1, "--threads", 1, "--device", "cpu", "--quiet",
                    "-o", "hidden=8,8", "-o", "latent_dim=2")
    assert result.exit_code == 0, result.output
    text, parser = parse(build_zoo_report(run, tmp_path / "gan.html"))
    assert_self_contained(text, parser)
    assert "no sample-quality table for a 2-D point model" in text
    assert parser.images["step 2"].shape == (256, 256, 3)  # the scatter plot


def test_spread_keeps_first_and_last():
    assert spread(list(range(20)), 8)[0] == 0 and spread(list(range(20)), 8)[-1] == 19
    assert len(spread(list(range(20)), 8)) == 8 and spread([1, 2], 8) == [1, 2]


def test_report_modules_are_light_and_inference_only():
    assert_imports_no_training(["singan_kit", "singan_kit.report", "ganbase.zoo.evaluation.report"],
                               also_forbidden=["matplotlib"])


@pytest.mark.parametrize("main", [singan_main, ganzoo_main])
def test_report_help(main):
    result = invoke(main, "report", "--help")
    assert result.exit_code == 0 and "--no-eval" in result.output and "--out" in result.output


def test_report_cli_writes_the_page(singan_run, zoo_run, tmp_path):
    result = invoke(singan_main, "report", singan_run, "--out", tmp_path / "s.html", "--no-eval", "--num", 1,
                    "--device", "cpu", "--quiet")
    assert result.exit_code == 0 and result.output == "", result.output
    assert (tmp_path / "s.html").read_text().startswith("<!DOCTYPE html>")
    result = invoke(ganzoo_main, "report", zoo_run, "--no-eval", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"wrote {zoo_run / 'report.html'}"
    assert (zoo_run / "report.html").read_text().startswith("<!DOCTYPE html>")


def test_report_cli_bad_input(singan_run, zoo_run, tmp_path):
    assert_one_line_error(invoke(singan_main, "report", tmp_path / "missing", "--no-eval"), "does not exist")
    assert_one_line_error(invoke(singan_main, "report", tmp_path, "--no-eval"), "not a SinGAN run folder")
    assert_one_line_error(invoke(singan_main, "report", zoo_run, "--no-eval"), "not a SinGAN run folder")
    assert_one_line_error(invoke(singan_main, "report", singan_run, "--out", tmp_path / "no" / "r.html",
                                 "--no-eval"), "does not exist")
    assert_one_line_error(invoke(singan_main, "report", singan_run, "--out", tmp_path, "--no-eval"), "is a folder")
    assert_one_line_error(invoke(singan_main, "report", singan_run, "--num", 0, "--no-eval"), ">= 1")
    assert_one_line_error(invoke(ganzoo_main, "report", tmp_path / "missing"), "not found")
    assert_one_line_error(invoke(ganzoo_main, "report", singan_run), "singan report")
    assert_one_line_error(invoke(ganzoo_main, "report", zoo_run, "--out", tmp_path / "no" / "z.html",
                                 "--no-eval"), "does not exist")
