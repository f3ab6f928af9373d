"""SinGAN training: coarse-to-fine, one generator/critic pair per scale (Shaham et al. 2019, Sec. 2.2).

Per scale n the generator minimises the WGAN-GP adversarial loss against a patch critic plus
``alpha`` times the reconstruction loss ``||G_n(rec_up + amp * z_opt) - real_n||^2``, where
``z_opt`` is Gaussian noise at the coarsest scale and zero elsewhere. The noise amplitude of a
finer scale is ``0.1 * RMSE(real_n, rec_up)``. Each iteration does 3 critic steps, each on a fresh
random image from the frozen coarser scales, then 3 generator steps.

The official code's behaviour, where it differs from the paper's text, is a config field; the
``paper`` preset takes the official value (issue 20), and the dataclass default keeps the behaviour
of run folders written before the field existed:
- ``rec_noise``: ``"per_iteration"`` (``paper``; the official loop) redraws ``z_opt`` every
  iteration at the coarsest scale and keeps the last draw, so the reconstruction term pulls G_0's
  output towards the real image for any noise (a layout prior); ``"fixed"`` (the default, and the
  other presets) draws it once, as the paper describes. Measured side by side with the official code
  (balloons, 128 px, 200 iterations, seed 1; README, "Against the official code"): patch SWD 55.3
  per-iteration, 106.1 fixed, 82.5 official (fresh generator graphs).
- ``lr_milestone``: ``"official"`` (``paper``) decays the learning rates at iteration 1600 whatever
  the iteration count (never for runs of <= 1600 iterations per scale); ``"fraction"`` (the default)
  at ``lr_decay_at`` (80 %) of the iterations. Both are 1600 at the paper's 2000 iterations.

- ``generator_graph``: ``"stale"`` (``paper``; the official loop) back-propagates every generator
  step's adversarial loss through the last critic step's fake, whose graph keeps the activations of
  the weights before the first step while the backward uses the updated weights (torch <= 1.4 did
  not check; here the parameters' version counters are set back after each step); ``"fresh"`` (the
  default) recomputes the fake for steps 2 and 3. Side by side with the official code (birds and
  zebra, seed 1): SWD 66.3 / 123.2 stale, 94.7 / 139.6 fresh, 64.4 / 109.6 official.
- ``upsample_precision``: ``"uint8"`` (``paper``) takes the official code's 8-bit round trip in every
  upsampling between scales (its ``imresize`` truncates the image to ``uint8`` before the bicubic
  resize and clamps after it), so the reconstruction inputs, the noise amplitudes computed from them
  and the random inputs carry its quantization; ``"float"`` (the default) resizes the float image.
  Both resize by ``1 / scale_factor`` and crop to the next scale's size, as the official code does.
  Side by side on 4 images x 2 seeds (README): mean SWD 78.9 with it, 85.8 without, 74.0 official.

Deliberate differences from the official code that are not options:
- The pyramid's real images are resized in float (the official code also truncates them to 8 bits
  before each resize: a shift of under 1/255 that every scale's generator sees in its target).
- The reconstruction input of a scale is computed once per scale, not once per step; critic
  parameters are frozen during generator steps, so no unused gradients are computed.
- Every scale reseeds from ``(seed, scale)``, so resuming from a finished scale gives the same model
  as an uninterrupted run. The scale in progress is also checkpointed every
  ``CHECKPOINT_SECONDS`` (:mod:`singan_kit.architectures.scale_checkpoint`), and continues from there.

The lifecycle around the fit (run folder, threads, saving, previews, log, Ctrl-C) is the shared
:class:`~singan_kit.architectures.lifecycle.LevelTrainer`'s. This is training code.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ganbase.io.images import to_uint8
from ganbase.nn.discriminators import PatchDiscriminator
from singan_kit.architectures.base import ScaleSummary, cpu_batch_size
from singan_kit.architectures.lifecycle import LevelTrainer, level_seed
from singan_kit.architectures.scale_checkpoint import load_progress, save_progress
from singan_kit.architectures.singan.config import filters_at_scale, iters_at_scale, noise_amplitude
from singan_kit.architectures.singan.fit import ScaleTargets, fit_scale
from singan_kit.architectures.singan.model import make_generator, scale_noise

CPU_CHANNELS_LAST_BELOW_FILTERS = 128  # on the CPU, scales with fewer filters train channels-last


def scale_seed(seed: int, scale: int) -> int:
    """A per-scale seed, so every scale's randomness is independent of earlier scales'."""
    return level_seed(seed, scale)


class SinGANTrainer(LevelTrainer):
    """Fits SinGAN's scales: one generator and one patch critic per scale (the lifecycle is
    :class:`~singan_kit.architectures.lifecycle.LevelTrainer`'s)."""

    def _use_channels_last(self, filters: int) -> bool:
        """NHWC activations: faster cuDNN kernels on CUDA; on the CPU faster oneDNN convolutions
        below 128 filters (measured 0.63-0.86x per iteration at 32-64 filters, with
        ganbase.nn.batchnorm's double backward), while at 128 filters it gained under 2% for ~150 MB
        more peak memory, so the widest scales stay NCHW there."""
        if not self.fast_paths:
            return False
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
        if not self.fast_paths:  # the reference: one random input at a time
            batch_size = 1
        elif self.device.type == "cpu" and scale > 0:  # the CPU: small batches (see model.cpu_batch_size)
            cfg = self.config
            widest = filters_at_scale(scale - 1, cfg.num_filters, cfg.max_filters, cfg.filters_double_every)
            batch_size = cpu_batch_size(widest, tuple(self.pyramid.sizes[scale - 1]), count)
        return self.model.random_input(scale, count,
                                       lambda n, b, s: scale_noise(n, b, s, noise_gen, self.device), batch_size)

    def fit_level(self, scale: int) -> tuple[ScaleSummary, list[dict], dict[str, torch.Tensor]]:
        cfg = self.config
        size = tuple(self.pyramid.sizes[scale])
        seed = scale_seed(cfg.seed, scale)
        torch.manual_seed(seed)
        noise_gen = torch.Generator().manual_seed(seed + 1)
        real = self.model.reals[scale]  # [1, 3, h, w]
        filters = filters_at_scale(scale, cfg.num_filters, cfg.max_filters, cfg.filters_double_every)
        iters = iters_at_scale(scale, self.pyramid.num_scales, cfg.iters, cfg.fine_iters)
        self.plan_threads(scale, filters)

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

        channels_last = self._use_channels_last(filters)
        frozen_format = torch.channels_last if channels_last else torch.contiguous_format
        for frozen in self.model.generators:  # the random inputs' batched pass, in the same layout
            frozen.to(memory_format=frozen_format)
        try:
            fit = fit_scale(generator, critic, targets, lambda count: self._random_inputs(scale, count, noise_gen),
                            cfg, iters, noise_gen, self.device, progress=self.progress,
                            desc=f"scale {scale}/{self.pyramid.num_scales - 1}", log_every=self.log_every,
                            on_iteration=self.thread_replanner(scale, filters), sync_cuda=self.sync_timing, cuda_graphs=self.cuda_graphs,
                            channels_last=channels_last, start=load_progress(self.run_dir, scale, self.device),
                            checkpoint_every=self.checkpoint_seconds, fast_paths=self.fast_paths,
                            on_checkpoint=lambda state: save_progress(self.run_dir, scale, state))
        finally:  # the model stays usable (and saveable as contiguous tensors) after an interrupt
            for frozen in self.model.generators:
                frozen.to(memory_format=torch.contiguous_format)

        if fit.last_rec_noise is not None:  # rec_noise "per_iteration": the last draw is the saved z_opt
            self.model.z_opt = fit.last_rec_noise
            self.model.forget_reconstructions()
        self.model.generators.append(generator)
        self.model.noise_amps.append(targets.noise_amp)
        stats = fit.last
        summary = ScaleSummary(scale, self.pyramid.num_scales, size, filters, iters, fit.seconds, targets.noise_amp,
                               stats["d_loss"], stats["g_adv"], stats["rec_loss"], fit.median_iter_seconds)
        return summary, fit.rows, critic.state_dict()

    def generator_tensors(self) -> dict[str, torch.Tensor]:
        weights = {"z_opt": self.model.z_opt}
        for n, generator in enumerate(self.model.generators):
            weights.update({f"g{n}.{k}": v for k, v in generator.state_dict().items()})
        return weights

    def preview_images(self, scale: int) -> list[np.ndarray]:
        """Real | random sample | reconstruction at ``scale``."""
        preview_gen = torch.Generator().manual_seed(scale_seed(self.config.seed, 10_000 + scale))
        with torch.no_grad():
            prev = self._random_inputs(scale, 1, preview_gen)
            noise = scale_noise(scale, 1, tuple(self.pyramid.sizes[scale]), preview_gen, self.device)
            sample = self.model.generators[scale](self.model.noise_amps[scale] * noise + prev, prev)
        return [to_uint8(self.model.reals[scale])[0], to_uint8(sample)[0],
                to_uint8(self.model.reconstructions()[scale])[0]]


__all__ = ["SinGANTrainer", "scale_seed"]
