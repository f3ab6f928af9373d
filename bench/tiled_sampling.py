"""Benchmark exact tiled sampling (singan_kit.tiling; SinGAN, Shaham et al. 2019) at large sizes.

    python bench/tiled_sampling.py [RUN] [--sizes 1920x1080 3840x2160] [--max-memory 512MB] [--json]

For each size, one fresh process samples ``--num`` images as ``singan sample RUN --size WxH`` does
(block noise, tiles from the memory budget) and reports the tile side, seconds per megapixel and
the process's peak RSS (which includes the ~0.3 GB of the interpreter and torch). Without RUN the
model is an untrained SinGAN of the ``--preset`` at 250 px (random weights cost the same time and
memory as trained ones). CPU only; timings are comparable only on the same machine and threads.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT_SIZES = ["1024x768", "1920x1080", "3840x2160"]  # 1K, 2K (full HD), 4K UHD


def load(run: str | None, preset: str):
    import torch

    from singan_kit import run_folder as rf
    from singan_kit.architectures import make_config
    from singan_kit.architectures.singan.model import GeneratorPyramid
    from singan_kit.pyramid import compute_pyramid

    if run:
        return rf.load_model(run, torch.device("cpu"), architectures=rf.ALL_ARCHITECTURES)
    torch.manual_seed(0)
    config = make_config(preset)
    pyramid = compute_pyramid(188, 250, config.min_size, config.max_size, config.scale_factor)
    reals = [torch.zeros(1, 3, *size) for size in pyramid.sizes]
    return GeneratorPyramid(config, pyramid, reals, [0.1] * pyramid.num_scales,
                            torch.zeros(1, 3, *pyramid.sizes[0])).eval()


def one(args) -> dict:
    """Run in the child process: sample and report."""
    import torch

    from ganbase.runtime.memory import parse_memory
    from singan_kit.sample import parse_size
    from singan_kit.tiling import plan_for, sizes_for_size, tile_for_budget, tiled_batches

    torch.set_num_threads(args.threads)
    height, width = parse_size(args.one)
    model = load(args.run, args.preset)
    budget = parse_memory(args.max_memory)
    sizes = sizes_for_size(model, height, width)
    tile = tile_for_budget(plan_for(model, sizes[:model.num_trained], 0), 1, budget)
    start = time.perf_counter()
    for _ in tiled_batches(model, args.num, sizes, seed=0, budget=budget):
        pass
    seconds = time.perf_counter() - start
    return {"size": f"{width}x{height}", "megapixels": round(height * width / 1e6, 2), "tile": tile,
            "seconds": round(seconds, 2),
            "seconds_per_megapixel": round(seconds / (args.num * height * width / 1e6), 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", help="a run folder (default: an untrained --preset model at 250 px)")
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--sizes", nargs="+", default=DEFAULT_SIZES, metavar="WxH")
    parser.add_argument("--max-memory", default="512MB", help="the tiles' budget, as singan sample --max-memory")
    parser.add_argument("--num", type=int, default=1, help="samples per size")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one size in this process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args)))
        return
    rows = []
    for size in args.sizes:
        command = [sys.executable, __file__, *([args.run] if args.run else []), "--preset", args.preset,
                   "--max-memory", args.max_memory, "--num", str(args.num), "--threads", str(args.threads),
                   "--one", size]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"{size}: {done.stderr.strip().splitlines()[-1]}")
        rows.append(json.loads(done.stdout))
    if args.json:
        print(json.dumps({"max_memory": args.max_memory, "threads": args.threads, "results": rows}, indent=2))
        return
    print(f"tiled sampling, budget {args.max_memory}, {args.threads} thread(s), {args.num} sample(s) per size")
    print(f"{'size':>10} {'MP':>6} {'tile':>5} {'s':>8} {'s/MP':>7} {'peak RSS MB':>12}")
    for row in rows:
        print(f"{row['size']:>10} {row['megapixels']:>6} {row['tile']:>5} {row['seconds']:>8} "
              f"{row['seconds_per_megapixel']:>7} {row['peak_rss_mb']:>12}")


if __name__ == "__main__":
    main()
