"""The architecture registry is the only place an architecture plugs in: a toy architecture defined
and registered in this module (one level whose generator returns the training image plus noise)
trains, samples, evaluates and reports through the `singan` CLI with no other file touched."""

from __future__ import annotations

import json
from dataclasses import dataclass

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import Tensor, nn

from cli.singan import main
from ganbase.io.images import to_uint8
from singan_kit import architectures
from singan_kit.architectures.base import Architecture, RunConfig, ScaleSummary
from singan_kit.architectures.lifecycle import LevelTrainer
from singan_kit.imresize import imresize
from singan_kit.pyramid import Pyramid, fit_finest_size
from tests.conftest import blob_image


@dataclass(frozen=True)
class ToyConfig(RunConfig):
    architecture: str = "toy"
    noise: float = 0.25  # amplitude of the Gaussian noise added to the image
    min_size: int = 8
    max_size: int = 32
    seed: int = 0

    def validate(self) -> "ToyConfig":
        return self.check([(self.noise >= 0, "noise must be >= 0")])


class ToyModel(nn.Module):
    """One level: ``real + noise_amp * z``, with a learnt colour shift (the toy's only weight)."""

    def __init__(self, config: ToyConfig, pyramid: Pyramid, reals: list[Tensor], noise_amps: list[float]) -> None:
        super().__init__()
        self.config, self.pyramid, self.noise_amps = config, pyramid, list(noise_amps)
        self.register_buffer("real", reals[0])
        self.shift = nn.Parameter(torch.zeros(1, 3, 1, 1))

    @property
    def reals(self) -> list[Tensor]:
        return [self.real]

    @property
    def num_trained(self) -> int:
        return len(self.noise_amps)

    @property
    def device(self) -> torch.device:
        return self.real.device

    def sizes_for(self, scale_h: float = 1.0, scale_w: float = 1.0) -> list[tuple[int, int]]:
        height, width = self.pyramid.sizes[0]
        return [(round(height * scale_h), round(width * scale_w))]


def sample_batch(model: ToyModel, streams, sizes, start_scale: int) -> Tensor:
    image = imresize(model.real, size=tuple(sizes[0])) + model.shift
    noise = torch.cat([torch.randn((1, 3, *sizes[0]), generator=stream) for stream in streams]).to(model.device)
    return image + model.noise_amps[0] * noise


def build_model(meta: dict, reals: list[Tensor], weights: dict[str, Tensor], source: str) -> ToyModel:
    model = ToyModel(meta["config"], meta["pyramid"], reals, meta["noise_amps"])
    if meta["scales_done"]:
        model.shift.data.copy_(weights["shift"])
    return model


def compute_pyramid(config: ToyConfig, height: int, width: int) -> Pyramid:
    factor, fine_h, fine_w = fit_finest_size(height, width, config.min_size, config.max_size)
    return Pyramid((height, width), factor, 0.5, ((fine_h, fine_w),))


class ToyTrainer(LevelTrainer):
    def fit_level(self, scale: int):
        with torch.no_grad():  # "training": the colour shift that brings the image's mean to zero
            self.model.shift.copy_(-self.model.real.mean(dim=(2, 3), keepdim=True))
        self.model.noise_amps.append(self.config.noise)
        rows = [{"scale": scale, "iter": 1, "d_loss": 0.0, "d_real": 0.0, "d_fake": 0.0, "gradient_penalty": 0.0,
                 "g_adv": 0.0, "rec_loss": 0.0, "lr": 0.0, "seconds": 0.0}]
        summary = ScaleSummary(scale, 1, tuple(self.pyramid.sizes[0]), 3, 1, 0.0, self.config.noise, 0, 0, 0, 0)
        return summary, rows, {"unused": torch.zeros(1)}

    def generator_tensors(self) -> dict[str, Tensor]:
        return {"shift": self.model.shift.detach()}

    def preview_images(self, scale: int) -> list[np.ndarray]:
        streams = [torch.Generator().manual_seed(0)]
        return [to_uint8(self.model.real)[0], to_uint8(sample_batch(self.model, streams, self.pyramid.sizes, 0))[0]]


TOY = Architecture(
    name="toy", title="Toy", paper="a test of the registry", config_class=ToyConfig, presets={"toy": {}},
    compute_pyramid=compute_pyramid,
    build_pyramid=lambda image, pyramid: [imresize(image * 2 - 1, size=pyramid.sizes[0]).clamp(-1, 1)],
    build_model=build_model, sample_batch=sample_batch, trainer=ToyTrainer,
    scale_sample=lambda model, scale, seed: sample_batch(model, [torch.Generator().manual_seed(seed)],
                                                         model.pyramid.sizes, 0).clamp(-1, 1),
    scale_reconstruction=lambda model, scale: (model.real + model.shift).clamp(-1, 1),
    scale_filters=lambda config, scale: 3,
)


@pytest.fixture(scope="module")
def toy_registered():
    architectures.register(TOY)
    yield
    architectures.unregister("toy")


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_a_toy_architecture_registered_here_works_with_every_command(toy_registered, tmp_path):
    iio.imwrite(tmp_path / "photo.png", blob_image(40, 56, seed=2))
    run_dir = tmp_path / "toy_run"
    run("train", tmp_path / "photo.png", "--preset", "toy", "--out", run_dir, "--device", "cpu", "-q")
    meta = json.loads((run_dir / "config.json").read_text())
    assert meta["architecture"] == "toy" and meta["scales_done"] == 1 and meta["config"]["noise"] == 0.25
    assert (run_dir / "previews" / "scale_00.png").is_file()

    run("sample", run_dir, "--num", 3, "--scale", "1.5x1", "--seed", 4, "--out", tmp_path / "samples", "-q")
    samples = sorted((tmp_path / "samples").glob("sample_*.png"))
    assert len(samples) == 3
    height, width = meta["pyramid"]["sizes"][0]
    first = iio.imread(samples[0])
    assert first.shape == (height, round(width * 1.5), 3)
    assert not np.array_equal(first, iio.imread(samples[1]))  # each sample has its own noise

    evaluated = run("eval", run_dir, "--num", 4, "--device", "cpu")
    assert "swd" in evaluated.output and "diversity" in evaluated.output

    run("report", run_dir, "--out", tmp_path / "report.html", "--eval-num", 4, "--device", "cpu")
    page = (tmp_path / "report.html").read_text()
    assert "Toy report" in page and "a test of the registry" in page

    assert "toy" not in architectures.names() or architectures.get("toy") is TOY


def test_unknown_architecture_in_a_run_folder_is_one_line(toy_registered, tmp_path):
    iio.imwrite(tmp_path / "photo.png", blob_image(40, 56, seed=2))
    run_dir = tmp_path / "toy_run"
    run("train", tmp_path / "photo.png", "--preset", "toy", "--out", run_dir, "--device", "cpu", "-q")
    architectures.unregister("toy")
    try:
        result = CliRunner().invoke(main, ["sample", str(run_dir), "--num", "1"])
        assert result.exit_code != 0 and "Traceback" not in result.output
        assert result.output.strip().splitlines()[-1] == (
            f"Error: {run_dir} holds a 'toy' model, unknown to this version: upgrade singan-kit")
    finally:
        architectures.register(TOY)
