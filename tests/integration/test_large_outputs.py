"""CLI tests of large outputs (issue 23): ``singan sample --size/--tiled/--max-memory``, samples
streamed to disk one by one, and a large ``--size`` that completes under an address-space cap
(``prlimit --as``) where the untiled estimate does not fit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from cli.singan import main
from singan_kit import run_folder as rf
from singan_kit.apps.animate import walk_bytes
from singan_kit.sample import sample_bytes
from singan_kit.tiling import plan_for, sizes_for_size, tile_for_budget
from tests.conftest import blob_image

ROOT = Path(__file__).resolve().parents[2]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def assert_one_line_error(result, fragment):
    assert result.exit_code != 0
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert fragment in lines[0], result.output


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("large")
    iio.imwrite(folder / "img.png", blob_image(40, 56, seed=2))
    result = run("train", folder / "img.png", "--preset", "tiny", "--out", folder / "run", "--device", "cpu",
                 "--iters", "4", "--fine-iters", "2", "--quiet")
    assert result.exit_code == 0, result.output
    return folder / "run"


def test_sample_size_writes_exact_size(trained, tmp_path):
    result = run("sample", trained, "--num", 3, "--size", "150x70", "--max-memory", "64MB", "--out", tmp_path,
                 "--grid")
    assert result.exit_code == 0, result.output
    assert "3 samples of 150x70 px" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.png"] + [f"sample_{i:04d}.png" for i in range(3)]
    assert iio.imread(tmp_path / "sample_0002.png").shape == (70, 150, 3)


def test_tiled_sample_is_the_same_for_any_memory_and_batch(trained, tmp_path):
    # 1 MB forces small tiles; 1 GB one tile per level; batch 1 and 2
    for name, args in [("small", ["--max-memory", "1MB"]), ("big", ["--max-memory", "1GB", "--batch-size", "2"])]:
        result = run("sample", trained, "--num", 2, "--scale", "3x2", "--tiled", *args, "--out", tmp_path / name,
                     "--seed", 5, "--quiet")
        assert result.exit_code == 0, result.output
    for i in range(2):
        small = iio.imread(tmp_path / "small" / f"sample_{i:04d}.png").astype(int)
        big = iio.imread(tmp_path / "big" / f"sample_{i:04d}.png").astype(int)
        assert abs(small - big).max() <= 1  # float rounding can move a value across .5
    assert abs(iio.imread(tmp_path / "small" / "sample_0000.png").astype(int) - small).max() > 10  # samples differ


@pytest.mark.parametrize("args, fragment", [
    (["--size", "100x50", "--scale", "2"], "not both"),
    (["--size", "100"], "invalid size"),
    (["--size", "100x50", "--max-memory", "lots"], "invalid memory size"),
    (["--size", "20000x20000", "--max-memory", "100MB"], "raise --max-memory"),
    (["--scale", "8", "--batch-size", "16", "--max-memory", "1MB"], "raise --max-memory"),
])
def test_bad_large_requests(trained, tmp_path, args, fragment):
    result = run("sample", trained, *args, "--out", tmp_path / "out")
    assert_one_line_error(result, fragment)
    assert not (tmp_path / "out").exists()  # nothing written


def test_samples_appear_one_by_one(trained, tmp_path):
    """A subprocess writing 40 samples: files show up while it runs, long before it ends."""
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, "-m", "cli.singan", "sample", str(trained), "--num", "40",
                                "--scale", "4", "--batch-size", "1", "--out", str(out), "--quiet"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    counts = []
    while process.poll() is None:
        counts.append(len(list(out.glob("sample_*.png"))) if out.exists() else 0)
        time.sleep(0.05)
    output = process.communicate()[0]
    assert process.returncode == 0, output
    assert len(list(out.glob("sample_*.png"))) == 40
    partial = {count for count in counts if 0 < count < 40}
    assert len(partial) >= 2, counts  # seen part-way, at several counts


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("prlimit") is None, reason="needs util-linux prlimit")
def test_large_size_under_a_memory_cap(trained, tmp_path):
    """3200x2400 px (7.7 MP) under an address-space cap of 1.2 GB beyond what the interpreter maps
    at start: the tiles are chosen from the cap (no --max-memory) and the sample completes, where the
    untiled estimate alone (1.6 GB) is above the cap."""
    width, height = 3200, 2400
    model = rf.load_model(trained, torch.device("cpu"))
    room = 1200 * 2**20
    assert sample_bytes(model, sizes_for_size(model, height, width), 1) > room
    probe = subprocess.run([sys.executable, "-c", "import torch, cli.singan\n"
                            "print([l for l in open('/proc/self/status') if l.startswith('VmPeak')][0].split()[1])"],
                           cwd=ROOT, capture_output=True, text=True, check=True)
    cap = int(probe.stdout.strip()) * 1024 + room
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(["prlimit", f"--as={cap}", sys.executable, "-m", "cli.singan", "sample", str(trained),
                             "--num", "1", "--size", f"{width}x{height}", "--out", str(tmp_path), "--quiet"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    assert iio.imread(tmp_path / "sample_0000.png").shape == (height, width, 3)


def test_tiled_sampling_bench(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "tiled_sampling.py"), "--preset", "tiny",
                           "--sizes", "96x64", "130x40", "--max-memory", "4MB", "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["results"]
    assert [row["size"] for row in rows] == ["96x64", "130x40"]
    assert all(row["seconds_per_megapixel"] > 0 and row["peak_rss_mb"] > 50 and row["tile"] >= 32 for row in rows)


def test_train_with_checkpoint_activations_trains_and_resumes(tmp_path):
    iio.imwrite(tmp_path / "img.png", blob_image(30, 40, seed=4))
    result = run("train", tmp_path / "img.png", "--preset", "tiny", "--out", tmp_path / "run", "--device", "cpu",
                 "--iters", "3", "--checkpoint-activations", "--quiet")
    assert result.exit_code == 0, result.output
    meta = rf.read_meta(tmp_path / "run")
    assert meta["scales_done"] == meta["pyramid"].num_scales >= 2
    result = run("train", "--resume", tmp_path / "run", "--checkpoint-activations", "--quiet")
    assert result.exit_code == 0, result.output


def test_sr_size_gives_exact_sizes_and_matches_the_factor(tmp_path):
    iio.imwrite(tmp_path / "small.png", blob_image(24, 30, seed=2))
    keep, by_factor, by_size = tmp_path / "srrun", tmp_path / "factor.png", tmp_path / "size.png"
    result = run("sr", tmp_path / "small.png", "--factor", 2.5, "--preset", "tiny", "--iters", 2, "--out", by_factor,
                 "--run", keep, "--device", "cpu", "-q")
    assert result.exit_code == 0, result.output
    result = run("sr", tmp_path / "small.png", "--size", "75x60", "--out", by_size, "--run", keep, "-q")
    assert result.exit_code == 0, result.output
    assert np.array_equal(iio.imread(by_factor), iio.imread(by_size))  # 75x60 is x2.5 of 30x24
    for size, shape in (("121x97", (97, 121, 3)), ("400x320", (320, 400, 3))):
        out = tmp_path / f"{size}.png"
        result = run("sr", tmp_path / "small.png", "--size", size, "--max-memory", "8MB", "--out", out,
                     "--run", keep, "-q")
        assert result.exit_code == 0, result.output
        assert iio.imread(out).shape == shape
    assert_one_line_error(run("sr", tmp_path / "small.png", "--size", "300x100", "--out", tmp_path / "x.png",
                              "--run", keep), "keeps the image's aspect ratio: 300x100 px is x10 across but x4.17 "
                                              "down for a 30x24 px image; give a size such as 125x100")
    assert_one_line_error(run("sr", tmp_path / "small.png", "--size", "75x60", "--factor", 3, "--out",
                              tmp_path / "x.png"), "give --factor or --size, not both")
    assert not (tmp_path / "x.png").exists()


def test_animate_size_streams_exact_frames(trained, tmp_path):
    """``singan animate --size``: frames of exactly that size; a 2 MB budget runs them in small
    tiles and gives the frames of the untiled run (up to GIF palette rounding)."""
    model = rf.load_model(trained, torch.device("cpu"))
    sizes = sizes_for_size(model, 70, 150)
    assert tile_for_budget(plan_for(model, sizes, 1), 1, 2 * 2**20 - walk_bytes(sizes, 1, 1)) < 150  # split
    for name, args in [("whole", []), ("tiles", ["--max-memory", "2MB"])]:
        result = run("animate", trained, "--frames", 3, "--start-scale", 1, "--size", "150x70", *args,
                     "--out", tmp_path / f"{name}.gif", "--quiet")
        assert result.exit_code == 0, result.output
    whole = iio.imread(tmp_path / "whole.gif", index=None)[..., :3].astype(float)
    tiles = iio.imread(tmp_path / "tiles.gif", index=None)[..., :3].astype(float)
    assert whole.shape == (3, 70, 150, 3)
    assert np.abs(whole - tiles).mean() < 1.0
    assert np.abs(whole[0] - whole[2]).mean() > 1.0  # the frames move
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiles.gif", "whole.gif"]


@pytest.mark.parametrize("args, fragment", [
    (["--size", "100x50", "--scale", "2"], "not both"),
    (["--size", "100"], "invalid size"),
    (["--size", "20000x20000", "--max-memory", "100MB"], "raise --max-memory"),
])
def test_bad_large_animations(trained, tmp_path, args, fragment):
    assert_one_line_error(run("animate", trained, *args, "--out", tmp_path / "a.gif"), fragment)
    assert not list(tmp_path.iterdir())  # nothing written, not even a temporary file
