"""ConSinGAN (Hinz et al. 2021): official defaults, the rescaled stage pyramid against hand-computed
sizes, per-stage learning rates and frozen stages, and a tiny train / resume / sample run via the CLI."""

from __future__ import annotations

import json
import shutil

import imageio.v3 as iio
import pytest
import torch
from click.testing import CliRunner

from cli.singan import main
from ganbase.errors import UserError
from ganbase.io.checkpoint import load_tensors
from singan_kit.architectures import make_config
from singan_kit.architectures.base import lr_decay_iter
from singan_kit.architectures.consingan.config import (
    stage_exponents,
    stage_learning_rates,
)
from singan_kit.architectures.consingan.model import (
    ConSinGANGenerator,
    compute_stage_pyramid,
    noise_shapes,
)
from singan_kit.architectures.consingan.train import (
    ConSinGANTrainer,
    fit_stage,
    generator_param_groups,
)
from tests.conftest import blob_image
from tests.helpers import assert_imports_no_training

TINY = ["--stages", 3, "--iters", 3, "--num-filters", 8, "--min-size", 16, "--max-size", 40]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def assert_one_line_error(result, fragment):
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert result.exit_code != 0 and lines[-1].startswith("Error: ") and fragment in lines[-1], result.output
    assert "Traceback" not in result.output


def test_official_defaults():
    cfg = make_config("consingan")
    assert (cfg.architecture, cfg.num_stages, cfg.concurrent_stages, cfg.lr_scale) == ("consingan", 6, 3, 0.1)
    assert (cfg.num_filters, cfg.num_layers, cfg.negative_slope) == (64, 3, 0.05)
    assert (cfg.iters, cfg.lr_generator, cfg.lr_discriminator, cfg.beta1, cfg.beta2) == (2000, 5e-4, 5e-4, 0.5, 0.999)
    assert (cfg.d_steps, cfg.g_steps, cfg.alpha, cfg.gp_weight, cfg.noise_amp_factor) == (3, 3, 10.0, 0.1, 0.1)
    assert (cfg.min_size, cfg.max_size, cfg.receptive_field) == (25, 250, 11)
    assert lr_decay_iter(cfg.iters, cfg.lr_decay_at) == 1600
    with pytest.raises(UserError, match="scale_factor"):
        make_config("consingan", scale_factor=0.5)  # SinGAN-only setting
    with pytest.raises(UserError, match="num_stages"):
        make_config("paper", num_stages=4)  # ConSinGAN-only setting
    with pytest.raises(UserError, match=r"num_stages must be in 2\.\.64"):
        make_config("consingan", num_stages=1)


def test_stage_pyramid_matches_hand_computed_sizes():
    # 6 stages, S = 5: e_n = 1 + 4 ln(5 - n) / ln 5 = 5, 4.445, 3.730, 2.723, 1, 0.
    assert [round(e, 3) for e in stage_exponents(6)] == [5.0, 4.445, 3.730, 2.723, 1.0, 0.0]
    # samples/hubble.png is 188x250 (H x W): factor = (25/188) ** (1/5) = 0.66797; e.g. stage 3:
    # 0.66797 ** 2.723 = 0.33333 -> ceil(62.67), ceil(83.33) = 63, 84; stage 1: 0.16632 -> 32, 42.
    pyramid = compute_stage_pyramid(188, 250, 6)
    assert pyramid.sizes == ((25, 34), (32, 42), (42, 56), (63, 84), (126, 167), (188, 250))
    assert pyramid.scale_factor == pytest.approx(0.66797, abs=1e-5) and pyramid.resize_factor == 1.0
    # The official code's pyramid for a 166x250 image with 8 stages, as printed in
    # tohinz/ConSinGAN issue #23; its coarsest height is 26 from float round-off, ours exactly 25.
    official = [(26, 38), (29, 43), (34, 50), (40, 61), (51, 77), (72, 108), (127, 191), (166, 250)]
    assert compute_stage_pyramid(166, 250, 8).sizes == ((25, 38),) + tuple(official[1:])
    # Larger images are fitted into max_size first: 500x1000 -> 125x250.
    assert compute_stage_pyramid(500, 1000, 3).sizes == ((25, 50), (56, 112), (125, 250))
    with pytest.raises(UserError, match="min_size"):
        compute_stage_pyramid(20, 250, 6)


