"""Peak memory and seconds per iteration of SinGAN's finest scale at large sizes, with and without
activation checkpointing (issue 23; Shaham et al. 2019 for the model, Chen et al. 2016 for the
recomputation).

    python bench/training_memory.py --sizes 250 512 1024 --iters 2 --threads 1

Each (size, mode) runs in its own process, so its peak RSS (``ru_maxrss``) is its own: one paper
finest scale (``--filters`` 128, 5 layers, 3 critic + 3 generator steps, WGAN-GP, reconstruction
loss) fitted for ``--iters`` iterations on a random ``size x 0.75 size`` image through the trainer's
own :func:`fit_scale`, the random inputs drawn as noise instead of by a coarser pyramid (their pass
is under ``no_grad`` and small beside the fit). Prints, per row: peak RSS, the part of it above the
process's baseline after the first iteration's setup (the training activations), the estimate of
:mod:`singan_kit.training_memory`, and the median seconds per iteration (the first one included when
``--iters`` is 1).

The activations above the baseline are device-independent tensors, so they are also the estimate of
a GPU's memory for the same fit (plus the CUDA context and cuDNN workspaces, not counted).
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


def _child(size: int, filters: int, iters: int, recompute: bool, threads: int) -> dict:
    import torch

    from ganbase.nn.blocks import recomputed_activations
    from ganbase.nn.discriminators import PatchDiscriminator
    from singan_kit.architectures.singan.config import SinGANConfig
    from singan_kit.architectures.singan.fit import ScaleTargets, fit_scale
    from singan_kit.architectures.singan.model import ScaleGenerator

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    height, width = round(0.75 * size), size
    config = SinGANConfig(max_size=max(size, 25), max_filters=filters, num_filters=filters)
    generator, critic = ScaleGenerator(filters), PatchDiscriminator(3, filters, 5, 3)
    real = torch.rand(1, 3, height, width) * 2 - 1
    rec_input = (real + 0.1 * torch.randn_like(real)).clamp(-1, 1)
    targets = ScaleTargets(5, real, rec_input, None, 0.1)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    began = time.perf_counter()
    with recomputed_activations(recompute):
        fit = fit_scale(generator, critic, targets, lambda count: torch.randn(count, 3, height, width) * 0.5,
                        config, iters, torch.Generator().manual_seed(1), torch.device("cpu"), log_every=1)
    seconds = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"size": f"{width}x{height}", "filters": filters, "recompute": recompute, "iters": iters,
            "peak_bytes": peak, "baseline_bytes": baseline, "seconds": seconds,
            "median_iter_seconds": fit.median_iter_seconds if iters > 1 else seconds,
            "rec_loss": fit.last["rec_loss"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[250, 512, 1024], help="widths in px")
    parser.add_argument("--filters", type=int, default=128, help="filters of the finest scale (paper: 128)")
    parser.add_argument("--iters", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--modes", nargs="+", choices=("off", "on"), default=["off", "on"])
    parser.add_argument("--json", action="store_true", help="print the rows as JSON lines")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        size, filters, iters, recompute, threads = args.child
        print(json.dumps(_child(int(size), int(filters), int(iters), recompute == "on", int(threads))))
        return 0

    from singan_kit.training_memory import training_bytes

    print(f"{'size':>10} {'checkpointing':>13} {'peak RSS':>10} {'activations':>12} {'estimate':>10} {'s/iter':>8}")
    for size in args.sizes:
        for mode in args.modes:
            out = subprocess.run([sys.executable, __file__, "--child", str(size), str(args.filters), str(args.iters),
                                  mode, str(args.threads)], capture_output=True, text=True)
            if out.returncode != 0:
                print(f"{size:>10} {mode:>13} failed: {out.stderr.strip().splitlines()[-1:]}")
                continue
            row = json.loads(out.stdout.strip().splitlines()[-1])
            width, height = (int(v) for v in row["size"].split("x"))
            estimate = training_bytes(height, width, args.filters, 5, recomputed=mode == "on")
            row["estimate_bytes"] = estimate
            if args.json:
                print(json.dumps(row))
            gib = 2**30
            print(f"{row['size']:>10} {mode:>13} {row['peak_bytes'] / gib:9.2f}G "
                  f"{(row['peak_bytes'] - row['baseline_bytes']) / gib:11.2f}G {estimate / gib:9.2f}G "
                  f"{row['median_iter_seconds']:8.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
