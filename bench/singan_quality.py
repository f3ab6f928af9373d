"""Benchmark the sample quality of single-image generators (SinGAN, Shaham et al. 2019, and every
registered architecture: ConSinGAN, GPNN, GPDM): train on a few images, evaluate, one table.

    python bench/singan_quality.py                                  # quick default, < 10 min on 2 cores
    python bench/singan_quality.py --images a.png b.png --preset fast --out runs/q
    python bench/singan_quality.py --full --device cuda --json      # the paper's settings
    python bench/singan_quality.py --eval-only runs/q/balloons runs/q/birds --baselines --draws 8
    python bench/singan_quality.py --preset fast --train-seeds 0 1 2 --draws 8 --out runs/q
    python bench/singan_quality.py --full --device cuda --train-seeds 0 1 --jobs 6 --out runs/q
    python bench/singan_quality.py --preset paper consingan gpnn gpdm --iters-factor 0.1 --out runs/q

Trains a run per image, then draws ``--num`` samples of each (seed ``--seed``) and reports, per
image: scales, training seconds, patch SWD x1e3 and its standard error over draws of samples
(jackknife), diversity, patch NN coherence / completeness and memorization
(:mod:`singan_kit.evaluate`, definitions in docs/eval.md). ``--draws N`` averages N draws of
samples (the standard error then comes from their spread); ``--train-seeds`` trains each image
once per seed and adds each metric's mean and standard deviation over the seeds.
``--baselines`` adds two trivial "generators" for the first image so the scale of each metric is
clear: the training image itself repeated N times (SWD and NN distances at their noise floor,
diversity 0, memorization 1) and N random tile shuffles of it (each sample: a random circular
shift, then the image cut into a 4x4 grid of tiles whose order is shuffled; local patches are
real, the layout is not).

``--preset`` takes several presets (any architecture's: ``fast``, ``consingan``, ``gpnn``, ``gpdm``
...): each image is then trained or stored once per preset in ``<out>/<preset>/<image>``, every row
names its preset, and a last table gives each preset's means over the images (with training
seconds and evaluation seconds per sample, which for the training-free presets is their sampling
cost). ``--iters-factor`` and ``--iters`` apply to every preset that trains; the training-free
ones keep their synthesis steps.

Default images: balloons, birds and starry_night from ``../shared/data/singan/Images/`` when
present, else ``samples/hubble.png``. Default schedule: the ``quick`` preset with its
iterations multiplied by ``--iters-factor 0.17`` (102 at the coarsest scale down to 17 at the
finest, instead of 600 -> 100): about 15 TFLOP of training per 250 px image, ~2.5 min on an idle
2-core CPU by the per-iteration costs of bench/singan_speed.py, so three images and their
evaluation take about 8 minutes. ``--full`` trains the paper's preset (2000 iterations per scale).

With ``--out``, a run folder that is already there is used as it is when it was trained to the
end with the same settings, continued from its last finished scale when it was not (a killed
bench loses at most one scale per run), and refused when its settings differ: a long study can
be stopped and started again. ``--jobs N`` trains N runs at once in separate processes (on the
CPU each with ``--threads`` or its share of the cores; on a GPU all share the device). The
training seconds reported are the per-scale fit times summed from each run's log.csv (saving and
previews, ~2%, not included), so that fresh, continued and reused runs read alike; with
``--jobs`` above 1 they include the slowdown of sharing the machine.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import multiprocessing
import platform
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ganbase.errors import UserError  # noqa: E402
from ganbase.runtime.device import resolve_device  # noqa: E402
from ganbase.runtime.threads import usable_cores  # noqa: E402
from singan_kit import architectures  # noqa: E402
from singan_kit.architectures import make_config, preset_names  # noqa: E402
from singan_kit.evaluate import METRIC_KEYS, evaluate_images, evaluate_run  # noqa: E402
from singan_kit.run_folder import ALL_ARCHITECTURES, load_model, read_meta  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED_IMAGES = ROOT.parent / "shared" / "data" / "singan" / "Images"
DEFAULT_SHARED = ("balloons.png", "birds.png", "starry_night.png")
QUICK_FACTOR = 0.17
STATE_WORDS = {"train": "training", "resume": "continuing", "done": "already trained"}


def default_images() -> list[Path]:
    found = [SHARED_IMAGES / name for name in DEFAULT_SHARED if (SHARED_IMAGES / name).is_file()]
    return found or [ROOT / "samples" / "hubble.png"]


def resolve_image(path: Path) -> Path:
    """``path`` itself when it exists, else the paper's image of that name (``balloons.png``)."""
    return path if path.is_file() or path.is_absolute() else SHARED_IMAGES / path


