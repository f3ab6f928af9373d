"""Checkpoint/resume tests: a resumed run equals an uninterrupted one, bit for bit."""

from __future__ import annotations

import csv
import json
import signal

import pytest
import torch

from ganbase.errors import UserError
from ganbase.io.checkpoint import load_tensors
from ganbase.zoo.data.datasets import DataConfig
from ganbase.zoo.inference.runs import latest_checkpoint, load_model
from ganbase.zoo.models import get_model_class
from ganbase.zoo.training.launch import resume_training, start_training
from ganbase.zoo.training.trainer import TrainConfig, TrainingInterrupted

DATA = DataConfig("digits:48", image_size=16)
OPTIONS = {"width": 4, "latent_dim": 8}


def _config(steps: int, schedule: str) -> TrainConfig:
    return TrainConfig(steps=steps, batch_size=8, seed=3, ema_decay=0.9, lr_schedule=schedule,
                       checkpoint_every=2, sample_every=2, log_every=1)


def _final_tensors(run):
    step, folder = latest_checkpoint(run)
    tensors = {}
    for name in ("model", "ema", "training_state"):
        tensors.update({f"{name}/{key}": value
                        for key, value in load_tensors(folder / f"{name}.safetensors").items()})
    meta = json.loads((folder / "training_state.json").read_text())
    return step, tensors, meta


def _interrupt_at_call(monkeypatch, model_class, call: int) -> None:
    """Deliver a real SIGINT (Ctrl-C) during the ``call``-th train_step."""
    original, calls = model_class.train_step, []

    def train_step(self, batches, context):
        calls.append(1)
        if len(calls) == call:
            signal.raise_signal(signal.SIGINT)
        return original(self, batches, context)

    monkeypatch.setattr(model_class, "train_step", train_step)


@pytest.mark.parametrize("model_name, how", [("dcgan", "ctrl-c"), ("wgan-gp", "more-steps")])
def test_resume_equals_uninterrupted(model_name, how, tmp_path, monkeypatch):
    straight, interrupted = tmp_path / "straight", tmp_path / "interrupted"
    schedule = "linear" if how == "ctrl-c" else "constant"  # linear depends on the total steps
    start_training(model_name, DATA, _config(5, schedule), straight, OPTIONS, "cpu", quiet=True)
    if how == "ctrl-c":
        with monkeypatch.context() as patch:
            _interrupt_at_call(patch, get_model_class(model_name), call=3)
            with pytest.raises(TrainingInterrupted, match="step 3"):
                start_training(model_name, DATA, _config(5, schedule), interrupted, OPTIONS, "cpu",
                               quiet=True)
        steps = None
    else:
        start_training(model_name, DATA, _config(3, schedule), interrupted, OPTIONS, "cpu", quiet=True)
        steps = 5
    assert latest_checkpoint(interrupted)[0] == 3
    resume_training(interrupted, steps=steps, device="cpu", quiet=True)

    step_a, tensors_a, meta_a = _final_tensors(straight)
    step_b, tensors_b, meta_b = _final_tensors(interrupted)
    assert step_a == step_b == 5
    assert tensors_a.keys() == tensors_b.keys()
    assert any(key.startswith("ema/") for key in tensors_a)
    assert any("exp_avg" in key for key in tensors_a)
    for key in tensors_a:
        assert torch.equal(tensors_a[key], tensors_b[key]), key
    assert meta_a["data_stream"] == meta_b["data_stream"]
    assert meta_a["schedulers"] == meta_b["schedulers"]
    rows_a = list(csv.DictReader((straight / "log.csv").open()))
    rows_b = list(csv.DictReader((interrupted / "log.csv").open()))
    assert [r["step"] for r in rows_b] == ["1", "2", "3", "4", "5"]
    for row_a, row_b in zip(rows_a, rows_b):
        assert row_a["g_loss"] == row_b["g_loss"] and row_a["lr"] == row_b["lr"]
    sample_a = load_model(straight)[0].sample(4, torch.Generator().manual_seed(0))
    sample_b = load_model(interrupted)[0].sample(4, torch.Generator().manual_seed(0))
    assert torch.equal(sample_a, sample_b)


def test_resume_drops_log_rows_after_the_checkpoint(tmp_path):
    run = tmp_path / "run"
    start_training("gan", DATA, TrainConfig(steps=4, batch_size=8, checkpoint_every=2, log_every=1),
                   run, {"hidden": (8,)}, "cpu", quiet=True)
    # simulate a crash after step 4 was logged but before its checkpoint
    (run / "latest.json").write_text(json.dumps({"step": 2, "checkpoint": "checkpoints/step_00000002"}))
    (run / "checkpoints" / "step_00000004").rename(run / "checkpoints" / "step_00000002")
    resume_training(run, steps=4, device="cpu", quiet=True)
    assert [r["step"] for r in csv.DictReader((run / "log.csv").open())] == ["1", "2", "3", "4"]


def test_old_checkpoints_are_pruned_and_refusing_to_overwrite(tmp_path):
    run = tmp_path / "run"
    start_training("gan", DATA, TrainConfig(steps=4, batch_size=8, checkpoint_every=1),
                   run, {"hidden": (8,)}, "cpu", quiet=True)
    assert [p.name for p in (run / "checkpoints").iterdir()] == ["step_00000004"]
    with pytest.raises(UserError, match="already holds a run"):
        start_training("gan", DATA, TrainConfig(steps=4), run, {}, "cpu", quiet=True)
    with pytest.raises(UserError, match="below the checkpoint"):
        resume_training(run, steps=2, device="cpu", quiet=True)


def test_corrupt_checkpoint_is_a_user_error(tmp_path):
    run = tmp_path / "run"
    start_training("gan", DATA, TrainConfig(steps=1, batch_size=8), run, {"hidden": (8,)}, "cpu",
                   quiet=True)
    weights = latest_checkpoint(run)[1] / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(UserError, match="corrupt or truncated"):
        load_model(run)
    with pytest.raises(UserError, match="corrupt or truncated"):
        resume_training(run, steps=2, device="cpu", quiet=True)
    with pytest.raises(UserError, match="not a ganzoo run folder"):
        load_model(tmp_path)
