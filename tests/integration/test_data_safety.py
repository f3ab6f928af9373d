"""Data safety of the ``singan`` and ``ganzoo`` commands (issue 22): no command deletes or
overwrites what it did not write, and two processes never train into one run folder.

Every refused case asserts the exit code, exactly one ``Error:`` line, no traceback, that the
existing runs are unchanged byte for byte and that nothing outside them was touched.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import imageio.v3 as iio
import pytest
from click.testing import CliRunner

from cli.ganzoo import main as ganzoo
from cli.singan import main as singan
from tests.conftest import blob_image

ROOT = Path(__file__).resolve().parents[2]
TINY_SINGAN = ["--preset", "tiny", "--iters", "2", "--device", "cpu", "-q"]
TINY_ZOO = ["--data", "gaussians", "--steps", "2", "--checkpoint-every", "2", "-o", "hidden=8", "--quiet"]


def invoke(main, *args):
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_one_line_error(result, fragment: str, exit_code: int = 1) -> str:
    output = result.output if hasattr(result, "output") else result.stdout + result.stderr
    code = result.exit_code if hasattr(result, "exit_code") else result.returncode
    assert code == exit_code, output
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), output
    assert fragment in lines[0], lines[0]
    return lines[0]


def snapshot(folder: Path) -> dict[str, str]:
    """Every file and link below ``folder`` with a hash of its contents (links: their target)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            found[key] = "-> " + os.readlink(path)
        elif path.is_file():
            found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[key] = "dir"
    return found


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A finished SinGAN run, a ganzoo run and a folder with another program's config.json."""
    root = tmp_path_factory.mktemp("safety")
    iio.imwrite(root / "a.png", blob_image(40, 48, seed=1))
    iio.imwrite(root / "b.png", blob_image(40, 44, seed=2))
    result = invoke(singan, "train", root / "a.png", "--out", root / "singan_run", *TINY_SINGAN)
    assert result.exit_code == 0, result.output
    result = invoke(ganzoo, "train", "gan", "--out", root / "zoo_run", *TINY_ZOO)
    assert result.exit_code == 0, result.output
    (root / "project").mkdir()
    (root / "project" / "config.json").write_text('{"name": "my project"}')
    (root / "project" / "notes.txt").write_text("keep me")
    return root


def assert_refused_untouched(root: Path, result, fragment: str) -> str:
    before = snapshot(root)
    line = assert_one_line_error(result, fragment)
    assert snapshot(root) == before
    return line


# ---------------------------------------------------------------------- ownership
@pytest.mark.parametrize("command, fragment", [
    (["ganzoo", "train", "dcgan", "--data", "digits:30", "--out", "singan_run", "--steps", "2"],
     "not a ganzoo run: nothing is written into it"),
    (["ganzoo", "train", "gan", "--data", "gaussians", "--out", "project", "--steps", "2"], "another kind"),
    (["singan", "train", "b.png", "--out", "zoo_run", *TINY_SINGAN], "is a ganzoo run, not a SinGAN run"),
    (["singan", "train", "b.png", "--out", "zoo_run", "--overwrite", *TINY_SINGAN], "not even with --overwrite"),
    (["singan", "train", "b.png", "--out", "project", "--overwrite", *TINY_SINGAN], "another kind"),
    (["singan", "train", "b.png", "--out", "singan_run", *TINY_SINGAN], "use --resume to continue it"),
    (["singan", "train", "b.png", "--out", "a.png", *TINY_SINGAN], "is a file"),
    (["singan", "train", "b.png", "--out", "singan_run/previews", *TINY_SINGAN], "would overwrite"),
    (["ganzoo", "train", "gan", "--data", "gaussians", "--out", "zoo_run/checkpoints", "--steps", "2"],
     "would overwrite"),
])
def test_training_never_writes_into_another_kinds_run(runs, command, fragment, monkeypatch):
    monkeypatch.chdir(runs)
    before = snapshot(runs)
    main = ganzoo if command[0] == "ganzoo" else singan
    assert_one_line_error(invoke(main, *command[1:]), fragment)
    assert snapshot(runs) == before


