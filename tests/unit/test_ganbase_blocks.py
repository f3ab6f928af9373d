"""Unit tests of ganbase's shared blocks, losses, checkpoints and device selection."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
import torch
from torch import nn

from ganbase.errors import UserError
from ganbase.io.checkpoint import (
    atomic_output,
    atomic_write_json,
    is_temp_file,
    load_tensors,
    read_json,
    save_tensors,
)
from ganbase.nn.batchnorm import BatchNorm2d
from ganbase.nn.blocks import ConvBlock, init_dcgan_weights
from ganbase.nn.discriminators import PatchDiscriminator
from ganbase.nn.losses import (
    HingeLoss,
    LSGANLoss,
    NonSaturatingLoss,
    R1Penalty,
    WGANGPLoss,
    WGANLoss,
)
from ganbase.runtime.device import resolve_device
from ganbase.runtime.threads import CoreMonitor, plan_threads, restored_threads


def test_conv_block_layers_and_shape():
    block = ConvBlock(3, 8)
    assert [type(m) for m in block] == [nn.Conv2d, BatchNorm2d, nn.LeakyReLU]
    assert isinstance(block[1], nn.BatchNorm2d)
    assert block[2].negative_slope == 0.2
    assert block(torch.randn(2, 3, 11, 13)).shape == (2, 8, 9, 11)


def test_dcgan_init_statistics():
    torch.manual_seed(0)
    conv = nn.Conv2d(64, 64, 3)
    bn = nn.BatchNorm2d(4096)
    init_dcgan_weights(conv)
    init_dcgan_weights(bn)
    assert conv.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert bn.weight.mean().item() == pytest.approx(1.0, abs=0.002)
    assert torch.count_nonzero(bn.bias) == 0


def test_patch_discriminator_is_fully_convolutional():
    critic = PatchDiscriminator(3, 16, num_layers=5)
    assert critic.receptive_field == 11
    assert critic(torch.randn(1, 3, 30, 40)).shape == (1, 1, 20, 30)
    assert critic(torch.randn(2, 3, 11, 11)).shape == (2, 1, 1, 1)


def test_losses_against_hand_computed_values():
    real = torch.tensor([2.0, 0.0])
    fake = torch.tensor([-1.0, 1.0])
    sp = lambda x: math.log1p(math.exp(x))  # softplus
    ns = NonSaturatingLoss()
    assert ns.discriminator_loss(real, fake).item() == pytest.approx(
        (sp(-2) + sp(0)) / 2 + (sp(-1) + sp(1)) / 2, rel=1e-6)
    assert ns.generator_loss(fake).item() == pytest.approx((sp(1) + sp(-1)) / 2, rel=1e-6)
    ls = LSGANLoss(a=0, b=1, c=1)
    assert ls.discriminator_loss(real, fake).item() == pytest.approx(0.5 * (1 + 1) / 2 + 0.5 * (1 + 1) / 2)
    assert ls.generator_loss(fake).item() == pytest.approx(0.5 * (4 + 0) / 2)
    w = WGANLoss()
    assert w.discriminator_loss(real, fake).item() == pytest.approx(0.0 - 1.0)
    assert w.generator_loss(fake).item() == pytest.approx(0.0)
    hinge = HingeLoss()
    assert hinge.discriminator_loss(real, fake).item() == pytest.approx((0 + 1) / 2 + (0 + 2) / 2)
    assert hinge.generator_loss(fake).item() == pytest.approx(0.0)


class LinearCritic(nn.Module):
    """D(x) = sum(w * x): its input gradient is w everywhere, so penalties are known in closed form."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight)

    def forward(self, x):
        return (x * self.weight).flatten(1).sum(1)


def test_gradient_penalty_closed_form():
    weight = torch.zeros(1, 2, 2, 2)
    weight[0, 0] = 3.0
    weight[0, 1] = 4.0  # per-pixel channel norm 5, whole-sample norm sqrt(4 * 25) = 10
    critic = LinearCritic(weight)
    real, fake = torch.randn(3, 2, 2, 2), torch.randn(3, 2, 2, 2)
    per_pixel = WGANGPLoss(weight=0.1, per_pixel=True).penalty(critic, real, fake)
    per_sample = WGANGPLoss(weight=10.0).penalty(critic, real, fake)
    assert per_pixel.item() == pytest.approx(0.1 * (5 - 1) ** 2)
    assert per_sample.item() == pytest.approx(10.0 * (10 - 1) ** 2)
    per_pixel.backward()
    assert critic.weight.grad is not None  # the penalty trains the critic (double backward)


def test_r1_penalty_closed_form_and_drift():
    critic = LinearCritic(torch.full((1, 1, 2, 2), 2.0))  # ||grad||^2 = 4 * 4 = 16
    assert R1Penalty(gamma=10.0).penalty(critic, torch.randn(5, 1, 2, 2)).item() == pytest.approx(80.0)
    assert R1Penalty(gamma=10.0, interval=4).penalty(critic, torch.randn(5, 1, 2, 2)).item() == pytest.approx(320.0)
    drift = WGANGPLoss(drift_weight=0.001)
    assert drift.discriminator_loss(torch.tensor([2.0]), torch.tensor([0.0])).item() == pytest.approx(-2 + 0.004)


def test_checkpoint_roundtrip_and_corruption(tmp_path):
    tensors = {"a": torch.arange(6.0).reshape(2, 3), "b": torch.ones(2, dtype=torch.int64)}
    save_tensors(tmp_path / "w.safetensors", tensors)
    loaded = load_tensors(tmp_path / "w.safetensors")
    assert all(torch.equal(loaded[k], v) for k, v in tensors.items())
    data = (tmp_path / "w.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="corrupt or truncated"):
        load_tensors(tmp_path / "cut.safetensors")
    with pytest.raises(UserError, match="missing"):
        load_tensors(tmp_path / "nope.safetensors")
    atomic_write_json(tmp_path / "c.json", {"x": 1})
    assert read_json(tmp_path / "c.json") == {"x": 1}
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(UserError, match="corrupt JSON"):
        read_json(tmp_path / "bad.json")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_atomic_output_renames_on_success_only(tmp_path):
    target = tmp_path / "clip.gif"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            assert is_temp_file(tmp) and Path(tmp).parent == tmp_path
            Path(tmp).write_bytes(b"half")
            raise RuntimeError("the encoder failed")
    assert target.read_bytes() == b"old" and sorted(tmp_path.iterdir()) == [target]
    with atomic_output(target) as tmp:
        Path(tmp).write_bytes(b"new")
    umask = os.umask(0)
    os.umask(umask)
    assert target.read_bytes() == b"new" and sorted(tmp_path.iterdir()) == [target]
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0o600


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(UserError):
        resolve_device("banana")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="CUDA is not available"):
            resolve_device("cuda:0")


def test_thread_plan():
    assert plan_threads(work=1_000, free_cores=2.0, max_threads=2) == 1
    assert plan_threads(work=1e9, free_cores=2.0, max_threads=2) == 2
    assert plan_threads(work=1e9, free_cores=1.0, max_threads=2) == 1
    assert plan_threads(work=1e9, free_cores=0.1, max_threads=2) == 1
    busy = CoreMonitor().other_busy_cores(min_window=0.05)
    assert busy >= 0.0


def test_restored_threads_gives_the_count_back():
    before = torch.get_num_threads()
    with restored_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), restored_threads():
        torch.set_num_threads(1)  # the block changes the count, then fails
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before
