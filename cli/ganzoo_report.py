"""``ganzoo report``: one self-contained HTML page about a GAN-zoo run folder.

Parses options, calls :func:`ganbase.zoo.api.report` and prints; user errors become one
``Error: ...`` line through the ``ganzoo`` group.
"""

from __future__ import annotations

from pathlib import Path

import click

from cli.common import SEED, checked_output
from ganbase.zoo import api


@click.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--out", "out_path", type=click.Path(path_type=Path), default=None, callback=checked_output,
              help="HTML file to write (default: RUN/report.html).")
@click.option("--data", default=None, help="Data to evaluate against (default: the run's own data).")
@click.option("--eval-num", type=int, default=1000, show_default=True,
              help="Samples for the evaluation (as `ganzoo eval`).")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--no-eval", is_flag=True, help="Leave out the evaluation table (faster).")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success.")
def report(run: Path, out_path: Path | None, data: str | None, eval_num: int, seed: int, device: str,
           no_eval: bool, quiet: bool) -> None:
    """Write an HTML report of the run in RUN: settings, loss curves, sample grids over training
    and the evaluation table. Images are embedded."""
    path = api.report(run, out_path, data=data, with_eval=not no_eval, eval_num=eval_num, seed=seed,
                      device=device)
    if not quiet:
        click.echo(f"wrote {path}")
