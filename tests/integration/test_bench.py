"""Smoke tests of the benchmark scripts in bench/ (tiny settings, seconds): they run from a checkout
and their tables and JSON hold what their docs promise."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow  # each bench runs training processes: 15 to 40 s a test

ROOT = Path(__file__).resolve().parents[2]


def run_bench(script: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "bench" / script), *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_quality_bench_several_training_seeds_and_draws(tmp_path):
    done = run_bench("singan_quality.py", "--preset", "tiny", "--iters", 2, "--images", ROOT / "samples" / "hubble.png",
                     "--train-seeds", 0, 1, "--draws", 2, "--num", 3, "--device", "cpu", "--threads", 1,
                     "--out", tmp_path, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    rows = report["results"]
    assert [row["train_seed"] for row in rows] == [0, 1] and all(row["draws"] == 2 for row in rows)
    assert (tmp_path / "hubble_seed0" / "config.json").is_file() and (tmp_path / "hubble_seed1").is_dir()
    assert json.loads((tmp_path / "hubble_seed1" / "config.json").read_text())["config"]["seed"] == 1
    (summary,) = report["over_training_seeds"]
    assert summary["train_seeds"] == [0, 1]
    swds = [row["swd"] for row in rows]
    assert summary["swd"]["mean"] == pytest.approx(sum(swds) / 2)
    assert summary["swd"]["sd"] == pytest.approx(abs(swds[0] - swds[1]) / 2 ** 0.5)  # n - 1 = 1


def test_quality_bench_table_and_bad_options(tmp_path):
    done = run_bench("singan_quality.py", "--preset", "tiny", "--iters", 2, "--images", ROOT / "samples" / "hubble.png",
                     "--train-seeds", 3, 4, "--num", 3, "--device", "cpu", "--threads", 1, "--out", tmp_path)
    assert done.returncode == 0, done.stderr
    assert "hubble.png seed 3" in done.stdout and "hubble.png seed 4" in done.stdout
    assert "hubble.png over training seeds 3 4 (mean ± sd): swd" in done.stdout
    bad = run_bench("singan_quality.py", "--draws", 0)
    assert bad.returncode != 0 and "--draws must be >= 1" in bad.stderr


def test_quality_bench_several_presets_one_table(tmp_path):
    from singan_kit.architectures import make_config

    image = ROOT / "samples" / "hubble.png"
    done = run_bench("singan_quality.py", "--preset", "tiny", "gpnn", "--iters", 2, "--max-size", 32, "--images", image,
                     "--num", 3, "--device", "cpu", "--threads", 1, "--out", tmp_path, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    rows = report["results"]
    assert [row["preset"] for row in rows] == ["tiny", "gpnn"]
    tiny = json.loads((tmp_path / "tiny" / "hubble" / "config.json").read_text())["config"]
    gpnn = json.loads((tmp_path / "gpnn" / "hubble" / "config.json").read_text())["config"]
    assert tiny["iters"] == 2 and tiny["architecture"] == "singan"
    assert gpnn["iters"] == make_config("gpnn").iters != 2  # synthesis steps are not a training schedule
    means = {entry["preset"]: entry for entry in report["preset_means"]}
    assert means.keys() == {"tiny", "gpnn"}
    for row in rows:
        assert means[row["preset"]]["swd"] == pytest.approx(row["swd"]) and means[row["preset"]]["runs"] == 1
        assert means[row["preset"]]["eval_seconds_per_sample"] == pytest.approx(row["eval_seconds"] / 3)

    table = run_bench("singan_quality.py", "--preset", "tiny", "gpnn", "--iters", 2, "--max-size", 32, "--images",
                      image, "--num", 3, "--device", "cpu", "--threads", 1, "--out", tmp_path)
    assert table.returncode == 0, table.stderr
    assert "hubble.png seed 0 [tiny]" in table.stdout and "hubble.png seed 0 [gpnn]" in table.stdout
    assert "means over each preset's runs" in table.stdout
    twice = run_bench("singan_quality.py", "--preset", "tiny", "tiny")
    assert twice.returncode != 0 and "each preset once" in twice.stderr
    unknown = run_bench("singan_quality.py", "--preset", "gpnn", "--images", "no_such_photo.png")
    assert unknown.returncode != 0 and "no such image(s)" in unknown.stderr and "no_such_photo.png" in unknown.stderr


def test_methods_figure_one_row_per_run(tmp_path):
    from PIL import Image

    from singan_kit import api

    image = ROOT / "samples" / "hubble.png"
    api.train_run(image, tmp_path / "gpnn", api.make_config("gpnn", max_size=32), device="cpu", progress=False)
    api.train_run(image, tmp_path / "tiny", api.make_config("tiny", max_size=32, iters=2), device="cpu", progress=False)
    figure = tmp_path / "figure.png"
    done = run_bench("methods_figure.py", "--photo", image, "--runs", f"gpnn={tmp_path / 'gpnn'}",
                     f"tiny={tmp_path / 'tiny'}", "--num", 3, "--height", 40, "--out", figure)
    assert done.returncode == 0, done.stderr
    sheet = Image.open(figure)
    assert sheet.height == 3 * (40 + 4) + 4  # the photo's row and one per run
    assert sheet.width > 120 + 3 * 40  # a label column and three samples in a run's row
    bad = run_bench("methods_figure.py", "--photo", image, "--runs", str(tmp_path / "gpnn"), "--out", figure)
    assert bad.returncode != 0 and "LABEL=RUN_FOLDER" in bad.stderr
    gray = tmp_path / "gray.png"
    Image.open(image).convert("L").save(gray)
    from_gray = run_bench("methods_figure.py", "--photo", gray, "--runs", f"gpnn={tmp_path / 'gpnn'}", "--num", 1,
                          "--height", 40, "--out", tmp_path / "gray_figure.png")
    assert from_gray.returncode == 0, from_gray.stderr  # a gray photo is shown as RGB
    no_photo = run_bench("methods_figure.py", "--photo", tmp_path / "missing.png", "--runs",
                         f"gpnn={tmp_path / 'gpnn'}", "--out", tmp_path / "never.png")
    assert no_photo.returncode != 0 and "image not found" in no_photo.stderr and "Traceback" not in no_photo.stderr
    assert not (tmp_path / "never.png").exists()


def test_quality_bench_reuses_continues_and_refuses_run_folders(tmp_path):
    from safetensors.torch import load_file

    from singan_kit.architectures import make_config
    from singan_kit.architectures.lifecycle import create_run
    from singan_kit.architectures.singan.train import SinGANTrainer

    image = ROOT / "samples" / "hubble.png"
    partial = tmp_path / "hubble_seed1"  # what a bench killed during scale 2 leaves: scales 0-1 committed
    config = dataclasses.replace(make_config("tiny", seed=1), iters=2, fine_iters=None).validate()
    create_run(image, partial, config, torch.device("cpu"))
    trainer = SinGANTrainer(partial, "cpu", progress=False, threads=1)
    trainer.train_scale(0)
    trainer.train_scale(1)
    assert json.loads((partial / "config.json").read_text())["scales_done"] == 2
    scale0 = load_file(partial / "generators.safetensors")["g0.body.0.0.weight"]

    options = ["--preset", "tiny", "--iters", 2, "--images", image, "--train-seeds", 0, 1, "--num", 3,
               "--device", "cpu", "--out", tmp_path]
    first = run_bench("singan_quality.py", *options, "--jobs", 2)
    assert first.returncode == 0, first.stderr
    assert f"training {tmp_path / 'hubble_seed0'}" in first.stdout
    assert f"continuing {partial}" in first.stdout
    meta = json.loads((partial / "config.json").read_text())
    assert meta["scales_done"] == len(meta["pyramid"]["sizes"]) == 4
    assert torch.equal(load_file(partial / "generators.safetensors")["g0.body.0.0.weight"], scale0)  # kept, not redone

    again = run_bench("singan_quality.py", *options, "--json")
    assert again.returncode == 0, again.stderr
    rows = json.loads(again.stdout)["results"]
    assert [row["reused"] for row in rows] == [True, True]
    assert all(row["train_seconds"] > 0 for row in rows)  # summed from the runs' log.csv

    other = run_bench("singan_quality.py", *options[:3], 3, *options[4:])
    assert other.returncode != 0 and "with other settings" in other.stderr
    assert json.loads((partial / "config.json").read_text())["config"]["iters"] == 2


def test_training_memory_bench_rows():
    done = run_bench("training_memory.py", "--sizes", 48, "--filters", 8, "--iters", 2, "--json")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [(row["size"], row["recompute"]) for row in rows] == [("48x36", False), ("48x36", True)]
    for row in rows:
        assert row["peak_bytes"] >= row["baseline_bytes"] > 0 and row["median_iter_seconds"] > 0
        assert row["estimate_bytes"] > 0
    assert rows[0]["estimate_bytes"] > rows[1]["estimate_bytes"]  # checkpointing is estimated to need less
    table = [line.split() for line in done.stdout.splitlines() if not line.startswith("{")]
    assert table[0][:2] == ["size", "checkpointing"] and [row[:2] for row in table[1:]] == [["48x36", "off"],
                                                                                            ["48x36", "on"]]


def test_official_compare_runs_our_side_alone(tmp_path):
    image = ROOT / "samples" / "hubble.png"
    done = run_bench("official_compare.py", "--arms", "ours", "--preset", "tiny", "--images", image, "--iters", 2,
                     "--max-size", 32, "--num", 3, "--work", tmp_path)
    assert done.returncode == 0, done.stderr
    (key, result), = json.loads((tmp_path / "results.json").read_text()).items()
    assert key.startswith("hubble-s1-i2-m32-n3-e0-ours-tiny") and result["swd"] > 0 and result["seconds"] > 0
    both = run_bench("official_compare.py", "--images", image, "--work", tmp_path)
    assert both.returncode != 0 and "--official is required unless --arms ours" in both.stderr
