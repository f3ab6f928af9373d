"""Everything read from a run folder is checked before use (``singan_kit.run_validation``,
``ganbase.io.checkpoint``), and the bounds and the training-memory estimate that refuse runaway
requests (``singan_kit.pyramid.MAX_SCALES``, ``singan_kit.training_memory``).

Run folders are copies of ``tests/fixtures/old_runs`` edited the way a careless user or a broken
disk would.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from ganbase.errors import UserError
from ganbase.zoo.inference import runs as zoo_runs
from singan_kit.architectures.singan.config import SinGANConfig
from singan_kit.pyramid import MAX_SCALES, compute_pyramid
from singan_kit.run_folder import load_model, read_meta
from singan_kit.training_memory import OVERHEAD_BYTES, check_training_memory, training_bytes

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "old_runs"


@pytest.fixture
def run(tmp_path) -> Path:
    shutil.copytree(FIXTURES / "singan_tiny", tmp_path / "run")
    return tmp_path / "run"


def edit_config(run: Path, change) -> None:
    meta = json.loads((run / "config.json").read_text())
    change(meta)
    (run / "config.json").write_text(json.dumps(meta))


def edit_tensors(path: Path, change) -> None:
    tensors = load_file(path)
    change(tensors)
    save_file(tensors, path)


def test_the_fixture_loads(run):
    assert load_model(run).num_trained == 4


@pytest.mark.parametrize("change,message", [
    (lambda m: m["noise_amps"].__setitem__(1, float("nan")), "noise amplitude of scale 1 is nan"),
    (lambda m: m["noise_amps"].__setitem__(0, -1.0), "noise amplitude of scale 0 is -1.0"),
    (lambda m: m["noise_amps"].__setitem__(2, "0.1"), "noise amplitude of scale 2 is '0.1'"),
    (lambda m: m.__setitem__("noise_amps", {"a": 1}), "noise_amps must be a list"),
    (lambda m: m.__setitem__("scales_done", 2.5), "scales_done must be a whole number"),
    (lambda m: m.__setitem__("scales_done", True), "scales_done must be a whole number"),
    (lambda m: m["config"].__setitem__("lr_generator", "fast"), "config setting lr_generator must be float"),
    (lambda m: m["config"].__setitem__("num_filters", 8.5), "config setting num_filters must be int"),
    (lambda m: m["config"].__setitem__("noise_amp_factor", float("inf")), "numbers must be finite"),
    (lambda m: m["config"].__setitem__("max_filters", 100_000), "max_filters must be <= 1024"),
    (lambda m: m["config"].__setitem__("kernel_size", 4), "kernel_size must be odd"),
    (lambda m: m.__setitem__("config", [1, 2]), "'config' must be an object, got list"),
    (lambda m: m["pyramid"].__setitem__("sizes", [[16, -22]]), "pyramid sizes must be a list"),
    (lambda m: m["pyramid"].__setitem__("sizes", [[16, 22]] * 100), "100 scales, above the limit of 64"),
    (lambda m: m["pyramid"].__setitem__("scale_factor", float("nan")), "pyramid scale_factor must be a number"),
    (lambda m: m["pyramid"].__setitem__("input_size", "24x32"), "pyramid input_size must be"),
])
def test_bad_config_values_are_one_line_errors(run, change, message):
    edit_config(run, change)
    with pytest.raises(UserError, match="corrupt .*config.json") as info:
        read_meta(run)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_a_config_json_that_is_a_list_huge_or_deeply_nested(run):
    (run / "config.json").write_text("[1, 2, 3]")
    with pytest.raises(UserError, match="expected an object"):
        read_meta(run)
    (run / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(UserError, match="corrupt JSON file .*recursion"):
        read_meta(run)
    with open(run / "config.json", "wb") as handle:  # sparse: 20 MB declared, nothing written
        handle.write(b"{")
        handle.truncate(20 * 2**20)
    with pytest.raises(UserError, match="20,971,520 bytes, above the limit of 16,777,216"):
        read_meta(run)


@pytest.mark.parametrize("change,message", [
    (lambda t: t.__setitem__("g0.body.0.0.weight", t["g0.body.0.0.weight"].double()),
     "g0.body.0.0.weight is float64, expected float32"),
    (lambda t: t["g1.body.0.0.bias"].__setitem__(0, float("nan")), "g1.body.0.0.bias has 1 NaN or infinite value"),
    (lambda t: t.__setitem__("z_opt", torch.zeros(1, 3, 5, 5)), "z_opt has shape [1, 3, 5, 5], expected [1, 3, 16, 22]"),
])
def test_bad_weights_are_one_line_errors(run, change, message):
    names = load_file(run / "generators.safetensors")
    assert "g0.body.0.0.weight" in names and "g1.body.0.0.bias" in names, sorted(names)[:8]
    edit_tensors(run / "generators.safetensors", change)
    with pytest.raises(UserError, match="corrupt .*generators.safetensors") as info:
        load_model(run)
    assert message in str(info.value)


def test_a_pyramid_image_with_nan_is_refused(run):
    edit_tensors(run / "pyramid.safetensors", lambda t: t["real_0"].__setitem__((0, 0, 0, 0), float("inf")))
    with pytest.raises(UserError, match="pyramid.safetensors: real_0 has 1 NaN or infinite value"):
        load_model(run)


def test_zoo_weights_of_another_dtype_or_with_nan_are_refused(tmp_path):
    shutil.copytree(FIXTURES / "zoo_dcgan", tmp_path / "zoo")
    weights = next((tmp_path / "zoo" / "checkpoints").glob("*/model.safetensors"))
    assert zoo_runs.load_model(tmp_path / "zoo")[2] >= 1
    original = load_file(weights)
    name = next(k for k, v in original.items() if v.is_floating_point() and v.dim() > 1)
    edit_tensors(weights, lambda t: t.__setitem__(name, t[name].double()))
    with pytest.raises(UserError, match=f"{name} is float64, expected float32"):
        zoo_runs.load_model(tmp_path / "zoo")
    save_file({**original, name: original[name].clone().fill_(float("nan"))}, weights)
    with pytest.raises(UserError, match=f"{name} has \\d+ NaN or infinite value"):
        zoo_runs.load_model(tmp_path / "zoo")


# -- runaway requests -----------------------------------------------------------------------

def test_a_scale_factor_near_one_is_refused_with_the_count():
    with pytest.raises(UserError, match="scale factor 0.9999 gives 20070 scales for a 248x186 px image .*"
                                        f"above the limit of {MAX_SCALES}"):
        compute_pyramid(186, 248, 25, 250, 0.9999)
    assert compute_pyramid(186, 248, 25, 250, 0.96).num_scales == 52  # the last factor within the limit
    assert compute_pyramid(186, 248, 25, 250, 0.75).num_scales == 9


def test_training_bytes_known_answers():
    # 6 passes x 3 tensors x 4 hidden layers x 32 filters x 188 x 250 px x 4 bytes = 433,152,000
    # + weights and Adam: 2 nets x 5 layers x 32 x 32 x 9 x 4 bytes x 4 = 1,474,560
    assert training_bytes(188, 250, 32, 5) == 433_152_000 + 1_474_560 + OVERHEAD_BYTES
    assert training_bytes(188, 250, 128, 5) == 4 * 433_152_000 + 16 * 1_474_560 + OVERHEAD_BYTES


def test_a_request_beyond_the_memory_left_is_refused():
    config = SinGANConfig(max_size=2000, num_filters=32, max_filters=128)
    sizes = ((25, 33), (1500, 2000))
    estimate = training_bytes(1500, 2000, 128, 5)
    assert check_training_memory(config, sizes, estimate - OVERHEAD_BYTES) == estimate  # torch is loaded already
    with pytest.raises(UserError, match="training needs about"):
        check_training_memory(config, sizes, estimate - OVERHEAD_BYTES - 1)
    with pytest.raises(UserError, match=r"training needs about 103\.5 GB at the finest scale \(2000x1500 px, 128 "
                                        r"filters\), more than the 8\.0 GB available; lower --max-size"):
        check_training_memory(config, sizes, 8 * 2**30)


def test_no_estimate_for_configs_without_filters():
    class Toy:
        pass

    assert check_training_memory(Toy(), ((8, 8),), 1) is None
    assert os.environ.get("GANBASE_MAX_IMAGE_PIXELS") is None  # the tests run with the default limit


def test_metrics_of_non_finite_samples_are_refused():
    from singan_kit.evaluate import evaluate_images

    real = torch.zeros(1, 3, 16, 16)
    samples = torch.zeros(2, 3, 16, 16)
    samples[1, 0, 3, 3] = float("nan")
    with pytest.raises(UserError, match="the samples hold 1 NaN or infinite value"):
        evaluate_images(real, samples, swd_error=False)
