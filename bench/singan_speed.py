"""Benchmark SinGAN training and sampling speed on one image (Shaham et al. 2019).

    python bench/singan_speed.py IMAGE [--preset quick] [--iters N] [--device cpu] [--json]

Prints per scale: size, filters, iterations, median seconds per iteration, seconds for the scale,
the floating-point work of one iteration (counted from the layer shapes, ganbase/runtime/flops.py), the
achieved GFLOP/s and the efficiency: achieved / the machine's float32 matrix-multiply GFLOP/s,
measured in the same run with the same thread count (TF32 on CUDA exactly when cuDNN uses it; on
the CPU the faster of torch.mm's BLAS and oneDNN's GEMM, ganbase.runtime.flops.matmul_rates).
Then total training time, peak memory (CPU: peak RSS; CUDA: peak allocated), and samples per
second for 50 samples at 1x and at 1.5x2. On CUDA, ``--no-cuda-graphs`` runs the eager path;
``--reference-numerics`` trains without the speed paths (the same math).
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

from ganbase.runtime.device import resolve_device  # noqa: E402
from ganbase.runtime.flops import matmul_rates  # noqa: E402
from singan_kit.architectures import make_config, preset_names, preset_settings  # noqa: E402
from singan_kit.architectures.lifecycle import create_run  # noqa: E402
from singan_kit.architectures.singan.fit import iteration_flops  # noqa: E402
from singan_kit.architectures.singan.train import SinGANTrainer  # noqa: E402
from singan_kit.run_folder import load_model  # noqa: E402
from singan_kit.sample import generate  # noqa: E402


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def time_sampling(model, num: int, scale_w: float, scale_h: float, device: torch.device, repeats: int = 3) -> float:
    """Median samples per second over ``repeats`` runs (after one warm-up batch): all ``num`` in one
    batch on GPUs, the library's default (small) batches on the CPU."""
    generate(model, 2, scale_w, scale_h)
    rates = []
    for seed in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        generate(model, num, scale_w, scale_h, seed=seed, batch_size=num if device.type == "cuda" else None)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        rates.append(num / (time.perf_counter() - start))
    return sorted(rates)[len(rates) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("image")
    parser.add_argument("--preset", default="quick",  # SinGAN presets: this bench drives SinGAN's trainer
                        choices=sorted(n for n in preset_names() if preset_settings(n)[0].name == "singan"))
    parser.add_argument("--iters", type=int, default=None, help="iterations per scale (overrides the preset)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--out", default=None, help="run folder to keep (default: a temporary folder)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--no-cuda-graphs", action="store_true", help="CUDA: run iterations eagerly")
    parser.add_argument("--no-channels-last", action="store_true",
                        help="NCHW activations (default: channels-last on CUDA, and on the CPU below 128 filters)")
    parser.add_argument("--reference-numerics", action="store_true",
                        help="train without the CPU speed paths (eager NCHW, plain Adam, PyTorch's batch norm, "
                             "unbatched random inputs): the same math, to measure what they buy")
    args = parser.parse_args()

    device = resolve_device(args.device)
    config = make_config(args.preset)
    if args.iters is not None:  # the same count at every scale
        config = dataclasses.replace(config, iters=args.iters, fine_iters=None).validate()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    rates = matmul_rates(device)
    matmul = max(rates.values())
    if not args.json:
        listed = ", ".join(f"{name} {rate:.0f}" for name, rate in rates.items())
        print(f"{device}: float32 matrix multiply {matmul:.0f} GFLOP/s, the fastest of {listed} "
              f"({torch.get_num_threads()} threads)", flush=True)
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
                  sync_timing=True, cuda_graphs=not args.no_cuda_graphs,
                  channels_last=False if args.no_channels_last else None,
                  fast_paths=not args.reference_numerics).train()
    train_seconds = time.perf_counter() - start
    for row in scales:  # counted after training so that counting is not timed
        flops = iteration_flops(config, row["scale"], (row["height"], row["width"]))
        row["gflop_per_iter"] = round(flops / 1e9, 2)
        row["gflops"] = round(flops / 1e9 / row["median_s_per_iter"], 1)
        row["efficiency"] = round(row["gflops"] / matmul, 3)
    if not args.json:
        print("scale    size     filters  s/iter   GFLOP/iter  GFLOP/s  efficiency")
        for row in scales:
            print(f"{row['scale']:>5}  {row['width']:>4}x{row['height']:<4} {row['filters']:>6}  "
                  f"{row['median_s_per_iter']:8.4f}  {row['gflop_per_iter']:9.2f}  {row['gflops']:8.1f}  "
                  f"{row['efficiency']:8.1%}")
    model = load_model(run_dir, device)
    result = {
        "image": args.image, "preset": args.preset, "config": config.to_dict(), "device": str(device),
        "torch": torch.__version__, "machine": platform.processor() or platform.machine(),
        "cuda_graphs": device.type == "cuda" and not args.no_cuda_graphs, "matmul_gflops": round(matmul, 1),
        "fast_paths": not args.reference_numerics,
        "matmul_gflops_by_library": {name: round(rate, 1) for name, rate in rates.items()},
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