def test_learning_rate_per_concurrent_stage():
    lr = 1.0
    assert stage_learning_rates(0, 3, lr, 0.1) == ({0: 1.0}, 1.0, 1.0)
    body, head, tail = stage_learning_rates(2, 3, lr, 0.1)
    assert body == pytest.approx({0: 0.01, 1: 0.1, 2: 1.0}) and head == pytest.approx(0.01) and tail == 1.0
    body, head, tail = stage_learning_rates(4, 3, lr, 0.1)
    assert body == pytest.approx({2: 0.01, 3: 0.1, 4: 1.0}) and head is None and tail == 1.0


def test_only_the_newest_stages_train():
    torch.manual_seed(0)
    cfg = make_config("consingan", num_filters=4, iters=2, min_size=16, max_size=40, num_stages=5)
    sizes = [(11, 13), (12, 14), (13, 15), (14, 16), (16, 18)]
    generator = ConSinGANGenerator(4, 3, 0.05, num_stages=5)
    groups = generator_param_groups(generator, 4, cfg)
    assert [g["lr"] for g in groups] == pytest.approx([5e-6, 5e-5, 5e-4, 5e-4])  # body 2, 3, 4; tail
    trainable = {name.split(".")[0] + "." + name.split(".")[1] for name, p in generator.named_parameters()
                 if p.requires_grad}
    assert trainable == {"body.2", "body.3", "body.4", "tail.0"}

    before = {k: v.clone() for k, v in generator.state_dict().items()}
    critic = torch.nn.Conv2d(3, 1, 3)
    fixed = [torch.randn((1, *shape)) for shape in noise_shapes(cfg, sizes)]
    real = torch.rand((1, 3, *sizes[-1])) * 2 - 1
    fit_stage(generator, critic, real, fixed, [1.0] + [0.1] * 4, sizes, cfg, 4, torch.Generator().manual_seed(1),
              torch.Generator().manual_seed(2), torch.device("cpu"))
    after = generator.state_dict()
    changed = {k.rsplit(".", 1)[0] for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"body.2.0.0", "body.2.1.0", "body.2.2.0", "body.3.0.0", "body.3.1.0", "body.3.2.0",
                       "body.4.0.0", "body.4.1.0", "body.4.2.0", "tail.0"}


def test_generator_output_follows_the_noise_size():
    cfg = make_config("consingan", num_filters=4)
    generator = ConSinGANGenerator(4, 3, 0.05, num_stages=3).eval()
    for sizes in ([(16, 20), (23, 29), (31, 40)], [(32, 10), (46, 15), (62, 20)]):
        noise = [torch.randn((2, *shape)) for shape in noise_shapes(cfg, sizes)]
        with torch.no_grad():
            assert generator(noise, [1.0, 0.1, 0.1], sizes).shape == (2, 3, *sizes[-1])


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("consingan")
    iio.imwrite(folder / "img.png", blob_image(40, 56, seed=2))
    result = run("train", folder / "img.png", "--preset", "consingan", *TINY, "--out", folder / "run",
                 "--device", "cpu", "--threads", 1)
    assert result.exit_code == 0, result.output
    assert "stage 0/2" in result.output and "stage 2/2" in result.output and "done: 3 scales" in result.output
    return folder


