"""Checkpoints inside a SinGAN scale: an interrupted scale continues from its last checkpoint and
ends with the same weights, bit for bit, as an uninterrupted one."""

from __future__ import annotations

import csv
import io

import pytest
import torch

import singan_kit.architectures.singan.train as train_module
from ganbase.errors import UserError
from ganbase.io.checkpoint import load_tensors
from singan_kit.architectures import make_config
from singan_kit.architectures.lifecycle import create_run, interrupted, train
from singan_kit.architectures.scale_checkpoint import (
    PROGRESS_FILE,
    load_progress,
    progress_iteration,
)
from singan_kit.architectures.singan.train import SinGANTrainer

STOP_SCALE, STOP_ITERATION = 2, 27  # checkpoints at every block of 8 iterations: the last one is at 24


def config():
    return make_config("tiny", iters=40, fine_iters=None, seed=3)  # lr decay at iteration 32


def log_without_times(run) -> list[dict]:
    rows = list(csv.DictReader(io.StringIO((run / "log.csv").read_text())))
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def stop_once(monkeypatch, scale: int, iteration: int) -> None:
    """Make the fit of ``scale`` raise KeyboardInterrupt at ``iteration`` (once, not after resuming)."""
    fit_scale = train_module.fit_scale

    def fit_with_stop(*args, **kwargs):
        on_iteration = kwargs["on_iteration"]

        def maybe_stop(it):
            if kwargs["start"] is None and kwargs["desc"].startswith(f"scale {scale}/") and it == iteration:
                raise KeyboardInterrupt
            on_iteration(it)

        return fit_scale(*args, **{**kwargs, "on_iteration": maybe_stop})

    monkeypatch.setattr(train_module, "fit_scale", fit_with_stop)


@pytest.fixture
def uninterrupted(image_path, tmp_path):
    run = tmp_path / "full"
    train(image_path, run, config(), progress=False, threads=1, checkpoint_seconds=None)
    return run


def test_interrupted_scale_continues_bit_for_bit(image_path, tmp_path, uninterrupted, monkeypatch):
    run = tmp_path / "cut"
    create_run(image_path, run, config(), torch.device("cpu"))
    stop_once(monkeypatch, STOP_SCALE, STOP_ITERATION)
    with pytest.raises(KeyboardInterrupt):
        SinGANTrainer(run, "cpu", progress=False, threads=1, checkpoint_seconds=0.0).train()
    assert progress_iteration(run, STOP_SCALE) == 24
    message = str(interrupted(run))
    assert f"2 of 4 scales (and scale 2 up to iteration 24) are saved in {run}" in message

    resumed = train(None, run, resume=True, progress=False, threads=1, checkpoint_seconds=None)
    assert resumed.num_trained == 4 and not (run / PROGRESS_FILE).exists()  # removed once the scale is done
    full, cut = load_tensors(uninterrupted / "generators.safetensors"), load_tensors(run / "generators.safetensors")
    assert full.keys() == cut.keys()
    assert all(torch.equal(full[k], cut[k]) for k in full)
    assert log_without_times(run) == log_without_times(uninterrupted)  # rows before the stop are kept


def test_checkpoint_at_the_learning_rate_decay_in_the_coarsest_scale(image_path, tmp_path, uninterrupted, monkeypatch):
    run = tmp_path / "late"
    create_run(image_path, run, config(), torch.device("cpu"))
    stop_once(monkeypatch, 0, 37)  # last checkpoint at 32, where the decay happens; scale 0 has z_opt
    with pytest.raises(KeyboardInterrupt):
        SinGANTrainer(run, "cpu", progress=False, threads=1, checkpoint_seconds=0.0).train()
    assert progress_iteration(run, 0) == 32
    train(None, run, resume=True, progress=False, threads=1)
    full, cut = load_tensors(uninterrupted / "generators.safetensors"), load_tensors(run / "generators.safetensors")
    assert all(torch.equal(full[k], cut[k]) for k in full)


def test_stale_damaged_and_overwritten_progress(image_path, tmp_path, monkeypatch):
    run = tmp_path / "run"
    create_run(image_path, run, config(), torch.device("cpu"))
    stop_once(monkeypatch, 1, 20)
    with pytest.raises(KeyboardInterrupt):
        SinGANTrainer(run, "cpu", progress=False, threads=1, checkpoint_seconds=0.0).train()
    assert load_progress(run, 1).iteration == 16
    assert load_progress(run, 2) is None  # a file of another scale (a crash after its commit) is not used

    good = (run / PROGRESS_FILE).read_bytes()
    (run / PROGRESS_FILE).write_bytes(good[: len(good) // 2])
    with pytest.raises(UserError, match=f"damaged .*{PROGRESS_FILE}.*remove it to train scale 1 again"):
        train(None, run, resume=True, progress=False, threads=1)

    (run / PROGRESS_FILE).write_bytes(good)
    create_run(image_path, run, config(), torch.device("cpu"), overwrite=True)
    assert not (run / PROGRESS_FILE).exists()  # a new run never continues an old run's scale


def test_a_missing_progress_file_reads_as_none(tmp_path):
    # a progress file can vanish between two reads (removed after its scale commits): no exception
    assert progress_iteration(tmp_path, 0) is None
    assert load_progress(tmp_path, 0) is None