def test_zoo_train_refuses_a_folder_of_other_files(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("keep me")
    before = snapshot(tmp_path)
    assert_one_line_error(invoke(ganzoo, "train", "gan", "--out", tmp_path / "mine", *TINY_ZOO),
                          "already exists and is not empty (and no ganzoo run); choose another --out")
    assert snapshot(tmp_path) == before


# ---------------------------------------------------------------------- output paths
OUTPUT_CASES = [
    ("singan", ["report", "singan_run", "--out", "singan_run/config.json", "--no-eval"]),
    ("singan", ["eval", "singan_run", "--csv", "singan_run/config.json"]),
    ("singan", ["sample", "singan_run", "--out", "singan_run/previews"]),
    ("singan", ["harmonize", "singan_run", "--naive", "b.png", "--mask", "b.png", "--inject-scale", "1",
                "--out", "singan_run/real.png"]),
    ("singan", ["edit", "singan_run", "--edited", "b.png", "--mask", "b.png", "--inject-scale", "1",
                "--out", "singan_run/generators.safetensors"]),
    ("singan", ["paint", "singan_run", "--paint", "b.png", "--inject-scale", "1", "--out", "singan_run/log.csv"]),
    ("singan", ["animate", "singan_run", "--out", "singan_run/pyramid.safetensors"]),
    ("singan", ["sr", "b.png", "--out", "singan_run/config.json"]),
    ("singan", ["report", "zoo_run", "--out", "zoo_run/latest.json"]),
    ("ganzoo", ["report", "zoo_run", "--out", "zoo_run/latest.json", "--no-eval"]),
    ("ganzoo", ["sample", "zoo_run", "--grid", "zoo_run/config.json"]),
    ("ganzoo", ["sample", "zoo_run", "--out", "zoo_run/checkpoints"]),
    ("ganzoo", ["sample", "zoo_run", "--grid", "singan_run/config.json"]),
    ("ganzoo", ["interpolate", "zoo_run", "--out", "zoo_run/log.csv"]),
    ("ganzoo", ["mix", "zoo_run", "--out", "zoo_run/config.json"]),
    ("ganzoo", ["translate", "zoo_run", "b.png", "--out", "zoo_run/checkpoints/x"]),
    ("ganzoo", ["translate", "zoo_run", "b.png", "--out", "elsewhere", "--compare", "project/config.json"]),
]


@pytest.mark.parametrize("tool, args", OUTPUT_CASES, ids=[" ".join(c[1][:1] + c[1][-2:]) for c in OUTPUT_CASES])
def test_outputs_never_overwrite_a_runs_own_files(runs, tool, args, monkeypatch):
    monkeypatch.chdir(runs)
    before = snapshot(runs)
    line = assert_one_line_error(invoke(ganzoo if tool == "ganzoo" else singan, *args), "would overwrite")
    assert "choose another output path" in line
    assert snapshot(runs) == before


def test_default_outputs_inside_a_run_still_work(runs, tmp_path):
    result = invoke(ganzoo, "sample", runs / "zoo_run", "--num", "4")
    assert result.exit_code == 0, result.output
    assert (runs / "zoo_run" / "samples" / "sampled_seed0.png").is_file()


# ---------------------------------------------------------------------- checkpoint pruning
def zoo_run(folder: Path) -> Path:
    result = invoke(ganzoo, "train", "gan", "--out", folder, *TINY_ZOO)
    assert result.exit_code == 0, result.output
    return folder


def test_pruning_keeps_user_folders_in_checkpoints(tmp_path):
    run = zoo_run(tmp_path / "run")
    ckpts = run / "checkpoints"
    shutil.copytree(ckpts / "step_00000002", ckpts / "my_best_keep")
    (ckpts / "step_00000001").mkdir()
    (ckpts / "step_00000001" / "notes.txt").write_text("the user's, despite the name")
    kept = {name: snapshot(ckpts / name) for name in ("my_best_keep", "step_00000001")}
    result = invoke(ganzoo, "train", "gan", "--out", run, "--resume", "--steps", "4", "--quiet")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in ckpts.iterdir()) == ["my_best_keep", "step_00000001", "step_00000004"]
    assert {name: snapshot(ckpts / name) for name in kept} == kept


def test_pruning_never_deletes_through_a_linked_checkpoints_folder(tmp_path):
    run = zoo_run(tmp_path / "run")
    shared = tmp_path / "shared_disk" / "ckpts"
    shared.parent.mkdir()
    shutil.move(run / "checkpoints", shared)
    (run / "checkpoints").symlink_to(shared)
    (shared / "other_project").mkdir()
    (shared / "other_project" / "data.txt").write_text("another project's")
    shutil.copytree(shared / "step_00000002", shared / "step_00000099")  # another run's, same layout
    outside = snapshot(tmp_path / "shared_disk")
    result = invoke(ganzoo, "train", "gan", "--out", run, "--resume", "--steps", "4", "--quiet")
    assert result.exit_code == 0, result.output
    after = snapshot(tmp_path / "shared_disk")
    assert {k: v for k, v in after.items() if not k.startswith("ckpts/step_00000004")} == outside
    assert (shared / "step_00000004" / "model.safetensors").is_file()


# ---------------------------------------------------------------------- the run-folder lock
def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def write_lock(folder: Path, pid: int) -> None:
    (folder / ".lock").write_text(json.dumps({"pid": pid, "host": socket.gethostname(),
                                              "started": "2026-12-06T10:00:00+0000", "command": "singan train"}))


