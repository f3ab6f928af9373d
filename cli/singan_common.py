"""Shared pieces of the ``singan`` CLI (SinGAN, Shaham et al. 2019): error handling, printing
helpers, and the training options that ``train`` and ``sr`` both accept (the options every CLI
shares are in :mod:`cli.common`).
"""

from __future__ import annotations

import functools
import sys

import click

from cli.common import (
    NON_NEGATIVE_FLOAT,
    POSITIVE_FLOAT,
    POSITIVE_INT,
    FiniteFloatRange,
    click_error,
    device_option,
    quiet_option,
    seed_option,
    threads_option,
)
from ganbase.errors import UserError
from singan_kit.api import Outcome, preset_names, summary_table
from singan_kit.architectures.singan.config import GENERATOR_GRAPHS, LR_MILESTONES, REC_NOISE_MODES
from singan_kit.pyramid import UPSAMPLE_PRECISIONS


class PresetChoice(click.Choice):
    """``--preset``: the presets of every registered architecture, read when the option is parsed or
    shown, so that an architecture registered after this module was imported is a choice too."""

    def __init__(self) -> None:
        super().__init__(preset_names())

    @property
    def choices(self) -> tuple[str, ...]:
        return preset_names()

    @choices.setter
    def choices(self, value) -> None:  # click's __init__ assigns the list it was given
        pass


