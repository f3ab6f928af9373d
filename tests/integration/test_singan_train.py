"""End-to-end tests of SinGAN training on tiny images: run folder, determinism, resume."""

from __future__ import annotations

import csv
import json

import pytest
import torch

from ganbase.errors import UserError
from ganbase.io.checkpoint import load_tensors
from singan_kit.architectures import make_config, preset_names
from singan_kit.architectures.base import lr_decay_iter
from singan_kit.architectures.lifecycle import create_run, train
from singan_kit.architectures.singan.config import PRESETS, SinGANConfig, filters_at_scale, iters_at_scale
from singan_kit.architectures.singan.train import SinGANTrainer
from singan_kit.run_folder import load_model
from tests.helpers import ROOT, assert_imports_no_training


def tiny(**overrides) -> SinGANConfig:
    return make_config("tiny", **overrides)


def test_paper_defaults():
    cfg = make_config("paper")
    assert (cfg.iters, cfg.lr_generator, cfg.lr_discriminator, cfg.beta1, cfg.beta2) == (2000, 5e-4, 5e-4, 0.5, 0.999)
    assert (cfg.d_steps, cfg.g_steps, cfg.alpha, cfg.gp_weight) == (3, 3, 10.0, 0.1)
    assert (cfg.scale_factor, cfg.min_size, cfg.max_size, cfg.noise_amp_factor) == (0.75, 25, 250, 0.1)
    assert (cfg.num_layers, cfg.kernel_size) == (5, 3)
    assert lr_decay_iter(cfg.iters, cfg.lr_decay_at) == 1600
    assert [filters_at_scale(n) for n in range(10)] == [32] * 4 + [64] * 4 + [128] * 2
    # the official loop's z_opt redraw and milestone (issue 20); other presets keep the paper's text
    assert (cfg.rec_noise, cfg.lr_milestone, cfg.generator_graph, cfg.upsample_precision) == (
        "per_iteration", "official", "stale", "uint8")
    assert [(make_config(p).rec_noise, make_config(p).lr_milestone, make_config(p).generator_graph,
             make_config(p).upsample_precision) for p in ("fast", "quick", "tiny")] == [
        ("fixed", "fraction", "fresh", "float")] * 3


def test_iteration_schedule_and_presets():
    assert [iters_at_scale(n, 5, 100) for n in range(5)] == [100] * 5
    assert [iters_at_scale(n, 5, 500, 100) for n in range(5)] == [500, 400, 300, 200, 100]
    assert preset_names() == ("paper", "fast", "quick", "tiny", "consingan", "gpnn", "gpnn-diverse", "gpdm")
    with pytest.raises(UserError, match="unknown preset"):
        make_config("huge")
    with pytest.raises(UserError, match="invalid setting"):
        make_config("paper", iters=0)