def test_lock_held_by_a_live_process_is_respected(runs, tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        singan_run, zoo_run = runs / "singan_run", runs / "zoo_run"
        for run, command in [
            (singan_run, [singan, "train", runs / "b.png", "--out", singan_run, "--overwrite", *TINY_SINGAN]),
            (singan_run, [singan, "train", "--resume", singan_run, "-q"]),
            (zoo_run, [ganzoo, "train", "gan", "--out", zoo_run, "--resume", "--steps", "4", "--quiet"]),
        ]:
            write_lock(run, holder.pid)
            try:
                before = snapshot(runs)
                line = assert_one_line_error(invoke(*command),
                                             f"is in use by pid {holder.pid} on {socket.gethostname()} since "
                                             "2026-12-06T10:00:00+0000")
                assert f"delete {run / '.lock'} if that process is dead" in line
                assert snapshot(runs) == before
            finally:
                (run / ".lock").unlink()
    finally:
        holder.kill()
        holder.wait()


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    iio.imwrite(tmp_path / "b.png", blob_image(40, 44, seed=2))
    (tmp_path / "co").mkdir()
    write_lock(tmp_path / "co", dead_pid())
    result = invoke(singan, "train", tmp_path / "b.png", "--out", tmp_path / "co", *TINY_SINGAN)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "co" / "config.json").is_file()
    assert not (tmp_path / "co" / ".lock").exists()


def cli(tool: str, *args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", f"cli.{tool}", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300, **kwargs)


@pytest.mark.slow
def test_two_trainings_into_one_folder(tmp_path):
    """A real concurrent `singan train`: the second (even with --overwrite) is refused naming the
    first; once the first is killed (-9), its stale lock is taken over."""
    iio.imwrite(tmp_path / "a.png", blob_image(40, 48, seed=1))
    iio.imwrite(tmp_path / "b.png", blob_image(40, 44, seed=2))
    co = tmp_path / "co"
    first = subprocess.Popen([sys.executable, "-m", "cli.singan", "train", tmp_path / "a.png", "--out", co,
                              "--preset", "tiny", "--iters", "100000", "--device", "cpu", "-q"], cwd=ROOT,
                             env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while not (co / "config.json").exists() and time.time() < deadline:
            time.sleep(0.2)
        assert (co / "config.json").exists(), "the first training never started"
        before = snapshot(co)
        second = cli("singan", "train", tmp_path / "b.png", "--out", co, "--overwrite", *TINY_SINGAN)
        assert_one_line_error(second, f"is in use by pid {first.pid} on {socket.gethostname()} since ")
        source = json.loads((co / "config.json").read_text())["source_image"]
        assert source == str(tmp_path / "a.png") and set(before) <= set(snapshot(co))
    finally:
        first.kill()
        first.wait()
    third = cli("singan", "train", tmp_path / "b.png", "--out", co, "--overwrite", *TINY_SINGAN)
    assert third.returncode == 0, third.stderr
    assert json.loads((co / "config.json").read_text())["source_image"] == str(tmp_path / "b.png")
    assert not (co / ".lock").exists()


# ---------------------------------------------------------------------- folders of images
def test_colliding_image_names_are_refused(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name, seed in [("a.png", 1), ("a.jpg", 2), ("a_png.png", 3)]:
        iio.imwrite(photos / name, blob_image(40, 44, seed=seed))
    before = snapshot(tmp_path)
    assert_one_line_error(invoke(singan, "train", photos, "--out", tmp_path / "runs", *TINY_SINGAN),
                          "images a.png and a_png.png would both train the run folder a_png: rename one of them")
    assert snapshot(tmp_path) == before


def test_folder_with_a_failed_item_exits_non_zero(runs, tmp_path):
    folder = tmp_path / "runs"
    shutil.copytree(runs / "singan_run", folder / "good")
    (folder / "bad").mkdir()
    (folder / "bad" / "config.json").write_text('{"model": "singan", "format": 1}')
    result = invoke(singan, "sample", folder, "--num", "1", "--out", tmp_path / "samples", "-q")
    assert result.exit_code == 1, result.output
    assert "1 done, 0 skipped, 1 failed" in result.output  # the summary is still printed
    assert result.output.splitlines()[-1] == "Error: 1 of 2 runs failed (see the table above)"
    assert "Traceback" not in result.output


def test_sr_never_writes_over_its_input_folder(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    iio.imwrite(photos / "a.png", blob_image(40, 44, seed=1))
    before = snapshot(tmp_path)
    assert_one_line_error(invoke(singan, "sr", photos, "--out", photos, *TINY_SINGAN),
                          "is the input folder: its outputs would replace the inputs")
    assert snapshot(tmp_path) == before


def test_training_into_a_busy_current_folder_is_refused(tmp_path, monkeypatch):
    iio.imwrite(tmp_path / "a.png", blob_image(40, 44, seed=1))
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    assert_one_line_error(invoke(singan, "train", "a.png", "--out", ".", *TINY_SINGAN), "not empty")
    assert_one_line_error(invoke(ganzoo, "train", "gan", "--out", ".", *TINY_ZOO), "not empty")
    assert snapshot(tmp_path) == before


# ---------------------------------------------------------------------- closed pipes
@pytest.mark.parametrize("tool, args", [("ganzoo", ["list"]), ("singan", ["train", "--help"])])
def test_a_closed_pipe_is_no_error(tool, args):
    """`ganzoo list | head -1`: stdout's reader is gone before the command writes."""
    read, write = os.pipe()
    os.close(read)
    try:
        result = subprocess.run([sys.executable, "-m", f"cli.{tool}", *args], stdout=write, stderr=subprocess.PIPE,
                                text=True, cwd=ROOT, timeout=120)
    finally:
        os.close(write)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
