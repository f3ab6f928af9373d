"""SinGAN's options for the official code's behaviour (issue 20): ``rec_noise``, ``lr_milestone``,
``generator_graph`` and ``upsample_precision``, their config.json round trip and old run folders,
and a float64 check of the batch norm's gradients under WGAN-GP."""

from __future__ import annotations

import copy
import json

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from torch import Tensor, nn

from ganbase.errors import UserError
from ganbase.nn.batchnorm import BatchNorm2d
from ganbase.nn.discriminators import PatchDiscriminator
from ganbase.nn.losses import WGANGPLoss
from singan_kit import run_folder as rf
from singan_kit.api import train_run
from singan_kit.architectures import make_config
from singan_kit.architectures.singan.config import OFFICIAL_LR_MILESTONE, SinGANConfig, decay_iteration
from singan_kit.architectures.singan.fit import ScaleTargets, fit_scale
from singan_kit.architectures.singan.model import ScaleGenerator
from singan_kit.imresize import imresize
from singan_kit.pyramid import Upsampling
from tests.conftest import blob_image

TINY = dict(iters=4, max_size=28, min_size=16, num_filters=8, max_filters=8)


def test_defaults_are_the_old_behaviour_and_bad_values_are_one_line_errors():
    config = SinGANConfig()
    assert (config.rec_noise, config.lr_milestone) == ("fixed", "fraction")
    with pytest.raises(UserError, match="rec_noise must be one of"):
        make_config("tiny", rec_noise="always")
    with pytest.raises(UserError, match="lr_milestone must be one of"):
        make_config("tiny", lr_milestone="1600")


def test_official_milestone_is_iteration_1600_whatever_the_count():
    assert OFFICIAL_LR_MILESTONE == 1600
    for iters in (1, 200, 500, 1600):  # never reached: the loop's last index is iters - 1
        assert decay_iteration(iters, 0.8, "official") == 1600 >= iters
    assert decay_iteration(2000, 0.8, "official") == 1600
    assert decay_iteration(4000, 0.8, "official") == 1600
    assert decay_iteration(200, 0.8, "fraction") == 160
    assert decay_iteration(4000, 0.8, "fraction") == 3200


def _fit_scale_one(milestone: str, iters: int = 10):
    torch.manual_seed(0)
    generator, critic = ScaleGenerator(8), PatchDiscriminator(3, 8, 5, 3)
    real = torch.rand(1, 3, 20, 22, generator=torch.Generator().manual_seed(3)) * 2 - 1
    targets = ScaleTargets(1, real, torch.zeros_like(real), None, 0.1)
    gen = torch.Generator().manual_seed(1)
    cfg = make_config("tiny", iters=iters, lr_milestone=milestone)
    fit = fit_scale(generator, critic, targets, lambda n: torch.rand(n, 3, 20, 22, generator=gen) * 0.1, cfg,
                    iters, torch.Generator().manual_seed(2), torch.device("cpu"), log_every=1)
    return fit, generator


def test_official_milestone_never_decays_a_short_fit():
    fraction, g_fraction = _fit_scale_one("fraction")
    official, g_official = _fit_scale_one("official")
    lr = make_config("tiny").lr_generator
    assert [row["lr"] for row in official.rows] == [lr] * 10
    assert [row["lr"] for row in fraction.rows] == [lr] * 8 + [pytest.approx(lr * 0.1)] * 2
    weights = [(a, b) for a, b in zip(g_fraction.state_dict().values(), g_official.state_dict().values())
               if a.is_floating_point()]
    assert any(not torch.equal(a, b) for a, b in weights)  # the last 2 steps ran at another rate
    assert fraction.last_rec_noise is None  # only redrawn at the coarsest scale


def _train(tmp_path, name: str, **settings):
    image = tmp_path / "photo.png"
    if not image.exists():
        iio.imwrite(image, blob_image(24, 28, seed=5))
    config = make_config("tiny", seed=3, **TINY, **settings)
    model = train_run(image, tmp_path / name, config, progress=False)
    return config, model


