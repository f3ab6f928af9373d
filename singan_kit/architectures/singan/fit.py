"""The adversarial + reconstruction fit of one SinGAN scale (Shaham et al. 2019, Sec. 2.2).

One loop shared by training (:mod:`singan_kit.architectures.singan.train`) and by the applications that retrain a scale
(paint-to-image with quantization, harmonization fine-tuning). Each iteration does ``d_steps``
WGAN-GP critic steps, each on a fresh random input of the scale, then ``g_steps`` generator steps
minimising ``-D(fake) + alpha * MSE(G(rec_noise + rec_input, rec_input), real)``. At the coarsest
scale ``rec_noise`` is the fixed ``z_opt`` (``config.rec_noise == "fixed"``, the paper's text) or a
fresh draw every iteration, the last one kept as ``z_opt`` (``"per_iteration"``, the official code);
the learning rates decay at ``config.lr_decay_at`` of the iterations (``lr_milestone == "fraction"``)
or at iteration 1600 whatever their count (``"official"``). What the random
inputs are (samples of the coarser scales, a quantized version of them, an injected naive image)
is the caller's choice. This is training code: inference modules never import it.

An iteration takes all its random data as tensors (noise, random inputs, gradient-penalty mix
factors, drawn on the CPU per block of iterations so that results do not depend on the device's
RNG), so on CUDA it is captured once as a CUDA graph and replayed (:mod:`ganbase.runtime.cuda_graphs`);
on CPU, or with ``cuda_graphs=False``, the same step runs eagerly.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from ganbase.errors import UserError
from ganbase.nn.batchnorm import closed_form_double_backward
from ganbase.nn.discriminators import PatchDiscriminator
from ganbase.nn.losses import WGANGPLoss
from ganbase.runtime.cuda_graphs import (
    GraphedStep,
    graphs_available,
    make_adam,
    set_learning_rate,
)
from ganbase.runtime.flops import count_flops
from singan_kit.architectures.base import FitResult
from singan_kit.architectures.scale_checkpoint import ScaleProgress
from singan_kit.architectures.singan.config import SinGANConfig, decay_iteration, filters_at_scale
from singan_kit.architectures.singan.model import make_generator, scale_noise, to_device

RANDOM_BATCH_ITERS = 8  # iterations whose random critic inputs are generated in one batch (at most)
RANDOM_BATCH_BYTES = 256 * 2**20  # memory budget of one batched pass through the coarser scales

# private torch API (present in the torch versions this project supports; checked before a stale fit)
_SET_VERSIONS = getattr(torch._C._autograd, "_unsafe_set_version_counter", None)

STAT_NAMES = ("d_loss", "d_real", "d_fake", "gradient_penalty", "g_adv", "rec_loss")

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
class ScaleFit(FitResult):
    """A fit's log and timing, and the last reconstruction noise drawn ``[1, 3, h, w]`` when it was
    redrawn every iteration (``rec_noise == "per_iteration"`` at the coarsest scale; else None)."""

    last_rec_noise: Tensor | None = None


def random_batch_iters(size: tuple[int, int], num_filters: int, d_steps: int) -> int:
    """Iterations whose random critic inputs are generated in one batched pass.

    Up to ``RANDOM_BATCH_ITERS``, fewer for large images so that the batch's widest activation
    (``[count, filters, h, w]`` float32, two alive at a time) stays within ``RANDOM_BATCH_BYTES``.
    """
    per_sample = 2 * 4 * size[0] * size[1] * num_filters
    return int(max(1, min(RANDOM_BATCH_ITERS, RANDOM_BATCH_BYTES // (per_sample * d_steps))))


class _FloatScores:
    """The critic with float32 scores, so that losses and penalties stay float32 under autocast."""

    def __init__(self, critic: nn.Module) -> None:
        self.critic = critic

    def __call__(self, images: Tensor) -> Tensor:
        return self.critic(images).float()


class _ScaleStep:
    """One training iteration of a scale: ``d_steps`` critic steps, then ``g_steps`` generator steps.

    All random data comes in as tensors (``noise`` ``[1, 3, h, w]``, ``prevs`` ``[d_steps, 3, h,
    w]`` and the gradient penalty's ``mixes`` ``[d_steps]``), so that the same call can be
    captured as a CUDA graph. Returns the last steps' losses ``[6]`` (see ``STAT_NAMES``) without
    synchronising.
    """

    def __init__(self, generator: nn.Module, critic: nn.Module, targets: ScaleTargets, config: SinGANConfig,
                 opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer, adversarial: WGANGPLoss,
                 grads_to_none: bool, bf16: bool = False) -> None:
        self.generator, self.critic, self.config = generator, critic, config
        self.bf16 = bf16  # bfloat16 autocast of the convolutions (CUDA); losses stay float32
        self.opt_g, self.opt_d, self.adversarial = opt_g, opt_d, adversarial
        self.grads_to_none = grads_to_none  # False while graphed: replays reuse the grad buffers
        self.real, self.rec_input, self.noise_amp = targets.real, targets.rec_input, targets.noise_amp
        self.rec_in = (targets.rec_input if targets.rec_noise is None
                       else targets.noise_amp * targets.rec_noise + targets.rec_input)
        self.generator_params = tuple(generator.parameters())
        if config.generator_graph == "stale" and _SET_VERSIONS is None:
            raise UserError(f"generator_graph 'stale' needs torch._C._autograd._unsafe_set_version_counter, which "
                            f"torch {torch.__version__} lacks; use generator_graph 'fresh' or another torch")

    def __call__(self, noise: Tensor, prevs: Tensor, mixes: Tensor, rec_noise: Tensor | None = None) -> Tensor:
        """``rec_noise`` ``[1, 3, h, w]``: this iteration's z_opt (per-iteration reconstruction
        noise), or None for the targets' fixed one."""
        if not self.bf16:
            return self._iteration(noise, prevs, mixes, rec_noise)
        # the autocast cache must be off inside CUDA graph capture
        with torch.autocast(self.real.device.type, dtype=torch.bfloat16, cache_enabled=False):
            return self._iteration(noise, prevs, mixes, rec_noise)

    def _iteration(self, noise: Tensor, prevs: Tensor, mixes: Tensor, rec_noise: Tensor | None) -> Tensor:
        cfg, real = self.config, self.real
        rec_in = self.rec_in if rec_noise is None else self.noise_amp * rec_noise + self.rec_input
        generator = self.generator
        critic = _FloatScores(self.critic)
        for step in range(cfg.d_steps):
            prev = prevs[step:step + 1]
            keep_graph = step == cfg.d_steps - 1  # reused by the first generator step
            with torch.set_grad_enabled(keep_graph):
                fake = generator(self.noise_amp * noise + prev, prev)
            d_loss, d_real, d_fake, penalty = self.adversarial.critic_step(
                critic, self.opt_d, real, fake, mixes[step:step + 1], set_to_none=self.grads_to_none)

        self.critic.requires_grad_(False)
        stale = cfg.generator_graph == "stale"
        for step in range(cfg.g_steps):
            self.opt_g.zero_grad(set_to_none=self.grads_to_none)
            if step > 0 and not stale:
                fake = generator(self.noise_amp * noise + prev, prev)
            g_adv = self.adversarial.generator_loss(critic(fake))
            if cfg.alpha > 0:
                rec_loss = cfg.alpha * F.mse_loss(generator(rec_in, self.rec_input), real)
                g_loss = g_adv + rec_loss
            else:
                rec_loss = torch.zeros((), device=real.device)
                g_loss = g_adv
            g_loss.backward(retain_graph=stale and step < cfg.g_steps - 1)
            if stale:
                _step_under_stale_graph(self.opt_g, self.generator_params)
            else:
                self.opt_g.step()
        self.critic.requires_grad_(True)
        return torch.stack([d_loss, d_real, d_fake, penalty, g_adv, rec_loss]).detach()


