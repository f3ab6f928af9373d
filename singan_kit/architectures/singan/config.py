"""SinGAN's training configuration: a frozen dataclass, presets, and per-scale pure functions.

Defaults are those of the paper and its official code (Shaham et al. 2019): 2000 iterations per
scale, Adam(5e-4, betas 0.5/0.999) with x0.1 decay at 80 %, 3 critic and 3 generator steps,
reconstruction weight 10, gradient-penalty weight 0.1, 32 filters doubling every 4 scales up to
128, 5 layers of 3x3 convolutions, noise amplitude 0.1 x reconstruction RMSE, pyramid factor 0.75
adjusted to fit, min side 25 px, max side 250 px. The ``paper`` preset also takes the official
code's reconstruction-noise redraw, learning-rate milestone, generator-step graph and 8-bit
upsampling between scales (``rec_noise``, ``lr_milestone``, ``generator_graph``,
``upsample_precision``; see :mod:`singan_kit.architectures.singan.train`).
"""

from __future__ import annotations

from dataclasses import dataclass

from singan_kit.architectures.base import RunConfig, lr_decay_iter
from singan_kit.pyramid import UPSAMPLE_PRECISIONS
from singan_kit.run_validation import MAX_FILTERS

OFFICIAL_LR_MILESTONE = 1600  # the official code's MultiStepLR milestone, independent of niter
LR_MILESTONES = ("fraction", "official")
REC_NOISE_MODES = ("fixed", "per_iteration")
GENERATOR_GRAPHS = ("fresh", "stale")


@dataclass(frozen=True)
class SinGANConfig(RunConfig):
    """Every setting of a SinGAN training run (the resolved config saved as config.json)."""

    iters: int = 2000  # training iterations per scale (at the coarsest scale if fine_iters is set)
    fine_iters: int | None = None  # iterations at the finest scale, linear in between; None: = iters
    lr_generator: float = 5e-4
    lr_discriminator: float = 5e-4
    beta1: float = 0.5
    beta2: float = 0.999
    lr_decay_at: float = 0.8  # fraction of iters after which both learning rates are multiplied
    lr_decay_factor: float = 0.1
    # "fraction": decay at lr_decay_at x iters; "official": at iteration 1600 whatever iters is (the
    # official code's hard-coded milestone, so runs of <= 1600 iterations never decay)
    lr_milestone: str = "fraction"
    # "fixed": one z_opt per run (the paper's text); "per_iteration": a fresh z_opt every iteration
    # at the coarsest scale, the last draw kept (the official code)
    rec_noise: str = "fixed"
    # "fresh": every generator step recomputes the fake; "stale": all generator steps back-propagate
    # the adversarial loss through the last critic step's fake (the official code, whose graph keeps
    # the activations of the weights before the first generator step; with activation checkpointing
    # they are recomputed from the current weights instead)
    generator_graph: str = "fresh"
    # "float": images are upsampled between scales as they are; "uint8": through the official
    # code's 8-bit round trip (truncated to 8 bits before the resize, clamped after it), in training
    # and at inference (singan_kit.pyramid.Upsampling)
    upsample_precision: str = "float"
    d_steps: int = 3  # critic updates per iteration
    g_steps: int = 3  # generator updates per iteration
    alpha: float = 10.0  # reconstruction loss weight
    gp_weight: float = 0.1  # gradient-penalty weight
    num_filters: int = 32  # filters at the coarsest scale
    max_filters: int = 128
    filters_double_every: int = 4  # scales
    num_layers: int = 5
    kernel_size: int = 3
    scale_factor: float = 0.75  # initial pyramid factor, adjusted to fit min_size exactly
    min_size: int = 25
    max_size: int = 250
    noise_amp_factor: float = 0.1  # noise amplitude = factor * RMSE(real, upsampled reconstruction)
    seed: int = 0
    architecture: str = "singan"  # the registered architecture (singan_kit.architectures)

    def validate(self) -> "SinGANConfig":
        checks = [
            (self.numbers_are_finite(), "numbers must be finite (not nan or inf)"),
            (self.architecture == "singan", "architecture must be 'singan'"),
            (self.iters >= 1, "iters must be >= 1"),
            (self.fine_iters is None or self.fine_iters >= 1, "fine_iters must be >= 1"),
            (self.lr_generator > 0 and self.lr_discriminator > 0, "learning rates must be > 0"),
            (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1, "Adam betas must be in [0, 1)"),
            (0 < self.lr_decay_at <= 1, "lr_decay_at must be in (0, 1]"),
            (self.lr_milestone in LR_MILESTONES, f"lr_milestone must be one of {list(LR_MILESTONES)}"),
            (self.rec_noise in REC_NOISE_MODES, f"rec_noise must be one of {list(REC_NOISE_MODES)}"),
            (self.generator_graph in GENERATOR_GRAPHS, f"generator_graph must be one of {list(GENERATOR_GRAPHS)}"),
            (self.upsample_precision in UPSAMPLE_PRECISIONS,
             f"upsample_precision must be one of {list(UPSAMPLE_PRECISIONS)}"),
            (self.d_steps >= 1 and self.g_steps >= 1, "d_steps and g_steps must be >= 1"),
            (self.alpha >= 0, "alpha must be >= 0"),
            (self.gp_weight >= 0, "gp_weight must be >= 0"),
            (self.num_filters >= 1 and self.max_filters >= self.num_filters,
             "need 1 <= num_filters <= max_filters"),
            (self.max_filters <= MAX_FILTERS, f"max_filters must be <= {MAX_FILTERS}"),
            (self.filters_double_every >= 1, "filters_double_every must be >= 1"),
            (self.num_layers >= 3, "num_layers must be >= 3"),
            (self.kernel_size >= 1 and self.kernel_size % 2 == 1, "kernel_size must be odd"),
            (0 < self.scale_factor < 1, "scale_factor must be in (0, 1)"),
            (self.min_size >= self.receptive_field, f"min_size must be >= the receptive field "
             f"({self.receptive_field} px)"),
            (self.max_size >= self.min_size, "max_size must be >= min_size"),
            (self.noise_amp_factor >= 0, "noise_amp_factor must be >= 0"),
        ]
        return self.check(checks)

    @property
    def receptive_field(self) -> int:
        return 1 + self.num_layers * (self.kernel_size - 1)