def scaled_config(preset: str, factor: float, iters: int | None, max_size: int | None, seed: int):
    """The preset with iterations multiplied by ``factor`` (or ``iters`` at every scale); a
    training-free preset as it is (its iterations are synthesis steps, not training)."""
    config = make_config(preset, max_size=max_size, seed=seed)
    if not architectures.get(config.architecture).learns:
        return config
    has_schedule = hasattr(config, "fine_iters")  # SinGAN: coarse -> fine schedule; ConSinGAN: one count
    if iters is not None:
        return dataclasses.replace(config, iters=iters, **({"fine_iters": None} if has_schedule else {})).validate()
    changes = {"iters": max(1, round(config.iters * factor))}
    if has_schedule and config.fine_iters is not None:
        changes["fine_iters"] = max(1, round(config.fine_iters * factor))
    return dataclasses.replace(config, **changes).validate()


def tile_shuffles(real: torch.Tensor, num: int, seed: int, grid: int = 4) -> torch.Tensor:
    """``num`` copies of ``real [1, C, H, W]``, each circularly shifted by a random offset and cut
    into ``grid x grid`` tiles put back in random order (pixels beyond whole tiles stay shifted)."""
    generator = torch.Generator().manual_seed(seed)
    _, channels, height, width = real.shape
    tile_h, tile_w = height // grid, width // grid
    outputs = []
    for _ in range(num):
        shift = (int(torch.randint(height, (1,), generator=generator)), int(torch.randint(width, (1,), generator=generator)))
        image = torch.roll(real[0], shifts=shift, dims=(1, 2))
        tiles = image[:, :grid * tile_h, :grid * tile_w].reshape(channels, grid, tile_h, grid, tile_w)
        tiles = tiles.permute(1, 3, 0, 2, 4).reshape(grid * grid, channels, tile_h, tile_w)
        tiles = tiles[torch.randperm(grid * grid, generator=generator)]
        image = image.clone()
        image[:, :grid * tile_h, :grid * tile_w] = (tiles.reshape(grid, grid, channels, tile_h, tile_w)
                                                    .permute(2, 0, 3, 1, 4).reshape(channels, grid * tile_h, grid * tile_w))
        outputs.append(image)
    return torch.stack(outputs)


def run_state(image: Path, run_dir: Path, config) -> str:
    """What ``run_dir`` needs: "train" (no run there), "resume" (unfinished) or "done" (trained to
    the end); a run of another image or with other settings stops the bench."""
    if not (run_dir / "config.json").is_file():
        return "train"
    try:
        meta = read_meta(run_dir)
    except UserError as exc:  # a corrupt or newer run folder
        raise SystemExit(f"error: {exc}") from None
    if Path(meta["source_image"]).name != image.name or meta["config"] != config:
        raise SystemExit(f"error: {run_dir} holds a run of {Path(meta['source_image']).name} with other settings "
                         f"than this bench's; give another --out or remove it")
    return "done" if meta["scales_done"] == meta["pyramid"].num_scales else "resume"


