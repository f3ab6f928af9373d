"""Loading a run never executes code from it, and damaged runs get one clear error line.

A pickle whose ``__reduce__`` would create a marker file is planted wherever weights are
expected (SinGAN weights, pyramid and critic; zoo model weights and training state; as a plain
pickle and as a ``torch.save`` archive): loading refuses it by name and the marker never appears.
Truncated or corrupt weights, a config.json from a newer version, and weights that do not match
their config each get one ``Error:`` line from the CLI.
"""

from __future__ import annotations

import io
import json
import pickle
import re
import shutil
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file, save_file

from cli.ganzoo import main as ganzoo
from cli.singan import main as singan
from tests.conftest import blob_image

ROOT = Path(__file__).resolve().parents[2]


class Payload:
    """Unpickling this calls ``open(marker, "w")``: the file appearing proves code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


def malicious_bytes(marker: Path, kind: str) -> bytes:
    if kind == "pickle":
        return pickle.dumps(Payload(marker))
    buffer = io.BytesIO()
    torch.save({"weights": Payload(marker)}, buffer)  # a zip archive holding the pickle
    return buffer.getvalue()


def one_error_line(result) -> str:
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    import imageio.v3 as iio

    root = tmp_path_factory.mktemp("safe")
    iio.imwrite(root / "img.png", blob_image(40, 56))
    result = CliRunner().invoke(singan, ["train", str(root / "img.png"), "--out", str(root / "singan"),
                                         "--preset", "tiny", "--iters", "2", "--threads", "1", "-q"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(ganzoo, ["train", "dcgan", "--data", "digits:20", "--out", str(root / "zoo"),
                                         "--steps", "2", "--batch-size", "4", "--image-size", "16",
                                         "-o", "latent_dim=8", "-o", "width=8", "--quiet"])
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def copy_run(runs, tmp_path):
    def copy(name: str) -> Path:
        return Path(shutil.copytree(runs / name, tmp_path / name))
    return copy


def zoo_checkpoint(run: Path) -> Path:
    return run / json.loads((run / "latest.json").read_text())["checkpoint"]


def test_payload_is_live(tmp_path):
    """The payload does run when unpickled, so the tests below would notice if we unpickled it."""
    marker = tmp_path / "ran"
    pickle.loads(malicious_bytes(marker, "pickle"))
    assert marker.exists()


@pytest.mark.parametrize("kind", ["pickle", "torch.save"])
@pytest.mark.parametrize("target", ["generators.safetensors", "pyramid.safetensors"])
def test_singan_sample_refuses_a_planted_pickle(copy_run, tmp_path, kind, target):
    run = copy_run("singan")
    marker = tmp_path / "pwned"
    (run / target).write_bytes(malicious_bytes(marker, kind))
    line = one_error_line(CliRunner().invoke(singan, ["sample", str(run), "--num", "1",
                                                      "--out", str(tmp_path / "s")]))
    assert "refusing to load" in line and target in line and "pickle" in line
    assert not marker.exists() and not (tmp_path / "s").exists()


def test_singan_resume_refuses_a_planted_critic_pickle(copy_run, tmp_path):
    run = copy_run("singan")
    meta = json.loads((run / "config.json").read_text())
    meta["scales_done"] -= 1  # an unfinished run: resuming loads the critic
    meta["noise_amps"] = meta["noise_amps"][:-1]
    (run / "config.json").write_text(json.dumps(meta))
    marker = tmp_path / "pwned"
    (run / "discriminators.safetensors").write_bytes(malicious_bytes(marker, "pickle"))
    line = one_error_line(CliRunner().invoke(singan, ["train", "--resume", str(run), "--threads", "1", "-q"]))
    assert "refusing to load" in line and "discriminators.safetensors" in line
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["pickle", "torch.save"])
def test_ganzoo_sample_refuses_a_planted_pickle(copy_run, tmp_path, kind):
    run = copy_run("zoo")
    marker = tmp_path / "pwned"
    (zoo_checkpoint(run) / "model.safetensors").write_bytes(malicious_bytes(marker, kind))
    line = one_error_line(CliRunner().invoke(ganzoo, ["sample", str(run), "--grid", str(tmp_path / "g.png")]))
    assert "refusing to load" in line and "model.safetensors" in line
    assert not marker.exists() and not (tmp_path / "g.png").exists()


def test_ganzoo_resume_refuses_a_planted_training_state(copy_run, tmp_path):
    run = copy_run("zoo")
    marker = tmp_path / "pwned"
    (zoo_checkpoint(run) / "training_state.safetensors").write_bytes(malicious_bytes(marker, "torch.save"))
    line = one_error_line(CliRunner().invoke(ganzoo, ["train", "dcgan", "--out", str(run), "--resume",
                                                      "--steps", "4", "--quiet"]))
    assert "refusing to load" in line and "training_state.safetensors" in line
    assert not marker.exists()


def test_library_never_unpickles():
    """No module of the packages calls pickle or torch.load (safetensors and JSON only)."""
    offenders = []
    for package in ("ganbase", "singan_kit", "cli"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if re.search(r"^\s*(import|from)\s+(pickle|dill|cloudpickle|joblib)\b", text, re.M) or \
                    re.search(r"torch\.load\((?![^)]*weights_only=True)", text) or "np.load(" in text:
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


# ----- damaged runs ------------------------------------------------------------------------

def test_truncated_weights(copy_run, tmp_path):
    run = copy_run("singan")
    data = (run / "generators.safetensors").read_bytes()
    (run / "generators.safetensors").write_bytes(data[: len(data) // 2])
    line = one_error_line(CliRunner().invoke(singan, ["sample", str(run), "--out", str(tmp_path / "s")]))
    assert "corrupt or truncated weights file" in line and "generators.safetensors" in line


def test_corrupt_weights(copy_run, tmp_path):
    run = copy_run("zoo")
    path = zoo_checkpoint(run) / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[8:24] = b"\xff" * 16  # garbage in the JSON header
    path.write_bytes(bytes(data))
    line = one_error_line(CliRunner().invoke(ganzoo, ["sample", str(run), "--grid", str(tmp_path / "g.png")]))
    assert "corrupt or truncated weights file" in line and "model.safetensors" in line


def test_empty_weights_file(copy_run, tmp_path):
    run = copy_run("singan")
    (run / "pyramid.safetensors").write_bytes(b"")
    line = one_error_line(CliRunner().invoke(singan, ["sample", str(run), "--out", str(tmp_path / "s")]))
    assert "corrupt or truncated weights file" in line


@pytest.mark.parametrize("command", ["singan", "ganzoo"])
def test_config_from_a_future_version(copy_run, tmp_path, command):
    run = copy_run("singan" if command == "singan" else "zoo")
    config = json.loads((run / "config.json").read_text())
    config["format"] = 99
    (run / "config.json").write_text(json.dumps(config))
    if command == "singan":
        result = CliRunner().invoke(singan, ["sample", str(run), "--out", str(tmp_path / "s")])
    else:
        result = CliRunner().invoke(ganzoo, ["sample", str(run), "--grid", str(tmp_path / "g.png")])
    line = one_error_line(result)
    assert "newer version" in line and "format 99" in line


def test_corrupt_config_json(copy_run, tmp_path):
    run = copy_run("singan")
    (run / "config.json").write_text('{"format": 1, "model": "singan", ')
    line = one_error_line(CliRunner().invoke(singan, ["sample", str(run), "--out", str(tmp_path / "s")]))
    assert "corrupt JSON file" in line


def test_singan_weights_of_the_wrong_shape(copy_run, tmp_path):
    run = copy_run("singan")
    config = json.loads((run / "config.json").read_text())
    config["config"]["num_filters"] = config["config"]["max_filters"] = 16  # the weights have 8
    (run / "config.json").write_text(json.dumps(config))
    line = one_error_line(CliRunner().invoke(singan, ["sample", str(run), "--out", str(tmp_path / "s")]))
    assert "do not match scale 0" in line and "has shape [8" in line and "expected [16" in line


def test_singan_weights_missing_a_scale(copy_run, tmp_path):
    run = copy_run("singan")
    weights = load_file(run / "generators.safetensors")
    save_file({k: v for k, v in weights.items() if not k.startswith("g1.")}, run / "generators.safetensors")
    line = one_error_line(CliRunner().invoke(singan, ["sample", str(run), "--out", str(tmp_path / "s")]))
    assert "do not match scale 1" in line and "missing" in line


def test_zoo_weights_not_matching_the_config(copy_run, tmp_path):
    run = copy_run("zoo")
    config = json.loads((run / "config.json").read_text())
    config["model_config"]["width"] = 16  # trained with width 8
    (run / "config.json").write_text(json.dumps(config))
    line = one_error_line(CliRunner().invoke(ganzoo, ["sample", str(run), "--grid", str(tmp_path / "g.png")]))
    assert "do not match the model in config.json" in line and "expected [" in line
