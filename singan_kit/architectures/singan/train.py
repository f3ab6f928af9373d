"""SinGAN training: coarse-to-fine, one generator/critic pair per scale (Shaham et al. 2019, Sec. 2.2).

Per scale n the generator minimises the WGAN-GP adversarial loss against a patch critic plus
``alpha`` times the reconstruction loss ``||G_n(rec_up + amp * z_opt) - real_n||^2``, where
``z_opt`` is fixed Gaussian noise at the coarsest scale and zero elsewhere. The noise amplitude of
a finer scale is ``0.1 * RMSE(real_n, rec_up)``. Each iteration does 3 critic steps, each on a
fresh random image from the frozen coarser scales, then 3 generator steps.

Differences from the official code, all deliberate:
- ``z_opt`` is drawn once per scale; the official loop redraws it every iteration at the coarsest
  scale and keeps the last draw, a bug.
- Generator steps compute the fake afresh (the official code reuses a stale graph that newer torch
  rejects); the first generator step reuses the last critic step's fake, which is identical
  because the generator has not changed in between.
- The reconstruction input of a scale is computed once per scale, not once per step; critic
  parameters are frozen during generator steps, so no unused gradients are computed.
- The learning-rate decay happens at 80 % of the iterations (1600 of 2000, as the official
  milestone) also when the iteration count is changed.
- Every scale reseeds from ``(seed, scale)``, so resuming from a finished scale gives the same model
  as an uninterrupted run. The scale in progress is also checkpointed every
  ``CHECKPOINT_SECONDS`` (:mod:`singan_kit.architectures.scale_checkpoint`), and continues from there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ganbase import __version__
from ganbase.errors import TrainingInterrupted, UserError
from ganbase.io.checkpoint import atomic_write_bytes, remove_temp_files, save_tensors
from ganbase.io.images import (
    encode_image,
    load_image,
    save_image,
    side_by_side,
    to_tensor,
    to_uint8,
)
from ganbase.nn.discriminators import PatchDiscriminator
from ganbase.runtime.threads import CoreMonitor, plan_threads, restored_threads
from singan_kit import run_folder as rf
from singan_kit.architectures.consingan.model import (
    build_stage_pyramid,
    compute_stage_pyramid,
)
from singan_kit.architectures.consingan.train import ConSinGANTrainer
from singan_kit.architectures.scale_checkpoint import (
    PROGRESS_FILE,
    load_progress,
    progress_iteration,
    remove_progress,
    save_progress,
)
from singan_kit.architectures.singan.config import (
    AnyConfig,
    SinGANConfig,
    filters_at_scale,
    iters_at_scale,
    noise_amplitude,
)
from singan_kit.architectures.singan.fit import ScaleSummary, ScaleTargets, fit_scale
from singan_kit.architectures.singan.model import (
    GeneratorPyramid,
    cpu_batch_size,
    make_generator,
    scale_noise,
)
from singan_kit.pyramid import build_pyramid, compute_pyramid

CPU_CHANNELS_LAST_BELOW_FILTERS = 128  # on the CPU, scales with fewer filters train channels-last
SMALL_WORK = 500_000  # H * W * filters^2 below which one thread is fastest even on idle cores
REPLAN_THREADS_SECONDS = 1.0  # how often to re-check how many cores other processes leave free
LOG_FIELDS = ["scale", "iter", "d_loss", "d_real", "d_fake", "gradient_penalty", "g_adv", "rec_loss",
              "lr", "seconds"]
# The pyramid rule of every architecture: (its sizes for a config and an image size, its images).
PYRAMID_RULES = {
    "singan": (lambda cfg, h, w: compute_pyramid(h, w, cfg.min_size, cfg.max_size, cfg.scale_factor),
               build_pyramid),
    "consingan": (lambda cfg, h, w: compute_stage_pyramid(h, w, cfg.num_stages, cfg.min_size, cfg.max_size),
                  build_stage_pyramid),
}


def scale_seed(seed: int, scale: int) -> int:
    """A per-scale seed, so every scale's randomness is independent of earlier scales'."""
    return int(np.random.SeedSequence([seed, scale]).generate_state(1)[0])


def create_run(image_path: str | Path, out_dir: str | Path, config: AnyConfig, device: torch.device,
               overwrite: bool = False) -> list[str]:
    """Validate the input and write a new run folder (pyramid, config); returns notes for the user.

    Everything that can fail on bad input is checked before the folder is created, so a bad input
    leaves nothing behind.
    """
    out_dir = Path(out_dir)
    array, notes = load_image(image_path)
    height, width = array.shape[:2]
    compute_sizes, build_images = PYRAMID_RULES[config.architecture]
    pyramid = compute_sizes(config, height, width)
    if pyramid.resize_factor < 1:
        fh, fw = pyramid.finest_size
        notes.append(f"image is {width}x{height} px, larger than max_size={config.max_size}: "
                     f"downscaled to {fw}x{fh}")
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out {out_dir} is a file; the run needs a folder")
    if out_dir.exists() and any(out_dir.iterdir()):
        if not overwrite:
            raise UserError(f"output folder {out_dir} already exists and is not empty; "
                            "use --resume to continue it or --overwrite to replace it")
        for name in (rf.CONFIG_FILE, rf.GENERATORS_FILE, rf.DISCRIMINATORS_FILE, rf.LOG_FILE, PROGRESS_FILE):
            (out_dir / name).unlink(missing_ok=True)
    reals = build_images(to_tensor(array), pyramid)
    try:
        (out_dir / "previews").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the run folder {out_dir}: {exc.strerror}") from None
    save_tensors(out_dir / rf.PYRAMID_FILE, {f"real_{n}": r for n, r in enumerate(reals)},
                 metadata={"version": __version__})
    save_image(out_dir / "real.png", reals[-1])
    rf.write_meta(out_dir, config, pyramid, str(Path(image_path).resolve()), [], notes, str(device))
    return notes


# The scale in progress is saved this often (at most one scale's few minutes of work are lost).
CHECKPOINT_SECONDS = 300.0


class SinGANTrainer:
    """Trains the unfinished scales of a run folder; owns optimisers, schedules, logs and saving.

    ``checkpoint_seconds``: how often the scale in progress is saved (None: never).
    """

    def __init__(self, run_dir: str | Path, device: torch.device | str = "cpu", progress: bool = True,
                 on_scale_end: Callable[[ScaleSummary], None] | None = None, log_every: int = 10,
                 threads: int | None = None, sync_timing: bool = False, cuda_graphs: bool = True,
                 channels_last: bool | None = None, checkpoint_seconds: float | None = CHECKPOINT_SECONDS) -> None:
        self.run_dir = Path(run_dir)
        self.checkpoint_seconds = checkpoint_seconds
        self.cuda_graphs = cuda_graphs  # replay each iteration as a CUDA graph on CUDA devices
        self.channels_last = channels_last  # None: per scale, see _use_channels_last
        self.sync_timing = sync_timing and torch.device(device).type == "cuda"
        self.device = torch.device(device)
        self.progress = progress
        self.on_scale_end = on_scale_end
        self.log_every = max(1, log_every)
        self.threads = threads
        self._max_threads = torch.get_num_threads()
        self._monitor = CoreMonitor()
        meta = rf.read_meta(self.run_dir)
        self.config: SinGANConfig = meta["config"]
        self.model = rf.load_model(self.run_dir, self.device, min_scales=0)
        self.model.train(False)
        self.pyramid = self.model.pyramid
        self.last_critic = rf.load_critic(self.run_dir, self.device) if self.model.num_trained > 0 else None
        self.previous_critic: dict[str, torch.Tensor] | None = None

    # ----------------------------------------------------------------------------------------
    def train(self) -> GeneratorPyramid:
        """Train every remaining scale, saving after each; returns the finished model."""
        with restored_threads():  # the per-scale thread plans do not outlive training
            for scale in range(self.model.num_trained, self.pyramid.num_scales):
                summary = self.train_scale(scale)
                if self.on_scale_end is not None:
                    self.on_scale_end(summary)
        return self.model

    def _plan_threads(self, scale: int, filters: int) -> None:
        """On CPU, use as many threads as there are free cores, one for tiny scales."""
        if self.device.type != "cpu":
            return
        if self.threads is not None:
            torch.set_num_threads(self.threads)
            return
        height, width = self.pyramid.sizes[scale]
        work = height * width * filters * filters
        free = self._monitor.cores - self._monitor.other_busy_cores() if work >= SMALL_WORK else 1.0
        torch.set_num_threads(plan_threads(work, free, self._max_threads, SMALL_WORK))

    def _use_channels_last(self, filters: int) -> bool:
        """NHWC activations: faster cuDNN kernels on CUDA; on the CPU faster oneDNN convolutions
        below 128 filters (measured 0.63-0.86x per iteration at 32-64 filters, with
        ganbase.nn.batchnorm's double backward), while at 128 filters it gained under 2% for ~150 MB
        more peak memory, so the widest scales stay NCHW there."""
        if self.channels_last is not None:
            return self.channels_last
        return self.device.type == "cuda" or filters < CPU_CHANNELS_LAST_BELOW_FILTERS

    def _random_inputs(self, scale: int, count: int, noise_gen: torch.Generator) -> torch.Tensor:
        """``count`` fresh random images ``[count, 3, h, w]`` from the frozen scales below ``scale``.

        The frozen generators do not change during a scale, so the random inputs of many critic
        steps are generated together (eval-mode BatchNorm keeps samples independent): in one batch
        on GPUs, in cache-sized batches on the CPU (0.58-0.70x the time of one batch of 24 at the
        fast preset's finest scale), on the same random numbers.
        """
        batch_size = None  # GPUs: one batch
        if self.device.type == "cpu" and scale > 0:  # the CPU: small batches (see model.cpu_batch_size)
            cfg = self.config
            widest = filters_at_scale(scale - 1, cfg.num_filters, cfg.max_filters, cfg.filters_double_every)
            batch_size = cpu_batch_size(widest, tuple(self.pyramid.sizes[scale - 1]), count)
        return self.model.random_input(scale, count,
                                       lambda n, b, s: scale_noise(n, b, s, noise_gen, self.device), batch_size)

    def train_scale(self, scale: int) -> ScaleSummary:
        cfg = self.config
        size = tuple(self.pyramid.sizes[scale])
        seed = scale_seed(cfg.seed, scale)
        torch.manual_seed(seed)
        noise_gen = torch.Generator().manual_seed(seed + 1)
        real = self.model.reals[scale]  # [1, 3, h, w]
        filters = filters_at_scale(scale, cfg.num_filters, cfg.max_filters, cfg.filters_double_every)
        iters = iters_at_scale(scale, self.pyramid.num_scales, cfg.iters, cfg.fine_iters)
        self._plan_threads(scale, filters)

        generator = make_generator(scale, cfg)
        critic = PatchDiscriminator(3, filters, cfg.num_layers, cfg.kernel_size)
        if scale > 0 and filters == filters_at_scale(scale - 1, cfg.num_filters, cfg.max_filters,
                                                     cfg.filters_double_every):
            generator.load_state_dict(self.model.generators[scale - 1].state_dict())
            critic.load_state_dict(self.last_critic)

        if scale == 0:
            z_opt = scale_noise(0, 1, size, noise_gen, self.device).contiguous()  # [1, 3, h, w]
            self.model.z_opt = z_opt
            targets = ScaleTargets(scale, real, torch.zeros_like(real), z_opt, 1.0)
        else:
            with torch.no_grad():
                rec_input = self.model.reconstruction_input(scale)
            rmse = torch.sqrt(F.mse_loss(rec_input, real)).item()
            targets = ScaleTargets(scale, real, rec_input, None, noise_amplitude(rmse, cfg.noise_amp_factor))

        def replan(it: int) -> None:
            if self._monitor.seconds_since_reading() >= REPLAN_THREADS_SECONDS:
                self._plan_threads(scale, filters)

        channels_last = self._use_channels_last(filters)
        frozen_format = torch.channels_last if channels_last else torch.contiguous_format
        for frozen in self.model.generators:  # the random inputs' batched pass, in the same layout
            frozen.to(memory_format=frozen_format)
        try:
            fit = fit_scale(generator, critic, targets, lambda count: self._random_inputs(scale, count, noise_gen),
                            cfg, iters, noise_gen, self.device, progress=self.progress,
                            desc=f"scale {scale}/{self.pyramid.num_scales - 1}", log_every=self.log_every,
                            on_iteration=replan, sync_cuda=self.sync_timing, cuda_graphs=self.cuda_graphs,
                            channels_last=channels_last, start=load_progress(self.run_dir, scale, self.device),
                            checkpoint_every=self.checkpoint_seconds,
                            on_checkpoint=lambda state: save_progress(self.run_dir, scale, state))
        finally:  # the model stays usable (and saveable as contiguous tensors) after an interrupt
            for frozen in self.model.generators:
                frozen.to(memory_format=torch.contiguous_format)

        self.model.generators.append(generator)
        self.model.noise_amps.append(targets.noise_amp)
        self.previous_critic, self.last_critic = self.last_critic, critic.state_dict()
        self._save(scale, fit.rows)
        stats = fit.last
        return ScaleSummary(scale, self.pyramid.num_scales, size, filters, iters, fit.seconds, targets.noise_amp,
                            stats["d_loss"], stats["g_adv"], stats["rec_loss"], fit.median_iter_seconds)

    # ----------------------------------------------------------------------------------------
    def _save(self, scale: int, log_rows: list[dict]) -> None:
        """Write weights, preview and log, then commit the scale in config.json (written last)."""
        weights = {"z_opt": self.model.z_opt}
        for n, generator in enumerate(self.model.generators):
            weights.update({f"g{n}.{k}": v for k, v in generator.state_dict().items()})
        meta = {"version": __version__, "scales": str(self.model.num_trained)}
        save_tensors(self.run_dir / rf.GENERATORS_FILE, weights, metadata=meta)
        critics = {scale: self.last_critic}
        if self.previous_critic is not None:  # kept until config.json commits this scale
            critics[scale - 1] = self.previous_critic
        save_tensors(self.run_dir / rf.DISCRIMINATORS_FILE, rf.critic_tensors(critics), metadata=meta)
        self._write_preview(scale)
        rf.write_log(self.run_dir, scale, log_rows, LOG_FIELDS)
        old = rf.read_meta(self.run_dir)
        rf.write_meta(self.run_dir, self.config, self.pyramid, old["source_image"], self.model.noise_amps,
                      old.get("notes", []), str(self.device))
        remove_progress(self.run_dir)  # its scale is committed

    def _write_preview(self, scale: int) -> None:
        preview_gen = torch.Generator().manual_seed(scale_seed(self.config.seed, 10_000 + scale))
        with torch.no_grad():
            prev = self._random_inputs(scale, 1, preview_gen)
            noise = scale_noise(scale, 1, tuple(self.pyramid.sizes[scale]), preview_gen, self.device)
            sample = self.model.generators[scale](self.model.noise_amps[scale] * noise + prev, prev)
        row = side_by_side([to_uint8(self.model.reals[scale])[0], to_uint8(sample)[0],
                            to_uint8(self.model.reconstructions()[scale])[0]])
        atomic_write_bytes(self.run_dir / "previews" / f"scale_{scale:02d}.png", encode_image(row))


# The trainer of every architecture (the "architecture" of a run folder's config.json).
TRAINERS = {"singan": SinGANTrainer, "consingan": ConSinGANTrainer}


def train(image_path: str | Path | None, out_dir: str | Path, config: AnyConfig | None = None,
          device: torch.device | str = "cpu", resume: bool = False, overwrite: bool = False,
          progress: bool = True, on_scale_end: Callable[[ScaleSummary], None] | None = None,
          threads: int | None = None, on_notes: Callable[[list[str]], None] | None = None,
          checkpoint_seconds: float | None = CHECKPOINT_SECONDS) -> GeneratorPyramid:
    """Train SinGAN (or the config's architecture) on one image into ``out_dir`` (or continue
    ``out_dir`` with ``resume=True``). SinGAN also saves the scale in progress every
    ``checkpoint_seconds`` (None: never); ConSinGAN saves per stage only."""
    device = torch.device(device)
    if resume:
        meta = rf.read_meta(out_dir)
        remove_temp_files(out_dir)  # left by writes that a crash interrupted
        if meta["scales_done"] == meta["pyramid"].num_scales:
            return rf.load_model(out_dir, device, architectures=rf.ALL_ARCHITECTURES)
    else:
        if image_path is None:
            raise UserError("give an image to train on, or --resume a run folder")
        notes = create_run(image_path, out_dir, config or SinGANConfig(), device, overwrite=overwrite)
        if on_notes is not None:
            on_notes(notes)
    trainer_class = TRAINERS[rf.read_meta(out_dir)["architecture"]]
    trainer = trainer_class(out_dir, device, progress=progress, on_scale_end=on_scale_end, threads=threads,
                            checkpoint_seconds=checkpoint_seconds)
    try:
        return trainer.train()
    except KeyboardInterrupt:
        raise interrupted(out_dir) from None


def interrupted(run_dir: str | Path) -> TrainingInterrupted:
    """The error for Ctrl-C: finished scales are saved (config.json commits each one), and the scale
    in progress up to its last checkpoint, from which resuming continues it."""
    meta = rf.read_meta(run_dir)
    done, total = meta["scales_done"], meta["pyramid"].num_scales
    saved = progress_iteration(run_dir, done)  # None without a progress file (and for ConSinGAN)
    partial = f" (and scale {done} up to iteration {saved})" if saved else ""
    return TrainingInterrupted(f"interrupted: {done} of {total} scales{partial} are saved in {run_dir}; "
                               f"continue with: singan train --resume {run_dir}")


__all__ = ["SinGANTrainer", "ScaleSummary", "create_run", "train"]
