"""The one trainer every zoo model shares (no paper; the update rules live in the models).

The model's ``train_step`` does its paper's D/G updates through a :class:`StepContext`; the
trainer owns everything around it: optimizers and learning-rate schedules built from the model's
``optimizer_specs``, the device, mixed precision on CUDA (autocast + GradScaler), an optional EMA
of the generator, logging (``log.csv``, TensorBoard when installed), a tqdm bar with losses and
ETA, periodic sample grids, atomic checkpoints and bit-exact resume (weights, optimizers,
schedulers, GradScalers, EMA, step, data position, RNG states). For progressively grown models
(Karras et al. 2018) it also runs the growth phases: before every step it asks the model for its
phase at that step (resolution, fade-in alpha, batch size), so a resumed run continues mid-phase.
Starting and resuming run folders is :mod:`ganbase.zoo.training.launch`'s; the settings
(:class:`TrainConfig`, the learning-rate schedules) are :mod:`ganbase.zoo.training.config`'s.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import signal
import time
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor
from tqdm import tqdm

from ganbase.errors import (  # raised after Ctrl-C, once saved
    TrainingInterrupted,
    UserError,
)
from ganbase.io.checkpoint import (
    append_text,
    atomic_write_json,
    atomic_write_text,
    complete_csv_rows,
    load_tensors,
    read_json,
    save_tensors,
)
from ganbase.io.grids import make_grid, render_points, save_png
from ganbase.io.images import to_uint8
from ganbase.io.run_safety import prune_owned
from ganbase.io.train_state import (
    capture_rng,
    flatten_optimizer,
    restore_rng,
    unflatten_optimizer,
)
from ganbase.runtime.distributed import SINGLE, World
from ganbase.zoo.data.datasets import BatchStream, Dataset
from ganbase.zoo.inference.runs import (
    CHECKPOINTS_DIR,
    EMA_WEIGHTS,
    LATEST_FILE,
    LOG_FILE,
    MODEL_WEIGHTS,
    SAMPLES_DIR,
    TRAINING_META,
    TRAINING_TENSORS,
    checkpoint_dir_name,
    load_weights,
)
from ganbase.zoo.models import OptimizerSpec, ZooModel
from ganbase.zoo.training.config import LR_SCHEDULES, TrainConfig
from ganbase.zoo.training.ddp import DataParallel, convert_sync_batchnorm
from ganbase.zoo.training.ema import ExponentialMovingAverage

OPTIMIZERS: dict[str, Callable[[list, OptimizerSpec], torch.optim.Optimizer]] = {
    "adam": lambda params, spec: torch.optim.Adam(params, lr=spec.lr, betas=spec.betas),
    "rmsprop": lambda params, spec: torch.optim.RMSprop(params, lr=spec.lr, alpha=spec.alpha),
}

class _Updates:
    """The :class:`StepContext` the trainer hands to ``train_step``."""

    def __init__(self, optimizers: dict[str, torch.optim.Optimizer],
                 scalers: dict[str, torch.amp.GradScaler], amp: bool, parallel: DataParallel) -> None:
        self.optimizers, self.scalers, self.amp, self.parallel = optimizers, scalers, amp, parallel

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.amp:
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def update(self, optimizer: str, loss: Tensor) -> None:
        scaler = self.scalers[optimizer]
        self.optimizers[optimizer].zero_grad(set_to_none=True)
        with self.parallel.every_parameter_in(loss, self.optimizers[optimizer]) as loss:
            scaler.scale(loss).backward()
        scaler.step(self.optimizers[optimizer])
        scaler.update()


class Trainer:
    """Trains ``model`` on ``dataset`` in ``run_dir``; ``fit`` runs until ``config.steps``."""

    def __init__(self, model: ZooModel, dataset: Dataset, run_dir: str | Path, config: TrainConfig,
                 device: torch.device, quiet: bool = False, world: World = SINGLE,
                 sync_batchnorm: bool = False) -> None:
        """``world``: the torchrun job; ``config.batch_size`` is global, split over its ranks,
        and only rank 0 writes checkpoints, grids and logs (see :mod:`ganbase.zoo.training.ddp`)."""
        config.validate()
        if config.amp and device.type != "cuda":
            raise UserError("--amp (mixed precision) needs a CUDA device")
        if sync_batchnorm:
            model = convert_sync_batchnorm(model, world, device)
        self.model = model.to(device).train()
        self.dataset, self.config, self.device, self.world = dataset, config, device, world
        self.quiet = quiet or not world.is_main
        self.run_dir = Path(run_dir)
        self.parallel = DataParallel(self.model, world, device)
        self.stream = BatchStream(dataset, world.local_batch(config.batch_size), config.seed, device,
                                  world.rank, world.size)
        self.step = 0
        self._phase_index: int | None = None
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        for spec in model.optimizer_specs():
            params = [p for name in spec.module.split("+") for p in getattr(model, name).parameters()]
            self.optimizers[spec.module] = OPTIMIZERS[spec.algorithm](params, spec)
        schedule = LR_SCHEDULES[config.lr_schedule](config.steps)
        self.schedulers = {name: torch.optim.lr_scheduler.LambdaLR(opt, schedule)
                           for name, opt in self.optimizers.items()}
        self.scalers = {name: torch.amp.GradScaler("cuda", enabled=config.amp) for name in self.optimizers}
        self.updates = _Updates(self.optimizers, self.scalers, config.amp, self.parallel)
        self.ema = None
        if config.ema_decay and model.ema_target:
            self.ema = ExponentialMovingAverage(getattr(model, model.ema_target), config.ema_decay)
        grid_size = config.grid_size
        if len(model.config.data_shape) == 1:
            grid_size = max(grid_size, 1000)  # a scatter plot needs many points
        preview_generator = torch.Generator().manual_seed(config.seed + 1)
        self.preview_inputs = model.preview_inputs(grid_size, dataset.fixed_batch(8, device),
                                                   preview_generator)
        self.tensorboard = None

    # ----- checkpoints ---------------------------------------------------------------------
    def save_checkpoint(self) -> Path:
        folder = self.run_dir / checkpoint_dir_name(self.step)
        save_tensors(folder / MODEL_WEIGHTS, self.model.state_dict())
        if self.ema is not None:
            save_tensors(folder / EMA_WEIGHTS, self.ema.state_dict())
        tensors, rng_meta = capture_rng()
        meta: dict[str, Any] = {"step": self.step, "data_stream": self.stream.state_dict(),
                                "rng": rng_meta, "optimizers": {}, "schedulers": {}, "scalers": {}}
        for name, optimizer in self.optimizers.items():
            optimizer_tensors, meta["optimizers"][name] = flatten_optimizer(f"optim/{name}",
                                                                            optimizer.state_dict())
            tensors.update(optimizer_tensors)
            meta["schedulers"][name] = self.schedulers[name].state_dict()
            meta["scalers"][name] = self.scalers[name].state_dict()
        save_tensors(folder / TRAINING_TENSORS, tensors)
        atomic_write_json(folder / TRAINING_META, meta)
        atomic_write_json(self.run_dir / LATEST_FILE,
                          {"step": self.step, "checkpoint": checkpoint_dir_name(self.step)})
        # only older checkpoints this trainer wrote, and never through a link out of the run (issue 22)
        prune_owned(self.run_dir, CHECKPOINTS_DIR, r"step_\d{8}",
                    frozenset({MODEL_WEIGHTS, EMA_WEIGHTS, TRAINING_TENSORS, TRAINING_META}), keep=folder.name)
        return folder

    def load_checkpoint(self, folder: Path) -> None:
        load_weights(self.model, load_tensors(folder / MODEL_WEIGHTS, self.device), folder / MODEL_WEIGHTS)
        if self.ema is not None:
            if not (folder / EMA_WEIGHTS).is_file():
                raise UserError(f"checkpoint {folder} lacks {EMA_WEIGHTS} although the run uses EMA")
            self.ema.load_state_dict(load_tensors(folder / EMA_WEIGHTS, self.device))
        tensors = load_tensors(folder / TRAINING_TENSORS)
        meta = read_json(folder / TRAINING_META)
        try:
            for name, optimizer in self.optimizers.items():
                optimizer.load_state_dict(unflatten_optimizer(f"optim/{name}", tensors,
                                                              meta["optimizers"][name]))
                self.schedulers[name].load_state_dict(meta["schedulers"][name])
                if meta["scalers"][name]:
                    self.scalers[name].load_state_dict(meta["scalers"][name])
            self.stream.load_state_dict(meta["data_stream"])
            restore_rng(tensors, meta["rng"])
            self.step = int(meta["step"])
        except (KeyError, ValueError, TypeError) as exc:
            raise UserError(f"corrupt training state in {folder}: {exc}") from None

    # ----- logging and samples -------------------------------------------------------------
    def _log_row(self, values: dict[str, float], seconds: float) -> None:
        path = self.run_dir / LOG_FILE
        row = {"step": self.step, "seconds": round(seconds, 3),
               "lr": self.schedulers[next(iter(self.schedulers))].get_last_lr()[0], **values}
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(row), lineterminator="\n")
        if not path.is_file():
            writer.writeheader()
        writer.writerow(row)
        append_text(path, buffer.getvalue())  # one write: a crash tears at most this row
        if self.tensorboard is not None:
            for key, value in values.items():
                self.tensorboard.add_scalar(f"loss/{key}", value, self.step)

    def _trim_log(self) -> None:
        """Drop log rows written after the checkpoint we resume from, and a row a crash tore."""
        path = self.run_dir / LOG_FILE
        if not path.is_file():
            return
        if self.step == 0:  # a fresh start (again, after a crash before the first checkpoint)
            path.unlink()
            return
        rows = complete_csv_rows(path.read_text(encoding="utf-8", errors="replace"))
        kept = rows[:1] + [row for row in rows[1:] if row[0].isdigit() and int(row[0]) <= self.step]
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(kept)
        atomic_write_text(path, buffer.getvalue())

    @torch.no_grad()
    def save_sample_grid(self) -> Path:
        path = self.run_dir / SAMPLES_DIR / f"step_{self.step:08d}.png"
        self.model.eval()
        target = getattr(self.model, self.model.ema_target) if self.model.ema_target else None
        averaged = self.ema.applied_to(target) if self.ema is not None else contextlib.nullcontext()
        try:
            with averaged:
                samples, columns = self.model.preview(self.preview_inputs)
        finally:
            self.model.train()
        if samples.dim() == 2:
            reference = self.dataset.point_sampler(512, torch.Generator().manual_seed(0))[0]
            save_png(path, render_points(samples, reference))
        else:
            save_png(path, make_grid(to_uint8(samples), columns))
        return path

    # ----- the loop ------------------------------------------------------------------------
    def fit(self) -> dict[str, float]:
        """Train to ``config.steps``; returns the last logged losses."""
        config, world = self.config, self.world
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if world.is_main:
            self._trim_log()
            self.tensorboard = _open_tensorboard(self.run_dir)
        if world.is_distributed:  # every rank draws its own noise (checkpoints hold rank 0's RNG)
            torch.manual_seed(world.rank_seed(config.seed, self.step))
        batches_per_step = self.model.real_batches_per_step()
        sums: dict[str, Tensor] = {}
        count, last_logged, saved_step = 0, {}, -1
        started = time.perf_counter()
        bar = tqdm(total=config.steps, initial=self.step, disable=self.quiet, unit="step",
                   desc=self.model.name, dynamic_ncols=True)
        self._stop_requested = stop = False
        previous_handler = _install_sigint_handler(self._request_stop)
        try:
            while self.step < config.steps and not stop:
                self._enter_phase()
                batches = [self.stream.next() for _ in range(batches_per_step)]
                with self.parallel.installed():
                    logs = self.model.train_step(batches, self.updates)
                self.parallel.sync_buffers()
                for scheduler in self.schedulers.values():
                    scheduler.step()
                if self.ema is not None:
                    self.ema.update(getattr(self.model, self.model.ema_target))
                self.step += 1
                for key, value in logs.items():
                    sums[key] = sums.get(key, 0.0) + value.float()
                count += 1
                if self.step % config.log_every == 0 or self.step == config.steps:
                    last_logged = world.mean({key: float(total) / count for key, total in sums.items()},
                                             self.device)
                    if not all(math.isfinite(v) for v in last_logged.values()):
                        raise UserError(f"losses became non-finite at step {self.step}: {last_logged}")
                    if world.is_main:
                        self._log_row(last_logged, time.perf_counter() - started)
                    bar.set_postfix({key: f"{value:.3f}" for key, value in last_logged.items()})
                    sums, count = {}, 0
                if self.step % config.sample_every == 0 and world.is_main:
                    self.save_sample_grid()
                if self.step % config.checkpoint_every == 0:
                    self._checkpoint()
                    saved_step = self.step
                bar.update(1)
                stop = world.any(self._stop_requested, self.device)
        finally:
            _restore_sigint_handler(previous_handler)
            bar.close()
            if self.tensorboard is not None:
                self.tensorboard.close()
        if stop:
            if saved_step != self.step:
                self._checkpoint()
            raise TrainingInterrupted(f"interrupted; checkpoint saved at step {self.step} in "
                                      f"{self.run_dir}, continue with --resume")
        if saved_step != self.step:
            self._checkpoint()
        if self.step % config.sample_every != 0 and world.is_main:
            self.save_sample_grid()
        return last_logged

    def _checkpoint(self) -> None:
        """Rank 0 saves, once every rank is known to hold the same weights."""
        self.parallel.check_in_sync()
        if self.world.is_main:
            self.save_checkpoint()

    def _enter_phase(self) -> None:
        """Progressive models: set the resolution, fade-in alpha and batch size of this step."""
        phase = self.model.training_phase(self.step)
        if phase is not None:
            self.model.enter_phase(phase)
            self.stream.batch_size = self.world.local_batch(phase.batch_size)
            if self._phase_index not in (None, phase.index) and not self.quiet:
                tqdm.write(f"step {self.step}: {phase.name} (batch {phase.batch_size})")
            self._phase_index = phase.index

    def _request_stop(self, *_: Any) -> None:
        """First Ctrl-C: finish the current step, checkpoint, stop. A second one aborts at once."""
        if self._stop_requested:
            raise KeyboardInterrupt
        self._stop_requested = True


def _install_sigint_handler(handler: Callable[..., None]) -> Any:
    try:
        return signal.signal(signal.SIGINT, handler)
    except ValueError:  # not in the main thread: leave Ctrl-C alone
        return None


def _restore_sigint_handler(previous: Any) -> None:
    if previous is not None:
        signal.signal(signal.SIGINT, previous)


def _open_tensorboard(run_dir: Path):
    """A TensorBoard writer when the ``tensorboard`` package is installed, else None."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(run_dir / "tensorboard"))
