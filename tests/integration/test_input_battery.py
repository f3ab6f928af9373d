"""A battery of bad inputs across the ``singan`` and ``ganzoo`` commands.

Every case must end with a non-zero exit, exactly one output line ``Error: ...`` naming the
problem, no traceback, and nothing written or changed on disk (every case is rejected before
any training or sampling starts). ``python -m tests.integration.test_input_battery`` prints the table of
cases and the message each one gets.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile
import torch
from click.testing import CliRunner

from cli.ganzoo import main as ganzoo
from cli.singan import main as singan
from tests.conftest import blob_image
from tests.helpers import assert_imports_no_training
from tests.unit.test_image_decoding import gif_header, jpeg_header, tiff_header

ROOT = Path(__file__).resolve().parents[2]


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` px, with almost no pixel data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16))
            + chunk(b"IEND", b""))


def make_files(root: Path) -> None:
    """The bad (and a few good) input files of the battery."""
    iio.imwrite(root / "good.png", blob_image(40, 56))
    mask = np.zeros((40, 56), np.uint8)
    mask[10:20, 10:25] = 255
    iio.imwrite(root / "mask.png", mask)
    (root / "empty.png").write_bytes(b"")
    (root / "notes.png").write_text("not an image\n")
    data = (root / "good.png").read_bytes()
    (root / "truncated.png").write_bytes(data[: len(data) // 2])
    (root / "zero.png").write_bytes(png_header(0, 0))
    (root / "huge.png").write_bytes(png_header(100_000, 100_000))
    iio.imwrite(root / "one.png", np.zeros((1, 1, 3), np.uint8))
    iio.imwrite(root / "strip.png", np.full((10, 10_000, 3), 128, np.uint8))
    tifffile.imwrite(root / "five.tif", np.zeros((40, 56, 5), np.uint8), photometric="minisblack",
                     planarconfig="contig")
    nan = np.full((40, 56, 3), 0.5, np.float32)
    nan[5, 5, 1] = np.nan
    tifffile.imwrite(root / "nan.tif", nan, photometric="rgb")
    (root / "bad_data").mkdir()
    for name in ("empty.png", "notes.png", "truncated.png"):
        (root / "bad_data" / name).write_bytes((root / name).read_bytes())
    (root / "photos").mkdir()
    iio.imwrite(root / "photos" / "a.png", blob_image(32, 32))
    make_input_validation_files(root)


# --- input validation (issue 22): image modes, decompression bombs, run-folder contents, bounds ---

def make_input_validation_files(root: Path) -> None:
    """Tiny files that declare huge sizes, modes the decoder refuses, a folder where an image belongs."""
    (root / "165mpx.png").write_bytes(png_header(12845, 12845))
    (root / "huge.tif").write_bytes(tiff_header(40000, 40000))
    (root / "huge.gif").write_bytes(gif_header(20000, 20000))
    (root / "huge.jpg").write_bytes(jpeg_header(30000, 30000))
    tifffile.imwrite(root / "lab.tif", np.zeros((40, 56, 3), np.float32), photometric="cielab")
    tifffile.imwrite(root / "hdr.tif", np.full((40, 56, 3), 4.0, np.float32), photometric="rgb")
    tifffile.imwrite(root / "int32.tif", np.full((40, 56), 100_000, np.int32), photometric="minisblack")
    iio.imwrite(root / "good.jpg", blob_image(40, 56))
    (root / "truncated.jpg").write_bytes((root / "good.jpg").read_bytes()[:300])
    iio.imwrite(root / "big.png", np.zeros((1500, 2000, 3), np.uint8))
    (root / "a_folder.png").mkdir()
    iio.imwrite(root / "ünïcode ✓.png", np.zeros((1, 1, 3), np.uint8))


def make_input_validation_runs(runs: Path) -> dict[str, str]:
    """Copies of the tiny SinGAN and dcgan runs, each with one value a careless edit or a bad disk leaves,
    and a training-free gpnn run (for `analogy` and `inpaint`)."""
    from safetensors.torch import load_file, save_file

    def copy(name: str, source: str = "singan") -> Path:
        target = runs / name
        target.mkdir()
        for path in (runs / source).rglob("*"):
            if path.is_file():
                (target / path.relative_to(runs / source)).parent.mkdir(parents=True, exist_ok=True)
                (target / path.relative_to(runs / source)).write_bytes(path.read_bytes())
        return target

    def edit_meta(run: Path, change) -> None:
        meta = json.loads((run / "config.json").read_text())
        change(meta)
        (run / "config.json").write_text(json.dumps(meta))

    edit_meta(copy("nan_amp"), lambda m: m["noise_amps"].__setitem__(-1, float("nan")))
    edit_meta(copy("string_lr"), lambda m: m["config"].__setitem__("lr_generator", "fast"))
    edit_meta(copy("many_filters"), lambda m: m["config"].update(num_filters=100_000, max_filters=100_000))
    (copy("list_config") / "config.json").write_text("[1, 2, 3]")
    weights = copy("float64") / "generators.safetensors"
    tensors = load_file(weights)
    save_file({k: v.double() if k == "g0.body.0.0.weight" else v for k, v in tensors.items()}, weights)
    weights = copy("bad_zopt") / "generators.safetensors"
    save_file({**load_file(weights), "z_opt": torch.zeros(1, 3, 2, 2)}, weights)
    zoo = copy("zoo_nan", "dcgan")
    weights = next((zoo / "checkpoints").glob("*/model.safetensors"))
    tensors = load_file(weights)
    name = next(k for k, v in tensors.items() if v.is_floating_point() and v.dim() > 1)
    save_file({**tensors, name: torch.full_like(tensors[name], float("nan"))}, weights)
    edit_meta(copy("zoo_wide", "dcgan"), lambda m: m["model_config"].__setitem__("width", 100_000))
    edit_meta(copy("zoo_list", "dcgan"), lambda m: m.__setitem__("model_config", [1, 2]))
    result = CliRunner().invoke(singan, ["train", str(runs / "img.png"), "--out", str(runs / "gpnn"), "--preset",
                                         "gpnn", "-q"])
    assert result.exit_code == 0, result.output
    return {name: str(runs / name) for name in ("nan_amp", "string_lr", "many_filters", "list_config", "float64",
                                                "bad_zopt", "zoo_nan", "zoo_wide", "zoo_list", "gpnn")}


@dataclass(frozen=True)
class Case:
    """One bad input: the CLI, its arguments ({root}, {singan_run}, ... are filled in), and a
    fragment the one-line message must contain."""

    name: str
    cli: str
    args: tuple[str, ...]
    fragment: str


TINY = ("--preset", "tiny", "--threads", "1", "-q")
ZOO = ("--steps", "2", "--batch-size", "4", "--image-size", "16", "--quiet")
BLEND = ("--mask", "{root}/mask.png", "--inject-scale", "1")

CASES = [
    # singan train: bad images
    Case("missing image", "singan", ("train", "{root}/missing.png", "--out", "{root}/o", *TINY), "image not found"),
    Case("empty file", "singan", ("train", "{root}/empty.png", "--out", "{root}/o", *TINY), "file is empty"),
    Case("text file named .png", "singan", ("train", "{root}/notes.png", "--out", "{root}/o", *TINY),
         "not an image"),
    Case("truncated PNG", "singan", ("train", "{root}/truncated.png", "--out", "{root}/o", *TINY), "truncated"),
    Case("zero-size PNG", "singan", ("train", "{root}/zero.png", "--out", "{root}/o", *TINY), "cannot read image"),
    Case("1x1 image", "singan", ("train", "{root}/one.png", "--out", "{root}/o", *TINY), "1x1 px"),
    Case("10000x10 strip", "singan", ("train", "{root}/strip.png", "--out", "{root}/o", *TINY), "10000x10 px"),
    Case("huge dimensions", "singan", ("train", "{root}/huge.png", "--out", "{root}/o", *TINY), "exceeds limit"),
    Case("5-channel TIFF", "singan", ("train", "{root}/five.tif", "--out", "{root}/o", *TINY), "5 channels"),
    Case("NaN in float TIFF", "singan", ("train", "{root}/nan.tif", "--out", "{root}/o", *TINY), "NaN"),
    # singan train: bad output paths
    Case("--out is the input file", "singan", ("train", "{root}/good.png", "--out", "{root}/good.png", *TINY),
         "is a file"),
    Case("unwritable --out", "singan", ("train", "{root}/good.png", "--out", "{root}/notes.png/run", *TINY),
         "cannot create the run folder"),
    # singan train: bad numbers
    Case("--iters 0", "singan", ("train", "{root}/good.png", "--out", "{root}/o", "--iters", "0", *TINY), "--iters"),
    Case("--iters abc", "singan", ("train", "{root}/good.png", "--out", "{root}/o", "--iters", "abc", *TINY),
         "--iters"),
    Case("--max-size -3", "singan", ("train", "{root}/good.png", "--out", "{root}/o", "--max-size", "-3", *TINY),
         "--max-size"),
    Case("--min-size 2", "singan", ("train", "{root}/good.png", "--out", "{root}/o", "--min-size", "2", *TINY),
         "receptive field"),
    Case("--scale-factor 1.5", "singan",
         ("train", "{root}/good.png", "--out", "{root}/o", "--scale-factor", "1.5", *TINY), "--scale-factor"),
    Case("--lr nan", "singan", ("train", "{root}/good.png", "--out", "{root}/o", "--lr", "nan", *TINY), "--lr"),
    Case("--lr inf", "singan", ("train", "{root}/good.png", "--out", "{root}/o", "--lr", "inf", *TINY), "--lr"),
    Case("--alpha -1", "singan", ("train", "{root}/good.png", "--out", "{root}/o", "--alpha", "-1", *TINY),
         "--alpha"),
    Case("--gp-weight nan", "singan",
         ("train", "{root}/good.png", "--out", "{root}/o", "--gp-weight", "nan", *TINY), "--gp-weight"),
    Case("--num-filters 0", "singan",
         ("train", "{root}/good.png", "--out", "{root}/o", "--num-filters", "0", *TINY), "--num-filters"),
    Case("--max-filters below --num-filters", "singan",
         ("train", "{root}/good.png", "--out", "{root}/o", "--max-filters", "4", *TINY), "max_filters"),
    Case("--d-steps 0", "singan", ("train", "{root}/good.png", "--out", "{root}/o", "--d-steps", "0", *TINY),
         "--d-steps"),
    Case("--g-steps -1", "singan", ("train", "{root}/good.png", "--out", "{root}/o", "--g-steps", "-1", *TINY),
         "--g-steps"),
    Case("--noise-amp -0.1", "singan",
         ("train", "{root}/good.png", "--out", "{root}/o", "--noise-amp", "-0.1", *TINY), "--noise-amp"),
    Case("--seed -1", "singan", ("train", "{root}/good.png", "--out", "{root}/o", "--seed", "-1", *TINY), "--seed"),
    Case("--threads 0", "singan", ("train", "{root}/good.png", "--out", "{root}/o", "--preset", "tiny",
                                   "--threads", "0"), "--threads"),
    # singan sample
    Case("sample --num 0", "singan", ("sample", "{singan_run}", "--num", "0", "--out", "{root}/s"), "--num"),
    Case("sample --threads 0", "singan", ("sample", "{singan_run}", "--threads", "0", "--out", "{root}/s"), "--threads"),
    Case("sample --batch-size 0", "singan", ("sample", "{singan_run}", "--batch-size", "0", "--out", "{root}/s"),
         "--batch-size"),
    Case("sample --start-scale 99", "singan",
         ("sample", "{singan_run}", "--start-scale", "99", "--out", "{root}/s"), "start scale"),
    Case("sample --scale 0x2", "singan", ("sample", "{singan_run}", "--scale", "0x2", "--out", "{root}/s"),
         "invalid scale"),
    Case("sample a missing run", "singan", ("sample", "{root}/no_run", "--out", "{root}/s"), "does not exist"),
    Case("sample --out is a file", "singan", ("sample", "{singan_run}", "--out", "{root}/good.png"), "is a file"),
    Case("sample a planted pickle", "singan", ("sample", "{pickle_run}", "--out", "{root}/s"), "pickle"),
    # singan applications
    Case("harmonize --out is the input", "singan",
         ("harmonize", "{singan_run}", "--naive", "{root}/good.png", *BLEND, "--out", "{root}/good.png"),
         "is the input file"),
    Case("harmonize NaN image", "singan",
         ("harmonize", "{singan_run}", "--naive", "{root}/nan.tif", *BLEND, "--out", "{root}/h.png"), "NaN"),
    Case("harmonize --blur nan", "singan", ("harmonize", "{singan_run}", "--naive", "{root}/good.png", *BLEND,
                                            "--blur", "nan", "--out", "{root}/h.png"), "--blur"),
    Case("harmonize --dilate -1", "singan", ("harmonize", "{singan_run}", "--naive", "{root}/good.png", *BLEND,
                                             "--dilate", "-1", "--out", "{root}/h.png"), "--dilate"),
    Case("edit truncated image", "singan",
         ("edit", "{singan_run}", "--edited", "{root}/truncated.png", *BLEND, "--out", "{root}/e.png"), "truncated"),
    Case("edit empty mask file", "singan", ("edit", "{singan_run}", "--edited", "{root}/good.png", "--mask",
                                            "{root}/empty.png", "--inject-scale", "1", "--out", "{root}/e.png"),
         "file is empty"),
    Case("paint a 10000x10 strip", "singan", ("paint", "{singan_run}", "--paint", "{root}/strip.png",
                                              "--inject-scale", "1", "--out", "{root}/p.png"), "10000x10 px"),
    Case("paint --out under a file", "singan", ("paint", "{singan_run}", "--paint", "{root}/good.png",
                                                "--inject-scale", "1", "--out", "{root}/notes.png/p.png"),
         "is a file"),
    Case("paint --quantize 1", "singan", ("paint", "{singan_run}", "--paint", "{root}/good.png", "--inject-scale",
                                          "1", "--quantize", "1", "--out", "{root}/p.png"), "--quantize"),
    Case("animate --frames 0", "singan", ("animate", "{singan_run}", "--frames", "0", "--out", "{root}/a.gif"),
         "--frames"),
    Case("animate --fps nan", "singan", ("animate", "{singan_run}", "--fps", "nan", "--out", "{root}/a.gif"),
         "--fps"),
    Case("animate --beta 2", "singan", ("animate", "{singan_run}", "--beta", "2", "--out", "{root}/a.gif"), "--beta"),
    Case("animate --start-scale 99", "singan",
         ("animate", "{singan_run}", "--start-scale", "99", "--out", "{root}/a.gif"), "start scale"),
    Case("animate --out clip.txt", "singan", ("animate", "{singan_run}", "--out", "{root}/clip.txt"),
         "cannot write an animation"),
    Case("sr --factor nan", "singan", ("sr", "{root}/good.png", "--factor", "nan", "--out", "{root}/sr.png", *TINY),
         "factor must be a number > 1"),
    Case("sr --out is the input", "singan", ("sr", "{root}/good.png", "--out", "{root}/good.png", *TINY),
         "is the input file"),
    # ganzoo train
    Case("zoo missing data folder", "ganzoo", ("train", "dcgan", "--data", "{root}/no_data", "--out", "{root}/z", *ZOO),
         "data folder not found"),
    Case("zoo folder of unreadable images", "ganzoo",
         ("train", "dcgan", "--data", "{root}/bad_data", "--out", "{root}/z", *ZOO), "could be read"),
    Case("zoo --steps 0", "ganzoo", ("train", "dcgan", "--data", "digits:20", "--out", "{root}/z", *ZOO,
                                     "--steps", "0"), "--steps"),
    Case("zoo --batch-size -2", "ganzoo", ("train", "dcgan", "--data", "digits:20", "--out", "{root}/z", *ZOO,
                                           "--batch-size", "-2"), "--batch-size"),
    Case("zoo --image-size 0", "ganzoo", ("train", "dcgan", "--data", "digits:20", "--out", "{root}/z", *ZOO,
                                          "--image-size", "0"), "--image-size"),
    Case("zoo --image-size 100000", "ganzoo", ("train", "dcgan", "--data", "digits:20", "--out", "{root}/z", *ZOO,
                                               "--image-size", "100000"), "--image-size"),
    Case("zoo --channels 2", "ganzoo", ("train", "dcgan", "--data", "digits:20", "--out", "{root}/z", *ZOO,
                                        "--channels", "2"), "--channels"),
    Case("zoo --ema-decay nan", "ganzoo", ("train", "dcgan", "--data", "digits:20", "--out", "{root}/z", *ZOO,
                                           "--ema-decay", "nan"), "--ema-decay"),
    Case("zoo --sample-every 0", "ganzoo", ("train", "dcgan", "--data", "digits:20", "--out", "{root}/z", *ZOO,
                                            "--sample-every", "0"), "--sample-every"),
    Case("zoo -o latent_dim=-1", "ganzoo", ("train", "dcgan", "--data", "digits:20", "--out", "{root}/z", *ZOO,
                                            "-o", "latent_dim=-1"), "latent_dim"),
    Case("zoo -o lr=nan", "ganzoo", ("train", "dcgan", "--data", "digits:20", "--out", "{root}/z", *ZOO,
                                     "-o", "lr=nan"), "lr=nan"),
    Case("zoo --out is a file", "ganzoo", ("train", "dcgan", "--data", "digits:20", "--out", "{root}/good.png",
                                           *ZOO), "is a file"),
    Case("zoo unwritable --out", "ganzoo", ("train", "dcgan", "--data", "digits:20", "--out",
                                            "{root}/notes.png/z", *ZOO), "not a folder"),
    Case("zoo --out inside the data", "ganzoo", ("train", "dcgan", "--data", "{root}/photos", "--out",
                                                 "{root}/photos/run", *ZOO), "inside the data folder"),
    # ganzoo inference
    Case("zoo sample --num 0", "ganzoo", ("sample", "{zoo_run}", "--num", "0", "--grid", "{root}/g.png"), "--num"),
    Case("zoo sample --num 100000000", "ganzoo", ("sample", "{zoo_run}", "--num", "100000000", "--grid",
                                                  "{root}/g.png"), "GB available; lower --num"),
    Case("zoo --batch-size 100000000", "ganzoo", ("train", "dcgan", "--data", "digits:20", "--out", "{root}/z",
                                                  *ZOO, "--batch-size", "100000000"),
         "GB available; lower --batch-size"),
    Case("zoo sample --truncation nan", "ganzoo",
         ("sample", "{zoo_run}", "--truncation", "nan", "--grid", "{root}/g.png"), "--truncation"),
    Case("zoo sample --grid under a file", "ganzoo",
         ("sample", "{zoo_run}", "--grid", "{root}/notes.png/g.png"), "notes.png"),
    Case("zoo sample a SinGAN run", "ganzoo", ("sample", "{singan_run}", "--grid", "{root}/g.png"), "SinGAN run"),
    Case("zoo interpolate --steps 0", "ganzoo", ("interpolate", "{zoo_run}", "--steps", "0", "--out",
                                                 "{root}/i.png"), "--steps"),
    Case("zoo mix on a dcgan run", "ganzoo", ("mix", "{zoo_run}", "--out", "{root}/m.png"), "style"),
    Case("zoo translate with a dcgan run", "ganzoo",
         ("translate", "{zoo_run}", "{root}/good.png", "--out", "{root}/t"), "samples from noise"),
    Case("zoo translate --out is the input folder", "ganzoo",
         ("translate", "{pix2pix_run}", "{root}/photos", "--out", "{root}/photos"), "would overwrite the input"),
    Case("zoo translate NaN image", "ganzoo",
         ("translate", "{pix2pix_run}", "{root}/nan.tif", "--out", "{root}/t"), "NaN"),
    Case("zoo translate --batch-size 0", "ganzoo",
         ("translate", "{pix2pix_run}", "{root}/good.png", "--out", "{root}/t", "--batch-size", "0"), "--batch-size"),
]

# --- input validation (issue 22) ---
CASES += [
    Case("165-megapixel PNG", "singan", ("train", "{root}/165mpx.png", "--out", "{root}/o", *TINY),
         "exceeds limit of 67,108,864 pixels"),
    Case("TIFF declaring 40000x40000", "singan", ("train", "{root}/huge.tif", "--out", "{root}/o", *TINY),
         "40000x40000 px"),
    Case("GIF declaring 20000x20000", "singan", ("train", "{root}/huge.gif", "--out", "{root}/o", *TINY),
         "exceeds limit"),
    Case("JPEG declaring 30000x30000", "singan", ("train", "{root}/huge.jpg", "--out", "{root}/o", *TINY),
         "exceeds limit"),
    Case("CIELAB TIFF", "singan", ("train", "{root}/lab.tif", "--out", "{root}/o", *TINY), "photometric CIELAB"),
    Case("float TIFF outside [0, 1]", "singan", ("train", "{root}/hdr.tif", "--out", "{root}/o", *TINY),
         "outside [0, 1]"),
    Case("32-bit integer TIFF beyond 16 bits", "singan",
         ("train", "{root}/int32.tif", "--out", "{root}/o", *TINY), "outside 0..65535"),
    Case("truncated JPEG", "singan", ("train", "{root}/truncated.jpg", "--out", "{root}/o", *TINY),
         "cannot read image"),
    Case("unicode name, 1x1 image", "singan", ("train", "{root}/ünïcode ✓.png", "--out", "{root}/o", *TINY),
         "1x1 px"),
    Case("--scale-factor 0.9999", "singan",
         ("train", "{root}/good.png", "--out", "{root}/o", "--scale-factor", "0.9999", *TINY),
         "above the limit of 64"),
    Case("--max-filters 100000", "singan", ("train", "{root}/good.png", "--out", "{root}/o", "--num-filters",
                                            "100000", "--max-filters", "100000", *TINY), "max_filters must be <= 1024"),
    Case("training beyond the memory left", "singan",
         ("train", "{root}/big.png", "--out", "{root}/o", *TINY, "--max-size", "2000", "--num-filters", "1024",
          "--max-filters", "1024"), "training needs about"),
    Case("sample a run with a NaN noise amplitude", "singan", ("sample", "{nan_amp}", "--out", "{root}/s"),
         "noise amplitude of scale 3 is nan"),
    Case("eval a run with a NaN noise amplitude", "singan", ("eval", "{nan_amp}"), "noise amplitude"),
    Case("sample a run with a string learning rate", "singan", ("sample", "{string_lr}", "--out", "{root}/s"),
         "lr_generator must be float"),
    Case("sample a run with 100000 filters", "singan", ("sample", "{many_filters}", "--out", "{root}/s"),
         "max_filters must be <= 1024"),
    Case("sample a run whose config.json is a list", "singan", ("sample", "{list_config}", "--out", "{root}/s"),
         "expected an object"),
    Case("sample a run with a float64 weight", "singan", ("sample", "{float64}", "--out", "{root}/s"),
         "is float64, expected float32"),
    Case("sample a run with a z_opt of the wrong shape", "singan", ("sample", "{bad_zopt}", "--out", "{root}/s"),
         "z_opt has shape [1, 3, 2, 2]"),
    Case("paint a folder", "singan", ("paint", "{singan_run}", "--paint", "{root}/a_folder.png",
                                      "--inject-scale", "1", "--out", "{root}/p.png"), "not a file"),
    Case("sr a TIFF declaring 40000x40000", "singan",
         ("sr", "{root}/huge.tif", "--out", "{root}/sr.png", *TINY), "exceeds limit"),
    Case("zoo sample a run with NaN weights", "ganzoo", ("sample", "{zoo_nan}", "--grid", "{root}/g.png"),
         "NaN or infinite"),
    Case("zoo translate a PNG declaring 165 megapixels", "ganzoo",
         ("translate", "{pix2pix_run}", "{root}/165mpx.png", "--out", "{root}/t"), "exceeds limit"),
    Case("zoo -o width=100000", "ganzoo", ("train", "dcgan", "--data", "digits:20", "--out", "{root}/z", *ZOO,
                                           "-o", "width=100000"), "above the limit of 1,000,000,000"),
    Case("zoo sample a run with width=100000 in its config", "ganzoo",
         ("sample", "{zoo_wide}", "--grid", "{root}/g.png"), "parameters"),
    Case("zoo sample a run whose model_config is a list", "ganzoo",
         ("sample", "{zoo_list}", "--grid", "{root}/g.png"), "'model_config' an object"),
    Case("analogy with a PNG declaring 165 megapixels", "singan",
         ("analogy", "{gpnn}", "--structure", "{root}/165mpx.png", "--out", "{root}/an.png"), "exceeds limit"),
    Case("inpaint with a mask TIFF declaring 40000x40000", "singan",
         ("inpaint", "{gpnn}", "--mask", "{root}/huge.tif", "--out", "{root}/in.png"), "exceeds limit"),
    Case("inpaint with a CIELAB mask", "singan",
         ("inpaint", "{gpnn}", "--mask", "{root}/lab.tif", "--out", "{root}/in.png"), "photometric CIELAB"),
    Case("style a GIF declaring 20000x20000", "singan",
         ("style", "{root}/huge.gif", "--style", "{root}/good.png", "--out", "{root}/st.png"), "exceeds limit"),
    Case("style with a float TIFF outside [0, 1]", "singan",
         ("style", "{root}/good.png", "--style", "{root}/hdr.tif", "--out", "{root}/st.png"), "outside [0, 1]"),
    Case("zoo stylize --alpha nan", "ganzoo", ("stylize", "{root}/good.png", "--style", "{root}/good.png", "--alpha",
                                               "nan", "--out", "{root}/st"), "--alpha"),
    Case("serve --port 0", "singan", ("serve", "--runs", "{root}/runs_served", "--port", "0"), "--port"),
    Case("animate --seed 2**64", "singan", ("animate", "{singan_run}", "--seed", str(2**64), "--out", "{root}/a.gif"),
         "--seed"),
    Case("eval --seed 2**64", "singan", ("eval", "{singan_run}", "--seed", str(2**64)), "--seed"),
    Case("eval --seed -1", "singan", ("eval", "{singan_run}", "--seed", "-1"), "--seed"),
    Case("report --seed -1", "singan", ("report", "{singan_run}", "--seed", "-1", "--out", "{root}/r.html"),
         "--seed"),
    Case("zoo sample --seed 2**64", "ganzoo", ("sample", "{zoo_run}", "--seed", str(2**64), "--grid",
                                               "{root}/g.png"), "--seed"),
    Case("zoo sample --seed -1", "ganzoo", ("sample", "{zoo_run}", "--seed", "-1", "--grid", "{root}/g.png"),
         "--seed"),
    Case("sr on a run folder", "singan", ("sr", "{singan_run}", "--out", "{root}/sr.png"), "is a run folder"),
    Case("train on a run folder", "singan", ("train", "{singan_run}", "--out", "{root}/t", *TINY), "is a run folder"),
]


def build_env(root: Path, runs: Path) -> dict[str, str]:
    """Bad files in ``root``; in ``runs`` a tiny SinGAN run, tiny dcgan and pix2pix runs, and a
    SinGAN run whose weights file is a pickle."""
    make_files(root)
    iio.imwrite(runs / "img.png", blob_image(40, 56))
    result = CliRunner().invoke(singan, ["train", str(runs / "img.png"), "--out", str(runs / "singan"),
                                         "--iters", "2", *TINY])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(ganzoo, ["train", "dcgan", "--data", "digits:20", "--out", str(runs / "dcgan"),
                                         "-o", "latent_dim=8", "-o", "width=8", *ZOO])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(ganzoo, ["train", "pix2pix", "--data", "edges2photos:4", "--out",
                                         str(runs / "pix2pix"), "--steps", "1", "--batch-size", "2",
                                         "--image-size", "32", "-o", "width=4", "-o", "d_width=4", "--quiet"])
    assert result.exit_code == 0, result.output
    pickled = runs / "pickled"
    pickled.mkdir()
    for name in ("config.json", "pyramid.safetensors"):
        (pickled / name).write_bytes((runs / "singan" / name).read_bytes())
    (pickled / "generators.safetensors").write_bytes(b"\x80\x04\x95" + b"\0" * 64)  # a pickle's first bytes
    broken = make_input_validation_runs(runs)
    return {**broken, "root": str(root), "singan_run": str(runs / "singan"), "zoo_run": str(runs / "dcgan"),
            "pix2pix_run": str(runs / "pix2pix"), "pickle_run": str(pickled)}


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    return build_env(tmp_path_factory.mktemp("battery"), tmp_path_factory.mktemp("battery_runs"))


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``folder`` with its size and modification time."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def run_case(case: Case, env: dict[str, str]):
    cli = singan if case.cli == "singan" else ganzoo
    return CliRunner().invoke(cli, [arg.format(**env) for arg in case.args])


def one_error_line(output: str) -> str:
    """The single non-blank output line, which must start with ``Error:``."""
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), output
    return lines[0]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_is_one_line_and_writes_nothing(case, env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a default output path would land here
    root = Path(env["root"])
    runs = Path(env["singan_run"]).parent
    before = snapshot(root), snapshot(runs)
    result = run_case(case, env)
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    line = one_error_line(result.output)
    assert case.fragment in line, line
    assert (snapshot(root), snapshot(runs)) == before, "the case wrote or changed files"
    assert not any(tmp_path.iterdir()), "the case wrote into the working folder"


# Commands without a case here, and why. Any other command of either CLI needs at least one case.
NOT_IN_THE_BATTERY = {
    ("singan", "eval"): "bad runs and images: tests/integration/test_eval.py",
    ("singan", "report"): "bad runs: tests/integration/test_reports.py",
    ("ganzoo", "eval"): "bad runs and data: tests/integration/test_eval.py",
    ("ganzoo", "evaluate"): "bad runs and data: tests/integration/test_eval.py",
    ("ganzoo", "report"): "bad runs: tests/integration/test_reports.py",
    ("ganzoo", "list"): "takes no input",
}


def test_battery_covers_every_command_of_both_clis():
    commands = {(name, command) for name, cli in (("singan", singan), ("ganzoo", ganzoo)) for command in cli.commands}
    covered = {(case.cli, case.args[0]) for case in CASES}
    assert not covered - commands, f"cases for commands that do not exist: {sorted(covered - commands)}"
    untested = commands - covered - set(NOT_IN_THE_BATTERY)
    assert not untested, f"commands with no bad-input case (add one, or say in NOT_IN_THE_BATTERY why not): {sorted(untested)}"


@pytest.mark.parametrize("module,args", [
    ("cli.singan", ["train", "{root}/nan.tif", "--out", "{root}/o", "--preset", "tiny"]),
    ("cli.ganzoo", ["train", "dcgan", "--data", "digits:20", "--out", "{root}/z", "--steps", "x"]),
])
def test_real_process_prints_one_line_on_stderr(module, args, env):
    """The installed entry points behave as CliRunner does: one stderr line, no traceback."""
    command = [sys.executable, "-m", module, *[arg.format(**env) for arg in args]]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode != 0 and done.stdout == ""
    assert "Traceback" not in done.stderr
    one_error_line(done.stderr)


def test_a_cmyk_jpeg_trains_on_its_true_colours(tmp_path):
    """Issue 22: a CMYK JPEG trained on inverted colours, with a note about a dropped alpha channel."""
    from PIL import Image

    Image.new("CMYK", (56, 40), (0, 255, 0, 0)).save(tmp_path / "magenta.jpg", quality=100)
    result = CliRunner().invoke(singan, ["train", str(tmp_path / "magenta.jpg"), "--out", str(tmp_path / "run"),
                                         "--iters", "1", *TINY[:-1]])
    assert result.exit_code == 0, result.output
    assert "CMYK image converted to RGB" in result.output and "alpha" not in result.output, result.output
    real = iio.imread(tmp_path / "run" / "real.png").reshape(-1, 3).mean(0)
    assert real[0] > 240 and real[1] < 15 and real[2] > 240, real


def test_a_non_utf8_file_name_reaches_the_report(tmp_path):
    """A file name that is not UTF-8 (Python holds it as lone surrogates) trains and is reported."""
    name = os.fsdecode(b"bad\xffname.png")
    iio.imwrite(tmp_path / name, blob_image(40, 56))
    result = CliRunner().invoke(singan, ["train", str(tmp_path / name), "--out", str(tmp_path / "run"),
                                         "--iters", "1", *TINY])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(singan, ["report", str(tmp_path / "run"), "--no-eval", "-n", "1", "-q",
                                         "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    assert b"bad\xffname.png" in (tmp_path / "r.html").read_bytes()


def test_run_validation_stays_inference_only():
    assert_imports_no_training(["singan_kit.run_validation", "singan_kit.run_folder", "ganbase.io.images"])


if __name__ == "__main__":  # print the table "case -> message" (for the docs)
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        (Path(scratch) / "files").mkdir()
        (Path(scratch) / "runs").mkdir()
        paths = build_env(Path(scratch) / "files", Path(scratch) / "runs")
        for case in CASES:
            output = run_case(case, paths).output.strip().splitlines()
            message = output[-1] if output else ""
            for key, value in sorted(paths.items(), key=lambda item: -len(item[1])):
                message = message.replace(value, key.upper())
            print(f"| `{case.cli} {case.args[0]}` | {case.name} | {message} |")


@pytest.mark.parametrize("cli,args", [
    (ganzoo, ["train", "dcgan", "--data", "digits:20", "--out", "{root}/zw", *ZOO]),
    (singan, ["train", "{root}/photos", "--out", "{root}/sw", *TINY]),
])
def test_world_size_without_a_rendezvous_is_one_line(cli, args, env, monkeypatch):
    """WORLD_SIZE left in the environment without torchrun's MASTER_ADDR/MASTER_PORT."""
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    monkeypatch.delenv("MASTER_PORT", raising=False)
    result = CliRunner().invoke(cli, [arg.format(**env) for arg in args])
    lines = result.output.strip().splitlines()
    assert result.exit_code != 0 and len(lines) == 1, result.output
    assert lines[0].startswith("Error: WORLD_SIZE=2 is set but MASTER_ADDR and MASTER_PORT are not"), lines
    assert not any(Path(env["root"], name).exists() for name in ("zw", "sw"))
