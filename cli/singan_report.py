"""``singan report``: one self-contained HTML page about a trained SinGAN run (Shaham et al. 2019).

Parses options and calls :func:`singan_kit.api.report`; user errors end in one ``Error: ...`` line.
"""

from __future__ import annotations

import click

from cli.common import device_option, library_default, out_option, quiet_option, seed_option
from cli.singan_common import echo_to_stderr, user_errors
from singan_kit import api


@click.command()
@click.argument("run")
@out_option("HTML file to write (default: RUN/report.html).", dest="out_path")
@click.option("--num", "-n", type=int, default=library_default(api.report, "num"), show_default=True,
              help="Samples per start scale and size.")
@click.option("--eval-num", type=int, default=library_default(api.report, "eval_num"), show_default=True,
              help="Samples for the evaluation table (the slowest part).")
@seed_option("Random seed of every sample shown.")
@device_option()
@click.option("--no-eval", is_flag=True, help="Leave out the evaluation table (faster).")
@quiet_option()
@user_errors
def report(run, out_path, num, eval_num, seed, device, no_eval, quiet):
    """Write an HTML report of the SinGAN trained in RUN: pyramid, per-scale previews and losses,
    samples at several start scales and sizes, and the evaluation table. Images are embedded."""
    path = api.report(run, out_path, num, eval_num, seed, device, with_eval=not no_eval, progress=not quiet)
    echo_to_stderr(quiet)(f"wrote {path}")
