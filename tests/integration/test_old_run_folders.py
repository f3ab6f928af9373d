"""Run folders written before the redesign (tests/fixtures/old_runs, made with the tiny settings by
the code of commit 39a92fe) still load, sample the same pixels, and resume."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from tests.integration.test_golden import RECORDED_WITH, pixel_hash

OLD_RUNS = Path(__file__).parents[1] / "fixtures" / "old_runs"

SAMPLE_HASHES = {
    'singan_tiny': '7f6f674280a8e93d',
    'consingan_tiny': '9b3937e5e82e241c',
    'zoo_dcgan': '085b484ebb11bd14',
}


def invoke(main, *args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def sample_hashes(folder: Path) -> dict[str, str]:
    from cli.ganzoo import main as ganzoo
    from cli.singan import main as singan

    hashes = {}
    for name in ("singan_tiny", "consingan_tiny"):
        invoke(singan, "sample", OLD_RUNS / name, "--num", 2, "--seed", 3, "--out", folder / name, "--device", "cpu",
               "--threads", 1, "-q")
        hashes[name] = pixel_hash((folder / name).glob("*.png"))
    invoke(ganzoo, "sample", OLD_RUNS / "zoo_dcgan", "--num", 4, "--seed", 2, "--out", folder / "zoo",
           "--device", "cpu")
    hashes["zoo_dcgan"] = pixel_hash((folder / "zoo").glob("*.png"))
    return hashes


@pytest.mark.skipif(not torch.__version__.startswith(RECORDED_WITH), reason=f"hashes recorded with torch {RECORDED_WITH}")
def test_old_run_folders_sample_the_same_pixels(tmp_path):
    torch.set_num_threads(1)
    assert sample_hashes(tmp_path) == SAMPLE_HASHES


def test_old_run_folders_load_and_resume(tmp_path):
    from cli.ganzoo import main as ganzoo
    from singan_kit.api import SinGAN

    for name in ("singan_tiny", "consingan_tiny"):
        model = SinGAN.load(OLD_RUNS / name, device="cpu")
        assert model.sample(1).shape[0] == 1
    run = tmp_path / "zoo"
    shutil.copytree(OLD_RUNS / "zoo_dcgan", run)
    invoke(ganzoo, "train", "dcgan", "--out", run, "--resume", "--steps", 2, "--device", "cpu", "--quiet")
    assert (run / "checkpoints").is_dir() and any("00000002" in p.name for p in (run / "checkpoints").iterdir())


if __name__ == "__main__":
    import tempfile

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        for key, value in sample_hashes(Path(folder)).items():
            print(f"    {key!r}: {value!r},")