def test_per_iteration_rec_noise_changes_scale_0_not_the_pyramid_and_round_trips(tmp_path):
    _, fixed = _train(tmp_path, "fixed")
    config, redrawn = _train(tmp_path, "redrawn", rec_noise="per_iteration", lr_milestone="official")

    assert fixed.pyramid.sizes == redrawn.pyramid.sizes and len(fixed.reals) == len(redrawn.reals) >= 2
    for a, b in zip(fixed.reals, redrawn.reals):
        assert torch.equal(a, b)
    assert not torch.equal(fixed.z_opt, redrawn.z_opt)
    assert torch.equal(redrawn.z_opt[:, 0], redrawn.z_opt[:, 2])  # one channel broadcast, as drawn
    g_fixed, g_redrawn = fixed.generators[0].state_dict(), redrawn.generators[0].state_dict()
    assert any(not torch.equal(g_fixed[k], g_redrawn[k]) for k in g_fixed if g_fixed[k].is_floating_point())

    meta = rf.read_meta(tmp_path / "redrawn")
    assert meta["config"] == config
    saved = json.loads((tmp_path / "redrawn" / rf.CONFIG_FILE).read_text())["config"]
    assert (saved["rec_noise"], saved["lr_milestone"]) == ("per_iteration", "official")
    loaded = rf.load_model(tmp_path / "redrawn", "cpu")
    assert torch.equal(loaded.z_opt, redrawn.z_opt)  # the last draw is the saved z_opt
    assert torch.equal(loaded.reconstructions()[-1], redrawn.reconstructions()[-1])


def test_config_json_without_the_fields_loads_with_the_old_behaviour(tmp_path):
    _train(tmp_path, "old")
    path = tmp_path / "old" / rf.CONFIG_FILE
    meta = json.loads(path.read_text())
    for name in ("rec_noise", "lr_milestone", "generator_graph", "upsample_precision"):
        del meta["config"][name]
    path.write_text(json.dumps(meta))
    config = rf.read_meta(tmp_path / "old")["config"]
    assert (config.rec_noise, config.lr_milestone, config.generator_graph, config.upsample_precision) == (
        "fixed", "fraction", "fresh", "float")
    model = rf.load_model(tmp_path / "old", "cpu")
    assert model.upsampling == Upsampling(model.pyramid.scale_factor, "float")


def test_closed_form_batchnorm_gives_pytorchs_wgan_gp_gradients_in_float64():
    torch.manual_seed(0)
    ours = PatchDiscriminator(3, 8, 5, 3).double().train()
    with torch.no_grad():  # away from the DCGAN init, so gamma and beta matter
        for module in ours.modules():
            if isinstance(module, BatchNorm2d):
                module.weight.normal_(1.0, 0.3)
                module.bias.normal_(0.0, 0.3)
    theirs = copy.deepcopy(ours)
    for parent in theirs.modules():
        for name, child in parent.named_children():
            if isinstance(child, BatchNorm2d):
                reference = nn.BatchNorm2d(child.num_features).double()
                reference.load_state_dict(child.state_dict())
                setattr(parent, name, reference)
    assert not any(isinstance(m, BatchNorm2d) for m in theirs.modules())
    real = torch.rand(1, 3, 19, 21, dtype=torch.float64) * 2 - 1
    fake = torch.rand(1, 3, 19, 21, dtype=torch.float64) * 2 - 1
    mix = torch.tensor([0.3], dtype=torch.float64)
    loss_fn = WGANGPLoss(weight=0.1, per_pixel=True)
    grads = []
    for critic in (ours, theirs):
        loss = critic(fake).mean() - critic(real).mean() + loss_fn.penalty(critic, real, fake, mix)
        grads.append(torch.autograd.grad(loss, list(critic.parameters())))
    for got, want in zip(*grads):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
    # the loss depends on every weight and every batch-norm shift (conv biases cancel in the norm)
    names = [name for name, _ in ours.named_parameters()]
    assert all(g.abs().sum() > 1e-6 for name, g in zip(names, grads[0])
               if name.endswith("weight") or name.endswith(".1.bias"))


def _generator_grads(graph: str) -> list[tuple[Tensor, Tensor]]:
    """(tail conv weight grad, head conv weight grad) of each of 3 generator steps, adversarial only."""
    from ganbase.nn.losses import WGANGPLoss as Loss
    from singan_kit.architectures.singan.fit import _ScaleStep

    torch.manual_seed(0)
    generator, critic = ScaleGenerator(4), PatchDiscriminator(3, 4, 5, 3)
    real = torch.rand(1, 3, 18, 20) * 2 - 1
    targets = ScaleTargets(1, real, torch.zeros_like(real), None, 0.1)
    config = make_config("tiny", alpha=0.0, g_steps=3, generator_graph=graph)
    opt_g = torch.optim.SGD(generator.parameters(), lr=0.1)
    opt_d = torch.optim.SGD(critic.parameters(), lr=0.1)
    grads, step_once = [], opt_g.step

    def recording_step(*args, **kwargs):
        grads.append((generator.tail[0].weight.grad.clone(), generator.body[0][0].weight.grad.clone()))
        return step_once(*args, **kwargs)

    opt_g.step = recording_step
    step = _ScaleStep(generator, critic, targets, config, opt_g, opt_d, Loss(0.1, per_pixel=True), grads_to_none=True)
    step(torch.randn(1, 3, 18, 20), torch.rand(3, 3, 18, 20) * 0.1, torch.rand(3))
    return grads


