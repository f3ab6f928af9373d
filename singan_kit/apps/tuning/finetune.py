"""Applications that retrain one scale of a trained SinGAN before injecting (training code).

- Paint-to-image with quantization (Shaham et al. 2019, Sec. 4; official ``train_paint``): the
  training image at the injection scale is quantized to K colours by k-means, and that scale is
  retrained with its random and reconstruction inputs quantized to the same colours, so that the
  generator learns to turn flat colour regions into texture. The official code retrains the scale
  from scratch for the full iteration count; here the generator starts from its trained weights
  (a fine-tune, so fewer iterations suffice) and the critic starts fresh.
- Harmonization fine-tuning (offered by ConSinGAN, Hinz et al. 2021): the finest scale is trained
  a little further on the background, its critic fed with outputs generated from the naive image
  injected at the chosen scale, so the generator learns to render the pasted object in the
  background's style. Starts from the saved finest critic when the run folder has one.

Both work on a copy of the model; the run folder is never changed. Only
:meth:`singan_kit.api.SinGAN.paint` with ``quantize`` and :meth:`singan_kit.api.SinGAN.harmonize`
with ``fine_tune`` (``singan paint --quantize``, ``singan harmonize --fine-tune``) load this module,
so plain inference never imports training code.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor

from ganbase.errors import UserError
from ganbase.nn.discriminators import PatchDiscriminator
from singan_kit.apps.inject import injection_input, resolve_inject_scale
from singan_kit.apps.quantize import kmeans_colors, quantize_to_centers
from singan_kit.architectures.singan.config import filters_at_scale, iters_at_scale
from singan_kit.architectures.singan.fit import ScaleTargets, fit_scale
from singan_kit.architectures.singan.model import GeneratorPyramid, NoiseFn, scale_noise


def _noise_from(noise_gen: torch.Generator, device: torch.device) -> NoiseFn:
    def noise_fn(scale: int, batch: int, size: tuple[int, int]) -> Tensor:
        return scale_noise(scale, batch, size, noise_gen, device)
    return noise_fn


def _critic_for(model: GeneratorPyramid, scale: int, state: dict | None) -> PatchDiscriminator:
    cfg = model.config
    filters = filters_at_scale(scale, cfg.num_filters, cfg.max_filters, cfg.filters_double_every)
    critic = PatchDiscriminator(3, filters, cfg.num_layers, cfg.kernel_size)
    if state is not None:
        critic.load_state_dict(state)
    return critic


def _rec_targets(model: GeneratorPyramid, scale: int, transform=None) -> ScaleTargets:
    real = model.reals[scale]
    if scale == 0:
        return ScaleTargets(0, real, torch.zeros_like(real), model.z_opt, model.noise_amps[0])
    rec_input = model.reconstruction_input(scale)
    if transform is not None:
        rec_input = transform(rec_input)
    return ScaleTargets(scale, real, rec_input, None, model.noise_amps[scale])


def _finetune(model: GeneratorPyramid, scale: int, iters: int, random_inputs, targets: ScaleTargets,
              critic_state: dict | None, seed: int, progress: bool, desc: str) -> GeneratorPyramid:
    if iters < 1:
        raise UserError(f"fine-tuning needs at least 1 iteration, got {iters}")
    torch.manual_seed(seed)
    noise_gen = torch.Generator().manual_seed(seed + 1)
    tuned = copy.deepcopy(model)
    generator = tuned.generators[scale]
    critic = _critic_for(model, scale, critic_state).to(model.device)

    def inputs(count: int) -> Tensor:
        return random_inputs(count, noise_gen)

    with torch.enable_grad():
        fit_scale(generator, critic, targets, inputs, model.config, iters, noise_gen, model.device,
                  progress=progress, desc=desc)
    tuned.eval()
    tuned.forget_reconstructions()  # the reconstruction path changed from this scale on
    return tuned


def quantize_and_finetune(model: GeneratorPyramid, inject_scale: int, colors: int = 5, iters: int | None = None,
                          seed: int = 0, progress: bool = False) -> tuple[GeneratorPyramid, Tensor]:
    """Quantize the training image at ``inject_scale`` to ``colors`` colours and retrain that scale
    on quantized inputs; returns the fine-tuned copy and the colour centres ``[K, 3]``."""
    scale = resolve_inject_scale(model, inject_scale)
    centers = kmeans_colors(model.reals[scale], colors, seed)
    cfg = model.config
    iters = iters or iters_at_scale(scale, model.pyramid.num_scales, cfg.iters, cfg.fine_iters)

    def quantize(image: Tensor) -> Tensor:
        return quantize_to_centers(image, centers)

    def random_inputs(count: int, noise_gen: torch.Generator) -> Tensor:
        return quantize(model.random_input(scale, count, _noise_from(noise_gen, model.device)))

    with torch.no_grad():
        targets = _rec_targets(model, scale, quantize)
    tuned = _finetune(model, scale, iters, random_inputs, targets, None, seed, progress,
                      f"quantized fine-tune of scale {scale}")
    return tuned, centers


def harmonization_finetune(model: GeneratorPyramid, naive: Tensor, inject_scale: int, iters: int,
                           critic_state: dict | None = None, seed: int = 0,
                           progress: bool = False) -> GeneratorPyramid:
    """Fine-tune the finest scale on the background with inputs made from ``naive`` (at the finest
    scale's size) injected at ``inject_scale``; returns the fine-tuned copy."""
    scale = resolve_inject_scale(model, inject_scale)
    finest = model.num_trained - 1
    start = injection_input(model, naive.to(model.device), scale)
    sizes = model.pyramid.sizes

    def random_inputs(count: int, noise_gen: torch.Generator) -> Tensor:
        batch = start.expand(count, -1, -1, -1)
        if scale == finest:
            return batch.contiguous()
        coarse = model.inject(batch, scale, _noise_from(noise_gen, model.device), stop=finest)
        return model.upsampling(coarse, tuple(sizes[finest]))

    with torch.no_grad():
        targets = _rec_targets(model, finest)
    if critic_state is not None:
        expected = _critic_for(model, finest, None).state_dict()
        if {k: v.shape for k, v in critic_state.items()} != {k: v.shape for k, v in expected.items()}:
            critic_state = None
    return _finetune(model, finest, iters, random_inputs, targets, critic_state, seed, progress,
                     "harmonization fine-tune")


def reconstruction_error(model: GeneratorPyramid) -> float:
    """MSE between the finest reconstruction and the training image (a fine-tuning sanity check)."""
    with torch.no_grad():
        return F.mse_loss(model.reconstructions()[-1], model.reals[-1]).item()


__all__ = ["quantize_and_finetune", "harmonization_finetune", "reconstruction_error"]