def test_cli_run_folder_and_resume(cli_run, tmp_path):
    run_dir = cli_run / "run"
    meta = json.loads((run_dir / "config.json").read_text())
    assert meta["architecture"] == meta["config"]["architecture"] == "consingan"
    assert meta["config"]["num_stages"] == 3 and meta["config"]["iters"] == 3 and meta["scales_done"] == 3
    assert meta["noise_amps"][0] == 1.0 and all(0 < a < 1 for a in meta["noise_amps"][1:])
    weights = load_tensors(run_dir / "generators.safetensors")
    assert torch.equal(weights["z_opt_0"], load_tensors(run_dir / "pyramid.safetensors")["real_0"])
    height, width = meta["pyramid"]["sizes"][2]
    assert weights["z_opt_2"].shape == (1, 8, height + 6, width + 6)  # C filters, size + 2 x 3 layers
    assert sorted(p.name for p in (run_dir / "previews").iterdir()) == [f"scale_{n:02d}.png" for n in range(3)]

    # Interrupt a second run after stage 1, then finish it with --resume: same weights.
    cut = tmp_path / "cut"
    cfg = make_config("consingan", num_stages=3, iters=3, num_filters=8, min_size=16, max_size=40)
    from singan_kit.architectures.lifecycle import create_run

    create_run(cli_run / "img.png", cut, cfg, torch.device("cpu"))

    class Stop(Exception):
        pass

    def stop(summary):
        if summary.scale == 1:
            raise Stop

    with pytest.raises(Stop):
        ConSinGANTrainer(cut, "cpu", progress=False, on_scale_end=stop, threads=1).train()
    assert json.loads((cut / "config.json").read_text())["scales_done"] == 2
    result = run("train", "--resume", cut, "--threads", 1, "--device", "cpu")
    assert result.exit_code == 0 and "stage 2/2" in result.output and "stage 1/2" not in result.output
    resumed = load_tensors(cut / "generators.safetensors")
    assert resumed.keys() == weights.keys()
    for name, value in weights.items():
        assert torch.equal(value, resumed[name]), name


def test_cli_samples_at_two_sizes(cli_run, tmp_path):
    run_dir = cli_run / "run"
    h, w = json.loads((run_dir / "config.json").read_text())["pyramid"]["sizes"][-1]
    for scale, shape in (("1", (h, w, 3)), ("1.5x2", (2 * h, round(1.5 * w), 3))):
        out = tmp_path / scale
        result = run("sample", run_dir, "--num", 3, "--scale", scale, "--out", out, "--batch-size", 2,
                     "--device", "cpu")
        assert result.exit_code == 0, result.output
        assert all(iio.imread(out / f"sample_{i:04d}.png").shape == shape for i in range(3))
    result = run("sample", run_dir, "--num", 2, "--start-scale", 1, "--scale", "2x1", "--out", tmp_path / "s1",
                 "--device", "cpu")
    assert result.exit_code == 0, result.output


def test_samples_do_not_depend_on_the_batch(cli_run):
    from singan_kit.run_folder import ALL_ARCHITECTURES, load_model
    from singan_kit.sample import generate

    model = load_model(cli_run / "run", architectures=ALL_ARCHITECTURES)
    samples = generate(model, 3, batch_size=3)
    assert torch.allclose(generate(model, 3, batch_size=1), samples, atol=1e-6)
    assert not torch.equal(samples[0], samples[1])  # (barely: 3 iterations leave the noise's effect small)


def test_applications_refuse_consingan_runs(cli_run, tmp_path):
    assert_one_line_error(run("animate", cli_run / "run", "--out", tmp_path / "a.gif"),
                          "not supported for consingan runs")
    assert_one_line_error(run("sr", cli_run / "img.png", "--preset", "consingan", "--out", tmp_path / "sr.png"),
                          "not supported for the consingan preset")
    assert_one_line_error(run("train", cli_run / "img.png", "--stages", 4, "--out", tmp_path / "x"),
                          "num_stages")
    for large in (["--size", "400x300"], ["--scale", "2", "--tiled"]):
        assert_one_line_error(run("sample", cli_run / "run", *large, "--out", tmp_path / "big"),
                              "ConSinGAN runs do not offer tiled sampling (--size, --tiled)")
    assert not (tmp_path / "big").exists()
    from singan_kit import SinGAN

    model = SinGAN.load(cli_run / "run", device="cpu")
    assert model.sample(2).shape[0] == 2
    with pytest.raises(UserError, match="not supported for consingan runs"):
        model.animate(frames=2)
    copy = tmp_path / "copy"
    shutil.copytree(cli_run / "run", copy)
    meta = json.loads((copy / "config.json").read_text())
    meta["architecture"] = "futuregan"
    (copy / "config.json").write_text(json.dumps(meta))
    assert_one_line_error(run("sample", copy, "--num", 1), "upgrade")


def test_inference_does_not_import_training_code():
    assert_imports_no_training(["singan_kit.sample", "singan_kit.run_folder", "singan_kit.architectures.consingan.model"])
