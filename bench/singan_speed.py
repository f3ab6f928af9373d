"""Benchmark SinGAN training and sampling speed on one image (Shaham et al. 2019).

    python bench/singan_speed.py IMAGE [--preset fast] [--iters N] [--device cpu] [--json]

Prints per scale: size, filters, iterations, median seconds per iteration, seconds for the scale;
then total training time, peak memory, and samples per second for 50 samples at 1x and at 1.5x2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ganbase.device import resolve_device  # noqa: E402
from singan_kit.config import make_config  # noqa: E402
from singan_kit.run_folder import load_model  # noqa: E402
from singan_kit.sample import generate  # noqa: E402
from singan_kit.train import SinGANTrainer, create_run  # noqa: E402


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def time_sampling(model, num: int, scale_w: float, scale_h: float, device: torch.device, repeats: int = 3) -> float:
    """Median samples per second over ``repeats`` runs (after one warm-up batch)."""
    generate(model, 2, scale_w, scale_h)
    rates = []
    for seed in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        generate(model, num, scale_w, scale_h, seed=seed, batch_size=num)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        rates.append(num / (time.perf_counter() - start))
    return sorted(rates)[len(rates) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("image")
    parser.add_argument("--preset", default="fast", choices=["paper", "fast", "tiny"])
    parser.add_argument("--iters", type=int, default=None, help="iterations per scale (overrides the preset)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--out", default=None, help="run folder to keep (default: a temporary folder)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()

    device = resolve_device(args.device)
    config = make_config(args.preset)
    if args.iters is not None:  # the same count at every scale
        config = dataclasses.replace(config, iters=args.iters, fine_iters=None).validate()
    tmp = tempfile.TemporaryDirectory() if args.out is None else None
    run_dir = Path(args.out or tmp.name) / "run"
    create_run(args.image, run_dir, config, device, overwrite=True)
    scales = []

    def record(summary):
        scales.append({"scale": summary.scale, "height": summary.size[0], "width": summary.size[1],
                       "filters": summary.num_filters, "iters": summary.iters,
                       "median_s_per_iter": round(summary.median_iter_seconds, 4),
                       "scale_seconds": round(summary.seconds, 2)})
        if not args.json:
            print(f"scale {summary.scale}: {summary.size[1]:>4}x{summary.size[0]:<4} {summary.num_filters:>3} filters "
                  f"{summary.iters:>5} iters  {summary.median_iter_seconds:8.4f} s/iter  {summary.seconds:8.1f} s",
                  flush=True)

    start = time.perf_counter()
    SinGANTrainer(run_dir, device, progress=False, on_scale_end=record, threads=args.threads,
                  sync_timing=True).train()
    train_seconds = time.perf_counter() - start
    model = load_model(run_dir, device)
    result = {
        "image": args.image, "preset": args.preset, "config": config.to_dict(), "device": str(device),
        "torch": torch.__version__, "machine": platform.processor() or platform.machine(),
        "threads_available": torch.get_num_threads(), "scales": scales,
        "train_seconds": round(train_seconds, 1),
        "peak_memory_mb": round(peak_memory_mb(device), 1),
        "samples_per_second_1x": round(time_sampling(model, args.samples, 1.0, 1.0, device), 2),
        "samples_per_second_1.5x2": round(time_sampling(model, args.samples, 1.5, 2.0, device), 2),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"total training: {result['train_seconds']} s; peak memory {result['peak_memory_mb']} MB")
        print(f"sampling {args.samples}: {result['samples_per_second_1x']} samples/s at 1x, "
              f"{result['samples_per_second_1.5x2']} samples/s at 1.5x2")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
