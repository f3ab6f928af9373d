"""Side by side: the official SinGAN code (Shaham et al. 2019, tamarott/SinGAN) and ours, same images,
settings and seeds, evaluated with the same metrics (issue 20).

    python bench/official_compare.py --official /tmp/singan-official --images balloons.png birds.png \\
        --seeds 1 2 --iters 200 --max-size 128 --work /tmp/compare
    python bench/official_compare.py --official ... --rec-noise per_iteration --lr-milestone official ...

``--official`` is a checkout of the official code rebuilt as ``../shared/reference/singan-official.md``
describes (outside this repository; never commit it), run with ``--python``, a Python that has its
requirements (torch, numpy, scipy, scikit-image, matplotlib, imageio). Each (image, seed) trains the
official code (``main_train.py --not_cuda --niter ITERS --max_size M --manualSeed SEED``; it writes 50
random samples from scale 0 at the end) and ours (:func:`singan_kit.api.train_run`, preset
``--preset`` with the same iterations, max size and seed, and the ``--rec-noise`` / ``--lr-milestone`` /
``--generator-graph`` / ``--upsample-precision`` options, the preset's values when not given; with
``--reference-numerics``, without our CPU speed paths), both on one thread. Then ``--num`` samples of each from scale 0, both rounded to 8 bits as
the official code saves them, are evaluated against that run's own finest real image with
:func:`singan_kit.evaluate.evaluate_images` (patch SWD x1e3 with its jackknife standard error,
diversity, patch NN coherence / completeness, memorization; docs/eval.md). The official real image is
its ``real_scale.png`` of the finest scale.

Training seconds: ours, the wall time of ``train_run``; official, from its start to the last write of
``Gs.pth`` (the end of its training, before it samples). Both include saving between scales.

Every finished arm is cached in ``WORK/results.json`` (keyed by image, seed, iterations, max size and
the arm's settings), so an interrupted comparison continues where it stopped; an arm that did not
finish is retrained from scratch.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from singan_quality import SHARED_IMAGES, resolve_image  # noqa: E402 (a sibling script in bench/)

from ganbase.io.checkpoint import atomic_write_json  # noqa: E402
from ganbase.io.images import load_image, to_tensor, to_uint8  # noqa: E402
from singan_kit import api  # noqa: E402
from singan_kit import run_folder as rf  # noqa: E402
from singan_kit.evaluate import evaluate_images  # noqa: E402
from singan_kit.sample import generate  # noqa: E402

OFFICIAL_SAMPLES = 50  # main_train.py writes this many random samples from scale 0


def _quantized(images: torch.Tensor) -> torch.Tensor:
    """``[N, 3, H, W]`` in [-1, 1] through 8 bits, as saved PNGs are."""
    return torch.cat([to_tensor(array.astype("float32") / 255.0) for array in to_uint8(images)])


def _read(path: Path) -> torch.Tensor:
    array, _ = load_image(path)  # RGBA from matplotlib's imsave: alpha dropped
    return to_tensor(array)


def train_official(args, image: Path, seed: int, folder: Path) -> dict:
    """Train and sample the official code in ``folder``; returns its metrics and seconds."""
    if folder.exists():
        shutil.rmtree(folder)  # an unfinished arm: it refuses existing output folders
    (folder / "input").mkdir(parents=True)
    shutil.copy(image, folder / "input" / image.name)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [args.python, str(Path(args.official) / "main_train.py"), "--not_cuda", "--input_dir", "input",
               "--input_name", image.name, "--niter", str(args.iters), "--max_size", str(args.max_size),
               "--manualSeed", str(seed)]
    began = time.time()
    with open(folder / "log.txt", "w") as log:
        subprocess.run(command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
    trained = next((folder / "TrainedModels" / image.stem).glob("*/Gs.pth"))
    seconds = trained.stat().st_mtime - began
    scales = sorted(int(p.name) for p in trained.parent.iterdir() if p.is_dir() and p.name.isdigit())
    real = _read(trained.parent / str(scales[-1]) / "real_scale.png")
    sample_dir = folder / "Output" / "RandomSamples" / image.stem / "gen_start_scale=0"
    samples = torch.cat([_read(sample_dir / f"{i}.png") for i in range(min(args.num, OFFICIAL_SAMPLES))])
    metrics = evaluate_images(real, samples, seed=args.eval_seed, device="cpu")
    return {**metrics, "seconds": seconds, "scales": len(scales), "size": "x".join(map(str, real.shape[-2:]))}


def train_ours(args, image: Path, seed: int, folder: Path) -> dict:
    """Train ours into ``folder`` through the library API; returns its metrics and seconds."""
    config = api.make_config(args.preset, iters=args.iters, fine_iters=args.iters, max_size=args.max_size,
                             seed=seed, rec_noise=args.rec_noise, lr_milestone=args.lr_milestone,
                             generator_graph=args.generator_graph, upsample_precision=args.upsample_precision)
    began = time.time()
    api.train_run(image, folder, config, device="cpu", threads=1, overwrite=True, progress=False,
                  fast_paths=not args.reference_numerics)
    seconds = time.time() - began
    model = rf.load_model(folder, "cpu")
    real = model.reals[model.num_trained - 1]
    with torch.no_grad():
        samples = _quantized(generate(model, args.num, start_scale=0, seed=args.eval_seed))
    metrics = evaluate_images(real, samples, seed=args.eval_seed, device="cpu")
    return {**metrics, "seconds": seconds, "scales": model.num_trained, "size": "x".join(map(str, real.shape[-2:]))}


def _cell(result: dict) -> str:
    return (f"{result['swd']:7.1f} ± {result['swd_se']:5.1f}  {result['diversity']:.3f}  "
            f"{result['nn_coherence']:.3f}/{result['nn_completeness']:.3f}  {result['memorization']:.2f}  "
            f"{result['seconds']:7.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--official", default=None,
                        help="the rebuilt official checkout (main_train.py); not needed with --arms ours")
    parser.add_argument("--python", default=sys.executable, help="Python that runs the official code")
    parser.add_argument("--images", nargs="+", default=["balloons.png"],
                        help=f"image paths, or names in {SHARED_IMAGES}")
    parser.add_argument("--seeds", nargs="+", type=int, default=[1], help="training seeds (both codes)")
    parser.add_argument("--iters", type=int, default=200, help="iterations per scale (both codes)")
    parser.add_argument("--max-size", type=int, default=128)
    parser.add_argument("--num", type=int, default=OFFICIAL_SAMPLES, help="samples evaluated (<= 50)")
    parser.add_argument("--eval-seed", type=int, default=0, help="seed of our samples and of the metrics")
    parser.add_argument("--preset", default="paper", help="our preset (iterations are set to --iters)")
    parser.add_argument("--rec-noise", default=None, help="our rec_noise: fixed | per_iteration [the preset's]")
    parser.add_argument("--lr-milestone", default=None, help="our lr_milestone: fraction | official [the preset's]")
    parser.add_argument("--generator-graph", default=None, help="our generator_graph: fresh | stale [the preset's]")
    parser.add_argument("--upsample-precision", default=None,
                        help="our upsample_precision: float | uint8 [the preset's]")
    parser.add_argument("--reference-numerics", action="store_true",
                        help="ours without the CPU speed paths (eager NCHW, plain Adam, PyTorch's batch norm, "
                             "unbatched random inputs): the same math, slower")
    parser.add_argument("--work", required=True, help="folder for runs and results.json (resumable)")
    parser.add_argument("--arms", choices=("both", "official", "ours"), default="both",
                        help="train only one side (two processes can share --work, one per side); "
                             "the table lists the rows where both sides are cached")
    args = parser.parse_args(argv)
    if not 2 <= args.num <= OFFICIAL_SAMPLES:
        parser.error(f"--num must be between 2 and {OFFICIAL_SAMPLES}")
    if args.arms != "ours" and args.official is None:
        parser.error("--official is required unless --arms ours")
    if args.official is not None and not (Path(args.official) / "main_train.py").is_file():
        parser.error(f"{args.official} has no main_train.py")
    images = [resolve_image(Path(name)) for name in args.images]
    missing = [str(p) for p in images if not p.is_file()]
    if missing:
        parser.error(f"no such image(s): {missing}")

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    cache_path = work / "results.json"
    cache = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
    resolved = api.make_config(args.preset, rec_noise=args.rec_noise, lr_milestone=args.lr_milestone,
                               generator_graph=args.generator_graph, upsample_precision=args.upsample_precision)
    args.rec_noise, args.lr_milestone = resolved.rec_noise, resolved.lr_milestone  # the arm's name: resolved values
    args.generator_graph, args.upsample_precision = resolved.generator_graph, resolved.upsample_precision
    ours_arm = f"ours-{args.preset}-{args.rec_noise}-{args.lr_milestone}" + (
        "" if args.generator_graph == "fresh" else f"-{args.generator_graph}") + (
        "" if args.upsample_precision == "float" else f"-{args.upsample_precision}") + (
        "-reference" if args.reference_numerics else "")
    rows = []
    for image in images:
        for seed in args.seeds:
            base = f"{image.stem}-s{seed}-i{args.iters}-m{args.max_size}-n{args.num}-e{args.eval_seed}"
            sides = {"official": (("official", train_official),), "ours": ((ours_arm, train_ours),)}
            for arm, run in sides.get(args.arms, sides["official"] + sides["ours"]):
                key = f"{base}-{arm}"
                if key not in cache:
                    print(f"training {arm} on {image.name}, seed {seed} ...", flush=True)
                    result = run(args, image, seed, work / key)
                    # re-read: another process (--arms) may have added its rows meanwhile
                    cache = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
                    cache[key] = result
                    atomic_write_json(cache_path, cache)
            cache = json.loads(cache_path.read_text()) if cache_path.is_file() else cache
            if f"{base}-official" in cache and f"{base}-{ours_arm}" in cache:
                rows.append((image.stem, seed, cache[f"{base}-official"], cache[f"{base}-{ours_arm}"]))

    print(f"\n{args.iters} iterations per scale, max size {args.max_size}, {args.num} samples from scale 0; "
          f"ours: {ours_arm}")
    print("columns per code: patch SWD (x1e3, as singan eval) ± se, diversity, NN coherence/completeness, memorization, train s")
    print(f"{'image':14} {'seed':>4}  {'official':54}  {'ours':54}  SWD ratio  time ratio")
    for name, seed, official, ours in rows:
        print(f"{name:14} {seed:4d}  {_cell(official):54}  {_cell(ours):54}  "
              f"{ours['swd'] / official['swd']:9.2f}  {ours['seconds'] / official['seconds']:10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