def _step_under_stale_graph(optimizer: torch.optim.Optimizer, params: tuple[Tensor, ...]) -> None:
    """``optimizer.step()``, then the parameters' autograd version counters set back, so that the
    next backward may go through a graph recorded before the step (``generator_graph="stale"``):
    what torch <= 1.4, which the official code ran on, did without checking. That backward then
    combines the old activations with the updated weights, exactly as there."""
    versions = tuple(param._version for param in params)
    optimizer.step()
    _SET_VERSIONS(params, versions)


def _draw_block(targets: ScaleTargets, random_inputs: RandomInputs, iters: int, d_steps: int,
                noise_gen: torch.Generator, device: torch.device, rec_noise: bool = False) -> tuple[Tensor, ...]:
    """Random data of ``iters`` iterations: noise ``[iters, 3, h, w]``, prevs, penalty mixes, and
    with ``rec_noise`` one reconstruction noise per iteration ``[iters, 3, h, w]`` (drawn last, so
    the other draws are those of a fixed-z_opt run)."""
    size = tuple(targets.real.shape[-2:])
    noise = scale_noise(targets.scale, iters, size, noise_gen, device)
    prevs = random_inputs(iters * d_steps)  # [iters * d_steps, 3, h, w]
    mixes = torch.rand((iters * d_steps,), generator=noise_gen)
    block = (noise, prevs, to_device(mixes, device))
    if rec_noise:
        block += (scale_noise(targets.scale, iters, size, noise_gen, device),)
    return block


