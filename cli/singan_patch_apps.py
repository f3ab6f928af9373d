"""``singan inpaint | analogy | style``: the patch re-synthesis applications of GPNN (Granot et al.,
CVPR 2022) and GPDM's style transfer (Elnekave & Weiss, ECCV 2022). Commands only parse options,
call :mod:`singan_kit.api` and print what it did; which runs they take is the library's decision.
"""

from __future__ import annotations

import click

from cli.common import POSITIVE_INT, device_option, out_option, quiet_option, seed_option
from cli.singan_common import print_notes, print_outcome, user_errors
from singan_kit import api

_START_LEVEL = click.option("--start-level", type=int, default=None,
                            help="Pyramid level to start from: 0 (coarsest) .. N; negative counts from the finest "
                                 "[5 levels below the finest, as the official GPNN code].")


@click.command()
@click.argument("run")
@click.option("--mask", required=True, help="White where the image is to be filled (a folder for a folder of runs).")
@click.option("--image", default=None, help="Image to fill, of the mask's size [the run's image].")
@_START_LEVEL
@out_option("Output image (default: RUN/inpainted.png); for a folder of runs, a folder of <run name>.png.")
@device_option()
@quiet_option("No notes.")
@user_errors
def inpaint(run, mask, image, start_level, out, device, quiet):
    """Fill the masked region of RUN's image (a gpnn run) from the rest of its patches."""
    print_outcome(api.inpaint_runs(run, mask, image, out, start_level, device,
                                   on_notes=lambda notes: print_notes(notes, quiet)), quiet)


@click.command()
@click.argument("run")
@click.option("--structure", required=True, help="Image whose layout to keep (a folder for a folder of runs).")
@_START_LEVEL
@out_option("Output image (default: RUN/analogy.png); for a folder of runs, a folder of <run name>.png.")
@device_option()
@quiet_option("No notes.")
@user_errors
def analogy(run, structure, start_level, out, device, quiet):
    """Structural analogy: the layout of --structure drawn with the patches of RUN's image (a gpnn run)."""
    print_outcome(api.analogy_runs(run, structure, out, start_level, device,
                                   on_notes=lambda notes: print_notes(notes, quiet)), quiet)


@click.command()
@click.argument("content")
@click.option("--style", required=True, help="Image whose patches repaint CONTENT.")
@out_option("Output image.", required=True)
@click.option("--iters", type=POSITIVE_INT, default=None, help="Adam steps [500, as the official GPDM code].")
@click.option("--max-size", type=POSITIVE_INT, default=None, help="Longer side of both images at most [256].")
@seed_option()
@device_option()
@quiet_option("No notes.")
@user_errors
def style(content, style, out, iters, max_size, seed, device, quiet):
    """GPDM style transfer: CONTENT repainted so its patches are distributed like --style's."""
    line = api.style_image(content, style, out, seed, iters, max_size, device,
                           on_notes=lambda notes: print_notes(notes, quiet))
    if not quiet:
        click.echo(line)


COMMANDS = (inpaint, analogy, style)