def iters_at_scale(scale: int, num_scales: int, iters: int, fine_iters: int | None = None) -> int:
    """Training iterations of ``scale``: ``iters`` everywhere, or linear from ``iters`` at the
    coarsest scale to ``fine_iters`` at the finest."""
    if fine_iters is None or num_scales < 2:
        return iters
    return int(round(iters + (fine_iters - iters) * scale / (num_scales - 1)))


def decay_iteration(iters: int, lr_decay_at: float = 0.8, lr_milestone: str = "fraction") -> int:
    """Iteration (0-based) of a scale from which the learning rates are decayed: ``lr_decay_at`` of
    ``iters`` ("fraction"), or ``OFFICIAL_LR_MILESTONE`` ("official"; never reached when
    ``iters <= 1600``)."""
    if lr_milestone == "official":
        return OFFICIAL_LR_MILESTONE
    return lr_decay_iter(iters, lr_decay_at)


def filters_at_scale(scale: int, num_filters: int = 32, max_filters: int = 128,
                     double_every: int = 4) -> int:
    """Filters of scale ``scale``: ``min(num_filters * 2 ** (scale // double_every), max_filters)``."""
    return min(num_filters * 2 ** (scale // double_every), max_filters)


def noise_amplitude(rmse: float, factor: float = 0.1) -> float:
    """Noise amplitude of a scale above the coarsest: ``factor * RMSE(real, upsampled rec)``."""
    return factor * rmse


PRESETS: dict[str, dict] = {
    # Paper and official-code defaults, with the official loop's z_opt redraw, fixed milestone, stale
    # generator graph and 8-bit upsampling (issue 20: the dataclass defaults keep older run folders'
    # behaviour).
    "paper": {"rec_noise": "per_iteration", "lr_milestone": "official", "generator_graph": "stale",
              "upsample_precision": "uint8"},
    # For CPU users: same pyramid, 32 filters at every scale, the coarse scales nearly fully trained
    # and fewer iterations towards the finest (about 8x less CPU time than paper; time and quality
    # measured in the README, section "singan train").
    "fast": {"iters": 2000, "fine_iters": 800, "max_filters": 32},
    # A first look in minutes on a CPU: the fast schedule cut to 600 -> 100 iterations.
    "quick": {"iters": 600, "fine_iters": 100, "max_filters": 32},
    # For tests and smoke runs: seconds on a CPU.
    "tiny": {"iters": 8, "num_filters": 8, "max_filters": 8, "min_size": 16, "max_size": 40},
}

__all__ = ["GENERATOR_GRAPHS", "LR_MILESTONES", "OFFICIAL_LR_MILESTONE", "PRESETS", "REC_NOISE_MODES", "SinGANConfig", "decay_iteration",
           "filters_at_scale", "iters_at_scale", "lr_decay_iter", "noise_amplitude"]
