"""Smoke tests of the benchmark scripts in bench/ (tiny settings, seconds): they run from a checkout
and their tables and JSON hold what their docs promise."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


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