def _optimizer_state(optimizer: torch.optim.Optimizer) -> dict:
    """``state_dict()`` with plain-float learning rates (device tensors under CUDA graphs)."""
    state = optimizer.state_dict()
    for group in state["param_groups"]:
        if isinstance(group["lr"], Tensor):
            group["lr"] = float(group["lr"])
    return state


def _load_optimizer(optimizer: torch.optim.Optimizer, state: dict, lr: float) -> None:
    """Load a saved state, keeping the optimizer's own learning-rate objects (a captured graph
    reads the device tensor) and setting them to ``lr``."""
    own = [group["lr"] for group in optimizer.param_groups]
    optimizer.load_state_dict(state)
    for group, lr_object in zip(optimizer.param_groups, own):
        group["lr"] = lr_object
    set_learning_rate(optimizer, lr)
    for param, entries in optimizer.state.items():  # moments in the parameter's own layout (channels-last):
        for key, value in entries.items():          # the fused kernels walk both as flat memory
            if isinstance(value, Tensor) and value.shape == param.shape:
                entries[key] = torch.empty_like(param).copy_(value)


def _log_rows(scale: int, logged: list[tuple[int, Tensor, float, float]]) -> list[dict]:
    """Log rows from ``(iteration, stats [6] on the device, lr, seconds)`` entries, in one sync."""
    if not logged:
        return []
    values = torch.stack([stats for _, stats, _, _ in logged]).cpu().tolist()
    return [{"scale": scale, "iter": iteration, **dict(zip(STAT_NAMES, row_values)), "lr": lr, "seconds": seconds}
            for (iteration, _, lr, seconds), row_values in zip(logged, values)]