def test_iters_override_keeps_a_tapering_presets_ratio():
    fast = PRESETS["fast"]
    half = make_config("fast", iters=fast["iters"] // 2)
    assert half.fine_iters == round(fast["fine_iters"] / 2)
    assert make_config("fast", iters=1).fine_iters >= 1
    assert make_config("fast", iters=300, fine_iters=7).fine_iters == 7  # both given: both kept
    assert make_config("paper", iters=300).fine_iters is None  # paper does not taper
    assert make_config("paper", fine_iters=50).fine_iters == 50


@pytest.mark.slow
def test_train_writes_complete_run_folder(image_path, tmp_path):
    run = tmp_path / "run"
    model = train(image_path, run, tiny(), progress=False)
    meta = json.loads((run / "config.json").read_text())
    num = len(meta["pyramid"]["sizes"])
    assert meta["scales_done"] == num == model.num_trained
    assert meta["config"]["iters"] == PRESETS["tiny"]["iters"] and meta["version"]
    assert len(meta["noise_amps"]) == num and meta["noise_amps"][0] == 1.0
    assert all(0 < a < 1 for a in meta["noise_amps"][1:])
    for name in ["generators.safetensors", "discriminators.safetensors", "pyramid.safetensors", "real.png"]:
        assert (run / name).is_file()
    assert sorted(p.name for p in (run / "previews").iterdir()) == [f"scale_{n:02d}.png" for n in range(num)]
    rows = list(csv.DictReader(open(run / "log.csv")))
    assert {int(r["scale"]) for r in rows} == set(range(num))
    assert all(torch.isfinite(torch.tensor(float(r["d_loss"]))) for r in rows)
    weights = load_tensors(run / "generators.safetensors")
    assert weights["z_opt"].shape == (1, 3, *meta["pyramid"]["sizes"][0])
    # z_opt is one channel broadcast to three at the coarsest scale.
    assert torch.equal(weights["z_opt"][:, 0], weights["z_opt"][:, 2])


@pytest.mark.slow
def test_training_reduces_reconstruction_error(image_path, tmp_path):
    short = train(image_path, tmp_path / "a", tiny(iters=2), progress=False)
    longer = train(image_path, tmp_path / "b", tiny(iters=60, fine_iters=30), progress=False)
    def rec_error(model):
        return torch.mean((model.reconstructions()[-1] - model.reals[-1]) ** 2).item()
    assert rec_error(longer) < 0.5 * rec_error(short)


@pytest.mark.slow
def test_same_seed_same_model_and_different_seed_differs(image_path, tmp_path):
    a = train(image_path, tmp_path / "a", tiny(), progress=False, threads=1)
    b = train(image_path, tmp_path / "b", tiny(), progress=False, threads=1)
    c = train(image_path, tmp_path / "c", tiny(seed=1), progress=False, threads=1)
    for ga, gb in zip(a.generators, b.generators):
        for (k, va), vb in zip(ga.state_dict().items(), gb.state_dict().values()):
            assert torch.equal(va, vb), k
    assert not torch.equal(a.generators[-1].tail[0].weight, c.generators[-1].tail[0].weight)


class StopAfter(Exception):
    pass


def test_resume_equals_uninterrupted(image_path, tmp_path):
    cfg = tiny(iters=6)
    full = train(image_path, tmp_path / "full", cfg, progress=False, threads=1)

    run = tmp_path / "cut"
    create_run(image_path, run, cfg, torch.device("cpu"))

    def stop(summary):
        if summary.scale == 1:
            raise StopAfter

    with pytest.raises(StopAfter):
        SinGANTrainer(run, "cpu", progress=False, on_scale_end=stop, threads=1).train()
    assert json.loads((run / "config.json").read_text())["scales_done"] == 2
    assert load_model(run).num_trained == 2  # the interrupted folder is loadable
    resumed = train(None, run, resume=True, progress=False, threads=1)
    assert resumed.num_trained == full.num_trained
    assert resumed.noise_amps == full.noise_amps
    for g_full, g_res in zip(full.generators, resumed.generators):
        for (k, v1), v2 in zip(g_full.state_dict().items(), g_res.state_dict().values()):
            assert torch.equal(v1, v2), k
    reloaded = load_model(run)
    assert torch.equal(reloaded.reconstructions()[-1], load_model(tmp_path / "full").reconstructions()[-1])


def test_existing_folder_needs_overwrite(image_path, tmp_path):
    run = tmp_path / "run"
    train(image_path, run, tiny(iters=1), progress=False)
    with pytest.raises(UserError, match="already exists"):
        train(image_path, run, tiny(iters=1), progress=False)
    train(image_path, run, tiny(iters=1), progress=False, overwrite=True)


def test_weights_must_match_config(image_path, tmp_path):
    run = tmp_path / "run"
    train(image_path, run, tiny(iters=1), progress=False)
    meta = json.loads((run / "config.json").read_text())
    meta["config"]["num_filters"] = 16
    meta["config"]["max_filters"] = 16
    (run / "config.json").write_text(json.dumps(meta))
    with pytest.raises(UserError, match="do not match"):
        load_model(run)


def test_future_format_is_refused(image_path, tmp_path):
    run = tmp_path / "run"
    train(image_path, run, tiny(iters=1), progress=False)
    meta = json.loads((run / "config.json").read_text())
    meta["format"] = 99
    (run / "config.json").write_text(json.dumps(meta))
    with pytest.raises(UserError, match="newer version"):
        load_model(run)


def test_earlier_scales_run_once_per_batch_not_per_step(image_path, tmp_path):
    """The reconstruction path is computed once per scale and random inputs are batched."""
    run = tmp_path / "run"
    cfg = tiny(iters=16)
    create_run(image_path, run, cfg, torch.device("cpu"))
    trainer = SinGANTrainer(run, "cpu", progress=False, threads=1)
    trainer.train_scale(0)
    calls = []
    trainer.model.generators[0].register_forward_hook(lambda *args: calls.append(1))
    trainer.train_scale(1)
    # 16 iterations x (3 critic + 3 generator steps) would be 96 calls if done per step; here:
    # 2 batched pools of random inputs + 1 preview sample (the reconstruction through scale 0 was
    # computed once, when scale 0 finished).
    assert len(calls) == 3


def test_frozen_generators_return_to_nchw_when_a_scale_fails(image_path, tmp_path, monkeypatch):
    """A scale runs the frozen generators channels-last; an interrupt must not leave them so."""
    import singan_kit.architectures.singan.train as train_module

    run = tmp_path / "run"
    create_run(image_path, run, tiny(iters=2), torch.device("cpu"))
    trainer = SinGANTrainer(run, "cpu", progress=False, threads=1, channels_last=True)
    trainer.train_scale(0)
    layouts = []

    def interrupted(*args, **kwargs):
        layouts.append([w.is_contiguous(memory_format=torch.channels_last) for w in
                        (p for p in trainer.model.generators[0].parameters() if p.dim() == 4)])
        raise StopAfter

    monkeypatch.setattr(train_module, "fit_scale", interrupted)
    with pytest.raises(StopAfter):
        trainer.train_scale(1)
    assert layouts and all(layouts[0])  # channels-last during the scale
    conv_weights = [p for p in trainer.model.generators[0].parameters() if p.dim() == 4]
    assert all(w.is_contiguous() for w in conv_weights)


def test_inference_does_not_import_training_code():
    assert_imports_no_training(["singan_kit.sample", "singan_kit.run_folder", "singan_kit.architectures.singan.model"])


@pytest.mark.parametrize("run", ["singan_tiny", "consingan_tiny"])
def test_loading_a_run_folder_imports_no_training_code(run):
    """The done-when check of the redesign: ``import singan_kit.sample`` and loading a run folder."""
    folder = ROOT / "tests" / "fixtures" / "old_runs" / run
    assert_imports_no_training("import sys, singan_kit.sample; from singan_kit.run_folder import ALL_ARCHITECTURES, "
                               "load_model; model = load_model(sys.argv[1], 'cpu', architectures=ALL_ARCHITECTURES); "
                               "assert not model.training", str(folder))


def test_random_batches_respect_memory_budget():
    from singan_kit.architectures.singan.fit import (
        RANDOM_BATCH_BYTES,
        RANDOM_BATCH_ITERS,
        random_batch_iters,
    )

    assert random_batch_iters((25, 34), 32, 3) == RANDOM_BATCH_ITERS
    big = random_batch_iters((1000, 1000), 128, 3)
    assert 1 <= big < RANDOM_BATCH_ITERS
    assert big == 1 or big * 3 * 2 * 4 * 1000 * 1000 * 128 <= RANDOM_BATCH_BYTES


def test_official_loop_options_from_the_cli(tmp_path):
    import imageio.v3 as iio
    from click.testing import CliRunner

    from cli.singan import main
    from tests.conftest import blob_image

    iio.imwrite(tmp_path / "photo.png", blob_image(24, 30, seed=1))
    result = CliRunner().invoke(main, ["train", str(tmp_path / "photo.png"), "--preset", "tiny", "--iters", "2",
                                       "--rec-noise", "per_iteration", "--lr-milestone", "official",
                                       "--generator-graph", "stale", "--upsample-precision", "uint8",
                                       "--out", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "run" / "config.json").read_text())["config"]
    assert (config["rec_noise"], config["lr_milestone"], config["generator_graph"], config["upsample_precision"]) == (
        "per_iteration", "official", "stale", "uint8")
    result = CliRunner().invoke(main, ["train", str(tmp_path / "photo.png"), "--rec-noise", "always",
                                       "--out", str(tmp_path / "bad")])
    assert result.exit_code != 0 and "'always' is not one of 'fixed', 'per_iteration'" in result.output
    assert not (tmp_path / "bad").exists()
