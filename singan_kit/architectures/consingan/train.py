"""ConSinGAN training: one growing generator whose newest stages train concurrently.

ConSinGAN (Hinz et al., "Improved Techniques for Training Single-Image GANs", WACV 2021; official
code tohinz/ConSinGAN, ``training_generation.py``, generation mode). For every stage n:

1. The generator grows by a copy of its newest block; the critic starts from the previous stage's
   weights (freshly initialised at stage 0).
2. The stage's fixed reconstruction input is the real coarsest image at stage 0 and a Gaussian map
   ``[1, C, h + 2m, w + 2m]`` above it. Its noise amplitude is 1 at stage 0, else
   ``0.1 * RMSE(reconstruction, real_n)`` with the reconstruction run at amplitude 0 for stage n.
3. Only the newest ``concurrent_stages`` blocks train, the newest with the full learning rate and
   each one below with ``lr_scale`` times the one above; the head trains with stage 0's rate while
   stage 0 is among them, the tail always with the full rate. Everything else is frozen.
4. Each iteration draws fresh noise for every stage and generates one fake; the critic takes
   ``d_steps`` WGAN-GP steps on it (per-pixel gradient norm, weight 0.1), then the generator loss
   ``-D(fake) + alpha * MSE(G(fixed noise), real_n)`` is differentiated once and Adam takes
   ``g_steps`` steps with that one gradient, as the official code does. Both learning rates decay
   x0.1 after 80 % of the iterations.

Differences from the official code, all deliberate and without effect on the maths:
- The fake is computed once per iteration; the official code recomputes the identical fake,
  without gradients, for every critic step but the last.
- Frozen parameters (also the head once stage 0 stops training) do not compute gradients; the
  official code computes the head's gradients and never applies them.
- Every stage reseeds from ``(seed, stage)`` and draws its noise on the training device, so resuming
  after a finished stage gives the same model as an uninterrupted run (on the same device).
The lifecycle around the fit (run folder, threads, saving, previews, log, Ctrl-C) is the shared
:class:`~singan_kit.architectures.lifecycle.LevelTrainer`'s. This is training code: inference
modules never import it.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from ganbase.io.images import to_uint8
from ganbase.nn.losses import WGANGPLoss
from ganbase.runtime.cuda_graphs import make_adam
from singan_kit.architectures.base import FitResult, ScaleSummary, lr_decay_iter
from singan_kit.architectures.consingan.config import (
    ConSinGANConfig,
    stage_learning_rates,
)
from singan_kit.architectures.consingan.model import (
    ConSinGANGenerator,
    make_discriminator,
    make_generator,
    noise_shapes,
    sample_batch,
)
from singan_kit.architectures.lifecycle import LevelTrainer, level_seed


def stage_seed(seed: int, stage: int) -> int:
    """A per-stage seed, so every stage's randomness is independent of earlier stages'."""
    return level_seed(seed, stage, 0xC5)


def generator_param_groups(generator: ConSinGANGenerator, stage: int, config: ConSinGANConfig) -> list[dict]:
    """Freeze all but the trained parts of ``generator`` and return their Adam parameter groups
    (see :func:`~singan_kit.architectures.consingan.config.stage_learning_rates`)."""
    body, head, tail = stage_learning_rates(stage, config.concurrent_stages, config.lr_generator, config.lr_scale)
    generator.requires_grad_(False)
    parts = [(generator.body[n], lr) for n, lr in body.items()]
    parts += [(generator.head, head)] if head is not None else []
    parts += [(generator.tail, tail)]
    for module, _ in parts:
        module.requires_grad_(True)
    return [{"params": list(module.parameters()), "lr": lr} for module, lr in parts]


def fit_stage(generator: ConSinGANGenerator, critic: nn.Module, real: Tensor, fixed_noise: list[Tensor],
              noise_amps: list[float], sizes: list[tuple[int, int]], config: ConSinGANConfig, stage: int,
              noise_gen: torch.Generator, penalty_gen: torch.Generator, device: torch.device,
              progress: bool = False, log_every: int = 10, on_iteration: Callable[[int], None] | None = None,
              sync_cuda: bool = False) -> FitResult:
    """Train the newest stages of ``generator`` (and ``critic``) for ``config.iters`` iterations.

    Activations stay NCHW: channels-last measured 0.95-0.97x per iteration on a 2-core CPU
    (random images the sizes of balloons.png's stages 2 and 5), within that machine's noise.
    """
    cfg = config
    generator.to(device).train()
    critic.to(device).train().requires_grad_(True)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes for the whole stage
    betas = (cfg.beta1, cfg.beta2)
    opt_g = make_adam(generator_param_groups(generator, stage, cfg), cfg.lr_generator, betas, device)
    opt_d = make_adam(critic.parameters(), cfg.lr_discriminator, betas, device)
    milestones = [lr_decay_iter(cfg.iters, cfg.lr_decay_at)]
    sched_g = torch.optim.lr_scheduler.MultiStepLR(opt_g, milestones, gamma=cfg.lr_decay_factor)
    sched_d = torch.optim.lr_scheduler.MultiStepLR(opt_d, milestones, gamma=cfg.lr_decay_factor)
    adversarial = WGANGPLoss(weight=cfg.gp_weight, per_pixel=True, generator=penalty_gen)
    shapes = noise_shapes(cfg, sizes)

    result = FitResult()
    bar = tqdm(total=cfg.iters, desc=f"stage {stage}", disable=not progress, leave=False, dynamic_ncols=True)
    start = time.perf_counter()
    stamps = [start]
    for it in range(cfg.iters):
        if on_iteration is not None:
            on_iteration(it)
        noise = [torch.randn((1, *shape), generator=noise_gen, device=device) for shape in shapes]
        fake = generator(noise, noise_amps, sizes)  # [1, 3, h, w], kept with its graph for the G step
        for _ in range(cfg.d_steps):
            d_loss, d_real, d_fake, penalty = adversarial.critic_step(critic, opt_d, real, fake)

        critic.requires_grad_(False)
        opt_g.zero_grad(set_to_none=True)
        g_adv = adversarial.generator_loss(critic(fake))
        rec_loss = torch.zeros((), device=device)
        if cfg.alpha > 0:
            rec_loss = cfg.alpha * F.mse_loss(generator(fixed_noise, noise_amps, sizes), real)
        (g_adv + rec_loss).backward()
        for _ in range(cfg.g_steps):
            opt_g.step()  # the official code steps g_steps times with one gradient
        critic.requires_grad_(True)
        sched_g.step()
        sched_d.step()
        if sync_cuda:
            torch.cuda.synchronize(device)
        stamps.append(time.perf_counter())

        bar.update(1)
        if (it + 1) % log_every == 0 or it + 1 == cfg.iters:
            stats = {
                "scale": stage, "iter": it + 1, "d_loss": d_loss.item(), "d_real": d_real.item(),
                "d_fake": d_fake.item(), "gradient_penalty": penalty.item(), "g_adv": g_adv.item(),
                "rec_loss": rec_loss.item(), "lr": sched_g.get_last_lr()[-1],
                "seconds": round(time.perf_counter() - start, 3),
            }
            result.rows.append(stats)
            bar.set_postfix(D=f"{stats['d_loss']:.3f}", G=f"{stats['g_adv']:.3f}", rec=f"{stats['rec_loss']:.4f}")
    bar.close()
    generator.eval().requires_grad_(False)
    critic.eval().requires_grad_(False)
    result.seconds = time.perf_counter() - start
    result.median_iter_seconds = float(np.median(np.diff(stamps)))
    return result


class ConSinGANTrainer(LevelTrainer):
    """Fits ConSinGAN's stages: grows the generator and trains its newest stages (the lifecycle is
    :class:`~singan_kit.architectures.lifecycle.LevelTrainer`'s; ``cuda_graphs`` and
    ``checkpoint_seconds``, checkpoints inside a stage, are not used)."""

    def fit_level(self, stage: int) -> tuple[ScaleSummary, list[dict], dict[str, Tensor]]:
        cfg, model, device = self.config, self.model, self.device
        sizes = list(self.pyramid.sizes[:stage + 1])
        seed = stage_seed(cfg.seed, stage)
        torch.manual_seed(seed)  # network initialisation
        noise_gen = torch.Generator(device=device).manual_seed(seed + 1)
        penalty_gen = torch.Generator().manual_seed(seed + 2)
        real = model.reals[stage]  # [1, 3, h, w]
        self.plan_threads(stage, cfg.num_filters)

        if stage == 0:
            model.generator = make_generator(cfg).to(device)
        else:
            model.generator.add_stage()
        critic = make_discriminator(cfg).to(device)
        if stage > 0 and self.last_critic is not None:
            critic.load_state_dict(self.last_critic)
        if stage == 0:
            model.add_fixed_noise(real.clone())
            noise_amp = 1.0
        else:
            shape = noise_shapes(cfg, sizes)[stage]
            model.add_fixed_noise(torch.randn((1, *shape), generator=noise_gen, device=device))
            with torch.no_grad():
                rec = model.generator(model.fixed_noise, model.noise_amps + [0.0], sizes)
            noise_amp = cfg.noise_amp_factor * torch.sqrt(F.mse_loss(rec, real)).item()

        fit = fit_stage(model.generator, critic, real, model.fixed_noise, model.noise_amps + [noise_amp], sizes,
                        cfg, stage, noise_gen, penalty_gen, device, progress=self.progress,
                        log_every=self.log_every, on_iteration=self.thread_replanner(stage, cfg.num_filters),
                        sync_cuda=self.sync_timing)
        model.noise_amps.append(noise_amp)
        last = fit.rows[-1]
        trained = min(stage + 1, cfg.concurrent_stages)
        summary = ScaleSummary(stage, self.pyramid.num_scales, tuple(sizes[-1]), cfg.num_filters, cfg.iters,
                               fit.seconds, noise_amp, last["d_loss"], last["g_adv"], last["rec_loss"],
                               fit.median_iter_seconds, trained_stages=trained)
        return summary, fit.rows, critic.state_dict()

    def generator_tensors(self) -> dict[str, Tensor]:
        weights = {f"g.{k}": v for k, v in self.model.generator.state_dict().items()}
        weights.update({f"z_opt_{n}": noise for n, noise in enumerate(self.model.fixed_noise)})
        return weights

    def preview_images(self, stage: int) -> list[np.ndarray]:
        """Real | random sample | reconstruction at this stage."""
        stream = torch.Generator().manual_seed(stage_seed(self.config.seed, 10_000 + stage))
        sample = sample_batch(self.model, [stream], self.pyramid.sizes)
        return [to_uint8(self.model.reals[stage])[0], to_uint8(sample.clamp(-1, 1))[0],
                to_uint8(self.model.reconstruction().clamp(-1, 1))[0]]


__all__ = ["ConSinGANTrainer", "fit_stage", "generator_param_groups", "stage_seed"]