def train_run(image: Path, run_dir: Path, config, device: torch.device, threads: int | None, state: str) -> None:
    """Train (``state`` "train") or continue ("resume") one run folder; runs in a worker with --jobs."""
    from singan_kit.architectures.lifecycle import train  # training code only where the bench trains

    if state == "resume":
        train(None, run_dir, device=device, resume=True, progress=False, threads=threads)
    elif state == "train":
        train(image, run_dir, config, device=device, overwrite=True, progress=False, threads=threads)


def logged_train_seconds(run_dir: Path) -> float:
    """Sum over scales of each scale's fit time (the last "seconds" logged for it in log.csv)."""
    last: dict[str, float] = {}
    with open(run_dir / "log.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            last[row["scale"]] = float(row["seconds"])
    return round(sum(last.values()), 1)


def train_all(jobs: list[tuple[Path, Path, object, str]], device: torch.device, threads: int | None,
              workers: int, quiet: bool) -> None:
    """Train every (image, run folder, config, state) job, ``workers`` at a time."""
    todo = [job for job in jobs if job[3] != "done"]
    if not quiet:
        for image, run_dir, config, state in jobs:
            fine = getattr(config, "fine_iters", None) or config.iters
            schedule = (f"{config.iters} -> {fine} iterations per scale"
                        if architectures.get(config.architecture).learns else "training-free")
            print(f"{image.name} seed {config.seed} ({config.architecture}, {schedule}): {STATE_WORDS[state]} {run_dir}",
                  flush=True)
    if workers <= 1 or len(todo) <= 1:
        for image, run_dir, config, state in todo:
            train_run(image, run_dir, config, device, threads, state)
        return
    if device.type == "cpu" and threads is None:  # the cores are split, not fought over
        threads = max(1, usable_cores() // workers)
    with ProcessPoolExecutor(max_workers=min(workers, len(todo)),
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(train_run, image, run_dir, config, device, threads, state)
                   for image, run_dir, config, state in todo]
        for future in futures:
            future.result()


def baselines(run_dir: Path, num: int, seed: int, device: torch.device) -> list[dict]:
    model = load_model(run_dir, device, architectures=ALL_ARCHITECTURES)
    real = model.reals[model.num_trained - 1].cpu()
    rows = []
    for name, samples in (("real image repeated", real.repeat(num, 1, 1, 1)),
                          ("tile shuffles 4x4", tile_shuffles(real, num, seed))):
        start = time.perf_counter()
        scores = evaluate_images(real, samples, seed=seed, device=device)
        rows.append({"image": f"baseline: {name}", "scales": model.num_trained, "train_seconds": None,
                     "eval_seconds": round(time.perf_counter() - start, 2), **scores})
    return rows


def aligned(cells: list[list[str]]) -> str:
    """Rows of cells as text columns: the first left-aligned, the others right-aligned, a rule under
    the header row."""
    widths = [max(len(line[i]) for line in cells) for i in range(len(cells[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths)))
             for line in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_table(rows: list[dict]) -> str:
    header = ["run", "scales", "train s", "eval s", "SWD", "SWD ±", "diversity", "NN coh.", "NN compl.",
              "memorized"]
    formats = ["{:.2f}", "{:.2f}", "{:.4f}", "{:.5f}", "{:.5f}", "{:.2f}"]
    cells = [header]
    for row in rows:
        train_s = "-" if row.get("train_seconds") is None else f"{row['train_seconds']:.0f}"
        label = row_label(row)
        cells.append([label, str(row["scales"]), train_s, f"{row['eval_seconds']:.1f}"]
                     + [pattern.format(row[key]) for pattern, key in zip(formats, METRIC_KEYS)])
    return aligned(cells)


def row_label(row: dict) -> str:
    """``image``, with `` seed N`` when trained with ``--train-seeds`` and ``[preset]`` when several ran."""
    label = row["image"] if row.get("train_seed") is None else f"{row['image']} seed {row['train_seed']}"
    return label if row.get("shown_preset") is None else f"{label} [{row['shown_preset']}]"


def seed_summaries(rows: list[dict]) -> list[dict]:
    """Per image (and preset) trained with several seeds: mean and standard deviation over the seeds
    of every metric (the training seed moves SWD more than a draw of samples does, docs/eval.md)."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        if row.get("train_seed") is not None:
            groups.setdefault((row.get("shown_preset"), row["image"]), []).append(row)
    summaries = []
    for (preset, image), group in groups.items():
        if len(group) < 2:
            continue
        summary = {"image": image, "train_seeds": [row["train_seed"] for row in group]}
        if preset is not None:
            summary["preset"] = preset
        for key in ("train_seconds", *METRIC_KEYS):
            values = torch.tensor([float(row[key]) for row in group], dtype=torch.float64)
            summary[key] = {"mean": values.mean().item(), "sd": values.std().item()}
        summaries.append(summary)
    return summaries


def format_summaries(summaries: list[dict]) -> str:
    lines = []
    for summary in summaries:
        seeds = " ".join(str(seed) for seed in summary["train_seeds"])
        cells = [f"{key} {summary[key]['mean']:.{digits}f} ± {summary[key]['sd']:.{digits}f}"
                 for key, digits in (("swd", 2), ("diversity", 4), ("train_seconds", 0))]
        name = summary["image"] if "preset" not in summary else f"{summary['image']} [{summary['preset']}]"
        lines.append(f"{name} over training seeds {seeds} (mean ± sd): " + ", ".join(cells))
    return "\n".join(lines)


def preset_means(rows: list[dict]) -> list[dict]:
    """Per preset: the mean over its rows (images and training seeds) of every metric, of the
    training seconds and of the evaluation seconds per sample (sampling and metrics)."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        if row.get("preset") is not None:
            groups.setdefault(row["preset"], []).append(row)
    means = []
    for preset, group in groups.items():
        entry = {"preset": preset, "runs": len(group)}
        for key in ("train_seconds", *METRIC_KEYS):
            entry[key] = sum(float(row[key]) for row in group) / len(group)
        entry["eval_seconds_per_sample"] = sum(row["eval_seconds"] / (row["num_samples"] * row.get("draws", 1))
                                               for row in group) / len(group)
        means.append(entry)
    return means


def format_means(means: list[dict]) -> str:
    header = ["preset", "runs", "train s", "eval s/sample", "SWD", "diversity", "NN coh.", "NN compl.", "memorized"]
    cells = [header] + [[entry["preset"], str(entry["runs"]), f"{entry['train_seconds']:.0f}",
                         f"{entry['eval_seconds_per_sample']:.2f}", f"{entry['swd']:.2f}", f"{entry['diversity']:.4f}",
                         f"{entry['nn_coherence']:.5f}", f"{entry['nn_completeness']:.5f}",
                         f"{entry['memorization']:.2f}"] for entry in means]
    return "means over each preset's runs\n" + aligned(cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", nargs="+", type=Path, default=None,
                        help="images to train on (a bare name such as balloons.png: that image of the paper)")
    parser.add_argument("--eval-only", nargs="+", type=Path, default=None, metavar="RUN",
                        help="evaluate these run folders instead of training")
    parser.add_argument("--preset", nargs="+", default=["quick"], choices=sorted(preset_names()),
                        help="one preset or several (then run folders <out>/<preset>/<image>) [quick]")
    parser.add_argument("--full", action="store_true", help="the paper preset at its full schedule")
    parser.add_argument("--iters-factor", type=float, default=None,
                        help=f"multiply the preset's iterations [{QUICK_FACTOR} for quick, "
                             "1 with --full/other presets]")
    parser.add_argument("--iters", type=int, default=None, help="iterations at every scale (overrides the factor)")
    parser.add_argument("--max-size", type=int, default=None, help="longer side of the finest scale [250]")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None,
                        help="training threads per run (default: chosen per scale; with --jobs on the CPU, "
                             "the cores divided by the jobs)")
    parser.add_argument("--jobs", type=int, default=1, help="trainings at once, in separate processes [1]")
    parser.add_argument("--num", type=int, default=50, help="samples per draw")
    parser.add_argument("--draws", type=int, default=1,
                        help="draws of --num samples per run (seeds --seed, --seed+1, ...); metrics are their means")
    parser.add_argument("--seed", type=int, default=0, help="seed of the samples and metrics, and of training")
    parser.add_argument("--train-seeds", nargs="+", type=int, default=None, metavar="SEED",
                        help="train each image once per seed (run folders <image>_seed<SEED>) and add the "
                             "mean and sd over seeds [--seed]")
    parser.add_argument("--out", type=Path, default=None, help="keep the run folders here (<out>/<image name>)")
    parser.add_argument("--baselines", action="store_true", help="add the two trivial baselines of the first image")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()
    if args.draws < 1 or args.num < 2:
        parser.error("--draws must be >= 1 and --num >= 2")
    if args.jobs < 1:
        parser.error("--jobs must be >= 1")
    if len(set(args.preset)) != len(args.preset):
        parser.error("--preset: each preset once")

    images = [resolve_image(name) for name in args.images] if args.images else default_images()
    missing = [str(path) for path in images if not path.is_file()]
    if missing:
        parser.error(f"no such image(s), here or in {SHARED_IMAGES}: {missing}")

    device = resolve_device(args.device)
    presets = ["paper"] if args.full else args.preset
    several = len(presets) > 1
    settings = {"device": str(device), "torch": torch.__version__, "machine": platform.processor() or platform.machine(),
                "num": args.num, "draws": args.draws, "seed": args.seed, "jobs": args.jobs, "presets": presets}
    rows, run_dirs = [], []
    tmp = tempfile.TemporaryDirectory() if args.out is None and args.eval_only is None else None
    if args.eval_only is not None:
        run_dirs = list(args.eval_only)
        for run_dir in run_dirs:
            rows.append({"image": str(run_dir), "train_seconds": None})
    else:
        train_seeds = args.train_seeds or [args.seed]
        out = args.out or Path(tmp.name)
        jobs = []
        for preset in presets:
            factor = args.iters_factor if args.iters_factor is not None else (
                QUICK_FACTOR if preset == "quick" and not args.full else 1.0)
            for image in images:
                for train_seed in train_seeds:
                    config = scaled_config(preset, factor, args.iters, args.max_size, train_seed)
                    name = image.stem if args.train_seeds is None else f"{image.stem}_seed{train_seed}"
                    run_dir = out / preset / name if several else out / name
                    jobs.append((image, run_dir, config, run_state(image, run_dir, config)))
                    rows.append({"image": image.name, "train_seed": train_seed, "preset": preset,
                                 "shown_preset": preset if several else None, "iters_factor": factor,
                                 "iters": getattr(config, "iters", None), "fine_iters": getattr(config, "fine_iters", None),
                                 "max_size": config.max_size})
                    run_dirs.append(run_dir)
        train_all(jobs, device, args.threads, args.jobs, quiet=args.json)
        for row, (_, run_dir, _, state) in zip(rows, jobs):
            row.update(train_seconds=logged_train_seconds(run_dir), reused=state == "done")
    for row, run_dir in zip(rows, run_dirs):
        start = time.perf_counter()
        row.update(evaluate_run(run_dir, num=args.num, seed=args.seed, device=device, draws=args.draws))
        row["eval_seconds"] = round(time.perf_counter() - start, 2)
    summaries = seed_summaries(rows)
    means = preset_means(rows) if several or len(rows) > 1 else []
    if args.baselines and run_dirs:
        rows += baselines(run_dirs[0], args.num, args.seed, device)
    if args.json:
        print(json.dumps({"settings": settings, "results": rows, "over_training_seeds": summaries,
                          "preset_means": means}, indent=2))
    else:
        print(", ".join(f"{key} {value}" for key, value in settings.items()))
        print(format_table(rows))
        if summaries:
            print(format_summaries(summaries))
        if means:
            print(format_means(means))
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