def fit_scale(generator: nn.Module, critic: nn.Module, targets: ScaleTargets, random_inputs: RandomInputs,
              config: SinGANConfig, iters: int, noise_gen: torch.Generator, device: torch.device,
              progress: bool = False, desc: str = "", log_every: int = 10,
              on_iteration: Callable[[int], None] | None = None, sync_cuda: bool = False,
              cuda_graphs: bool = True, channels_last: bool = False, bf16: bool = False,
              start: ScaleProgress | None = None, checkpoint_every: float | None = None,
              on_checkpoint: Callable[[ScaleProgress], None] | None = None, fast_paths: bool = True) -> ScaleFit:
    """Fit ``generator`` (and ``critic``) of ``targets.scale`` for ``iters`` iterations, in place.

    On CUDA each iteration is replayed as one CUDA graph (``cuda_graphs=False`` runs it eagerly;
    the math is the same). Losses are read back once a second for the progress bar and once at
    the end, never per iteration. ``channels_last`` stores activations as NHWC (faster cuDNN
    and oneDNN kernels); ``bf16`` runs the convolutions under bfloat16 autocast (CUDA).
    ``fast_paths=False`` trains on the reference numerics instead of the fast ones, with the same
    math: the plain per-tensor Adam, PyTorch's own batch-norm double backward (the caller also
    passes ``channels_last=False`` and unbatched random inputs; see ``SinGANTrainer``).

    ``on_checkpoint`` receives the fit's state (:class:`ScaleProgress`) at the first start of a
    block of random data after every ``checkpoint_every`` seconds; ``start`` continues from such a
    state exactly as if the fit had never stopped.
    """
    cfg = config
    size = tuple(targets.real.shape[-2:])
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    generator.to(device, memory_format=memory_format).train().requires_grad_(True)
    critic.to(device, memory_format=memory_format).train().requires_grad_(True)
    if start is not None:  # an interrupted fit: its weights, before the optimizers see them
        generator.load_state_dict(start.generator)
        critic.load_state_dict(start.critic)
    if channels_last:
        targets = dataclasses.replace(targets, **{
            name: getattr(targets, name).contiguous(memory_format=memory_format)
            for name in ("real", "rec_input", "rec_noise") if getattr(targets, name) is not None})
    graphed = cuda_graphs and graphs_available(device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes for the whole scale
    filters = next(m for m in generator.modules() if isinstance(m, nn.Conv2d)).out_channels
    block_iters = random_batch_iters(size, filters, cfg.d_steps)

    betas = (cfg.beta1, cfg.beta2)
    opt_g = make_adam(generator.parameters(), cfg.lr_generator, betas, device, capturable=graphed, fused=fast_paths)
    opt_d = make_adam(critic.parameters(), cfg.lr_discriminator, betas, device, capturable=graphed, fused=fast_paths)
    decay_at = decay_iteration(iters, cfg.lr_decay_at, cfg.lr_milestone)
    redraw_rec_noise = cfg.rec_noise == "per_iteration" and targets.rec_noise is not None
    first, rows_before, seconds_before = 0, [], 0.0
    if start is not None:
        first, rows_before, seconds_before = start.iteration, list(start.rows), start.seconds
        decay = cfg.lr_decay_factor if first > decay_at else 1.0
        _load_optimizer(opt_g, start.opt_g, cfg.lr_generator * decay)
        _load_optimizer(opt_d, start.opt_d, cfg.lr_discriminator * decay)
        noise_gen.set_state(start.noise_state)
    adversarial = WGANGPLoss(weight=cfg.gp_weight, per_pixel=True)
    step = _ScaleStep(generator, critic, targets, cfg, opt_g, opt_d, adversarial, grads_to_none=not graphed,
                      bf16=bf16 and device.type == "cuda")
    run_step = GraphedStep(step, device) if graphed else step

    result = ScaleFit()
    bar = tqdm(total=iters, initial=first, desc=desc, disable=not progress, leave=False, dynamic_ncols=True)
    began = time.perf_counter()
    stamps, logged = [began], []  # logged: (iteration, stats [6] on the device, lr, seconds)
    last_postfix = last_checkpoint = began
    block: tuple[Tensor, ...] | None = None
    row = block_iters
    with closed_form_double_backward(fast_paths):  # off: PyTorch's own batch-norm double backward
        for it in range(first, iters):
            if on_iteration is not None:
                on_iteration(it)
            if it == decay_at:
                set_learning_rate(opt_g, cfg.lr_generator * cfg.lr_decay_factor)
                set_learning_rate(opt_d, cfg.lr_discriminator * cfg.lr_decay_factor)
            if row == block_iters:
                now = time.perf_counter()
                if (on_checkpoint is not None and checkpoint_every is not None and it > first
                        and now - last_checkpoint >= checkpoint_every):
                    on_checkpoint(ScaleProgress(
                        it, {k: v.detach().cpu() for k, v in generator.state_dict().items()},
                        {k: v.detach().cpu() for k, v in critic.state_dict().items()},
                        _optimizer_state(opt_g), _optimizer_state(opt_d), noise_gen.get_state(),
                        rows_before + _log_rows(targets.scale, logged), seconds_before + now - began))
                    last_checkpoint = time.perf_counter()
                block = _draw_block(targets, random_inputs, block_iters, cfg.d_steps, noise_gen, device,
                                    rec_noise=redraw_rec_noise)
                block, row = tuple(t.contiguous(memory_format=memory_format) if t.dim() == 4 else t for t in block), 0
            noise, prevs, mixes = block[:3]
            d = cfg.d_steps
            inputs = (noise[row:row + 1], prevs[row * d:(row + 1) * d], mixes[row * d:(row + 1) * d])
            if redraw_rec_noise:
                inputs += (block[3][row:row + 1],)
                result.last_rec_noise = inputs[-1]
            stats = run_step(*inputs)
            row += 1
            if sync_cuda:
                torch.cuda.synchronize(device)
            now = time.perf_counter()
            stamps.append(now)
            bar.update(1)
            if (it + 1) % log_every == 0 or it + 1 == iters:
                lr = cfg.lr_generator * (cfg.lr_decay_factor if it >= decay_at else 1.0)
                logged.append((it + 1, stats.clone(), lr, round(seconds_before + now - began, 3)))
                if progress and now - last_postfix >= 1.0:  # one device sync a second at most
                    values = dict(zip(STAT_NAMES, logged[-1][1].tolist()))
                    bar.set_postfix(D=f"{values['d_loss']:.3f}", G=f"{values['g_adv']:.3f}",
                                    rec=f"{values['rec_loss']:.4f}")
                    last_postfix = now
    bar.close()
    if isinstance(run_step, GraphedStep):
        run_step.release()
    generator.to(memory_format=torch.contiguous_format).eval().requires_grad_(False)
    critic.to(memory_format=torch.contiguous_format).eval().requires_grad_(False)
    result.rows = rows_before + _log_rows(targets.scale, logged)
    result.seconds = seconds_before + time.perf_counter() - began
    result.median_iter_seconds = float(np.median(np.diff(stamps))) if len(stamps) > 1 else 0.0
    if result.last_rec_noise is not None:
        result.last_rec_noise = result.last_rec_noise.clone(memory_format=torch.contiguous_format)
    return result


def iteration_flops(config: SinGANConfig, scale: int, size: tuple[int, int]) -> int:
    """FLOPs of one training iteration's critic and generator steps at ``scale`` (``size`` = h, w).

    Counted on the ``meta`` device from the layer shapes (:mod:`ganbase.runtime.flops`): convolutions and
    their (double) backward passes; not the coarser scales' pass that makes the random inputs.
    """
    meta = torch.device("meta")
    filters = filters_at_scale(scale, config.num_filters, config.max_filters, config.filters_double_every)
    generator = make_generator(scale, config).to(meta)
    critic = PatchDiscriminator(3, filters, config.num_layers, config.kernel_size).to(meta)
    real = torch.zeros(1, 3, *size, device=meta)
    targets = ScaleTargets(scale, real, real, real if scale == 0 else None, 0.1)
    opt_g = torch.optim.Adam(generator.parameters(), lr=config.lr_generator)
    opt_d = torch.optim.Adam(critic.parameters(), lr=config.lr_discriminator)
    step = _ScaleStep(generator, critic, targets, config, opt_g, opt_d, WGANGPLoss(config.gp_weight, per_pixel=True),
                      grads_to_none=True)
    total, _ = count_flops(step, real, real.expand(config.d_steps, 3, *size), torch.zeros(config.d_steps, device=meta))
    return total


__all__ = ["ScaleTargets", "FitResult", "ScaleFit", "RandomInputs", "fit_scale", "random_batch_iters", "iteration_flops"]
