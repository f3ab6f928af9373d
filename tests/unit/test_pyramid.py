"""Unit tests of SinGAN's pyramid rule and the MATLAB-style resize."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganbase.errors import UserError
from singan_kit.imresize import imresize
from singan_kit.pyramid import Upsampling, build_pyramid, compute_pyramid


def reference_sizes(height, width, min_size=25, max_size=250, f0=0.75):
    """The official rule, written out independently from the reference notes."""
    scale1 = min(max_size / max(height, width), 1)
    num_scales = math.ceil(math.log(min_size / min(height, width), f0)) + 1
    stop = num_scales - math.ceil(math.log(min(max_size, max(height, width)) / max(height, width), f0))
    h, w = round(height * scale1, 6), round(width * scale1, 6)
    h, w = math.ceil(h), math.ceil(w)
    factor = (min_size / min(h, w)) ** (1 / stop)
    sizes = []
    for n in range(stop + 1):
        s = factor ** (stop - n)
        sizes.append((math.ceil(round(h * s, 6)), math.ceil(round(w * s, 6))))
    return factor, sizes


def test_balloons_matches_official_sizes():
    pyramid = compute_pyramid(186, 248)
    assert pyramid.num_scales == 9
    assert pyramid.scale_factor == pytest.approx(0.778, abs=1e-3)
    assert pyramid.sizes == ((25, 34), (33, 43), (42, 56), (54, 71), (69, 91), (88, 117), (113, 151),
                             (145, 193), (186, 248))


@pytest.mark.parametrize("shape", [(186, 248), (400, 300), (250, 250), (60, 45), (3000, 4000),
                                   (1080, 1920), (120, 80), (512, 512)])
def test_sizes_match_reference_rule(shape):
    pyramid = compute_pyramid(*shape)
    factor, sizes = reference_sizes(*shape)
    assert pyramid.scale_factor == pytest.approx(factor, rel=1e-9)
    assert list(pyramid.sizes) == sizes
    assert min(pyramid.sizes[0]) == 25  # coarsest shorter side is exactly min_size
    assert max(pyramid.sizes[-1]) == min(250, max(shape))


def test_huge_image_is_downscaled_to_max_size():
    pyramid = compute_pyramid(3000, 4000)
    assert pyramid.resize_factor == pytest.approx(250 / 4000)
    assert pyramid.finest_size == (188, 250)


def test_tiny_image_single_and_few_scales():
    assert compute_pyramid(25, 40).sizes == ((25, 40),)
    pyramid = compute_pyramid(30, 30)
    assert pyramid.sizes[0] == (25, 25) and pyramid.sizes[-1] == (30, 30)


@pytest.mark.parametrize("shape", [(20, 100), (24, 24)])
def test_too_small_image_is_rejected(shape):
    with pytest.raises(UserError, match="min_size"):
        compute_pyramid(*shape)


def test_extreme_aspect_ratio_is_rejected_with_hint():
    with pytest.raises(UserError, match="--max-size"):
        compute_pyramid(4000, 100)


def test_matlab_bicubic_known_values():
    # MATLAB: imresize([1 2 3 4], 0.5) -> [1.4609 3.5391] (anti-aliased bicubic, symmetric border).
    row = torch.tensor([[[[1.0, 2.0, 3.0, 4.0]]]])
    out = imresize(row, size=(1, 2), scale=None)
    assert out.flatten().tolist() == pytest.approx([1.4609, 3.5391], abs=1e-4)


def test_resize_preserves_constants_and_identity():
    constant = torch.full((2, 3, 37, 51), 0.25)
    assert torch.allclose(imresize(constant, 0.43), torch.full((2, 3, 16, 22), 0.25), atol=1e-6)
    assert torch.allclose(imresize(constant, 1.7), torch.full((2, 3, 63, 87), 0.25), atol=1e-6)
    image = torch.rand(1, 3, 20, 30)
    assert torch.equal(imresize(image, 1.0), image)


def test_upsample_to_crops_to_next_scale():
    pyramid = compute_pyramid(186, 248)
    coarse = torch.rand(1, 3, *pyramid.sizes[2])
    up = Upsampling(pyramid.scale_factor)(coarse, pyramid.sizes[3])
    assert tuple(up.shape[-2:]) == pyramid.sizes[3]


def test_build_pyramid_shapes_and_range():
    image = torch.rand(1, 3, 120, 160) * 2 - 1
    pyramid = compute_pyramid(120, 160, min_size=20, max_size=100)
    levels = build_pyramid(image, pyramid)
    assert [tuple(level.shape[-2:]) for level in levels] == list(pyramid.sizes)
    assert all(level.min() >= -1 and level.max() <= 1 for level in levels)
    # Coarser levels are smooth versions of the same image: their means agree.
    means = np.array([level.mean().item() for level in levels])
    assert np.ptp(means) < 0.02
