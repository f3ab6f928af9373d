"""Time training-free sampling (GPNN, Granot et al., CVPR 2022; GPDM, Elnekave & Weiss, ECCV 2022).

    python bench/patch_speed.py IMAGE [--preset gpnn] [--repeats 3] [--num 50] [--large 1024] [--threads 2]

Writes a run of ``--preset`` for IMAGE (the finest level fitted into 250 px), then prints the median
seconds of one sample over ``--repeats`` draws, the seconds of ``--num`` samples drawn as
``singan sample`` draws them (0: skipped), the seconds of one sample whose longer side is
``--large`` px (0: skipped), and the process's peak resident memory after each.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from singan_kit.api import train_run  # noqa: E402
from singan_kit.architectures import make_config  # noqa: E402
from singan_kit.sample import generate, stream_samples  # noqa: E402


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux: KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", type=Path)
    parser.add_argument("--preset", default="gpnn")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--num", type=int, default=50)
    parser.add_argument("--large", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as folder:
        model = train_run(args.image, Path(folder) / "run", make_config(args.preset), progress=False)
        height, width = model.pyramid.finest_size
        print(f"{args.preset} on {args.image.name}: {width}x{height} px, {model.num_trained} levels, "
              f"{torch.get_num_threads()} threads")
        times = []
        for seed in range(args.repeats):
            start = time.perf_counter()
            generate(model, 1, seed=seed)
            times.append(time.perf_counter() - start)
        print(f"one sample: median {statistics.median(times):.2f} s of {[round(t, 2) for t in times]}; "
              f"peak RSS {peak_gb():.2f} GB")
        if args.num:
            start = time.perf_counter()
            stream_samples(model, Path(folder) / "samples", args.num, seed=100)
            print(f"{args.num} samples: {time.perf_counter() - start:.1f} s; peak RSS {peak_gb():.2f} GB")
        if args.large:
            factor = args.large / max(height, width)
            start = time.perf_counter()
            out = generate(model, 1, scale_w=factor, scale_h=factor, seed=7)
            print(f"one {out.shape[-1]}x{out.shape[-2]} px sample: {time.perf_counter() - start:.1f} s; "
                  f"peak RSS {peak_gb():.2f} GB")


if __name__ == "__main__":
    main()
