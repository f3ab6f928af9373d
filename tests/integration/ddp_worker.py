"""Test helper run by ``torchrun`` (or plain ``python`` for one process): trains zoo models for a
few steps each on built-in data with :class:`ganbase.zoo.training.trainer.Trainer` and writes, per rank, the
digest of every model's final weights and its logged losses to ``<out>/rank_<r>.json``.

Usage: python -m tests.integration.ddp_worker OUT MODEL DATA STEPS BATCH [KEY=VALUE ...] [+ MODEL DATA ...]
(run folders go to ``<out>/<model>``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from ganbase.runtime.distributed import World, distributed_world
from ganbase.zoo.data.datasets import DataConfig, data_mode, load_dataset
from ganbase.zoo.models import create_model, get_model_class
from ganbase.zoo.training.ddp import state_digest
from ganbase.zoo.training.trainer import TrainConfig, Trainer


def train(out: Path, world: World, device: torch.device, model_name: str, data: str, steps: str,
          batch: str, *options: str) -> dict:
    model_class = get_model_class(model_name)
    data_config = DataConfig(source=data, image_size=16, mode=data_mode(model_class.data_kind),
                             labeled=model_class.data_kind == "labeled")
    dataset = load_dataset(data_config)
    torch.manual_seed(0)
    model = create_model(model_name, **dict(option.split("=", 1) for option in options),
                         **dataset.model_options())
    config = TrainConfig(steps=int(steps), batch_size=int(batch), seed=3, log_every=int(steps),
                         sample_every=10_000, checkpoint_every=10_000)
    trainer = Trainer(model, dataset, out / model_name, config, device, quiet=True, world=world)
    logs = trainer.fit()
    return {"digest": state_digest(trainer.model), "logs": logs}


def main(out: str, *specs: str) -> None:
    jobs = " ".join(specs).split(" + ")
    with distributed_world("cpu", threads=1) as (world, device):
        results = {job.split()[0]: train(Path(out), world, device, *job.split()) for job in jobs}
        (Path(out) / f"rank_{world.rank}.json").write_text(json.dumps(
            {"rank": world.rank, "world_size": world.size, "models": results}))


if __name__ == "__main__":
    main(*sys.argv[1:])