def user_errors(func):
    """Turn library and OS errors into one-line click errors; Ctrl-C into a clean exit 130."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (UserError, OSError) as exc:
            raise click_error(exc) from None
        except KeyboardInterrupt:
            click.echo("\nError: interrupted", err=True)
            sys.exit(130)
        except MemoryError:
            raise click.ClickException("out of memory: try a smaller --max-size or --batch-size") from None

    return wrapper


def echo_to_stderr(quiet: bool):
    """A function printing a line to stderr, or doing nothing with ``--quiet``."""
    return (lambda message: None) if quiet else (lambda message: click.echo(message, err=True))


def print_notes(notes: list[str], quiet: bool) -> None:
    echo = echo_to_stderr(quiet)
    for note in notes:
        echo(f"note: {note}")


def print_outcome(outcome: Outcome, quiet: bool) -> None:
    """One item's detail line (unless ``--quiet``), or a folder's summary table on stderr (on
    torchrun's main process only), ending in an error when every item failed."""
    if not outcome.is_folder:
        echo_to_stderr(quiet)(outcome.detail)
        return
    if outcome.is_main:
        click.echo(summary_table(outcome.results), err=True)
        outcome.check()


# --batch-size of singan sample and singan eval (None: singan_kit.sample.default_batch_size)
BATCH_SIZE_OPTION = click.option(
    "--batch-size", type=POSITIVE_INT, default=None,
    help="Samples per batch  [default: 16 on a GPU; on the CPU as many as fit a 16 MB activation, "
         "1-2 at 250 px].")

TRAINING_OPTIONS = [
    click.option("--preset", type=PresetChoice(), default="paper", show_default=True,
                 help="paper: the paper's defaults; fast: about 8x less CPU time; quick: a first look in "
                      "minutes on a CPU; tiny: seconds, for tests; consingan: ConSinGAN (Hinz et al. "
                      "2021), see docs/consingan.md."),
    click.option("--iters", type=POSITIVE_INT, default=None,
                 help="Iterations per scale, or at the coarsest scale for presets that taper (fast) "
                      "[paper: 2000]."),
    click.option("--fine-iters", type=POSITIVE_INT, default=None,
                 help="Iterations at the finest scale, linear in between [the preset's; with --iters "
                      "alone a tapering preset keeps its ratio]."),
    click.option("--max-size", type=POSITIVE_INT, default=None, help="Longer side of the finest scale [250]."),
    click.option("--min-size", type=POSITIVE_INT, default=None, help="Shorter side of the coarsest scale [25]."),
    click.option("--scale-factor", type=FiniteFloatRange(0, 1, min_open=True, max_open=True), default=None,
                 help="Initial pyramid factor [0.75]."),
    click.option("--lr", type=POSITIVE_FLOAT, default=None, help="Learning rate: Adam's of G and D [5e-4]; gpdm: of the pixels [0.05]."),
    click.option("--alpha", type=NON_NEGATIVE_FLOAT, default=None, help="Reconstruction loss weight [10]."),
    click.option("--gp-weight", type=NON_NEGATIVE_FLOAT, default=None, help="Gradient penalty weight [0.1]."),
    click.option("--num-filters", type=POSITIVE_INT, default=None, help="Filters at the coarsest scale [32]."),
    click.option("--max-filters", type=POSITIVE_INT, default=None, help="Maximum filters per layer [128]."),
    click.option("--d-steps", type=POSITIVE_INT, default=None, help="Critic steps per iteration [3]."),
    click.option("--g-steps", type=POSITIVE_INT, default=None, help="Generator steps per iteration [3]."),
    click.option("--noise-amp", type=NON_NEGATIVE_FLOAT, default=None, help="Noise amplitude factor [0.1]."),
    seed_option("Random seed [0].", default=None),
    device_option(),
    threads_option("CPU threads (default: chosen per scale)."),
    quiet_option("No progress bars or summaries."),
]


def training_options(func):
    """Add the options of ``singan train`` to a command."""
    for option in reversed(TRAINING_OPTIONS):
        func = option(func)
    return func


CONSINGAN_OPTIONS = [
    click.option("--stages", type=click.IntRange(min=2), default=None, help="consingan: number of stages [6]."),
    click.option("--concurrent-stages", type=POSITIVE_INT, default=None,
                 help="consingan: newest stages trained at once [3]."),
    click.option("--lr-scale", type=NON_NEGATIVE_FLOAT, default=None,
                 help="consingan: learning-rate factor per stage below the newest [0.1]."),
]


PATCH_OPTIONS = [
    click.option("--patch-size", type=POSITIVE_INT, default=None,
                 help="gpnn/gpdm: side of the patches compared, in px [gpnn 7, gpdm 5]."),
    click.option("--noise", type=NON_NEGATIVE_FLOAT, default=None,
                 help="gpnn/gpdm: std of the noise on the coarsest level's start (more: more diverse) [0.75]."),
    click.option("--pyramid-ratio", type=FiniteFloatRange(0, 1, min_open=True, max_open=True), default=None,
                 help="gpnn/gpdm: size of a level / size of the next finer one [gpnn 0.75, gpdm 0.85]."),
    click.option("--levels", type=POSITIVE_INT, default=None,
                 help="gpnn/gpdm: pyramid levels, the image included [gpnn 10, gpdm 14]."),
]


def patch_options(func):
    """Add the options of the training-free patch methods (GPNN, GPDM) of ``singan train``."""
    for option in reversed(PATCH_OPTIONS):
        func = option(func)
    return func


OFFICIAL_LOOP_OPTIONS = [
    click.option("--rec-noise", type=click.Choice(REC_NOISE_MODES), default=None,
                 help="SinGAN: reconstruction noise of the coarsest scale drawn once (fixed, the paper's text) or "
                      "every iteration (per_iteration, the official code) [paper: per_iteration, others: fixed]."),
    click.option("--lr-milestone", type=click.Choice(LR_MILESTONES), default=None,
                 help="SinGAN: decay the learning rates at 80% of the iterations (fraction) or at iteration 1600 "
                      "whatever their count (official) [paper: official, others: fraction]."),
    click.option("--generator-graph", type=click.Choice(GENERATOR_GRAPHS), default=None,
                 help="SinGAN: generator steps 2-3 recompute the fake (fresh) or back-propagate through the last "
                      "critic step's graph (stale, the official code) [paper: stale, others: fresh]."),
    click.option("--upsample-precision", type=click.Choice(UPSAMPLE_PRECISIONS), default=None,
                 help="SinGAN: upsample between scales in float, or through 8 bits as the official code does "
                      "(uint8: truncated before the resize, clamped after it; in training and at inference) "
                      "[paper: uint8, others: float]."),
]


def official_loop_options(func):
    """Add SinGAN's official-loop options (issue 20) of ``singan train`` to a command."""
    for option in reversed(OFFICIAL_LOOP_OPTIONS):
        func = option(func)
    return func


def consingan_options(func):
    """Add the ConSinGAN-only options (Hinz et al. 2021) of ``singan train`` to a command."""
    for option in reversed(CONSINGAN_OPTIONS):
        func = option(func)
    return func


def config_overrides(iters=None, fine_iters=None, max_size=None, min_size=None, scale_factor=None, lr=None,
                     alpha=None, gp_weight=None, num_filters=None, max_filters=None, d_steps=None,
                     g_steps=None, noise_amp=None, seed=None) -> dict:
    """Config settings from training options (None keeps the preset's value)."""
    return dict(iters=iters, fine_iters=fine_iters, max_size=max_size, min_size=min_size,
                scale_factor=scale_factor, lr=lr, alpha=alpha,
                gp_weight=gp_weight, num_filters=num_filters, max_filters=max_filters, d_steps=d_steps,
                g_steps=g_steps, noise_amp_factor=noise_amp, seed=seed)
