"""Tests of singan_kit.evaluate, ganbase.zoo.evaluation.quality / fcd_local and the `singan eval` / `ganzoo eval`
commands, on tiny runs trained here (seconds)."""

from __future__ import annotations

import csv
import json
import shutil

import imageio.v3 as iio
import pytest
import torch
from click.testing import CliRunner

from cli.ganzoo import main as ganzoo_main
from cli.singan import main as singan_main
from ganbase.errors import UserError
from ganbase.zoo.data.datasets import DataConfig, load_dataset
from ganbase.zoo.evaluation import fcd_local
from singan_kit.evaluate import (
    METRIC_KEYS,
    evaluate_images,
    evaluate_run,
    evaluate_runs,
)
from tests.conftest import blob_image
from tests.helpers import assert_imports_no_training

TINY_ZOO = ["--steps", "2", "--batch-size", "8", "--image-size", "16", "--quiet", "--device", "cpu"]
CGAN_OPTIONS = ["-o", "latent_hidden=8", "-o", "label_hidden=8", "-o", "joint_hidden=16", "-o", "d_data_units=8",
                "-o", "d_label_units=4", "-o", "d_joint_units=8"]


def singan(*args):
    return CliRunner().invoke(singan_main, [str(a) for a in args], catch_exceptions=False)


def ganzoo(*args):
    return CliRunner().invoke(ganzoo_main, [str(a) for a in args])


