"""Shared Progressive GAN / StyleGAN / StyleGAN2 layers against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from ganbase.nn.style_blocks import (
    AdaIN,
    EqualConv2d,
    EqualLinear,
    MinibatchStdDev,
    ModulatedConv2d,
    NoiseInjection,
    PixelNorm,
    modulate_weights,
)


def test_equal_linear_scales_weights_at_run_time():
    layer = EqualLinear(4, 1, gain=1.0)
    with torch.no_grad():
        layer.weight.fill_(1.0)
    # He constant 1 / sqrt(4) = 0.5: (1 + 2 + 3 + 4) * 0.5 = 5
    assert layer(torch.tensor([[1.0, 2.0, 3.0, 4.0]])).item() == pytest.approx(5.0)
    slow = EqualLinear(4, 1, gain=1.0, lr_mul=0.01, bias_init=1.0)
    assert slow.bias.item() == pytest.approx(100.0)  # stored / lr_mul, used * lr_mul
    with torch.no_grad():
        slow.weight.fill_(100.0)
    assert slow(torch.tensor([[1.0, 2.0, 3.0, 4.0]])).item() == pytest.approx(6.0)
    fresh = EqualLinear(256, 512)
    assert fresh.weight.std().item() == pytest.approx(1.0, abs=0.02)  # stored weights are N(0, 1)


def test_equal_conv_uses_he_gain():
    conv = EqualConv2d(4, 1, 1)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    x = torch.arange(4.0).reshape(1, 4, 1, 1)  # channel sum 6
    assert conv(x).item() == pytest.approx(math.sqrt(2.0) / 2.0 * 6.0)
    assert EqualConv2d(3, 5, 3)(torch.zeros(2, 3, 7, 7)).shape == (2, 5, 7, 7)


def test_pixel_norm_gives_unit_mean_square_per_pixel():
    x = torch.tensor([3.0, 4.0]).reshape(1, 2, 1, 1)
    out = PixelNorm()(x).flatten()
    assert out.tolist() == pytest.approx([3 / math.sqrt(12.5), 4 / math.sqrt(12.5)])
    many = PixelNorm()(torch.randn(3, 8, 5, 5) * 7)
    assert torch.allclose(many.pow(2).mean(1), torch.ones(3, 5, 5), atol=1e-5)


def test_minibatch_stddev_groups_samples_like_the_official_code():
    x = torch.tensor([0.0, 0.0, 2.0, 4.0]).reshape(4, 1, 1, 1)
    out = MinibatchStdDev(group_size=2)(x)
    assert out.shape == (4, 2, 1, 1)
    assert torch.equal(out[:, :1], x)
    # groups are samples {0, 2} (values 0, 2 -> std 1) and {1, 3} (values 0, 4 -> std 2)
    assert out[:, 1].flatten().tolist() == pytest.approx([1.0, 2.0, 1.0, 2.0])
    image = torch.randn(8, 3, 4, 4)
    assert torch.equal(MinibatchStdDev(4)(image)[:, 3, 0, 0], MinibatchStdDev(4)(image)[:, 3, 3, 3])


def test_adain_output_has_the_styles_mean_and_std():
    adain = AdaIN(channels=2, w_dim=3)
    with torch.no_grad():
        adain.style.weight.zero_()
        adain.style.bias.copy_(torch.tensor([2.0, 0.5, 5.0, -1.0]))  # scales 2, 0.5; shifts 5, -1
    x = torch.randn(3, 2, 8, 8) * 4 + 9
    out = adain(x, torch.randn(3, 3))
    assert torch.allclose(out.mean((2, 3)), torch.tensor([5.0, -1.0]).expand(3, 2), atol=1e-4)
    assert torch.allclose(out.std((2, 3), unbiased=False), torch.tensor([2.0, 0.5]).expand(3, 2),
                          atol=1e-4)
    assert AdaIN(4, 3).style.bias[:4].tolist() == [1.0] * 4  # fresh scales start at 1


def test_demodulation_hand_computed_and_unit_norm():
    weight = torch.tensor([3.0, 4.0]).reshape(1, 2, 1, 1)
    styles = torch.tensor([[1.0, 1.0], [2.0, 0.5]])
    out = modulate_weights(weight, styles).flatten(1)
    assert out[0].tolist() == pytest.approx([0.6, 0.8])
    assert out[1].tolist() == pytest.approx([6 / math.sqrt(40), 2 / math.sqrt(40)])
    assert modulate_weights(weight, styles, demodulate=False).flatten(1)[1].tolist() == [6.0, 2.0]
    big = modulate_weights(torch.randn(5, 4, 3, 3), torch.rand(2, 4) + 0.1)
    norms = big.pow(2).sum(dim=(2, 3, 4)).sqrt()
    assert torch.allclose(norms, torch.ones(2, 5), atol=1e-5)


def test_modulated_conv_equals_a_per_sample_convolution():
    torch.manual_seed(0)
    conv = ModulatedConv2d(3, 4, 3, w_dim=5)
    x, w = torch.randn(2, 3, 6, 6), torch.randn(2, 5)
    out = conv(x, w)
    styles = conv.affine(w)
    for index in range(2):
        kernel = modulate_weights(conv.weight * conv.scale, styles[index:index + 1])[0]
        expected = F.conv2d(x[index:index + 1], kernel, padding=1)
        assert torch.allclose(out[index:index + 1], expected, atol=1e-5)
    assert ModulatedConv2d(3, 4, 3, 5, upsample=True)(x, w).shape == (2, 4, 12, 12)


def test_noise_injection_scales_noise_per_channel():
    layer = NoiseInjection(3)
    x = torch.zeros(2, 3, 2, 2)
    assert torch.equal(layer(x), x)  # scales start at zero
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([0.0, 1.0, 2.0]).reshape(1, 3, 1, 1))
    out = layer(x, torch.ones(2, 1, 2, 2))
    assert out[0, :, 0, 0].tolist() == [0.0, 1.0, 2.0]
    fresh = layer(x)  # draws its own noise
    assert not torch.equal(fresh[:, 1], torch.zeros(2, 2, 2))
