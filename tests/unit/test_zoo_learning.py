"""Learning test: ``gan`` on the 8-Gaussian ring must cover most modes (seeded, a few seconds).

An untrained or mode-collapsed generator fails: we require at least 6 of the 8 modes to hold
at least 1% of the samples each, and at least 60% of all samples to lie within 0.2 (10 standard
deviations) of a mode centre, with the modes 1.53 apart.
"""

from __future__ import annotations

import torch

from ganbase.zoo.data.datasets import DataConfig
from ganbase.zoo.data.synthetic import mode_centres
from ganbase.zoo.inference.runs import load_model
from ganbase.zoo.inference.sampling import draw_samples
from ganbase.zoo.models import create_model
from ganbase.zoo.training.launch import start_training
from ganbase.zoo.training.trainer import TrainConfig


def _coverage(samples: torch.Tensor) -> tuple[int, float]:
    distance, nearest = torch.cdist(samples, mode_centres()).min(1)
    close = distance < 0.2
    counts = torch.bincount(nearest[close], minlength=8)
    return int((counts >= 0.01 * len(samples)).sum()), close.float().mean().item()


def test_gan_covers_the_gaussian_ring(tmp_path):
    options = {"hidden": (128, 128), "latent_dim": 16, "dropout": 0.0, "lr": 1e-3}
    config = TrainConfig(steps=2000, batch_size=128, seed=0, sample_every=2000,
                         checkpoint_every=2000, log_every=100)
    start_training("gan", DataConfig("gaussians"), config, tmp_path / "run", options, "cpu", quiet=True)
    model = load_model(tmp_path / "run")[0]

    torch.manual_seed(0)
    untrained = create_model("gan", data_shape=(2,), **options).eval()
    untrained_modes, untrained_close = _coverage(untrained.sample(2000, torch.Generator().manual_seed(1)))
    assert untrained_modes < 6 and untrained_close < 0.6  # the criterion is not met by chance

    modes, close_fraction = _coverage(draw_samples(model, 2000, seed=1))
    assert modes >= 6, f"only {modes} of 8 modes covered"
    assert close_fraction >= 0.6, f"only {close_fraction:.0%} of samples near a mode"
