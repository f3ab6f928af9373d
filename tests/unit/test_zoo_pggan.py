"""Progressive GAN: growth schedule, fade-in, resolution-dependent batches, mid-phase resume."""

from __future__ import annotations

import csv
import json
import math

import pytest
import torch
import torch.nn.functional as F

from ganbase.errors import UserError
from ganbase.io.checkpoint import load_tensors
from ganbase.zoo.data.datasets import DataConfig
from ganbase.zoo.inference.runs import latest_checkpoint, load_model
from ganbase.zoo.models import create_model
from ganbase.zoo.models.base import Batch, TrainingPhase
from ganbase.zoo.training.launch import resume_training, start_training
from ganbase.zoo.training.trainer import TrainConfig

TINY = {"latent_dim": 8, "fmap_base": 32, "fmap_max": 8, "phase_images": 16,
        "batch_sizes": (8, 4, 4), "mbstd_group": 2}
DATA = DataConfig("shapes:24", image_size=16)


def _config(steps: int) -> TrainConfig:
    return TrainConfig(steps=steps, batch_size=8, seed=5, ema_decay=0.9, checkpoint_every=100,
                       sample_every=100, log_every=1)


def test_schedule_is_a_pure_function_of_the_step():
    model = create_model("pggan", data_shape=(3, 16, 16), **TINY)
    # 4px: 16 images / batch 8 = 2 steps; then fade 8px, stabilize 8px, fade 16px, stabilize
    # 16px at 16 / 4 = 4 steps each, the last one open-ended
    phases = [model.training_phase(step) for step in range(20)]
    assert [p.name for p in phases[:3]] == ["stabilize 4px", "stabilize 4px", "fade in 8px"]
    assert [p.alpha for p in phases[2:6]] == [0.0, 0.25, 0.5, 0.75]
    assert [p.batch_size for p in phases[:3]] == [8, 8, 4]
    assert phases[6].name == "stabilize 8px" and phases[6].alpha == 1.0
    assert phases[10].name == "fade in 16px" and phases[10].level == 2
    assert phases[19].name == "stabilize 16px" and model.training_phase(10**9).index == 4
    with pytest.raises(UserError, match="batch_sizes needs 3"):
        create_model("pggan", data_shape=(3, 16, 16), batch_sizes=(8, 8))


def test_networks_fade_between_resolutions():
    torch.manual_seed(0)
    model = create_model("pggan", data_shape=(3, 16, 16), **TINY).eval()
    z = torch.randn(4, 8)
    low = model.generator(z, 0)
    faded_out = model.generator(z, 1, alpha=0.0)
    assert torch.allclose(faded_out, F.interpolate(low, scale_factor=2, mode="nearest"), atol=1e-6)
    assert model.generator(z, 2).shape == (4, 3, 16, 16)
    images = torch.rand(4, 3, 8, 8) * 2 - 1
    # alpha 0: the critic sees only the old 4x4 path on the downsampled image
    assert torch.allclose(model.discriminator(images, 1, 0.0),
                          model.discriminator(F.avg_pool2d(images, 2), 0), atol=1e-5)
    assert not torch.allclose(model.discriminator(images, 1, 1.0), model.discriminator(images, 1, 0.0))
    # reals are pooled to the phase's resolution and cross-faded like the generator
    model.enter_phase(TrainingPhase(1, "fade in 8px", 1, 0.0, 4))
    real = torch.rand(4, 3, 16, 16)
    pooled = F.avg_pool2d(real, 4)
    assert torch.allclose(model.real_data(Batch(real)), F.interpolate(pooled, scale_factor=2), atol=1e-6)
    model.enter_phase(TrainingPhase(2, "stabilize 8px", 1, 1.0, 4))
    assert torch.allclose(model.real_data(Batch(real)), F.avg_pool2d(real, 2))


def test_growing_run_then_mid_phase_resume_equals_uninterrupted(tmp_path):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    start_training("pggan", DATA, _config(13), straight, TINY, "cpu", quiet=True)
    with open(straight / "log.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    resolutions = [float(row["resolution"]) for row in rows]
    alphas = [float(row["alpha"]) for row in rows]
    assert resolutions == [4.0] * 2 + [8.0] * 8 + [16.0] * 3  # grew through two resolutions
    assert alphas[2:7] == [0.0, 0.25, 0.5, 0.75, 1.0]  # fade-in 0 -> 1, then stable
    assert alphas[10:13] == [0.0, 0.25, 0.5]
    assert all(math.isfinite(float(row[key])) for row in rows for key in ("d_loss", "g_loss", "penalty"))

    meta = json.loads((latest_checkpoint(straight)[1] / "training_state.json").read_text())
    # resolution-dependent batches: 2 steps of 8 at 4px, then 11 of 4 = 60 images of 24
    assert (meta["data_stream"]["epoch"], meta["data_stream"]["position"]) == (2, 12)

    start_training("pggan", DATA, _config(12), resumed, TINY, "cpu", quiet=True)  # stops mid-fade
    model, _, _ = load_model(resumed)
    assert (int(model.level), float(model.alpha)) == (2, 0.25)  # the checkpoint knows its phase
    assert model.sample(2, torch.Generator().manual_seed(0)).shape == (2, 3, 16, 16)
    resume_training(resumed, steps=13, device="cpu", quiet=True)
    for name in ("model", "ema", "training_state"):
        a = load_tensors(latest_checkpoint(straight)[1] / f"{name}.safetensors")
        b = load_tensors(latest_checkpoint(resumed)[1] / f"{name}.safetensors")
        assert a.keys() == b.keys()
        assert all(torch.equal(a[key], b[key]) for key in a), name
    assert float(load_model(resumed)[0].alpha) == 0.5
