"""Known-answer tests of ganbase.metrics.image_metrics, ganbase.metrics.swd and ganbase.metrics.inception (no weights needed, seconds)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.metrics import structural_similarity

from ganbase.errors import UserError
from ganbase.metrics import features as feature_metrics
from ganbase.metrics import image_metrics as metrics
from ganbase.metrics import swd
from ganbase.metrics.inception import (
    InceptionFeatures,
    fid_and_kid,
    load_inception,
    sifid,
)
from tests.conftest import blob_image


def texture(height: int = 64, width: int = 80, seed: int = 0) -> torch.Tensor:
    """A textured test image ``[1, 3, H, W]`` in [-1, 1]: blobs plus stripes plus fine noise."""
    rng = np.random.default_rng(seed)
    base = blob_image(height, width, seed).astype(np.float32) / 127.5 - 1.0
    yy, xx = np.mgrid[0:height, 0:width]
    stripes = 0.3 * np.sin(xx * 0.9 + yy * 0.4)[..., None]
    image = np.clip(base + stripes + 0.1 * rng.standard_normal(base.shape), -1, 1)
    return torch.from_numpy(image.astype(np.float32)).permute(2, 0, 1)[None]


def shuffle_blocks(image: torch.Tensor, block: int, seed: int = 0) -> torch.Tensor:
    _, channels, height, width = image.shape
    rows, cols = height // block, width // block
    tiles = image[:, :, :rows * block, :cols * block].reshape(channels, rows, block, cols, block)
    tiles = tiles.permute(1, 3, 0, 2, 4).reshape(rows * cols, channels, block, block)
    tiles = tiles[torch.randperm(rows * cols, generator=torch.Generator().manual_seed(seed))]
    out = image.clone()
    out[:, :, :rows * block, :cols * block] = (tiles.reshape(rows, cols, channels, block, block)
                                               .permute(2, 0, 3, 1, 4).reshape(1, channels, rows * block, cols * block))
    return out


def gaussian_blur(image: torch.Tensor, sigma: float = 2.0) -> torch.Tensor:
    radius = int(3 * sigma)
    weights = torch.exp(-torch.arange(-radius, radius + 1.0) ** 2 / (2 * sigma**2))
    row = (weights / weights.sum()).view(1, 1, 1, -1).repeat(3, 1, 1, 1)  # [3, 1, 1, K]
    x = F.conv2d(F.pad(image, [radius] * 4, mode="reflect"), row, groups=3)
    return F.conv2d(x, row.transpose(2, 3), groups=3)


REAL = texture()


def test_laplacian_pyramid_reconstructs_the_image():
    levels = swd.laplacian_pyramid(REAL, 3)
    assert [tuple(level.shape[-2:]) for level in levels] == [(64, 80), (32, 40), (16, 20)]
    image = levels[-1]
    for band in reversed(levels[:-1]):
        up = swd._pyr_up_width(image, band.shape[-1]).transpose(-1, -2)
        image = band + swd._pyr_up_width(up, band.shape[-2]).transpose(-1, -2)
    assert torch.allclose(image, REAL, atol=1e-5)
    constant = torch.full((2, 3, 33, 35), 0.25)
    assert swd.laplacian_pyramid(constant, 2)[0].abs().max() < 1e-6  # no band-pass energy


def test_sample_patches_match_unfold():
    images = torch.randn(3, 2, 12, 15)
    every = metrics.sample_patches(images, None, torch.Generator())
    assert every.shape == (3 * 6 * 9, 2, 7, 7)
    assert torch.equal(every[6 * 9 + 4], images[1, :, 0:7, 4:11])
    some = metrics.sample_patches(images, 20, torch.Generator().manual_seed(1))
    unique = {tuple(p.flatten().tolist()) for p in some}
    all_patches = {tuple(p.flatten().tolist()) for p in every}
    assert len(unique) == 20 and unique <= all_patches


def test_swd_identical_is_zero_and_symmetric():
    assert swd.patch_swd(REAL, REAL) == 0.0
    other = texture(seed=3)
    a, b = torch.randn(500, 20), torch.randn(400, 20) + 0.3
    assert swd.sliced_wasserstein(a, b) == pytest.approx(swd.sliced_wasserstein(b, a), rel=1e-6)
    assert swd.sliced_wasserstein(a, a) == 0.0
    batch_a, batch_b = torch.cat([REAL, other]), torch.cat([other, REAL.flip(-1)])
    forward, backward = swd.multiscale_swd(batch_a, batch_b), swd.multiscale_swd(batch_b, batch_a)
    assert set(forward) == {"swd_80", "swd_40", "swd_20", "swd"}
    assert forward["swd"] == pytest.approx(backward["swd"], rel=1e-6)
    assert swd.multiscale_swd(batch_a, batch_a)["swd"] == 0.0


def test_sliced_wasserstein_of_shifted_gaussians():
    # in 1-D every direction is +-1, and W1 of N(0,1) and N(0.5,1) is 0.5
    a = torch.randn(20000, 1, generator=torch.Generator().manual_seed(0))
    assert swd.sliced_wasserstein(a, a + 0.5, num_directions=4) == pytest.approx(0.5, abs=1e-5)


def test_swd_shuffled_patches_closer_than_blurred():
    shuffled = shuffle_blocks(REAL, 16).repeat(4, 1, 1, 1)
    blurred = gaussian_blur(REAL).repeat(4, 1, 1, 1)
    swd_shuffled, swd_blurred = swd.patch_swd(REAL, shuffled), swd.patch_swd(REAL, blurred)
    assert 0 < swd_shuffled < swd_blurred
    noisy = (REAL + 0.3 * torch.randn(4, *REAL.shape[1:], generator=torch.Generator().manual_seed(0))).clamp(-1, 1)
    assert swd.patch_swd(REAL, noisy) > swd_shuffled


def reference_patch_swd(real: torch.Tensor, samples: torch.Tensor, seed: int) -> float:
    """patch_swd's definition written out, for images small enough that every patch position is used:
    per Laplacian level, all 7x7 patches, normalised per channel by the real patches' mean and std,
    sliced Wasserstein over 512 directions drawn from ``seed + level``; mean over levels, x10^3."""
    levels = swd.pyramid_levels(*real.shape[-2:])
    distances = []
    for level, (real_band, fake_band) in enumerate(zip(swd.laplacian_pyramid(real, levels),
                                                       swd.laplacian_pyramid(samples, levels))):
        real_patches = real_band.unfold(2, 7, 1).unfold(3, 7, 1).permute(0, 2, 3, 1, 4, 5).reshape(-1, 3, 7, 7)
        fake_patches = fake_band.unfold(2, 7, 1).unfold(3, 7, 1).permute(0, 2, 3, 1, 4, 5).reshape(-1, 3, 7, 7)
        mean = real_patches.mean((0, 2, 3), keepdim=True)
        std = real_patches.std((0, 2, 3), keepdim=True, unbiased=False)
        distances.append(swd.sliced_wasserstein(((real_patches - mean) / std).flatten(1),
                                                ((fake_patches - mean) / std).flatten(1), 512, seed + level))
    return 1e3 * sum(distances) / len(distances)


def test_patch_swd_matches_its_definition_for_each_seed():
    real, samples = texture(32, 40), shuffle_blocks(texture(32, 40), 8).repeat(2, 1, 1, 1)
    for seed in (1, 2):  # the seed picks the random directions: each seed gives its own known answer
        assert swd.patch_swd(real, samples, seed=seed) == pytest.approx(reference_patch_swd(real, samples, seed),
                                                                        rel=1e-5)
    assert reference_patch_swd(real, samples, 1) != pytest.approx(reference_patch_swd(real, samples, 2), rel=1e-6)


def test_swd_counts_a_colour_shift():
    darker = (REAL * 0.8 - 0.2).repeat(2, 1, 1, 1)
    assert swd.patch_swd(REAL, darker) > 50 * max(1e-3, swd.patch_swd(REAL, REAL.repeat(2, 1, 1, 1)))


def test_jackknife_error_of_a_mean_is_the_textbook_standard_error():
    values = torch.tensor([2.0, 4.0, 4.0, 5.0, 7.0, 9.0])
    mean_of = lambda index: float(values[index].mean())  # noqa: E731
    # leave-one-out: sqrt(((n - 1) / n) * sum((mean_-i - mean)^2)) == sample std / sqrt(n)
    assert swd.jackknife_error(mean_of, 6, groups=10) == pytest.approx(float(values.std()) / math.sqrt(6))
    # groups {0, 3}, {1, 4}, {2, 5}: means 3.5, 5.5, 6.5; their std (1.5275) / sqrt(3)
    assert swd.jackknife_error(mean_of, 6, groups=3) == pytest.approx(1.5275252 / math.sqrt(3))
    with pytest.raises(ValueError, match="at least 2"):
        swd.jackknife_error(mean_of, 1)


@pytest.mark.slow
def test_patch_swd_error_is_zero_for_copies_and_grows_with_spread():
    copies, error = swd.patch_swd_with_error(REAL, REAL.repeat(4, 1, 1, 1))
    assert copies == 0.0 and error == 0.0  # every subset of copies scores 0
    # 5 copies (c) and 5 blurred samples (b); with 5 groups, sample i is in group i % 5

    def samples(flags: str) -> torch.Tensor:
        return torch.cat([gaussian_blur(REAL) if flag == "b" else REAL for flag in flags])

    unbalanced = samples("cbcbccbcbb")  # groups {c, c}, {b, b}, {c, c}, {b, b}, {c, b}
    value, error = swd.patch_swd_with_error(REAL, unbalanced, groups=5)
    assert value == swd.patch_swd(REAL, unbalanced) and error > 0
    balanced = samples("cbcbcbcbcb")  # every group {c, b}: every subset has 4 of each
    assert swd.patch_swd_with_error(REAL, balanced, groups=5)[1] < error / 3


def test_patch_swd_error_is_the_grouped_jackknife_written_out():
    real = texture(32, 40)
    samples = torch.cat([real, gaussian_blur(real), shuffle_blocks(real, 8), real.flip(-1), gaussian_blur(real, 1.0),
                         shuffle_blocks(real, 8, seed=1)])
    value, error = swd.patch_swd_with_error(real, samples, groups=3)
    index = torch.arange(6)
    left_out = [swd.patch_swd(real, samples[index % 3 != group]) for group in range(3)]  # without each group
    mean = sum(left_out) / 3
    assert value == pytest.approx(swd.patch_swd(real, samples), rel=1e-9)
    assert error == pytest.approx(math.sqrt(2 / 3 * sum((v - mean) ** 2 for v in left_out)), rel=1e-6) and error > 0


def test_repeated_real_image_memorization_one_and_diversity_zero():
    repeated = REAL.repeat(5, 1, 1, 1)
    assert metrics.memorization(REAL, repeated) == 1.0
    assert metrics.pixel_diversity(REAL, repeated) == 0.0
    noise = torch.rand(5, *REAL.shape[1:], generator=torch.Generator().manual_seed(0)) * 2 - 1
    assert metrics.memorization(REAL, noise) == 0.0
    assert metrics.pixel_diversity(REAL, noise) > 0.5
    bigger = F.interpolate(REAL, size=(96, 120), mode="bicubic", antialias=True, align_corners=False)
    assert metrics.memorization(REAL, bigger.repeat(2, 1, 1, 1)) == 1.0  # resized to the sample size
    with pytest.raises(UserError, match="at least 2"):
        metrics.pixel_diversity(REAL, REAL)


def test_ssim_matches_skimage():
    other = texture(seed=5)
    ours = float(metrics.ssim(other, REAL)[0])
    expected = structural_similarity(((other[0] + 1) / 2).permute(1, 2, 0).numpy(),
                                     ((REAL[0] + 1) / 2).permute(1, 2, 0).numpy(), channel_axis=2,
                                     gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)
    assert ours == pytest.approx(expected, abs=1e-4)


def test_nn_distances():
    small = texture(24, 28)
    identical = metrics.patch_nn_distances(small, small.repeat(2, 1, 1, 1))
    assert identical["nn_coherence"] < 1e-6 and identical["nn_completeness"] < 1e-6
    flat = torch.zeros(2, 3, 24, 28)  # one grey patch: coherent with nothing, covers nothing
    scores = metrics.patch_nn_distances(small, flat)
    assert scores["nn_coherence"] > 0.01 and scores["nn_completeness"] > 0.01
    half = small.clone()
    half[:, :, :, 14:] = 0.0  # half the image replaced: still coherent where kept, less complete
    partial = metrics.patch_nn_distances(small, half.repeat(2, 1, 1, 1))
    assert 0 < partial["nn_completeness"] < scores["nn_completeness"]
    brute = ((metrics.sample_patches((flat[:1] + 1) / 2, None, torch.Generator()).flatten(1)[:1]
              - metrics.sample_patches((small + 1) / 2, None, torch.Generator()).flatten(1)) ** 2).mean(1).min()
    assert scores["nn_coherence"] == pytest.approx(float(brute), rel=1e-4)


def test_frechet_distance_closed_forms():
    assert feature_metrics.frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(4.0 + 1.0)  # (m)^2 + (s1-s2)^2
    cov_a = np.array([[2.0, 0.5], [0.5, 1.0]])
    cov_b = np.array([[1.0, -0.3], [-0.3, 3.0]])
    product = cov_a @ cov_b  # its eigenvalues are real and positive: tr sqrt(M) = sqrt(tr M + 2 sqrt(det M))
    trace_root = math.sqrt(np.trace(product) + 2 * math.sqrt(np.linalg.det(product)))
    mean_a, mean_b = np.array([0.0, 1.0]), np.array([2.0, -1.0])
    expected = 8.0 + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root
    assert feature_metrics.frechet_distance(mean_a, cov_a, mean_b, cov_b) == pytest.approx(expected, rel=1e-10)
    features = torch.randn(200, 16, generator=torch.Generator().manual_seed(0))
    assert abs(feature_metrics.frechet_distance_of_features(features, features)) < 1e-9


def test_frechet_distance_of_sampled_gaussians():
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(50000, 3, generator=generator, dtype=torch.float64)
    b = torch.randn(50000, 3, generator=generator, dtype=torch.float64) * 2.0 + 1.0
    # |mu|^2 = 3, and per dimension 1 + 4 - 2 * 2 = 1
    assert feature_metrics.frechet_distance_of_features(a, b) == pytest.approx(6.0, rel=0.03)


def test_kernel_distance_matches_the_formula():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(6, 4, generator=generator, dtype=torch.float64)
    y = torch.randn(6, 4, generator=generator, dtype=torch.float64) + 0.5

    def k(u, v):
        return (float(u @ v) / 4 + 1) ** 3

    same = sum(k(x[i], x[j]) + k(y[i], y[j]) for i in range(6) for j in range(6) if i != j) / 30
    cross = sum(k(x[i], y[j]) for i in range(6) for j in range(6)) / 36
    assert feature_metrics.kernel_distance(x, y, num_subsets=3) == pytest.approx(same - 2 * cross, rel=1e-9)
    big_a, big_b = torch.randn(2000, 8, generator=generator), torch.randn(2000, 8, generator=generator)
    assert abs(feature_metrics.kernel_distance(big_a, big_b, num_subsets=5)) < 0.01
    assert feature_metrics.kernel_distance(big_a, big_b + 1.0, num_subsets=5) > 0.1


def test_precision_recall():
    generator = torch.Generator().manual_seed(0)
    real = torch.randn(200, 5, generator=generator)
    assert feature_metrics.precision_recall(real, real) == {"precision": 1.0, "recall": 1.0}
    far = feature_metrics.precision_recall(real, real + 100.0)
    assert far == {"precision": 0.0, "recall": 0.0}
    duplicated = torch.cat([real, real[:10].repeat(4, 1)])  # 5 copies each: radius 0, still inside
    assert feature_metrics.precision_recall(duplicated, duplicated) == {"precision": 1.0, "recall": 1.0}
    collapsed = real[:20].repeat(10, 1)  # a mode-collapsed generator: precise, poor recall
    scores = feature_metrics.precision_recall(real, collapsed)
    assert scores["precision"] == 1.0 and scores["recall"] < 0.5


def test_inception_weights_errors(tmp_path):
    with pytest.raises(UserError, match="pt_inception-2015-12-05"):
        load_inception(None)
    with pytest.raises(UserError, match="not found.*pt_inception"):
        load_inception(tmp_path / "missing.pth")
    (tmp_path / "notes.pth").write_text("hello")
    with pytest.raises(UserError, match="cannot read Inception weights"):
        load_inception(tmp_path / "notes.pth")
    torch.save({"conv.weight": torch.zeros(2, 2)}, tmp_path / "other.pth")
    with pytest.raises(UserError, match="not an Inception-v3 state dict"):
        sifid(REAL, REAL, tmp_path / "other.pth")


def test_inception_path_with_random_weights(tmp_path):
    torch.manual_seed(0)
    state = InceptionFeatures(fid=True).state_dict()
    state.update({"fc.weight": torch.zeros(1008, 2048), "fc.bias": torch.zeros(1008)})
    torch.save(state, tmp_path / "pt_inception.pth")
    model = load_inception(tmp_path / "pt_inception.pth")
    assert model.Mixed_7c.pool == "max"  # 1008 classes: the FID variant
    assert abs(sifid(REAL, REAL.repeat(2, 1, 1, 1), tmp_path / "pt_inception.pth")) < 1e-6
    images = torch.cat([REAL, texture(seed=1)])
    scores = fid_and_kid(images, images, tmp_path / "pt_inception.pth")
    assert abs(scores["fid"]) < 1e-6 and math.isfinite(scores["kid"])