def assert_one_line_error(result, fragment):
    assert result.exit_code != 0
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert lines[-1].startswith("Error: ") and fragment in lines[-1], result.output
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A folder with two tiny SinGAN runs (``a``, ``b``) and a corrupt one (``c``)."""
    folder = tmp_path_factory.mktemp("eval")
    iio.imwrite(folder / "img.png", blob_image(40, 56, seed=2))
    result = singan("train", folder / "img.png", "--preset", "tiny", "--iters", 4, "--out", folder / "runs" / "a",
                    "--device", "cpu", "-q")
    assert result.exit_code == 0, result.output
    shutil.copytree(folder / "runs" / "a", folder / "runs" / "b")
    (folder / "runs" / "c").mkdir()
    (folder / "runs" / "c" / "config.json").write_text("{broken")
    return folder / "runs"


@pytest.fixture(scope="module")
def cgan_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("zoo") / "cgan"
    result = ganzoo("train", "cgan", "--data", "digits:60", "--out", run, *TINY_ZOO, *CGAN_OPTIONS)
    assert result.exit_code == 0, result.output
    return run


def test_evaluate_run_keys_and_determinism(runs):
    first = evaluate_run(runs / "a", num=6, seed=3)
    assert set(first) == set(METRIC_KEYS) | {"num_samples", "scales", "size"}
    assert first["num_samples"] == 6 and first["size"] == "29x40" and first["scales"] >= 2
    assert first == evaluate_run(runs / "a", num=6, seed=3, batch_size=4)  # sample i is fixed by the seed
    assert 0.0 <= first["memorization"] <= 1.0 and first["diversity"] > 0 and first["swd"] > 0
    assert evaluate_run(runs / "a", num=6, seed=3, start_scale=2)["diversity"] < first["diversity"]


def test_evaluate_run_draws_are_means_of_single_draws(runs):
    singles = [evaluate_run(runs / "a", num=4, seed=seed) for seed in (5, 6, 7)]
    drawn = evaluate_run(runs / "a", num=4, seed=5, draws=3)
    assert drawn["draws"] == 3 and drawn["num_samples"] == 4 and set(METRIC_KEYS) <= set(drawn)
    for key in ("swd", "diversity", "nn_coherence", "nn_completeness", "memorization"):
        assert drawn[key] == pytest.approx(sum(s[key] for s in singles) / 3, rel=1e-9)
    swds = [s["swd"] for s in singles]
    mean = sum(swds) / 3
    sd = (sum((x - mean) ** 2 for x in swds) / 2) ** 0.5  # by hand: n - 1 in the denominator
    assert sd > 0 and drawn["swd_sd"] == pytest.approx(sd) and drawn["swd_se"] == pytest.approx(sd / 3 ** 0.5)
    with pytest.raises(UserError, match="--draws"):
        evaluate_run(runs / "a", num=4, draws=0)


def test_evaluate_runs_reports_failures(runs):
    results = evaluate_runs(runs, num=3)
    assert [r["run"] for r in results] == ["a", "b", "c"]
    assert results[0]["swd"] == results[1]["swd"] and "corrupt JSON" in results[2]["error"]


def test_evaluate_images_baselines():
    real = torch.from_numpy(blob_image(32, 40, seed=4)).permute(2, 0, 1)[None].float() / 127.5 - 1
    copies = evaluate_images(real, real.repeat(4, 1, 1, 1))
    assert copies["memorization"] == 1.0 and copies["diversity"] == 0.0 and copies["swd"] == 0.0
    assert copies["nn_coherence"] < 1e-6 and copies["nn_completeness"] < 1e-6
    with pytest.raises(UserError, match="at least 2 samples"):
        evaluate_images(real, real)


def test_evaluation_imports_no_training_code():
    assert_imports_no_training(["singan_kit.evaluate", "cli.singan_eval", "ganbase.zoo.evaluation.quality"])


@pytest.mark.parametrize("main, args", [(singan_main, ["eval", "--help"]), (ganzoo_main, ["eval", "--help"])])
def test_help(main, args):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0 and "Usage" in result.output and "--inception-weights" in result.output


def test_singan_eval_one_run_text_and_json(runs):
    result = singan("eval", runs / "a", "--num", 4, "-q")
    assert result.exit_code == 0, result.output
    for key in METRIC_KEYS:
        assert key in result.output
    result = singan("eval", runs / "a", "--num", 4, "--json", "-q")
    scores = json.loads(result.output)
    assert scores["num_samples"] == 4 and set(METRIC_KEYS) <= set(scores)
    result = singan("eval", runs / "a", "--num", 3, "--draws", 2, "-q")
    assert result.exit_code == 0, result.output
    assert "means over 2 draws of 3 samples" in result.output and "swd_sd" in result.output


def test_eval_threads_do_not_outlive_the_command(runs, cgan_run, tmp_path):
    before = torch.get_num_threads()
    other = 1 if before != 1 else 2
    assert singan("eval", runs / "a", "--num", 3, "--threads", other, "-q").exit_code == 0
    assert torch.get_num_threads() == before
    assert singan("eval", runs / "a", "--start-scale", 99, "--threads", other, "-q").exit_code != 0  # errors too
    assert torch.get_num_threads() == before
    assert ganzoo("eval", cgan_run, "--num", 2, "--threads", other).exit_code != 0
    assert torch.get_num_threads() == before
    assert ganzoo("train", "gan", "--data", "gaussians", "--out", tmp_path / "gan", "--steps", 1, "-o", "hidden=8",
                  "--threads", other, "--quiet").exit_code == 0
    assert torch.get_num_threads() == before


def test_singan_eval_folder_table_and_csv(runs, tmp_path):
    result = singan("eval", runs, "--num", 3, "--csv", tmp_path / "table.csv", "-q")
    assert result.exit_code == 1, result.output  # run c is broken: the table, then a non-zero exit for scripts
    lines = result.output.strip().splitlines()
    assert lines[0].split()[:4] == ["run", "scales", "size", "SWD"]
    assert lines[2].startswith("a ") and lines[3].startswith("b ") and "error: corrupt JSON" in lines[4]
    assert lines[-1] == "Error: 1 of 3 runs failed (see the table above)"
    rows = list(csv.DictReader((tmp_path / "table.csv").open()))
    assert [row["run"] for row in rows] == ["a", "b", "c"] and float(rows[0]["swd"]) > 0 and rows[2]["error"]


def test_singan_eval_bad_input(runs, tmp_path):
    assert_one_line_error(singan("eval", tmp_path / "missing"), "does not exist")
    assert_one_line_error(singan("eval", runs / "a", "--num", 1), "x>=2")
    assert_one_line_error(singan("eval", runs / "a", "--threads", 0), "--threads")
    assert_one_line_error(singan("eval", runs / "a", "--draws", 0), "--draws")
    assert_one_line_error(singan("eval", runs / "c"), "corrupt JSON")
    assert_one_line_error(singan("eval", runs / "a", "--inception-weights", tmp_path / "w.pth"),
                          "pt_inception-2015-12-05")
    assert_one_line_error(singan("eval", runs / "a", "--start-scale", 99, "-q"), "start")
    assert_one_line_error(singan("eval", tmp_path), "not a SinGAN run folder")


def test_ganzoo_eval_cgan(cgan_run, tmp_path, monkeypatch):
    monkeypatch.setattr(fcd_local, "TRAIN_STEPS", 20)
    result = ganzoo("eval", cgan_run, "--num", 40, "--cache-dir", tmp_path, "--json")
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output)
    assert scores["model"] == "cgan" and scores["num_samples"] == 40 and scores["size"] == "16x16"
    assert {"swd", "swd_16", "precision", "recall", "fcd_local", "classifier_accuracy"} <= set(scores)
    assert 0.0 <= scores["precision"] <= 1.0 and scores["fcd_local"] > 0
    cached = list((tmp_path / "fcd_local").glob("digits-*-20steps.safetensors"))
    assert len(cached) == 1 and cached[0].with_suffix(".json").is_file()
    text = ganzoo("eval", cgan_run, "--num", 40, "--cache-dir", tmp_path)  # the classifier comes from the cache
    assert text.exit_code == 0 and "fcd_local" in text.output and "swd_16" in text.output
    assert cached[0].stat().st_mtime == list((tmp_path / "fcd_local").glob("*.safetensors"))[0].stat().st_mtime


def test_ganzoo_eval_bad_input(cgan_run, tmp_path):
    assert_one_line_error(ganzoo("eval", tmp_path / "missing"), "not found")
    assert_one_line_error(ganzoo("eval", cgan_run, "--num", 2), "at least 4")
    assert_one_line_error(ganzoo("eval", cgan_run, "--inception-weights", tmp_path / "w.pth"), "pt_inception")
    assert_one_line_error(ganzoo("eval", cgan_run, "--data", tmp_path / "nothing"), "data folder not found")
    points = tmp_path / "gan"
    assert ganzoo("train", "gan", "--data", "gaussians", "--out", points, "--steps", 1, "-o", "hidden=8",
                  "--quiet").exit_code == 0
    assert_one_line_error(ganzoo("eval", points), "generates points")


def test_fcd_local_of_real_data_against_itself_is_zero(tmp_path):
    dataset = load_dataset(DataConfig("shapes:80", image_size=16))
    model, meta = fcd_local.load_or_train_classifier(dataset, tmp_path, steps=5)
    assert meta["classes"] == 4 and 0.0 <= meta["held_out_accuracy"] <= 1.0
    assert abs(fcd_local.fcd_local(dataset.images, dataset.images, model)) < 1e-6
    unlabeled = load_dataset(DataConfig("faces", image_size=16))
    with pytest.raises(UserError, match="needs labeled images"):
        fcd_local.load_or_train_classifier(unlabeled, tmp_path)
