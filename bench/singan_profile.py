"""Time and profile SinGAN's training iteration at one scale (Shaham et al. 2019), per variant.

    python bench/singan_profile.py --size 186x248 --filters 128 [--iters 60] [--device cuda]
        [--variants eager,graphs,graphs+cl,graphs+cl+bf16] [--profile graphs] [--json]

Fits one scale on a random image of ``--size`` (height x width) with ``--filters`` channels for
``--iters`` iterations per variant and prints the median seconds per iteration, the achieved
GFLOP/s (work counted from the layer shapes) and the ratio to the machine's float32 matrix
multiply. Variants: ``eager`` (no CUDA graphs), ``graphs`` (each iteration one CUDA graph),
``+cl`` (channels-last activations), ``+bf16`` (bfloat16 autocast). ``--profile VARIANT``
also prints that variant's top kernels from torch.profiler.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ganbase.nn.discriminators import PatchDiscriminator  # noqa: E402
from ganbase.runtime.device import resolve_device  # noqa: E402
from ganbase.runtime.flops import matmul_gflops  # noqa: E402
from singan_kit.architectures import make_config  # noqa: E402
from singan_kit.architectures.singan.fit import ScaleTargets, fit_scale, iteration_flops  # noqa: E402
from singan_kit.architectures.singan.model import ScaleGenerator  # noqa: E402


def run_variant(variant: str, size: tuple[int, int], filters: int, iters: int, device: torch.device,
                profile: bool) -> float:
    parts = set(variant.split("+"))
    config = make_config("paper", num_filters=filters, max_filters=filters)
    torch.manual_seed(0)
    real = (torch.rand(1, 3, *size) * 2 - 1).to(device)
    targets = ScaleTargets(1, real, real * 0.5, None, 0.1)
    inputs_gen = torch.Generator().manual_seed(1)

    def random_inputs(count: int) -> torch.Tensor:
        return (torch.rand(count, 3, *size, generator=inputs_gen) * 0.5).to(device)

    def fit() -> float:
        generator = ScaleGenerator(filters)
        critic = PatchDiscriminator(3, filters, config.num_layers, config.kernel_size)
        result = fit_scale(generator, critic, targets, random_inputs, config, iters, torch.Generator().manual_seed(2),
                           device, sync_cuda=device.type == "cuda", cuda_graphs="graphs" in parts,
                           channels_last="cl" in parts, bf16="bf16" in parts)
        return result.median_iter_seconds

    if not profile:
        return fit()
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with torch_profile(activities=activities) as prof:
        seconds = fit()
    sort = "cuda_time_total" if device.type == "cuda" else "cpu_time_total"
    print(prof.key_averages().table(sort_by=sort, row_limit=18, max_name_column_width=60))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="186x248", help="HEIGHTxWIDTH of the scale")
    parser.add_argument("--filters", type=int, default=128)
    parser.add_argument("--iters", type=int, default=60)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--variants", default="eager,graphs,graphs+cl,graphs+cl+bf16")
    parser.add_argument("--profile", default=None, metavar="VARIANT")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    device = resolve_device(args.device)
    height, width = (int(v) for v in args.size.lower().split("x"))
    config = dataclasses.replace(make_config("paper"), num_filters=args.filters, max_filters=args.filters)
    flops = iteration_flops(config, 1, (height, width))
    matmul = matmul_gflops(device)
    rows = []
    for variant in args.variants.split(","):
        seconds = run_variant(variant, (height, width), args.filters, args.iters, device, variant == args.profile)
        gflops = flops / 1e9 / seconds
        rows.append({"variant": variant, "s_per_iter": round(seconds, 5), "gflops": round(gflops, 1),
                     "efficiency": round(gflops / matmul, 4)})
        if not args.json:
            print(f"{variant:<18} {seconds * 1000:9.2f} ms/iter {gflops:10.1f} GFLOP/s {gflops / matmul:7.2%}", flush=True)
    if args.json:
        print(json.dumps({"size": args.size, "filters": args.filters, "gflop_per_iter": flops / 1e9,
                          "matmul_gflops": matmul, "device": str(device), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
