"""StyleGAN and StyleGAN2: training steps, truncation, style mixing, w walks, noise, CLI."""

from __future__ import annotations

import json
import math

import imageio.v3 as iio
import pytest
import torch
from click.testing import CliRunner

from cli.ganzoo import main
from ganbase.errors import UserError
from ganbase.nn.style_blocks import AdaIN, ModulatedConv2d
from ganbase.zoo.data.datasets import DataConfig, load_dataset
from ganbase.zoo.inference.sampling import (
    draw_samples,
    interpolate,
    style_mix,
    vary_noise,
)
from ganbase.zoo.models import create_model
from ganbase.zoo.training.trainer import TrainConfig, Trainer

TINY = {"latent_dim": 8, "w_dim": 8, "mapping_layers": 2, "fmap_base": 32, "fmap_max": 8,
        "mbstd_group": 2, "r1_interval": 2, "pl_interval": 2}
TINY_OPTIONS = [arg for key, value in TINY.items() for arg in ("-o", f"{key}={value}")]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def faces():
    return load_dataset(DataConfig("faces", image_size=16))


@pytest.fixture(scope="module", params=["stylegan", "stylegan2"])
def trained(request, faces, tmp_path_factory):
    torch.manual_seed(0)
    options = dict(TINY, pl_weight=2.0) if request.param == "stylegan2" else TINY
    model = create_model(request.param, data_shape=faces.data_shape, **options)
    before = {key: value.clone() for key, value in model.state_dict().items()}
    trainer = Trainer(model, faces, tmp_path_factory.mktemp(request.param),
                      TrainConfig(steps=3, batch_size=4, log_every=1, ema_decay=0.9),
                      torch.device("cpu"), quiet=True)
    logs = trainer.fit()
    return model.eval(), before, logs


def test_training_steps_update_everything_with_finite_losses(trained):
    model, before, logs = trained
    expected = {"d_loss", "g_loss", "r1"} | ({"pl"} if model.name == "stylegan2" else set())
    assert set(logs) == expected and all(math.isfinite(value) for value in logs.values())
    assert logs["r1"] > 0  # lazy R1 ran (at step 0 and 2)
    for prefix in ("generator.mapping", "generator.", "discriminator."):
        assert any(not torch.equal(before[key], value) for key, value in model.state_dict().items()
                   if key.startswith(prefix) and "w_avg" not in key), prefix
    assert not torch.equal(model.generator.w_avg, torch.zeros_like(model.generator.w_avg))
    assert int(model.iteration) == 3
    samples = model.sample(3, torch.Generator().manual_seed(1))
    assert samples.shape == (3, 1, 16, 16) and samples.abs().max() <= 1
    assert torch.equal(samples, model.sample(3, torch.Generator().manual_seed(1)))


def test_architecture_matches_its_paper(trained):
    model = trained[0]
    adain = sum(isinstance(m, AdaIN) for m in model.modules())
    modulated = sum(isinstance(m, ModulatedConv2d) for m in model.modules())
    if model.name == "stylegan":  # AdaIN at every layer: two per resolution 4, 8, 16
        assert (adain, modulated, model.num_ws) == (6, 0, 6)
    else:  # 3x3 convs 1 + 2 + 2 and one toRGB per resolution; w index layout of the official code
        assert (adain, modulated, model.num_ws) == (0, 8, 6)
    assert len(model.generator.mapping.net) == 1 + 2 * TINY["mapping_layers"]


def test_truncation_zero_gives_the_same_image_for_every_seed(trained):
    model = trained[0]
    first = draw_samples(model, 3, seed=1, truncation=0.0)
    assert torch.allclose(first, draw_samples(model, 3, seed=2, truncation=0.0), atol=1e-6)
    assert not torch.allclose(draw_samples(model, 3, seed=1, truncation=1.0),
                              draw_samples(model, 3, seed=2, truncation=1.0))
    assert torch.equal(draw_samples(model, 3, seed=1, truncation=1.0), draw_samples(model, 3, seed=1))


