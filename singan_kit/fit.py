"""The adversarial + reconstruction fit of one SinGAN scale (Shaham et al. 2019, Sec. 2.2).

One loop shared by training (:mod:`singan_kit.train`) and by the applications that retrain a scale
(paint-to-image with quantization, harmonization fine-tuning). Each iteration does ``d_steps``
WGAN-GP critic steps, each on a fresh random input of the scale, then ``g_steps`` generator steps
minimising ``-D(fake) + alpha * MSE(G(rec_noise + rec_input, rec_input), real)``. What the random
inputs are (samples of the coarser scales, a quantized version of them, an injected naive image)
is the caller's choice. This is training code: inference modules never import it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from ganbase.losses import WGANGPLoss
from singan_kit.config import SinGANConfig, lr_decay_iter
from singan_kit.model import scale_noise

RANDOM_BATCH_ITERS = 8  # iterations whose random critic inputs are generated in one batch (at most)
RANDOM_BATCH_BYTES = 256 * 2**20  # memory budget of one batched pass through the coarser scales

# random_inputs(count) -> [count, 3, h, w]: inputs ("prev" images) of this scale for critic steps
RandomInputs = Callable[[int], Tensor]


@dataclass(frozen=True)
class ScaleTargets:
    """What one scale is fitted to: the real image, the reconstruction input, the noise amplitude."""

    scale: int
    real: Tensor  # [1, 3, h, w]
    rec_input: Tensor  # [1, 3, h, w]: the reconstruction path's input of this scale
    rec_noise: Tensor | None  # [1, 3, h, w] z_opt at the coarsest scale, None (zero) above it
    noise_amp: float


@dataclass
class FitResult:
    """Log rows (every ``log_every`` iterations) and per-iteration timing of one fit."""

    rows: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    median_iter_seconds: float = 0.0

    @property
    def last(self) -> dict:
        return self.rows[-1] if self.rows else {}


def random_batch_iters(size: tuple[int, int], num_filters: int, d_steps: int) -> int:
    """Iterations whose random critic inputs are generated in one batched pass.

    Up to ``RANDOM_BATCH_ITERS``, fewer for large images so that the batch's widest activation
    (``[count, filters, h, w]`` float32, two alive at a time) stays within ``RANDOM_BATCH_BYTES``.
    """
    per_sample = 2 * 4 * size[0] * size[1] * num_filters
    return int(max(1, min(RANDOM_BATCH_ITERS, RANDOM_BATCH_BYTES // (per_sample * d_steps))))


def fit_scale(generator: nn.Module, critic: nn.Module, targets: ScaleTargets, random_inputs: RandomInputs,
              config: SinGANConfig, iters: int, noise_gen: torch.Generator, device: torch.device,
              progress: bool = False, desc: str = "", log_every: int = 10,
              on_iteration: Callable[[int], None] | None = None, sync_cuda: bool = False) -> FitResult:
    """Fit ``generator`` (and ``critic``) of ``targets.scale`` for ``iters`` iterations, in place."""
    cfg = config
    size = tuple(targets.real.shape[-2:])
    real, rec_input, noise_amp = targets.real, targets.rec_input, targets.noise_amp
    rec_in = rec_input if targets.rec_noise is None else noise_amp * targets.rec_noise + rec_input
    generator.to(device).train().requires_grad_(True)
    critic.to(device).train().requires_grad_(True)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes for the whole scale
    filters = next(m for m in generator.modules() if isinstance(m, nn.Conv2d)).out_channels
    pool_iters = random_batch_iters(size, filters, cfg.d_steps)

    adam = dict(betas=(cfg.beta1, cfg.beta2))
    if device.type == "cuda":
        adam["fused"] = True
    opt_g = torch.optim.Adam(generator.parameters(), lr=cfg.lr_generator, **adam)
    opt_d = torch.optim.Adam(critic.parameters(), lr=cfg.lr_discriminator, **adam)
    milestones = [lr_decay_iter(iters, cfg.lr_decay_at)]
    sched_g = torch.optim.lr_scheduler.MultiStepLR(opt_g, milestones, gamma=cfg.lr_decay_factor)
    sched_d = torch.optim.lr_scheduler.MultiStepLR(opt_d, milestones, gamma=cfg.lr_decay_factor)
    adversarial = WGANGPLoss(weight=cfg.gp_weight, per_pixel=True, generator=noise_gen)

    result = FitResult()
    bar = tqdm(total=iters, desc=desc, disable=not progress, leave=False, dynamic_ncols=True)
    start = time.perf_counter()
    stamps = [start]
    random_pool = torch.empty(0)
    for it in range(iters):
        if on_iteration is not None:
            on_iteration(it)
        noise = scale_noise(targets.scale, 1, size, noise_gen, device)  # fixed for this iteration
        if random_pool.shape[0] < cfg.d_steps:
            random_pool = random_inputs(cfg.d_steps * pool_iters)
        for step in range(cfg.d_steps):
            prev, random_pool = random_pool[:1], random_pool[1:]
            keep_graph = step == cfg.d_steps - 1  # reused by the first generator step
            with torch.set_grad_enabled(keep_graph):
                fake = generator(noise_amp * noise + prev, prev)
            opt_d.zero_grad(set_to_none=True)
            d_real = critic(real).mean()
            d_fake = critic(fake.detach()).mean()
            penalty = adversarial.penalty(critic, real, fake)
            d_loss = d_fake - d_real + penalty
            d_loss.backward()
            opt_d.step()

        critic.requires_grad_(False)
        for step in range(cfg.g_steps):
            opt_g.zero_grad(set_to_none=True)
            if step > 0:
                fake = generator(noise_amp * noise + prev, prev)
            g_adv = adversarial.generator_loss(critic(fake))
            g_loss = g_adv
            if cfg.alpha > 0:
                rec_loss = cfg.alpha * F.mse_loss(generator(rec_in, rec_input), real)
                g_loss = g_adv + rec_loss
            else:
                rec_loss = torch.zeros(())
            g_loss.backward()
            opt_g.step()
        critic.requires_grad_(True)
        sched_g.step()
        sched_d.step()
        if sync_cuda:
            torch.cuda.synchronize(device)
        stamps.append(time.perf_counter())

        bar.update(1)
        if (it + 1) % log_every == 0 or it + 1 == iters:
            stats = {
                "scale": targets.scale, "iter": it + 1, "d_loss": d_loss.item(), "d_real": d_real.item(),
                "d_fake": d_fake.item(), "gradient_penalty": penalty.item(), "g_adv": g_adv.item(),
                "rec_loss": rec_loss.item(), "lr": sched_g.get_last_lr()[0],
                "seconds": round(time.perf_counter() - start, 3),
            }
            result.rows.append(stats)
            bar.set_postfix(D=f"{stats['d_loss']:.3f}", G=f"{stats['g_adv']:.3f}", rec=f"{stats['rec_loss']:.4f}")
    bar.close()
    generator.eval().requires_grad_(False)
    critic.eval().requires_grad_(False)
    result.seconds = time.perf_counter() - start
    result.median_iter_seconds = float(np.median(np.diff(stamps))) if iters else 0.0
    return result


__all__ = ["ScaleTargets", "FitResult", "RandomInputs", "fit_scale", "random_batch_iters"]
