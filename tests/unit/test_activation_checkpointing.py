"""Activation checkpointing (``--checkpoint-activations``, issue 23): the same gradients, the
gradient penalty's double backward included, batch-norm statistics counted once, less memory kept
for backward, and a training run equal to one without it up to float rounding."""

from __future__ import annotations

import copy

import imageio.v3 as iio
import pytest
import torch
from torch.utils.checkpoint import checkpoint

from ganbase.nn.blocks import activations_recomputed, recomputed_activations
from ganbase.nn.discriminators import PatchDiscriminator
from ganbase.nn.losses import WGANGPLoss
from singan_kit.api import train_run
from singan_kit.architectures import make_config
from singan_kit.architectures.singan.model import ScaleGenerator
from singan_kit.training_memory import OVERHEAD_BYTES, training_bytes
from tests.conftest import blob_image


def _critic_and_generator_step(generator, critic, real, noise, prev, recompute: bool):
    """One WGAN-GP critic step and one generator backward; returns everything they change."""
    generator, critic = copy.deepcopy(generator), copy.deepcopy(critic)
    optimizer = torch.optim.SGD(critic.parameters(), lr=0.1)
    with recomputed_activations(recompute):
        assert activations_recomputed() is recompute
        fake = generator(noise + prev, prev)
        losses = WGANGPLoss(weight=0.1, per_pixel=True).critic_step(
            critic, optimizer, real, fake, torch.tensor([0.3], dtype=real.dtype))
        g_loss = -critic(fake).mean() + ((generator(noise, prev) - real) ** 2).mean()
        g_loss.backward()
    tensors = [p.detach().clone() for p in critic.parameters()] + [p.grad.clone() for p in generator.parameters()]
    buffers = [b.clone() for b in critic.buffers()] + [b.clone() for b in generator.buffers()]
    return tensors, buffers, [value.detach() for value in losses]


@pytest.mark.parametrize("dtype,tolerance", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_recomputed_activations_give_the_same_wgan_gp_gradients(dtype, tolerance):
    torch.manual_seed(0)
    generator = ScaleGenerator(8).to(dtype)
    critic = PatchDiscriminator(3, 8, 5, 3).to(dtype)
    real, noise, prev = (torch.randn(1, 3, 22, 30, dtype=dtype) for _ in range(3))
    kept, kept_buffers, kept_losses = _critic_and_generator_step(generator, critic, real, noise, prev, False)
    redone, redone_buffers, redone_losses = _critic_and_generator_step(generator, critic, real, noise, prev, True)
    assert len(kept) == len(redone) > 20
    for a, b in zip(kept + kept_losses, redone + redone_losses):
        assert (a - b).abs().max().item() <= tolerance
    # running statistics and batch counts updated once per forward, not again when recomputed
    for a, b in zip(kept_buffers, redone_buffers):
        assert a.dtype == b.dtype and (a - b).abs().max().item() <= tolerance
    assert any(b.dtype == torch.long and b.item() > 0 for b in redone_buffers)
    # it stepped: the first conv's weight moved (not its bias, whose gradient the batch norm after it
    # cancels: exactly zero in float64 on some CPUs)
    assert not torch.equal(kept[0], next(critic.parameters()))


def _saved_bytes(module, inputs, recompute: bool) -> int:
    """Bytes the autograd graph of one forward keeps for backward (outside checkpointed regions)."""
    saved = []

    def pack(tensor):
        saved.append(tensor.numel() * tensor.element_size())
        return tensor

    with recomputed_activations(recompute), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        module(*inputs).sum()
    return sum(saved)


def test_recomputed_blocks_keep_only_their_inputs():
    generator = ScaleGenerator(32)
    inputs = (torch.randn(1, 3, 40, 40), torch.randn(1, 3, 40, 40))
    kept, redone = _saved_bytes(generator, inputs, False), _saved_bytes(generator, inputs, True)
    assert redone < kept / 2.5  # one tensor per block instead of the conv, norm and activation outputs
    with torch.no_grad(), recomputed_activations():  # inference: nothing to checkpoint
        assert torch.equal(generator(*inputs), generator(*inputs))


def test_recomputed_training_estimate_known_answer():
    # 6 passes x 1.2 tensors x 4 hidden layers x 128 filters x 188 x 250 px x 4 bytes, + weights, + overhead
    assert training_bytes(188, 250, 128, 5, recomputed=True) == 693_043_200 + 16 * 1_474_560 + OVERHEAD_BYTES
    assert training_bytes(188, 250, 128, 5, recomputed=True) < training_bytes(188, 250, 128, 5)


def test_a_run_with_recomputed_activations_matches_one_without(tmp_path, monkeypatch):
    """Bit for bit when the critic keeps one backward pass: the recomputation itself changes no
    number. (With two passes, the default under checkpointing, the gradients agree to rounding, as
    the test above shows, and Adam's sign-like first steps let that rounding grow over a run.)"""
    import ganbase.nn.blocks
    import ganbase.nn.losses

    iio.imwrite(tmp_path / "photo.png", blob_image(24, 30, seed=2))
    config = make_config("tiny", iters=6, seed=4)
    kept = train_run(tmp_path / "photo.png", tmp_path / "kept", config, progress=False)
    monkeypatch.setattr(ganbase.nn.losses, "activations_recomputed", lambda: False)
    calls = []

    def counted_checkpoint(*args, **kwargs):
        calls.append(1)
        return checkpoint(*args, **kwargs)

    monkeypatch.setattr(ganbase.nn.blocks, "checkpoint", counted_checkpoint)
    redone = train_run(tmp_path / "photo.png", tmp_path / "redone", config, progress=False,
                       checkpoint_activations=True)
    assert not activations_recomputed()  # the setting does not outlive training
    assert len(calls) > 100  # every block of every fit went through the checkpoint
    assert kept.num_trained == redone.num_trained >= 2
    for a, b in zip(kept.state_dict().values(), redone.state_dict().values()):
        assert torch.equal(a, b)
