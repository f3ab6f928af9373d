"""Crash safety: ``singan train`` and ``ganzoo train`` killed with SIGKILL at seeded random moments
(during training, and inside a checkpoint write), and stopped with Ctrl-C (SIGINT).

After every kill the run folder must load (SinGAN: its finished scales; zoo: its latest
checkpoint), ``--resume`` must complete it, and the completed model must equal the one of an
uninterrupted run bit for bit. A kill inside a write is timed by running the command under
:mod:`tests.integration.slow_writes` (every atomic write of the chosen file pauses before its
rename) and waiting for that write's temporary file to appear. Ctrl-C must exit with 130 and one ``Error:`` line
after saving. Each trial is recorded in ``TRIALS``; ``pytest -s`` prints them. About 50 s of CPU
(11 training processes of a few seconds each, mostly importing torch).
"""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import imageio.v3 as iio
import pytest
import torch
from click.testing import CliRunner

from cli.ganzoo import main as ganzoo
from cli.singan import main as singan
from ganbase.errors import TrainingInterrupted
from ganbase.io.checkpoint import load_tensors
from ganbase.zoo.inference.runs import latest_checkpoint
from ganbase.zoo.inference.runs import load_model as load_zoo_model
from singan_kit.architectures.scale_checkpoint import PROGRESS_FILE, progress_iteration
from singan_kit.batch.folders import run_each
from singan_kit.run_folder import load_model, read_meta
from singan_kit.sample import generate
from tests.conftest import blob_image

pytestmark = pytest.mark.slow  # 11 training processes killed and resumed: about 2 minutes

ROOT = Path(__file__).resolve().parents[2]
SINGAN_ARGS = ["--preset", "tiny", "--iters", "16", "--threads", "1", "-q"]
ZOO_STEPS = 200
ZOO_ARGS = ["--data", "digits:64", "--steps", str(ZOO_STEPS), "--batch-size", "8", "--image-size", "16",
            "-o", "latent_dim=8", "-o", "width=8", "--checkpoint-every", "20", "--sample-every", "100",
            "--log-every", "5", "--threads", "1", "--quiet"]
WRITE_DELAY = 0.6  # seconds the targeted atomic write pauses before its rename, in write-kill trials
TRIALS: list[str] = []


def moment(name: str) -> random.Random:
    """The seeded random source of one trial (the same moments on every run of the test)."""
    return random.Random(f"crash-safety/{name}")