def test_stale_generator_graph_reuses_the_last_critic_steps_activations():
    stale, fresh = _generator_grads("stale"), _generator_grads("fresh")
    assert len(stale) == len(fresh) == 3
    # the tail conv's weight gradient needs only its saved input and the gradient at the fake, both
    # from before the first step: identical in all three stale steps, not so when recomputed
    assert torch.equal(stale[0][0], stale[1][0]) and torch.equal(stale[0][0], stale[2][0])
    assert not torch.equal(fresh[0][0], fresh[1][0])
    assert torch.equal(stale[0][0], fresh[0][0])  # the first step is the same in both
    # deeper layers see the updated weights through the backward pass (as under torch <= 1.4)
    assert not torch.equal(stale[0][1], stale[1][1])
    assert make_config("paper").generator_graph == "stale"  # the official loop (issue 20)
    assert SinGANConfig().generator_graph == "fresh" == make_config("fast").generator_graph  # older runs
    with pytest.raises(UserError, match="generator_graph must be one of"):
        make_config("tiny", generator_graph="old")


def test_stale_generator_graph_trains_a_whole_run_and_round_trips(tmp_path):
    _, fresh = _train(tmp_path, "fresh")
    config, stale = _train(tmp_path, "stale", generator_graph="stale")
    assert rf.read_meta(tmp_path / "stale")["config"] == config
    assert json.loads((tmp_path / "stale" / rf.CONFIG_FILE).read_text())["config"]["generator_graph"] == "stale"
    g_fresh, g_stale = fresh.generators[0].state_dict(), stale.generators[0].state_dict()
    assert any(not torch.equal(g_fresh[k], g_stale[k]) for k in g_fresh if g_fresh[k].is_floating_point())
    assert torch.equal(fresh.z_opt, stale.z_opt)  # the same random draws, other updates


def test_8_bit_upsampling_truncates_like_the_official_torch2uint8():
    values = torch.tensor([-1.5, -1.0, -0.999, 0.0, 0.5, 0.999, 1.0, 1.2]).view(1, 1, 1, 8)
    levels = [0, 0, 0, 127, 191, 254, 255, 255]  # floor(255 * (x + 1) / 2), clamped to 0..255
    want = torch.tensor(levels, dtype=torch.float32) * 2 / 255 - 1
    assert torch.allclose(Upsampling(0.75, "uint8").before_resize(values).flatten(), want, atol=1e-7)
    assert torch.equal(Upsampling(0.75, "float").before_resize(values), values)
    assert torch.equal(Upsampling(0.75, "uint8").after_resize(values).flatten()[[0, 7]], torch.tensor([-1.0, 1.0]))


def test_8_bit_upsampling_is_the_official_round_trip_around_the_resize():
    image = torch.rand(1, 3, 17, 23, generator=torch.Generator().manual_seed(4), dtype=torch.float64) * 2.2 - 1.1
    size, factor = (22, 30), 0.77
    # the official imresize: torch2uint8 (truncating astype), resize the integers, /255, norm (clamped)
    as_uint8 = (255 * ((image + 1) / 2).clamp(0, 1)).numpy().astype(np.uint8)
    resized = imresize(torch.from_numpy(as_uint8.astype(np.float64)), scale=1 / factor, size=size) / 255
    want = ((resized - 0.5) * 2).clamp(-1, 1)
    got = Upsampling(factor, "uint8")(image, size)
    assert got.shape == (1, 3, *size)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
    plain = Upsampling(factor, "float")(image, size)
    torch.testing.assert_close(plain, imresize(image, scale=1 / factor, size=size), rtol=0, atol=0)
    assert (plain - got).abs().max() > 1e-3  # overshoot clamped, levels truncated


