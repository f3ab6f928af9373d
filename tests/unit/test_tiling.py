"""Tests of exact tiled sampling (singan_kit.tiling) and of streaming sample writes (singan_kit.sample):
tiles equal the whole canvas, sample i does not depend on the tile or batch size, budgets, files
written one by one."""

from __future__ import annotations

import copy
import dataclasses

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from ganbase.errors import UserError
from ganbase.io.grids import make_grid
from ganbase.io.images import to_uint8
from ganbase.runtime.memory import parse_memory
from singan_kit.apps.animate import NoiseWalk, animate, noise_walk, walk_bytes, write_animation
from singan_kit.architectures import make_config
from singan_kit.architectures.base import sample_seed
from singan_kit.architectures.singan.model import GeneratorPyramid
from singan_kit.pyramid import Upsampling, compute_pyramid
from singan_kit.sample import fit_batch_size, generate, parse_size, sample_batches, stream_samples, write_samples
from singan_kit.tiling import (
    BLOCK,
    block_noise,
    block_source,
    canvas_noise,
    plan_bytes,
    plan_for,
    run_plan,
    sizes_for_size,
    tile_for_budget,
    tiled_batches,
)


@pytest.fixture(scope="module")
def model():
    """An untrained SinGAN (random weights, BatchNorm in eval mode) over a 48x64 pyramid: every
    generator is as local as a trained one, without the cost of training."""
    torch.manual_seed(0)
    config = make_config("tiny")
    pyramid = compute_pyramid(48, 64, config.min_size, config.max_size, config.scale_factor)
    reals = [torch.rand(1, 3, *size) * 2 - 1 for size in pyramid.sizes]
    model = GeneratorPyramid(config, pyramid, reals, [0.5] * pyramid.num_scales,
                             torch.randn(1, 3, *pyramid.sizes[0]))
    for generator in model.generators:  # He-scaled weights (DCGAN's N(0, 0.02) is nearly silent), BN statistics
        for module in generator.modules():
            if isinstance(module, torch.nn.Conv2d):
                module.weight.data.normal_(0.0, (2.0 / module.weight[0].numel()) ** 0.5)
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
    return model.eval()


def untiled(model, sizes, start, seeds):
    """The model's own whole-canvas path (``inject``) on the block noise the tiles draw."""
    plan = plan_for(model, sizes, start)

    def noise_fn(level, batch, size):
        return torch.stack([canvas_noise(seed, level, 1 if level == 0 else 3, size) for seed in seeds])

    initial = plan.initial.expand(len(seeds), -1, -1, -1)
    return model.inject(initial, start, noise_fn, sizes).clamp(-1, 1)


@pytest.mark.parametrize("scale_h, scale_w", [(1.0, 1.0), (1.7, 0.6), (0.55, 2.3)])
@pytest.mark.parametrize("start", [0, 2])
def test_tiled_equals_untiled(model, scale_h, scale_w, start):
    sizes = model.sizes_for(scale_h, scale_w)
    seeds = [sample_seed(3, 0), sample_seed(3, 1)]
    reference = untiled(model, sizes, start, seeds)
    assert reference.shape[-2:] == sizes[-1]
    plan = plan_for(model, sizes, start)
    for tile in (7, 16, 23, 40, 1000):
        tiled = run_plan(plan, block_source(seeds, start), len(seeds), tile)
        assert (tiled - reference).abs().max().item() <= 1e-5, tile
    assert (reference[0] - reference[1]).abs().max() > 0.01  # the two samples differ: noise matters


def test_same_sample_for_every_tile_and_batch_size(model):
    sizes = sizes_for_size(model, 70, 150)
    whole = torch.cat([batch for _, batch in tiled_batches(model, 5, sizes, seed=9, batch_size=5, tile=10**6)])
    assert whole.shape == (5, 3, 70, 150)
    for batch_size, tile in [(1, 16), (2, 33), (3, 64), (4, 150)]:
        parts = list(tiled_batches(model, 5, sizes, seed=9, batch_size=batch_size, tile=tile))
        assert [first for first, _ in parts] == list(range(0, 5, batch_size))
        samples = torch.cat([batch for _, batch in parts])
        assert (samples - whole).abs().max().item() <= 1e-5, (batch_size, tile)
    other_seed = next(tiled_batches(model, 1, sizes, seed=10, tile=32))[1]
    assert (other_seed[0] - whole[0]).abs().max() > 0.01


def test_block_noise_is_a_window_of_the_canvas():
    canvas = (2 * BLOCK + 5, BLOCK + 9)
    full = canvas_noise(4, 2, 3, canvas)
    assert full.shape == (3, *canvas)
    window = block_noise(4, 2, 3, canvas, (-6, BLOCK + 3), (BLOCK - 2, canvas[1] + 4))
    assert torch.equal(window[:, 6:, :-4], full[:, :BLOCK + 3, BLOCK - 2:])
    assert window[:, :6].abs().sum() == 0 and window[:, :, -4:].abs().sum() == 0  # zero outside the canvas
    assert not torch.equal(canvas_noise(4, 3, 3, canvas), full)  # each level its own noise
    assert abs(full.std().item() - 1.0) < 0.05


