"""Training speed of every GAN zoo model: steps/second at its default size (no paper).

One step is one full ``train_step`` (for the WGANs and StarGAN that includes their 5 critic
updates) through the real trainer machinery (optimizers, data stream with jitter, autocast
context) minus checkpoints and grids, each model with its default hyperparameters. Generative
models run at batch size 64 on 32x32 ``digits``; the translation models on their built-in
datasets (pix2pix: ``edges2photos``, cyclegan: ``textures``, stargan: ``colored-shapes``) at
``--translation-size`` (default 64 px) with their papers' batch sizes (1, 1, 16). ``pggan`` is
timed in its final phase (full resolution, its paper's batch size 16); ``stylegan`` and
``stylegan2`` at their papers' batch size 32 (``--batch-size`` applies to the classic models);
``stylegan2``'s step includes its lazy R1 / path-length terms at their average cost only over
many steps, so give it ``--seconds`` of 20 or more.

    python bench/zoo_speed.py --threads 1 --seconds 10
    python bench/zoo_speed.py --device cuda --models dcgan wgan-gp
    python bench/zoo_speed.py --threads 1 --models pix2pix cyclegan stargan
    python bench/zoo_speed.py --threads 1 --models pggan stylegan stylegan2 --image-size 64
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ganbase.runtime.device import resolve_device  # noqa: E402
from ganbase.zoo.data.datasets import DataConfig, data_mode, load_dataset  # noqa: E402
from ganbase.zoo.models import create_model, get_model_class, model_names  # noqa: E402
from ganbase.zoo.models.base import TRANSLATION_KINDS  # noqa: E402
from ganbase.zoo.training.config import TrainConfig  # noqa: E402
from ganbase.zoo.training.trainer import Trainer  # noqa: E402

PAPER_BATCH_MODELS = ("pggan", "stylegan", "stylegan2")
TRANSLATION_DATA = {"paired": "edges2photos:64", "unpaired": "textures:64",
                    "multi-domain": "colored-shapes:64"}


def measure(name: str, device: torch.device, data: str, image_size: int, batch_size: int,
            seconds: float, warmup: int, translation_size: int = 64) -> dict:
    model_class = get_model_class(name)
    kind = model_class.data_kind
    if kind in TRANSLATION_KINDS:
        data, image_size = TRANSLATION_DATA[kind], translation_size
        batch_size = model_class.default_batch_size
    if name in PAPER_BATCH_MODELS:
        batch_size = model_class.default_batch_size
    dataset = load_dataset(DataConfig(data, image_size=image_size, labeled=kind == "labeled",
                                      mode=data_mode(kind)))
    torch.manual_seed(0)
    model = create_model(name, **dataset.model_options())
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(model, dataset, run_dir, TrainConfig(batch_size=batch_size), device,
                          quiet=True)
        per_step = model.real_batches_per_step()
        final_phase = model.training_phase(10**12)
        if final_phase is not None:  # progressive models: time the full-resolution phase
            model.enter_phase(final_phase)
            trainer.stream.batch_size = batch_size = final_phase.batch_size

        def step() -> None:
            batches = [trainer.stream.next() for _ in range(per_step)]
            model.train_step(batches, trainer.updates)

        for _ in range(warmup):
            step()
        _synchronize(device)
        steps, started = 0, time.perf_counter()
        while steps < 3 or time.perf_counter() - started < seconds:
            step()
            steps += 1
            if steps % 10 == 0:
                _synchronize(device)
        _synchronize(device)
        elapsed = time.perf_counter() - started
    parameters = sum(p.numel() for p in model.parameters())
    return {"model": name, "data_shape": list(dataset.data_shape), "batch_size": batch_size,
            "critic_iterations": per_step, "parameters": parameters, "steps": steps,
            "seconds": round(elapsed, 2), "steps_per_second": round(steps / elapsed, 2)}


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=model_names(), choices=model_names())
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data", default="digits:2000")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--translation-size", type=int, default=64,
                        help="image size of the translation models")
    parser.add_argument("--seconds", type=float, default=10.0, help="timed seconds per model")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} CPU thread(s), "
          f"batch {args.batch_size}, {args.image_size}px {args.data}")
    print(f"{'model':<9} {'params':>9} {'critic':>6} {'batch':>5} {'size':>4} {'steps/s':>8} "
          f"{'ms/step':>8}")
    results = []
    for name in args.models:
        result = measure(name, device, args.data, args.image_size, args.batch_size, args.seconds,
                         args.warmup, args.translation_size)
        results.append(result)
        print(f"{name:<9} {result['parameters'] / 1e6:>8.2f}M {result['critic_iterations']:>6} "
              f"{result['batch_size']:>5} {result['data_shape'][-1]:>4} "
              f"{result['steps_per_second']:>8.2f} {1000 / result['steps_per_second']:>8.1f}",
              flush=True)
    if args.json:
        args.json.write_text(json.dumps({"device": str(device), "threads": torch.get_num_threads(),
                                         "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
