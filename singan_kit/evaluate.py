"""Quality metrics of trained SinGANs (Shaham et al. 2019; ConSinGAN runs too): draw samples from
a run folder and compare them with the run's training image (the finest pyramid level) using
:mod:`ganbase.metrics.swd` and :mod:`ganbase.metrics.image_metrics` — patch SWD (Karras et al. 2018) with its jackknife
standard error, SinGAN's pixel diversity, GPNN-style patch nearest-neighbour coherence /
completeness (Granot et al. 2022), memorization (SSIM above 0.9) and, with local Inception
weights, SIFID. Inference only: never imports training code.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from ganbase.errors import UserError
from ganbase.metrics.image_metrics import (
    MEMORIZATION_THRESHOLD,
    as_batch,
    memorization,
    patch_nn_distances,
    pixel_diversity,
)
from ganbase.metrics.swd import patch_swd, patch_swd_with_error
from ganbase.runtime.device import resolve_device
from singan_kit.batch.folders import find_runs
from singan_kit.run_folder import ALL_ARCHITECTURES, load_model
from singan_kit.sample import generate

#: the metrics every evaluation reports, in table order (``sifid`` follows when weights are given);
#: ``swd_se`` is the standard error of ``swd`` over draws of the samples (jackknife; with several
#: draws, the standard deviation over draws / sqrt(draws))
METRIC_KEYS = ("swd", "swd_se", "diversity", "nn_coherence", "nn_completeness", "memorization")


def evaluate_images(real: Tensor, samples: Tensor, seed: int = 0, inception_weights=None,
                    device: str | torch.device = "cpu",
                    memorization_threshold: float = MEMORIZATION_THRESHOLD,
                    swd_error: bool = True) -> dict[str, float]:
    """All single-image metrics of ``samples [N, 3, H, W]`` against ``real [1, 3, H, W]`` (both in
    [-1, 1]; N >= 2). Usable on any generator's output, e.g. baselines in benchmarks.
    ``inception_weights`` (a file, or a network from :func:`ganbase.metrics.inception.load_inception`) adds SIFID.
    ``swd_error=False`` skips the jackknife of ``swd_se`` (about 7x the cost of the SWD itself)."""
    device = resolve_device(device)
    real, samples = as_batch(real).to(device), as_batch(samples).to(device)
    if samples.shape[0] < 2:
        raise UserError("evaluation needs at least 2 samples (diversity is a spread over samples)")
    if real.shape[1] != samples.shape[1]:
        raise UserError(f"real image and samples differ in channels: {real.shape[1]} vs {samples.shape[1]}")
    for name, images in (("real image", real), ("samples", samples)):  # a metric of NaN means nothing
        bad = int((~torch.isfinite(images)).sum())
        if bad:
            raise UserError(f"the {name} hold {bad} NaN or infinite value(s): no metric is computed "
                            "(are the run's weights damaged?)")
    if swd_error:
        swd, swd_se = patch_swd_with_error(real, samples, seed=seed)
        result = {"swd": swd, "swd_se": swd_se}
    else:
        result = {"swd": patch_swd(real, samples, seed=seed)}
    result["diversity"] = pixel_diversity(real, samples)
    result.update(patch_nn_distances(real, samples, seed=seed))
    result["memorization"] = memorization(real, samples, memorization_threshold)
    if inception_weights is not None:
        from ganbase.metrics.inception import sifid

        result["sifid"] = sifid(real, samples, inception_weights, device)
    return result


def evaluate_run(run_dir, num: int = 50, start_scale: int = 0, seed: int = 0, device: str | torch.device = "cpu",
                 inception_weights: str | None = None, batch_size: int | None = None,
                 on_batch: Callable[[int], None] | None = None, draws: int = 1) -> dict[str, float]:
    """Draw ``num`` samples (seed ``seed``, from ``start_scale``) from the run folder ``run_dir``
    and evaluate them against its training image. Returns the metrics of :func:`evaluate_images`
    plus ``num_samples``, ``scales`` (trained scales; an unfinished run is evaluated at its last
    trained scale) and ``size`` (``"HxW"`` of the samples). ``on_batch(count)`` reports sampling
    progress.

    ``draws > 1`` repeats this with seeds ``seed, seed + 1, ...`` (each draw exactly what
    ``draws=1`` gives with that seed) and returns every metric's mean over the draws; ``swd_se``
    is then the standard deviation of ``swd`` over draws divided by sqrt(draws), ``swd_sd`` that
    standard deviation and ``draws`` their count. SinGAN's samples differ in layout, so one
    draw's SWD is noisy (docs/eval.md)."""
    if num < 2:
        raise UserError(f"--num must be at least 2, got {num}")
    if draws < 1:
        raise UserError(f"--draws must be at least 1, got {draws}")
    device = resolve_device(device)
    if inception_weights is not None:  # a bad weights file fails before any sampling
        from ganbase.metrics.inception import load_inception

        inception_weights = load_inception(inception_weights, device)
    model = load_model(run_dir, device, architectures=ALL_ARCHITECTURES)  # SinGAN and ConSinGAN
    real = model.reals[model.num_trained - 1]
    per_draw = []
    for draw in range(draws):
        samples = generate(model, num, start_scale=start_scale, seed=seed + draw,
                           batch_size=batch_size, on_batch=on_batch)
        per_draw.append(evaluate_images(real, samples, seed=seed + draw, inception_weights=inception_weights,
                                        device=device, swd_error=draws == 1))
    result: dict = per_draw[0] if draws == 1 else _mean_over_draws(per_draw)
    height, width = samples.shape[-2:]
    result.update(num_samples=num, scales=model.num_trained, size=f"{height}x{width}")
    return result


def _mean_over_draws(per_draw: list[dict[str, float]]) -> dict[str, float]:
    """Every metric's mean over draws, ``swd_se`` from the spread of ``swd`` over the draws."""
    count = len(per_draw)
    swd_sd = torch.tensor([d["swd"] for d in per_draw], dtype=torch.float64).std().item()  # n - 1 in the denominator
    keys = [key for key in (*METRIC_KEYS, "sifid") if key in per_draw[0] or key == "swd_se"]
    result = {key: swd_sd / count ** 0.5 if key == "swd_se" else sum(d[key] for d in per_draw) / count
              for key in keys}
    result.update(swd_sd=swd_sd, draws=count)
    return result


def evaluate_runs(folder, num: int = 50, start_scale: int = 0, seed: int = 0, device: str | torch.device = "cpu",
                  inception_weights: str | None = None, batch_size: int | None = None,
                  on_run: Callable[[str, dict], None] | None = None, draws: int = 1) -> list[dict]:
    """:func:`evaluate_run` for every run folder directly inside ``folder`` (sorted by name). Each
    dict also holds ``run`` (the folder name); a run that cannot be evaluated gives
    ``{"run": name, "error": message}`` and the loop goes on. ``on_run(name, result)`` is called
    after each run."""
    if inception_weights is not None:  # a bad weights file fails once, and is read once
        from ganbase.metrics.inception import load_inception

        inception_weights = load_inception(inception_weights, resolve_device(device))
    results = []
    for run_dir in find_runs(folder):
        try:
            result = {"run": run_dir.name, **evaluate_run(run_dir, num, start_scale, seed, device,
                                                          inception_weights, batch_size, draws=draws)}
        except UserError as error:
            result = {"run": run_dir.name, "error": str(error)}
        results.append(result)
        if on_run is not None:
            on_run(run_dir.name, result)
    return results

