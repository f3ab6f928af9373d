"""``singan serve``: the local web studio (issue 25) over the runs folder; parses options and starts
:func:`studio.app.serve`. User errors end in one ``Error: ...`` line.
"""

from __future__ import annotations

import click

import studio
from cli.singan_common import user_errors
from ganbase.errors import UserError


@click.command()
@click.option("--runs", "runs_dir", default=studio.RUNS, show_default=True, metavar="DIR",
              help="Folder of run folders to show; new runs are trained into it.")
@click.option("--host", default=studio.HOST, show_default=True,
              help="Address to listen on. Anything but loopback lets others on the network use the studio.")
@click.option("--port", type=click.IntRange(1, 65535), default=studio.PORT, show_default=True, help="Port.")
@user_errors
def serve(runs_dir, host, port):
    """Open the web studio: train, sample, harmonize, edit, paint and animate from a browser."""
    try:
        from studio.app import serve as run_server
    except ImportError as exc:
        raise UserError(f"singan serve needs the serve extra ({exc.name} is missing): "
                        "pip install 'singan-kit[serve]'") from None
    if not studio.is_loopback(host):
        click.echo(f"warning: listening on {host}: anyone who can reach this machine on port {port} can use "
                   "the studio, its runs and its CPU/GPU", err=True)
    click.echo(f"SinGAN studio on http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port} "
               f"(runs in {runs_dir}); Ctrl-C to stop", err=True)
    run_server(runs_dir, host, port)
