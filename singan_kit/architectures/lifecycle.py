"""The training lifecycle every single-image architecture shares (SinGAN, Shaham et al. 2019;
ConSinGAN, Hinz et al. 2021; ...): create the run folder, then train its levels coarse to fine.

:func:`create_run` validates the image and writes a new run folder (the pyramid of the config's
architecture, config.json) before anything can fail half-way. :func:`train` starts or resumes a
run with the trainer its architecture registered. :class:`LevelTrainer` is that trainer's base:
it plans CPU threads per level, commits every finished level (weights, the critics of the last two
levels, preview, log rows, then config.json last, atomically), turns Ctrl-C into a one-line error
and removes the in-level checkpoint of a committed level. An architecture only says how one level
is fitted (:meth:`LevelTrainer.fit_level`), what its weights file holds and what its preview shows.
This is training code: inference modules never import it.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ganbase import __version__
from ganbase.errors import TrainingInterrupted, UserError
from ganbase.io.checkpoint import atomic_write_bytes, remove_temp_files, save_tensors
from ganbase.io.images import encode_image, load_image, save_image, side_by_side, to_tensor
from ganbase.io.run_lock import RunLock
from ganbase.io.run_safety import check_run_target
from ganbase.nn.blocks import recomputed_activations
from ganbase.runtime.memory import available_memory
from ganbase.runtime.threads import CoreMonitor, plan_threads, restored_threads
from singan_kit import run_folder as rf
from singan_kit.architectures import registry as registered
from singan_kit.architectures.base import Architecture, RunConfig, ScaleSummary
from singan_kit.architectures.scale_checkpoint import PROGRESS_FILE, progress_iteration, remove_progress
from singan_kit.training_memory import check_training_memory

# The scale in progress is saved this often by trainers that checkpoint inside a level (at most one
# level's few minutes of work are lost); `singan train --checkpoint-minutes` shows it in minutes.
CHECKPOINT_SECONDS = 300.0
SMALL_WORK = 500_000  # H * W * filters^2 below which one thread is fastest even on idle cores
REPLAN_THREADS_SECONDS = 1.0  # how often to re-check how many cores other processes leave free
LOG_FIELDS = ["scale", "iter", "d_loss", "d_real", "d_fake", "gradient_penalty", "g_adv", "rec_loss",
              "lr", "seconds"]


def level_seed(*parts: int) -> int:
    """A seed from ``(seed, level, ...)``, so every level's randomness is independent of the others'."""
    return int(np.random.SeedSequence(list(parts)).generate_state(1)[0])


def create_run(image_path: str | Path, out_dir: str | Path, config: RunConfig, device: torch.device,
               overwrite: bool = False, checkpoint_activations: bool = False) -> list[str]:
    """Validate the input and write a new run folder (pyramid, config); returns notes for the user.

    Everything that can fail on bad input is checked before the folder is created, so a bad input
    leaves nothing behind.
    """
    out_dir = Path(out_dir)
    array, notes = load_image(image_path)
    height, width = array.shape[:2]
    architecture = registered.get(config.architecture)
    pyramid = architecture.compute_pyramid(config, height, width)
    check_training_memory(config, pyramid.sizes, available_memory(device),  # before anything is written
                          recomputed=checkpoint_activations)
    if pyramid.resize_factor < 1:
        fh, fw = pyramid.finest_size
        notes.append(f"image is {width}x{height} px, larger than max_size={config.max_size}: "
                     f"downscaled to {fw}x{fh}")
    target = check_run_target(out_dir, "singan", bool(overwrite))  # never another kind's run (issue 22)
    if target != "new":
        if not overwrite:
            raise UserError(f"output folder {out_dir} already exists and is not empty; "
                            "use --resume to continue it or --overwrite to replace it")
        for name in (rf.CONFIG_FILE, rf.GENERATORS_FILE, rf.DISCRIMINATORS_FILE, rf.LOG_FILE, PROGRESS_FILE):
            (out_dir / name).unlink(missing_ok=True)
    reals = architecture.build_pyramid(to_tensor(array), pyramid)
    try:
        (out_dir / "previews").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the run folder {out_dir}: {exc.strerror}") from None
    save_tensors(out_dir / rf.PYRAMID_FILE, {f"real_{n}": r for n, r in enumerate(reals)},
                 metadata={"version": __version__})
    save_image(out_dir / "real.png", reals[-1])
    rf.write_meta(out_dir, config, pyramid, str(Path(image_path).resolve()), [], notes, str(device))
    return notes


class LevelTrainer:
    """Trains the unfinished levels (scales, stages) of a run folder; saves after every level.

    Subclasses implement :meth:`fit_level` (fit one level and add it to ``self.model``),
    :meth:`generator_tensors` (the contents of generators.safetensors) and :meth:`preview_images`.
    ``checkpoint_seconds``: how often a subclass that checkpoints inside a level saves it (None:
    never); ``cuda_graphs`` and ``channels_last`` are hints a subclass may ignore.
    ``fast_paths=False`` asks a subclass for its reference numerics instead of its speed-ups (the same
    math, slower; SinGAN: eager NCHW, plain Adam, PyTorch's batch norm, unbatched random inputs).
    ``checkpoint_activations``: every ``ConvBlock`` recomputes its activations in backward instead of
    keeping them (:func:`ganbase.nn.blocks.recomputed_activations`; same results, less memory).
    """

    def __init__(self, run_dir: str | Path, device: torch.device | str = "cpu", progress: bool = True,
                 on_scale_end: Callable[[ScaleSummary], None] | None = None, log_every: int = 10,
                 threads: int | None = None, sync_timing: bool = False, cuda_graphs: bool = True,
                 channels_last: bool | None = None, checkpoint_seconds: float | None = CHECKPOINT_SECONDS,
                 on_iteration: Callable[[int, int], None] | None = None,
                 checkpoint_activations: bool = False, fast_paths: bool = True) -> None:
        self.run_dir = Path(run_dir)
        self.fast_paths = fast_paths
        self.checkpoint_activations = checkpoint_activations
        self.on_iteration = on_iteration  # (level, iteration) before each iteration: live progress (web studio)
        self.device = torch.device(device)
        self.checkpoint_seconds = checkpoint_seconds
        self.cuda_graphs = cuda_graphs  # replay each iteration as a CUDA graph on CUDA devices
        self.channels_last = channels_last  # None: the subclass decides per level
        self.sync_timing = sync_timing and self.device.type == "cuda"
        self.progress = progress
        self.on_scale_end = on_scale_end
        self.log_every = max(1, log_every)
        self.threads = threads
        self._max_threads = torch.get_num_threads()
        self._monitor = CoreMonitor()
        meta = rf.read_meta(self.run_dir)
        self.config = meta["config"]
        self.model = rf.load_model(self.run_dir, self.device, min_scales=0, architectures=(meta["architecture"],))
        self.pyramid = self.model.pyramid
        self.last_critic = rf.load_critic(self.run_dir, self.device) if self.model.num_trained > 0 else None
        self.previous_critic: dict[str, torch.Tensor] | None = None

    # ------------------------------------------------------------------ what an architecture gives
    def fit_level(self, scale: int) -> tuple[ScaleSummary, list[dict], dict[str, torch.Tensor]]:
        """Fit level ``scale``, add it to ``self.model``; returns its summary, log rows and critic."""
        raise NotImplementedError

    def generator_tensors(self) -> dict[str, torch.Tensor]:
        """Everything generators.safetensors holds for the levels in ``self.model``."""
        raise NotImplementedError

    def preview_images(self, scale: int) -> list[np.ndarray]:
        """The uint8 ``[h, w, 3]`` images of ``previews/scale_<n>.png``, shown side by side."""
        raise NotImplementedError

    # ------------------------------------------------------------------ the shared lifecycle
    def train(self) -> torch.nn.Module:
        """Train every remaining level, saving after each; returns the finished model."""
        # the per-level thread plans do not outlive training
        with restored_threads(), recomputed_activations(self.checkpoint_activations):
            for scale in range(self.model.num_trained, self.pyramid.num_scales):
                summary = self.train_scale(scale)
                if self.on_scale_end is not None:
                    self.on_scale_end(summary)
        return self.model

    def train_scale(self, scale: int) -> ScaleSummary:
        """Fit level ``scale`` and commit it to the run folder."""
        summary, log_rows, critic = self.fit_level(scale)
        self.previous_critic, self.last_critic = self.last_critic, critic
        self.commit_scale(scale, log_rows)
        return summary

    def plan_threads(self, scale: int, filters: int) -> None:
        """On CPU, use as many threads as there are free cores, one for small levels (fixed by ``threads``)."""
        if self.device.type != "cpu":
            return
        if self.threads is not None:
            torch.set_num_threads(self.threads)
            return
        height, width = self.pyramid.sizes[scale]
        work = height * width * filters * filters
        free = self._monitor.cores - self._monitor.other_busy_cores() if work >= SMALL_WORK else 1.0
        torch.set_num_threads(plan_threads(work, free, self._max_threads, SMALL_WORK))

    def thread_replanner(self, scale: int, filters: int) -> Callable[[int], None]:
        """A per-iteration callback that re-plans the threads once a second (cores freed or taken)."""
        def replan(iteration: int) -> None:
            if self.on_iteration is not None:
                self.on_iteration(scale, iteration)
            if self._monitor.seconds_since_reading() >= REPLAN_THREADS_SECONDS:
                self.plan_threads(scale, filters)
        return replan

    def commit_scale(self, scale: int, log_rows: list[dict]) -> None:
        """Write weights, critics, preview and log, then commit the level in config.json (written last)."""
        meta = {"version": __version__, "scales": str(self.model.num_trained)}
        save_tensors(self.run_dir / rf.GENERATORS_FILE, self.generator_tensors(), metadata=meta)
        critics = {scale: self.last_critic}
        if self.previous_critic is not None:  # kept until config.json commits this level
            critics[scale - 1] = self.previous_critic
        save_tensors(self.run_dir / rf.DISCRIMINATORS_FILE, rf.critic_tensors(critics), metadata=meta)
        preview = side_by_side(self.preview_images(scale))
        atomic_write_bytes(self.run_dir / "previews" / f"scale_{scale:02d}.png", encode_image(preview))
        rf.write_log(self.run_dir, scale, log_rows, LOG_FIELDS)
        old = rf.read_meta(self.run_dir)
        rf.write_meta(self.run_dir, self.config, self.pyramid, old["source_image"], self.model.noise_amps,
                      old.get("notes", []), str(self.device))
        remove_progress(self.run_dir)  # its level is committed


def trainer_class(architecture: Architecture) -> type[LevelTrainer]:
    """The architecture's trainer, imported only now when it is named by ``"module:Class"``."""
    if not isinstance(architecture.trainer, str):
        return architecture.trainer
    module, _, name = architecture.trainer.partition(":")
    return getattr(importlib.import_module(module), name)


def train(image_path: str | Path | None, out_dir: str | Path, config: RunConfig | None = None,
          device: torch.device | str = "cpu", resume: bool = False, overwrite: bool = False,
          progress: bool = True, on_scale_end: Callable[[ScaleSummary], None] | None = None,
          threads: int | None = None, on_notes: Callable[[list[str]], None] | None = None,
          checkpoint_seconds: float | None = CHECKPOINT_SECONDS,
          on_iteration: Callable[[int, int], None] | None = None,
          checkpoint_activations: bool = False, fast_paths: bool = True) -> torch.nn.Module:
    """Train the config's architecture (SinGAN by default) on one image into ``out_dir``, or continue
    ``out_dir`` with ``resume=True``. Trainers that checkpoint inside a level (SinGAN) save the level in
    progress every ``checkpoint_seconds`` (None: never); ConSinGAN saves per stage only.
    ``on_iteration(level, iteration)`` is called before every iteration (live progress).
    ``checkpoint_activations`` recomputes activations in backward (less memory, same results);
    ``fast_paths=False`` trains on the trainer's reference numerics (see :class:`LevelTrainer`)."""
    device = torch.device(device)
    if resume:
        rf.read_meta(out_dir)  # a SinGAN run, before the lock touches the folder
    elif image_path is None:
        raise UserError("give an image to train on, or --resume a run folder")
    else:
        check_run_target(out_dir, "singan", bool(overwrite))
    with RunLock(out_dir, "singan train"):  # one training process per run folder (issue 22)
        if resume:
            meta = rf.read_meta(out_dir)
            remove_temp_files(out_dir)  # left by writes that a crash interrupted
            if meta["scales_done"] == meta["pyramid"].num_scales:
                return rf.load_model(out_dir, device, architectures=rf.ALL_ARCHITECTURES)
        else:
            notes = create_run(image_path, out_dir, config or registered.make_config("paper"), device,
                               overwrite=overwrite, checkpoint_activations=checkpoint_activations)
            if on_notes is not None:
                on_notes(notes)
        architecture = rf.architecture_of(rf.read_meta(out_dir))
        trainer = trainer_class(architecture)(out_dir, device, progress=progress, on_scale_end=on_scale_end,
                                              threads=threads, checkpoint_seconds=checkpoint_seconds,
                                              on_iteration=on_iteration,
                                              checkpoint_activations=checkpoint_activations, fast_paths=fast_paths)
        try:
            return trainer.train()
        except KeyboardInterrupt:
            raise interrupted(out_dir) from None


def interrupted(run_dir: str | Path) -> TrainingInterrupted:
    """The error for Ctrl-C: finished levels are saved (config.json commits each one), and the level
    in progress up to its last checkpoint, from which resuming continues it."""
    meta = rf.read_meta(run_dir)
    done, total = meta["scales_done"], meta["pyramid"].num_scales
    saved = progress_iteration(run_dir, done)  # None without a progress file (and for ConSinGAN)
    partial = f" (and scale {done} up to iteration {saved})" if saved else ""
    return TrainingInterrupted(f"interrupted: {done} of {total} scales{partial} are saved in {run_dir}; "
                               f"continue with: singan train --resume {run_dir}")


__all__ = ["CHECKPOINT_SECONDS", "LOG_FIELDS", "LevelTrainer", "create_run", "interrupted", "level_seed",
           "train", "trainer_class"]