def test_8_bit_upsampling_changes_the_scales_above_0_and_round_trips(tmp_path):
    _, plain = _train(tmp_path, "float")
    config, eight_bit = _train(tmp_path, "uint8", upsample_precision="uint8")
    assert SinGANConfig().upsample_precision == "float"
    with pytest.raises(UserError, match="upsample_precision must be one of"):
        make_config("tiny", upsample_precision="uint16")
    assert plain.pyramid.sizes == eight_bit.pyramid.sizes and len(plain.generators) >= 3
    for a, b in zip(plain.reals, eight_bit.reals):
        assert torch.equal(a, b)
    weights = [[v for v in g.state_dict().values() if v.is_floating_point()] for g in (plain.generators[0],
                                                                                        eight_bit.generators[0])]
    assert all(torch.equal(a, b) for a, b in zip(*weights))  # scale 0 sees no upsampled image
    for n in range(1, len(plain.generators)):
        g_plain, g_eight = plain.generators[n].state_dict(), eight_bit.generators[n].state_dict()
        assert any(not torch.equal(g_plain[k], g_eight[k]) for k in g_plain if g_plain[k].is_floating_point()), n
    rec = eight_bit.reconstructions()
    torch.testing.assert_close(eight_bit.reconstruction_input(1),
                               Upsampling(eight_bit.pyramid.scale_factor, "uint8")(rec[0], eight_bit.pyramid.sizes[1]))
    assert json.loads((tmp_path / "uint8" / rf.CONFIG_FILE).read_text())["config"]["upsample_precision"] == "uint8"
    loaded = rf.load_model(tmp_path / "uint8", "cpu")
    assert loaded.config == config and loaded.upsampling.precision == "uint8"
    assert torch.equal(loaded.reconstructions()[-1], rec[-1])


def test_reference_numerics_train_the_same_math_without_the_speed_paths(tmp_path, monkeypatch):
    from ganbase.nn import batchnorm
    from singan_kit.architectures.singan.train import SinGANTrainer

    closed_form_calls, adam_options = [], []
    closed_form = batchnorm._BatchNormTrain.apply
    monkeypatch.setattr(batchnorm._BatchNormTrain, "apply",
                        staticmethod(lambda *args: closed_form_calls.append(1) or closed_form(*args)))

    class RecordingAdam(torch.optim.Adam):
        def __init__(self, params, **options):
            adam_options.append({k: options.get(k) for k in ("fused", "foreach")})
            super().__init__(params, **options)

    monkeypatch.setattr(torch.optim, "Adam", RecordingAdam)
    config, fast = _train(tmp_path, "fast")
    assert closed_form_calls and all(options["fused"] for options in adam_options)
    closed_form_calls.clear(), adam_options.clear()
    image = tmp_path / "photo.png"
    reference = train_run(image, tmp_path / "reference", config, progress=False, fast_paths=False)
    assert not closed_form_calls  # PyTorch's own batch norm
    assert adam_options and all(options == {"fused": None, "foreach": False} for options in adam_options)
    assert SinGANTrainer(tmp_path / "fast")._use_channels_last(8)  # NHWC below 128 filters on the CPU
    assert not SinGANTrainer(tmp_path / "reference", fast_paths=False)._use_channels_last(8)
    assert len(fast.generators) == len(reference.generators)


def _one_iteration(**options) -> Tensor:
    """Logged losses (d_loss, g_adv, rec_loss) of one iteration of one critic and one generator step."""
    torch.manual_seed(0)
    generator, critic = ScaleGenerator(8), PatchDiscriminator(3, 8, 5, 3)
    real = torch.rand(1, 3, 20, 22, generator=torch.Generator().manual_seed(3)) * 2 - 1
    targets = ScaleTargets(1, real, torch.zeros_like(real), None, 0.1)
    gen = torch.Generator().manual_seed(1)
    config = make_config("tiny", iters=1, d_steps=1, g_steps=1, gp_weight=options.pop("gp_weight", 0.1))
    fit = fit_scale(generator, critic, targets, lambda n: torch.rand(n, 3, 20, 22, generator=gen) * 0.1, config,
                    1, torch.Generator().manual_seed(2), torch.device("cpu"), log_every=1, **options)
    return torch.tensor([fit.rows[0][name] for name in ("d_loss", "g_adv", "rec_loss")])


def test_reference_numerics_give_the_same_iteration_up_to_float_rounding():
    """Later steps drift apart (Adam turns rounding-level gradients, e.g. of the conv biases that
    batch norm cancels, into full steps), so the known answer is one step of each network."""
    fast, reference = _one_iteration(channels_last=True), _one_iteration(fast_paths=False)
    torch.testing.assert_close(fast, reference, rtol=1e-5, atol=1e-5)
    assert (_one_iteration(gp_weight=0.2) - fast).abs().max() > 1e-2  # other math: far beyond that bound
