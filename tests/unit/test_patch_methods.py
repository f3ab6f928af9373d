"""GPNN (Granot et al., CVPR 2022) and GPDM (Elnekave & Weiss, ECCV 2022), the training-free
architectures: patch nearest neighbours (chunked = unchunked), the known answer (no noise, alpha -> 0
reproduces the source), sizes, determinism per seed and per batch, and run folders."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from ganbase.errors import UserError
from ganbase.io.images import to_tensor
from singan_kit import run_folder as rf
from singan_kit.api import train_run
from singan_kit.architectures import make_config
from singan_kit.architectures.gpdm.model import match_patches
from singan_kit.architectures.patch_model import PatchPyramid, build_levels, level_pyramid, noise_amps_of
from singan_kit.patch_ops import (
    PatchCodes,
    nearest_patches,
    nearest_positions,
    patchmatch,
    unfold_patches,
    vote_patches,
)
from singan_kit.sample import generate
from tests.conftest import blob_image


def patch_model(preset: str, height: int = 36, width: int = 44, seed: int = 3, textured: bool = False,
                **settings) -> PatchPyramid:
    """A model of a blob image, or of a random texture (``textured``: no two patches alike)."""
    config = make_config(preset, max_size=max(height, width), **settings)
    pyramid = level_pyramid(height, width, config.max_size, config.pyramid_ratio, config.num_levels, config.min_size)
    pixels = (np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8) if textured
              else blob_image(height, width, seed=seed))
    image = to_tensor(pixels.astype("float32") / 255.0)
    reals = build_levels(image, pyramid)
    return PatchPyramid(config, pyramid, reals, noise_amps_of(config.noise, len(reals)))


@pytest.mark.parametrize("alpha", [None, 0.005])
def test_chunked_and_unchunked_nearest_neighbours_agree(alpha):
    generator = torch.Generator().manual_seed(0)
    queries = torch.rand((2, 3, 23, 19), generator=generator)
    keys = unfold_patches(torch.rand((1, 3, 17, 21), generator=generator), 5)
    whole = nearest_patches(queries, keys, 5, alpha, chunk_bytes=2**40)
    banded = nearest_patches(queries, keys, 5, alpha, chunk_bytes=1)  # one patch row per band
    assert whole.shape == (2, 19, 15)
    assert torch.equal(whole, banded)
    # the plain nearest neighbour is the brute-force one
    flat = unfold_patches(queries[1:], 5)
    brute = torch.cdist(flat, keys).argmin(1).view(19, 15)
    if alpha is None:
        assert torch.equal(whole[1], brute)


def test_voting_own_patches_gives_back_the_image():
    image = torch.rand((1, 3, 12, 15), generator=torch.Generator().manual_seed(1))
    index = torch.arange(8 * 11).view(1, 8, 11)  # patch i at its own position, 5 x 5 patches
    assert torch.allclose(vote_patches(image, index, 5, 11), image, atol=1e-6)
    shifted = vote_patches(image, index.roll(1, dims=2), 5, 11)
    assert not torch.allclose(shifted, image, atol=1e-3)


def test_gpnn_without_noise_and_alpha_near_zero_reproduces_the_source():
    # a texture, so that no two source patches tie (on flat areas any of equal keys would do)
    model = patch_model("gpnn", textured=True, noise=0.0, alpha=1e-6, iters=3)
    assert model.num_trained >= 3
    out = generate(model, 1, seed=0)
    assert out.shape == model.reals[-1].shape
    assert (out - model.reals[-1]).abs().max() < 1e-4
    noisy = patch_model("gpnn", textured=True, iters=3, alpha=10.0)  # noise and little completeness: a new image
    assert (generate(noisy, 1, seed=0) - noisy.reals[-1]).abs().max() > 0.1


def test_patchmatch_levels_find_the_known_answer_too():
    # exact_pairs=0: every level after the first refines the upsampled matches by PatchMatch
    model = patch_model("gpnn", textured=True, noise=0.0, alpha=1e-6, iters=3, exact_pairs=0)
    out = generate(model, 1, seed=0)
    assert (out - model.reals[-1]).abs().mean() < 1e-3


def test_patchmatch_field_on_a_shifted_copy_finds_the_shift():
    generator = torch.Generator().manual_seed(2)
    keys_image = torch.rand((1, 3, 30, 34), generator=generator)
    queries = keys_image[:, :, 3:27, 5:31]  # positions (y, x) match keys (y + 3, x + 5)
    codes = PatchCodes(keys_image, 5, 24)
    grid = (26, 30)
    expected = (torch.arange(20)[:, None] + 3) * grid[1] + torch.arange(22)[None, :] + 5
    # a first guess off by up to 2 px in each direction, as an upsampled coarser level's matches may be
    jitter = torch.randint(-2, 3, (2, 20, 22), generator=generator)
    field = ((expected // grid[1] + jitter[0]).clamp(0, grid[0] - 1) * grid[1]
             + (expected % grid[1] + jitter[1]).clamp(0, grid[1] - 1))[None]
    assert (field[0] == expected).float().mean() < 0.2
    for _ in range(4):
        field = patchmatch(queries, codes, grid, field, None, None, generator)
    assert (field[0] == expected).float().mean() > 0.95
    whole = nearest_positions(queries, keys_image, 5, None)
    assert torch.equal(whole[0], expected)


@pytest.mark.parametrize("preset,settings", [("gpnn", {"iters": 2}), ("gpdm", {"iters": 6, "num_levels": 3})])
def test_samples_are_deterministic_batch_independent_and_of_the_requested_size(preset, settings):
    model = patch_model(preset, **settings)
    first = generate(model, 3, scale_w=1.5, scale_h=0.8, seed=7, batch_size=3)
    height, width = model.pyramid.finest_size
    assert first.shape == (3, 3, round(height * 0.8), round(width * 1.5))
    assert torch.equal(first, generate(model, 3, scale_w=1.5, scale_h=0.8, seed=7, batch_size=3))
    # drawn one at a time: the same (GPDM up to float rounding, which its grouped convolution orders by batch)
    assert (first - generate(model, 3, scale_w=1.5, scale_h=0.8, seed=7, batch_size=1)).abs().mean() < 1e-3
    assert not torch.equal(first[0], first[1])
    assert not torch.equal(first, generate(model, 3, scale_w=1.5, scale_h=0.8, seed=8))


def test_gpdm_started_at_the_source_stays_there():
    model = patch_model("gpdm", iters=5, num_levels=2)
    real = model.reals[-1]
    kept = match_patches(real, real, [torch.Generator().manual_seed(0)], model.config)
    assert torch.allclose(kept, real, atol=1e-6)
    moved = match_patches(torch.zeros_like(real), real, [torch.Generator().manual_seed(0)], model.config)
    assert (moved - real).abs().mean() < real.abs().mean()  # optimisation moves towards the source's patches


def test_too_small_sizes_and_bad_settings_are_one_line_errors():
    model = patch_model("gpnn", iters=1)
    with pytest.raises(UserError, match="too small"):
        generate(model, 1, scale_w=0.1, scale_h=0.1)
    with pytest.raises(UserError, match="alpha must be > 0"):
        make_config("gpnn", alpha=0.0)
    with pytest.raises(UserError, match="pyramid_ratio"):
        make_config("gpdm", pyramid_ratio=1.5)


@pytest.mark.parametrize("preset", ["gpnn", "gpdm"])
def test_runs_save_load_and_sample_deterministically(tmp_path, preset):
    iio.imwrite(tmp_path / "photo.png", blob_image(30, 40, seed=4))
    settings = {"iters": 2} if preset == "gpnn" else {"iters": 4, "num_levels": 3}
    config = make_config(preset, max_size=40, **settings)
    trained = train_run(tmp_path / "photo.png", tmp_path / "run", config, progress=False)
    meta = rf.read_meta(tmp_path / "run")
    assert meta["architecture"] == preset and meta["scales_done"] == meta["pyramid"].num_scales >= 2
    assert meta["noise_amps"][0] == config.noise and set(meta["noise_amps"][1:]) == {0.0}
    loaded = rf.load_model(tmp_path / "run", "cpu", architectures=rf.ALL_ARCHITECTURES)
    for mine, theirs in zip(trained.reals, loaded.reals):
        assert torch.equal(mine, theirs)
    assert torch.equal(generate(loaded, 2, seed=3), generate(trained, 2, seed=3))