def start(module: str, args: list[str], slow_write: str | None = None) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [sys.executable, "-m", module, *args]
    if slow_write:  # widen the window of every write of this file
        command = [sys.executable, "-m", "tests.integration.slow_writes", str(WRITE_DELAY), slow_write, module, *args]
    return subprocess.Popen(command, cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, process: subprocess.Popen, timeout: float = 60.0) -> bool:
    """Poll ``condition`` every 5 ms; False if the process ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if process.poll() is not None:
            return condition()
        time.sleep(0.005)
    raise AssertionError("timed out waiting for the training process")


def kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)


def temp_files(run: Path, name: str = "") -> list[Path]:
    """Temporary files of atomic writes in progress (or left by a kill), of ``name`` if given."""
    return sorted(run.rglob(f".{name}*.tmp"))


def scales_done(run: Path) -> int:
    try:
        return json.loads((run / "config.json").read_text())["scales_done"]
    except (OSError, ValueError, KeyError):
        return -1


def zoo_step(run: Path) -> int:
    found = latest_checkpoint(run) if (run / "latest.json").is_file() else None
    return found[0] if found else 0


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("crash") / "img.png"
    iio.imwrite(path, blob_image(48, 64))
    return path


@pytest.fixture(scope="module")
def singan_reference(image, tmp_path_factory) -> dict[str, torch.Tensor]:
    run = tmp_path_factory.mktemp("reference") / "run"
    result = CliRunner().invoke(singan, ["train", str(image), "--out", str(run), *SINGAN_ARGS])
    assert result.exit_code == 0, result.output
    return load_tensors(run / "generators.safetensors")


@pytest.fixture(scope="module")
def zoo_reference(tmp_path_factory) -> dict[str, torch.Tensor]:
    run = tmp_path_factory.mktemp("reference") / "zoo"
    result = CliRunner().invoke(ganzoo, ["train", "dcgan", "--out", str(run), *ZOO_ARGS])
    assert result.exit_code == 0, result.output
    return load_tensors(run / "checkpoints" / f"step_{ZOO_STEPS:08d}" / "model.safetensors")


def check_singan_after_kill(run: Path, reference: dict[str, torch.Tensor]) -> str:
    """The folder loads its finished scales; --resume completes it to the uninterrupted model."""
    meta = read_meta(run)
    done, total = meta["scales_done"], meta["pyramid"].num_scales
    leftovers = len(temp_files(run))
    if done:
        model = load_model(run)
        assert model.num_trained == done
        assert torch.isfinite(generate(model, 1, seed=1)).all()
    result = CliRunner().invoke(singan, ["train", "--resume", str(run), "--threads", "1", "-q"])
    assert result.exit_code == 0, result.output
    assert load_model(run).num_trained == total and not temp_files(run)
    final = load_tensors(run / "generators.safetensors")
    assert final.keys() == reference.keys()
    identical = all(torch.equal(final[key], reference[key]) for key in reference)
    assert identical, "the resumed model differs from the uninterrupted one"
    rows = list(csv.DictReader((run / "log.csv").open()))
    assert [int(r["scale"]) for r in rows] == sorted(int(r["scale"]) for r in rows)
    assert len(rows) == len({(r["scale"], r["iter"]) for r in rows}) > 0  # every row once
    return f"found {done}/{total} scales done, {leftovers} temp file(s) left; resumed to {total}/{total}, identical"


def check_zoo_after_kill(run: Path, reference: dict[str, torch.Tensor], torn_row: bool = False) -> str:
    step = zoo_step(run)
    leftovers = len(temp_files(run))
    if torn_row:  # what a kill inside a log append could leave: a row without its end
        with (run / "log.csv").open("a") as log:
            log.write("5,0.0")
    if step:
        model, _, loaded_step = load_zoo_model(run)
        assert loaded_step == step and torch.isfinite(model.sample(2, torch.Generator().manual_seed(0))).all()
    result = CliRunner().invoke(ganzoo, ["train", "dcgan", "--out", str(run), "--resume", "--threads", "1",
                                         "--quiet"])
    assert result.exit_code == 0, result.output
    assert zoo_step(run) == ZOO_STEPS and not temp_files(run)
    final = load_tensors(run / "checkpoints" / f"step_{ZOO_STEPS:08d}" / "model.safetensors")
    assert all(torch.equal(final[key], reference[key]) for key in reference), "resumed model differs"
    rows = list(csv.reader((run / "log.csv").open()))
    assert all(len(row) == len(rows[0]) for row in rows)
    steps = [int(row[0]) for row in rows[1:]]
    assert steps == list(range(5, ZOO_STEPS + 1, 5)), steps  # every logged step once, none torn
    return f"found checkpoint at step {step}, {leftovers} temp file(s) left; resumed to step {ZOO_STEPS}, identical"


@pytest.mark.parametrize("trial", range(2))
def test_singan_sigkill_at_random_moment(trial, image, singan_reference, tmp_path):
    run = tmp_path / "run"
    delay = moment(f"singan/{trial}").uniform(0.5, 3.5)
    process = start("cli.singan", ["train", str(image), "--out", str(run), *SINGAN_ARGS])
    assert wait_for(lambda: scales_done(run) >= 0, process), process.communicate()[1]
    time.sleep(delay)
    kill(process)
    TRIALS.append(f"singan SIGKILL {delay:.2f} s into training: " + check_singan_after_kill(run, singan_reference))


@pytest.mark.parametrize("target", ["discriminators.safetensors", "config.json", PROGRESS_FILE])
def test_singan_sigkill_inside_a_checkpoint_write(target, image, singan_reference, tmp_path):
    run = tmp_path / "run"
    scale = moment(f"singan/{target}").randint(1, 2)  # the save after this scale (the progress file: in it)
    process = start("cli.singan", ["train", str(image), "--out", str(run), *SINGAN_ARGS, "--checkpoint-minutes", "0"],
                    slow_write=target)
    assert wait_for(lambda: scales_done(run) >= scale, process), process.communicate()[1]
    assert wait_for(lambda: bool(temp_files(run, target)), process), "the write was not seen"
    kill(process)
    assert scales_done(run) == scale  # killed before this scale's config.json was committed
    TRIALS.append(f"singan SIGKILL inside the write of {target} after scale {scale}: "
                  + check_singan_after_kill(run, singan_reference))


def test_singan_sigkill_inside_a_scale_continues_from_its_checkpoint(image, singan_reference, tmp_path):
    run = tmp_path / "run"
    process = start("cli.singan", ["train", str(image), "--out", str(run), *SINGAN_ARGS, "--checkpoint-minutes", "0"])
    # Wait until the progress file holds the scale in progress: just after a scale commits, the
    # previous scale's progress file is still there for a moment (removed after the commit).
    def inside_a_scale_after_its_checkpoint() -> bool:
        done = scales_done(run)
        return done >= 1 and progress_iteration(run, done) is not None

    assert wait_for(inside_a_scale_after_its_checkpoint, process), process.communicate()[1]
    kill(process)
    done = scales_done(run)
    saved = progress_iteration(run, done)
    # the kill may still land in that short window after a later commit: resume must work either way
    where = f"after its checkpoint at iteration {saved}" if saved is not None else "right after its commit"
    TRIALS.append(f"singan SIGKILL in scale {done} {where}: "
                  + check_singan_after_kill(run, singan_reference))


def test_singan_sigint_stops_cleanly_after_saving(image, singan_reference, tmp_path):
    run = tmp_path / "run"
    process = start("cli.singan", ["train", str(image), "--out", str(run), *SINGAN_ARGS])
    assert wait_for(lambda: scales_done(run) >= 1, process), process.communicate()[1]
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert process.returncode == 130 and len(lines) == 1, stderr
    done, total = scales_done(run), read_meta(run)["pyramid"].num_scales
    assert lines[0] == (f"Error: interrupted: {done} of {total} scales are saved in {run}; "
                        f"continue with: singan train --resume {run}")
    TRIALS.append(f"singan SIGINT during scale {done}: exit 130, one line; "
                  + check_singan_after_kill(run, singan_reference))


@pytest.mark.parametrize("trial", range(2))
def test_zoo_sigkill_at_random_moment(trial, zoo_reference, tmp_path):
    run = tmp_path / "zoo"
    delay = moment(f"zoo/{trial}").uniform(0.05, 1.5)
    process = start("cli.ganzoo", ["train", "dcgan", "--out", str(run), *ZOO_ARGS])
    assert wait_for(lambda: (run / "config.json").is_file(), process), process.communicate()[1]
    time.sleep(delay)
    kill(process)
    TRIALS.append(f"ganzoo SIGKILL {delay:.2f} s into training" + (" (+ a torn log row)" if trial else "") + ": "
                  + check_zoo_after_kill(run, zoo_reference, torn_row=trial == 1))


@pytest.mark.parametrize("target", ["model.safetensors", "latest.json"])
def test_zoo_sigkill_inside_a_checkpoint_write(target, zoo_reference, tmp_path):
    run = tmp_path / "zoo"
    after = 20 * moment(f"zoo/{target}").randint(1, 3)  # kill inside the checkpoint after this one
    process = start("cli.ganzoo", ["train", "dcgan", "--out", str(run), *ZOO_ARGS], slow_write=target)
    assert wait_for(lambda: zoo_step(run) >= after, process), process.communicate()[1]
    assert wait_for(lambda: bool(temp_files(run, target)), process), "the write was not seen"
    kill(process)
    assert zoo_step(run) == after
    TRIALS.append(f"ganzoo SIGKILL inside the write of {target} after the step-{after} checkpoint: "
                  + check_zoo_after_kill(run, zoo_reference))


def test_zoo_sigint_stops_cleanly_after_saving(zoo_reference, tmp_path):
    run = tmp_path / "zoo"
    process = start("cli.ganzoo", ["train", "dcgan", "--out", str(run), *ZOO_ARGS])
    assert wait_for(lambda: zoo_step(run) >= 20, process), process.communicate()[1]
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert process.returncode == 130 and len(lines) == 1, stderr
    step = zoo_step(run)
    assert lines[0] == (f"Error: interrupted; checkpoint saved at step {step} in {run}, "
                        "continue with --resume")
    TRIALS.append(f"ganzoo SIGINT at step {step}: exit 130, checkpoint at step {step}; "
                  + check_zoo_after_kill(run, zoo_reference))


def test_ctrl_c_stops_a_whole_folder_of_runs():
    """In folder mode a failed image is reported and skipped, but Ctrl-C ends the loop."""
    calls = []

    def work(name: str) -> str:
        calls.append(name)
        raise TrainingInterrupted("interrupted")

    with pytest.raises(TrainingInterrupted):
        run_each(["a", "b"], work)
    assert calls == ["a"]


def test_print_trials():
    """Runs last: the record of every trial above (visible with ``pytest -s``)."""
    print("\n" + "\n".join(f"- {line}" for line in TRIALS))
    assert TRIALS