def test_style_mixing_with_identical_seeds_reproduces_the_plain_sample(trained):
    model = trained[0]
    images, columns = style_mix(model, rows=3, cols=3, seed=4, row_seed=4)
    assert columns == 4 and images.shape[0] == 16
    grid = images.reshape(4, 4, *images.shape[1:])
    assert torch.equal(grid[0, 0], torch.ones_like(grid[0, 0]))  # blank corner
    for index in range(3):
        assert torch.allclose(grid[index + 1, index + 1], grid[0, index + 1], atol=1e-6)
        assert torch.allclose(grid[index + 1, 0], grid[0, index + 1], atol=1e-5)
    mixed, _ = style_mix(model, rows=2, cols=2, seed=4, row_seed=9)
    mixed = mixed.reshape(3, 3, *mixed.shape[1:])
    assert not torch.allclose(mixed[1, 1], mixed[0, 1]) and not torch.allclose(mixed[1, 1], mixed[1, 0])
    with pytest.raises(UserError, match="--coarse-layers"):
        style_mix(model, 2, 2, coarse_layers=model.num_ws)


def test_noise_only_variation_and_walks_in_w(trained):
    model = trained[0]
    varied = vary_noise(model, 3, seed=2)
    assert not torch.allclose(varied[0], varied[1])
    assert (varied[0] - varied[1]).abs().mean() < (draw_samples(model, 2, seed=2)[0]
                                                   - draw_samples(model, 2, seed=3)[0]).abs().mean()
    saved = {name: p.detach().clone() for name, p in model.named_parameters() if "noise" in name}
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "noise" in name:
                parameter.zero_()
    silent = vary_noise(model, 3, seed=2)
    assert torch.allclose(silent[0], silent[2], atol=1e-6)  # only the noise differed
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name in saved:
                parameter.copy_(saved[name])
    walk = interpolate(model, steps=4, pairs=2, seed=3, space="w")
    assert walk.shape == (8, 1, 16, 16)
    generator = torch.Generator().manual_seed(3)
    start = model.mapping(model.sample_latent(2, generator))
    ends = model.synthesize(start[:, None].expand(-1, model.num_ws, -1), model.noise(1, 0))
    assert torch.allclose(walk[::4], ends, atol=1e-5)
    with pytest.raises(UserError, match="linear"):
        interpolate(model, 4, space="w", spherical=True)


def test_cli_sampling_features_and_errors(tmp_path):
    run = tmp_path / "sg2"
    result = invoke("train", "stylegan2", "--data", "faces", "--image-size", "16", "--out", run,
                    "--steps", "2", "--batch-size", "4", "--quiet", *TINY_OPTIONS)
    assert result.exit_code == 0, result.output
    assert json.loads((run / "config.json").read_text())["training"]["ema_decay"] == 0.999
    assert (run / "checkpoints" / "step_00000002" / "ema.safetensors").is_file()
    assert invoke("sample", run, "--num", 4, "--truncation", 0.7, "--grid", tmp_path / "t.png").exit_code == 0
    assert iio.imread(tmp_path / "t.png").shape == (2 * 18 + 2, 2 * 18 + 2)
    assert invoke("sample", run, "--num", 3, "--vary-noise", "--out", tmp_path / "n").exit_code == 0
    assert len(list((tmp_path / "n").glob("*.png"))) == 3
    result = invoke("mix", run, "--rows", 2, "--cols", 3, "--out", tmp_path / "mix.png")
    assert result.exit_code == 0 and "2 x 3 mixes" in result.output, result.output
    assert iio.imread(tmp_path / "mix.png").shape == (3 * 18 + 2, 4 * 18 + 2)
    result = invoke("interpolate", run, "--space", "w", "--truncation", 0.5, "--steps", 3,
                    "--pairs", 1, "--out", tmp_path / "w.png")
    assert result.exit_code == 0 and iio.imread(tmp_path / "w.png").shape == (18 + 2, 3 * 18 + 2)

    dcgan = tmp_path / "dcgan"
    assert invoke("train", "dcgan", "--data", "digits:16", "--image-size", "16", "--out", dcgan,
                  "--steps", 1, "--batch-size", 4, "-o", "width=4", "-o", "latent_dim=4",
                  "--quiet").exit_code == 0
    for args, fragment in [(("mix", dcgan), "needs a style-based model"),
                           (("sample", dcgan, "--truncation", 0.5), "needs a style-based model"),
                           (("sample", dcgan, "--vary-noise"), "needs a style-based model"),
                           (("interpolate", dcgan, "--space", "w"), "needs a style-based model"),
                           (("mix", run, "--rows", 0), "--rows and --cols"),
                           (("interpolate", run, "--space", "w", "--slerp"), "linear")]:
        result = invoke(*args)
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert result.exit_code != 0 and len(lines) == 1 and lines[0].startswith("Error: ")
        assert fragment in lines[0], lines[0]
