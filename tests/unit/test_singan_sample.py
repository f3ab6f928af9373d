"""Tests of sampling from a trained SinGAN: sizes, start scales, seeds, batching."""

from __future__ import annotations

import pytest
import torch

from ganbase.errors import UserError
from singan_kit import sample as sample_module
from singan_kit.architectures import make_config
from singan_kit.architectures.lifecycle import train
from singan_kit.architectures.singan.model import GeneratorPyramid
from singan_kit.pyramid import compute_pyramid
from singan_kit.sample import default_batch_size, generate, parse_scale, write_samples


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    import imageio.v3 as iio

    from tests.conftest import blob_image

    folder = tmp_path_factory.mktemp("sample")
    iio.imwrite(folder / "img.png", blob_image(48, 64, seed=3))
    return train(folder / "img.png", folder / "run", make_config("tiny", iters=20), progress=False)


def test_parse_scale():
    assert parse_scale("1.5x2") == (1.5, 2.0)
    assert parse_scale("2") == (2.0, 2.0)
    assert parse_scale(" .5X1 ") == (0.5, 1.0)
    for bad in ["abc", "0x2", "-1", "2x", "x2", "", "1.5x2x3", "0"]:
        with pytest.raises(UserError):
            parse_scale(bad)


def test_sample_shapes_and_range(model):
    h, w = model.pyramid.finest_size
    samples = generate(model, 5, batch_size=2)
    assert samples.shape == (5, 3, h, w)
    assert samples.min() >= -1 and samples.max() <= 1
    wide = generate(model, 2, scale_w=1.5, scale_h=2.0)
    assert wide.shape == (2, 3, round(h * 2.0), round(w * 1.5))


def test_seed_determinism_and_batch_independence(model):
    a = generate(model, 4, seed=7, batch_size=4)
    b = generate(model, 4, seed=7, batch_size=4)
    c = generate(model, 4, seed=7, batch_size=3)
    d = generate(model, 4, seed=8, batch_size=4)
    assert torch.equal(a, b)
    assert torch.allclose(a, c, atol=1e-5)  # sample i does not depend on the batching
    assert not torch.allclose(a, d, atol=1e-3)
    assert (a[0] - a[1]).abs().mean() > 1e-3  # samples differ from each other


def _untrained(preset: str) -> GeneratorPyramid:
    """A paper-sized pyramid (balloons.png: 186 x 248) with untrained generators."""
    config = make_config(preset)
    pyramid = compute_pyramid(186, 248, config.min_size, config.max_size, config.scale_factor)
    reals = [torch.zeros(1, 3, *size) for size in pyramid.sizes]
    return GeneratorPyramid(config, pyramid, reals, [0.1] * pyramid.num_scales, torch.zeros(1, 3, *pyramid.sizes[0]))


def test_default_batch_size_on_the_cpu_keeps_activations_small(model):
    paper, fast = _untrained("paper"), _untrained("fast")
    # widest activation of one sample: 128 (paper) or 32 (fast) filters x 186 x 248 float32
    assert default_batch_size(paper, paper.pyramid.sizes) == 1  # 23.6 MB
    assert default_batch_size(fast, fast.pyramid.sizes) == 2  # 5.9 MB each
    assert default_batch_size(fast, fast.sizes_for(2.0, 2.0)) == 1  # larger samples: one at a time
    assert default_batch_size(model, model.pyramid.sizes) == sample_module.GPU_BATCH_SIZE  # tiny: capped
    batches = []
    samples = generate(model, 3, seed=7, on_batch=batches.append)
    assert batches == [3] and torch.allclose(samples, generate(model, 3, seed=7, batch_size=1), atol=1e-5)


def test_random_inputs_in_small_batches_use_the_same_noise(model):
    from singan_kit.architectures.singan.model import scale_noise

    scale = model.num_trained - 1

    def draw(batch_size):
        gen = torch.Generator().manual_seed(5)
        return model.random_input(scale, 5, lambda n, b, s: scale_noise(n, b, s, gen), batch_size=batch_size)

    whole = draw(None)
    assert whole.shape == (5, 3, *model.pyramid.sizes[scale])
    assert torch.allclose(draw(2), whole, atol=1e-5) and torch.allclose(draw(5), whole, atol=1e-5)
    assert (whole[0] - whole[1]).abs().mean() > 1e-3


def test_start_scale_keeps_structure(model):
    last = model.num_trained - 1
    real = model.reals[-1]
    free = generate(model, 6, start_scale=0)
    pinned = generate(model, 6, start_scale=last)
    rec = model.reconstructions()[-1]
    # From the finest scale on, only fine noise is added: samples stay close to the reconstruction.
    assert (pinned - rec).abs().mean() < (free - rec).abs().mean()
    assert pinned.shape == free.shape == real.shape[:1] * 0 + (6, *real.shape[1:])
    resized = generate(model, 2, scale_w=2.0, scale_h=1.0, start_scale=1)
    assert resized.shape[-1] == round(real.shape[-1] * 2.0)


def test_bad_sampling_arguments(model):
    with pytest.raises(UserError, match="start scale"):
        generate(model, 2, start_scale=99)
    with pytest.raises(UserError):
        generate(model, 0)


def test_write_samples(model, tmp_path):
    paths = write_samples(generate(model, 3), tmp_path / "out", grid=True)
    assert [p.name for p in paths] == ["sample_0000.png", "sample_0001.png", "sample_0002.png", "grid.png"]
