"""``singan report``: one self-contained HTML page about a trained SinGAN run (Shaham et al. 2019).

Parses options and calls :func:`singan_kit.report.build_report`; user errors end in one
``Error: ...`` line.
"""

from __future__ import annotations

import click

from cli.singan_common import echo_to_stderr, resolve, user_errors


@click.command()
@click.argument("run")
@click.option("--out", "out_path", default=None, help="HTML file to write (default: RUN/report.html).")
@click.option("--num", "-n", type=int, default=4, show_default=True,
              help="Samples per start scale and size.")
@click.option("--eval-num", type=int, default=50, show_default=True,
              help="Samples for the evaluation table (the slowest part).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed of every sample shown.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--no-eval", is_flag=True, help="Leave out the evaluation table (faster).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@user_errors
def report(run, out_path, num, eval_num, seed, device, no_eval, quiet):
    """Write an HTML report of the SinGAN trained in RUN: pyramid, per-scale previews and losses,
    samples at several start scales and sizes, and the evaluation table. Images are embedded."""
    from singan_kit.report import build_report

    path = build_report(run, out_path, num_samples=num, seed=seed, device=resolve(device),
                        with_eval=not no_eval, eval_num=eval_num, progress=not quiet)
    echo_to_stderr(quiet)(f"wrote {path}")