def test_tile_from_budget(model):
    plan = plan_for(model, sizes_for_size(model, 600, 800), 0)
    whole = tile_for_budget(plan, 1, 2**40)
    assert whole == 800
    budget = plan_bytes(plan, 1, 64) + 1
    tile = tile_for_budget(plan, 1, budget)
    assert 64 <= tile < 800 and tile % 16 == 0
    assert plan_bytes(plan, 1, tile) <= budget < plan_bytes(plan, 1, tile + 16)
    with pytest.raises(UserError, match="even in tiles"):
        tile_for_budget(plan, 1, plan_bytes(plan, 1, 32) - 1)
    with pytest.raises(UserError, match="two finest images"):
        tiled_batches(model, 1, sizes_for_size(model, 4000, 4000), budget=2**20)


def test_parse_size_and_memory():
    assert parse_size("3840x2160") == (2160, 3840)
    assert parse_size(" 20X10 ") == (10, 20)
    for bad in ["3840", "0x10", "axb", "10x-2", "1.5x2", "70000x10"]:
        with pytest.raises(UserError):
            parse_size(bad)
    assert parse_memory("2GB") == 2 * 2**30
    assert parse_memory("512m") == 512 * 2**20
    assert parse_memory("1.5G") == int(1.5 * 2**30)
    assert parse_memory("1000") == 1000
    for bad in ["", "GB", "-1GB", "0", "2 PB", "two"]:
        with pytest.raises(UserError):
            parse_memory(bad)


def test_stream_samples_equals_generate_and_writes_one_by_one(model, tmp_path):
    seen = []

    def on_batch(count):  # every sample of the batches done so far is already on disk
        seen.append(count)
        assert len(list(tmp_path.glob("new/sample_*.png"))) == sum(seen)

    height, width = stream_samples(model, tmp_path / "new", 5, 1.5, 0.8, seed=2, batch_size=2, grid=True,
                                   on_batch=on_batch)
    assert seen == [2, 2, 1]
    samples = generate(model, 5, 1.5, 0.8, seed=2, batch_size=2)
    assert (height, width) == tuple(samples.shape[-2:])
    write_samples(samples, tmp_path / "old", grid=True)
    for name in [f"sample_{i:04d}.png" for i in range(5)] + ["grid.png"]:
        assert np.array_equal(iio.imread(tmp_path / "new" / name), iio.imread(tmp_path / "old" / name)), name
    assert np.array_equal(iio.imread(tmp_path / "new" / "grid.png"), make_grid(to_uint8(samples)))


def test_stream_samples_tiled(model, tmp_path):
    height, width = stream_samples(model, tmp_path, 3, size=(50, 90), max_memory=2**30, seed=4, batch_size=2)
    assert (height, width) == (50, 90)
    expected = to_uint8(torch.cat([b for _, b in tiled_batches(model, 3, sizes_for_size(model, 50, 90), seed=4,
                                                                tile=10**6)]))
    for i in range(3):
        image = iio.imread(tmp_path / f"sample_{i:04d}.png")
        assert image.shape == (50, 90, 3)
        assert np.abs(image.astype(int) - expected[i].astype(int)).max() <= 1  # float rounding at .5


def test_batch_size_fits_the_budget(model):
    sizes = model.sizes_for(4.0, 4.0)
    assert fit_batch_size(model, sizes, None, 2**40) >= 1
    with pytest.raises(UserError, match="--batch-size 64"):
        fit_batch_size(model, sizes, 64, 2**24)
    with pytest.raises(UserError, match="one .* sample needs"):
        fit_batch_size(model, sizes, None, 2**16)
    assert fit_batch_size(model, sizes, None, 2**24) >= 1


def test_large_default_sampling_runs_in_tiles_on_the_same_noise(model):
    """Above the untiled limit (here forced by a small --max-memory) sampling runs in tiles on the
    untiled sampler's own noise: the samples of generate() up to float rounding."""
    reference = generate(model, 3, 3.0, 2.5, start_scale=1, seed=6, batch_size=2)
    plan = plan_for(model, model.sizes_for(2.5, 3.0), 1)
    small = plan_bytes(plan, 1, 40)
    assert tile_for_budget(plan, 1, small) == 32  # really tiled
    for max_memory in (2**40, small):
        batches = sample_batches(model, 3, 3.0, 2.5, start_scale=1, seed=6, max_memory=max_memory)
        samples = torch.cat([batch for _, batch in batches])
        assert (samples - reference).abs().max().item() <= 1e-5


def test_super_resolution_in_tiles_equals_untiled(model, monkeypatch):
    from singan_kit.apps import super_resolution

    reference = super_resolution.super_resolve(model, 2.5, seed=3)
    monkeypatch.setattr(super_resolution, "UNTILED_BYTES", 0)  # every chain in tiles
    steps, factor = super_resolution.sr_steps(2.5)
    start = torch.zeros(1, 3, 1, 1)
    height, width = (round(2.5 * side) for side in model.pyramid.finest_size)
    plan = super_resolution.sr_plan(model, start, [(height, width)] * steps, Upsampling(factor))
    small = plan_bytes(plan, 1, 40)
    tiled = super_resolution.super_resolve(model, 2.5, seed=3, max_memory=small)
    assert tiled.shape == reference.shape == (1, 3, height, width)
    assert (tiled - reference).abs().max().item() <= 1e-5
    assert tile_for_budget(plan, 1, small) < width  # really tiled


# ---------------------------------------------------------------------- animation (issue 23, point 3)
@pytest.mark.parametrize("start", [0, 1, 2])
def test_tiled_animation_equals_untiled(model, start):
    sizes = sizes_for_size(model, 90, 130)
    plan = plan_for(model, sizes, start)
    budget = walk_bytes(sizes, start, 1, loop=True) + plan_bytes(plan, 1, 48)  # tiles of 48 px, the canvas is 130 wide
    untiled_frames = animate(model, 5, start, seed=3, loop=True, sizes=sizes, tiled=False)
    tiled_frames = animate(model, 5, start, seed=3, loop=True, sizes=sizes, tiled=True, max_memory=budget)
    assert untiled_frames.shape == (5, 3, 90, 130)
    assert (tiled_frames - untiled_frames).abs().max() <= 1e-5
    assert (untiled_frames[1:] - untiled_frames[:-1]).abs().max() > 0.01  # the frames move


def test_animation_frames_do_not_depend_on_the_batch_size(model):
    one = animate(model, 6, 1, seed=4, batch_size=1)
    assert (one - animate(model, 6, 1, seed=4, batch_size=4)).abs().max() <= 1e-5
    assert not torch.allclose(one, animate(model, 6, 1, seed=5, batch_size=1), atol=1e-3)


def test_noise_walk_known_answers():
    z_opt = torch.randn(1, 3, 8, 10)
    raw = NoiseWalk(z_opt, 1, (8, 10), 7, 0.1, 0.9, seed=11).steps(8)  # one step past the last frame
    looped = noise_walk(z_opt, 1, 7, 0.1, 0.9, seed=11, loop=True)
    fractions = torch.arange(7).view(-1, 1, 1, 1) / 7
    assert torch.allclose(looped, raw[:7] + fractions * (raw[:1] - raw[7:]), atol=1e-6)
    assert torch.allclose(NoiseWalk(z_opt, 1, (8, 10), 4, 1.0, 0.9, seed=1).steps(4), z_opt.expand(4, -1, -1, -1))
    # alpha 0, beta 1: pure momentum; z1 - z2 = d = 0.05 e at the start, so the walk is z_opt + 2d, + 3d, + 4d
    walk = noise_walk(z_opt, 1, 3, 0.0, 1.0, seed=2)
    step = walk[1] - walk[0]
    assert step.abs().max() > 0.01
    assert torch.allclose(walk[0] - z_opt[0], 2 * step, atol=1e-6)
    assert torch.allclose(walk[2] - walk[1], step, atol=1e-6)


def test_animation_is_written_frame_by_frame(tmp_path):
    frames = [np.full((24, 32, 3), 40 * i, np.uint8) for i in range(5)]
    sizes = []

    def produced():
        for frame in frames:
            temps = list(tmp_path.glob(".clip.gif.*.tmp"))
            sizes.append(temps[0].stat().st_size if temps else 0)
            yield frame

    write_animation(produced(), tmp_path / "clip.gif", fps=5)
    assert sizes[1] > 0 and sizes[4] > sizes[2] > sizes[1]  # earlier frames are on disk before later ones are made
    assert [p.name for p in tmp_path.iterdir()] == ["clip.gif"]
    back = iio.imread(tmp_path / "clip.gif", index=None)
    assert back.shape[:3] == (5, 24, 32)
    assert [int(f[..., :3].mean().round()) for f in back] == [0, 40, 80, 120, 160]


@pytest.mark.parametrize("start", [0, 2])
def test_tiled_equals_untiled_with_8_bit_upsampling(model, start):
    """The official 8-bit round trip (``upsample_precision="uint8"``) around each resize, tile by
    tile. Truncation to 8 bits turns a float-rounding difference at a level boundary into one level
    (2/255), so a few pixels may differ by more than rounding; the rest agree to 1e-5."""
    eight_bit = copy.deepcopy(model)
    eight_bit.config = dataclasses.replace(model.config, upsample_precision="uint8")
    sizes = eight_bit.sizes_for(1.3, 0.8)
    seeds = [sample_seed(5, 0)]
    reference = untiled(eight_bit, sizes, start, seeds)
    plan = plan_for(eight_bit, sizes, start)
    assert all(stage.before_upsample is not None for stage in plan.stages[1:])
    for tile in (9, 24, 1000):
        tiled = run_plan(plan, block_source(seeds, start), len(seeds), tile)
        close = (tiled - reference).abs() <= 1e-5
        assert close.float().mean().item() >= 0.99, tile
    float_path = untiled(model, sizes, start, seeds)
    assert (float_path - reference).abs().max().item() > 1e-3  # the round trip changes the samples
