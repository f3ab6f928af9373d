"""``singan harmonize | edit | paint | animate | sr``: SinGAN's applications (Shaham et al. 2019).

Each command works on one run folder, or on a folder of run folders with inputs matched by file
name (see :mod:`singan_kit.batch.folders`). Commands only parse options, call :mod:`singan_kit.api`
and print what it did.
"""

from __future__ import annotations

import click

from cli.common import (
    FRACTION,
    NON_NEGATIVE_FLOAT,
    NON_NEGATIVE_INT,
    POSITIVE_FLOAT,
    POSITIVE_INT,
    device_option,
    library_default,
    out_option,
    quiet_option,
    seed_option,
)
from cli.singan_common import (
    config_overrides,
    echo_to_stderr,
    print_notes,
    print_outcome,
    training_options,
    user_errors,
)
from ganbase.errors import UserError
from singan_kit import api


def _blend_options(image_option: str, image_help: str, defaults: api.BlendSettings):
    def decorate(func):
        options = [
            click.argument("run"),
            click.option(image_option, "source", required=True, help=image_help),
            click.option("--mask", required=True,
                         help="Mask of the same size, white where the image changed (grey is thresholded)."),
            click.option("--inject-scale", type=int, required=True,
                         help="Scale to inject at: 1 (coarsest possible) .. N (finest); -1 is the finest."),
            out_option("Output image (default: RUN/<command>.png); for a folder of runs, a folder of "
                       "<run name>.png."),
            seed_option(),
            click.option("--dilate", type=NON_NEGATIVE_INT, default=None,
                         help=f"Mask dilation radius in px [{defaults.dilation_radius}, as the official code]."),
            click.option("--blur", type=NON_NEGATIVE_FLOAT, default=None,
                         help=f"Mask blur sigma in px [{defaults.blur_sigma:g}]."),
        ]
        for option in reversed(options):
            func = option(func)
        return func
    return decorate


@click.command()
@_blend_options("--naive", "The background with the object pasted in (a folder for a folder of runs).",
                api.HARMONIZATION_BLEND)
@click.option("--fine-tune", type=NON_NEGATIVE_INT, default=library_default(api.harmonize_runs, "fine_tune"),
              show_default=True,
              help="First fine-tune the finest scale for this many iterations on the naive image.")
@device_option()
@quiet_option("No progress or notes.")
@user_errors
def harmonize(run, source, mask, inject_scale, out, seed, dilate, blur, fine_tune, device, quiet):
    """Harmonize an object pasted into the background that RUN was trained on."""
    print_outcome(api.harmonize_runs(run, source, mask, inject_scale, out, seed, dilate, blur, fine_tune, device,
                                     progress=not quiet, on_notes=lambda notes: print_notes(notes, quiet)), quiet)


@click.command()
@_blend_options("--edited", "A copy-paste edit of the training image (a folder for a folder of runs).",
                api.EDITING_BLEND)
@device_option()
@quiet_option("No notes.")
@user_errors
def edit(run, source, mask, inject_scale, out, seed, dilate, blur, device, quiet):
    """Blend a user's copy-paste edit into the patch statistics of RUN's training image."""
    print_outcome(api.edit_runs(run, source, mask, inject_scale, out, seed, dilate, blur, device,
                                on_notes=lambda notes: print_notes(notes, quiet)), quiet)


@click.command()
@click.argument("run")
@click.option("--paint", "painting", required=True, help="Clip-art painting (a folder for a folder of runs).")
@click.option("--inject-scale", type=int, required=True,
              help="Scale to inject at: 1 (coarsest possible) .. N (finest); -1 is the finest.")
@click.option("--quantize", type=click.IntRange(min=2), default=None,
              help="Quantize the training image to K colours and retrain the injection scale on it "
                   "(the official code uses 5).")
@click.option("--quantize-iters", type=POSITIVE_INT, default=None,
              help="Iterations of that retraining [the scale's training iterations].")
@out_option("Output image (default: RUN/painted.png); for a folder of runs, a folder of <run name>.png.")
@seed_option()
@device_option()
@quiet_option("No progress or notes.")
@user_errors
def paint(run, painting, inject_scale, quantize, quantize_iters, out, seed, device, quiet):
    """Turn a clip-art painting into an image with the textures of RUN's training image."""
    print_outcome(api.paint_runs(run, painting, inject_scale, quantize, quantize_iters, out, seed, device,
                                 progress=not quiet, on_notes=lambda notes: print_notes(notes, quiet)), quiet)


@click.command()
@click.argument("run")
@click.option("--frames", type=click.IntRange(min=2), default=library_default(api.animate_runs, "frames"),
              show_default=True, help="Number of frames.")
@click.option("--start-scale", type=NON_NEGATIVE_INT, default=library_default(api.animate_runs, "start_scale"),
              show_default=True, help="Scales below this follow the training image (higher: smaller motions).")
@click.option("--alpha", type=FRACTION, default=library_default(api.animate_runs, "alpha"), show_default=True,
              help="Pull towards the training image.")
@click.option("--beta", type=FRACTION, default=library_default(api.animate_runs, "beta"), show_default=True,
              help="Momentum of the walk (smoothness).")
@click.option("--fps", type=POSITIVE_FLOAT, default=library_default(api.animate_runs, "fps"), show_default=True,
              help="Frames per second.")
@click.option("--loop", is_flag=True, help="Make the last frame lead back into the first.")
@out_option("clip.gif or clip.mp4 (default: RUN/animation.gif); for a folder of runs, a folder of "
            "<run name>.gif.")
@click.option("--scale", "scale_text", default=library_default(api.animate_runs, "scale"), show_default=True,
              help="Frame size multiplier: one number or WxH; the layout is the training image's, resized.")
@click.option("--size", "size_text", default=None, metavar="WxH",
              help="Exact frame size in pixels, e.g. 1920x1080 (instead of --scale); large frames run in exact tiles.")
@click.option("--max-memory", default=None, metavar="SIZE",
              help="Memory to stay within, e.g. 2GB: sets the tile size of large frames [what is available].")
@seed_option()
@device_option()
@quiet_option()
@user_errors
def animate(run, frames, start_scale, alpha, beta, fps, loop, out, scale_text, size_text, max_memory, seed, device,
            quiet):
    """Write an animation of RUN's training image: a smooth random walk in its noise maps, written
    frame by frame."""
    print_outcome(api.animate_runs(run, frames, start_scale, alpha, beta, fps, loop, out, seed, device,
                                   progress=not quiet, scale=scale_text, size=size_text, max_memory=max_memory),
                  quiet)


@click.command()
@click.argument("image")
@click.option("--factor", type=float, default=library_default(api.super_resolve_images, "factor"), show_default=True,
              help="Upscaling factor, any value > 1.")
@out_option("Output image; for a folder of images, a folder of <name>.png.", required=True)
@click.option("--run", "run_dir", default=None,
              help="Run folder of the SR model: reused when finished, resumed or created otherwise "
                   "(default: a temporary one); for a folder of images, a folder of runs.")
@click.option("--size", "size_text", default=None, metavar="WxH",
              help="Exact output size in pixels with the image's aspect ratio, e.g. 3840x2160 (instead of "
                   "--factor); large outputs run in exact tiles.")
@click.option("--max-memory", default=None, metavar="SIZE",
              help="Memory to stay within, e.g. 2GB: sets the tile size of large outputs [what is available].")
@training_options
@user_errors
def sr(image, factor, out, run_dir, size_text, max_memory, preset, iters, fine_iters, max_size, min_size,
       scale_factor, lr, alpha, gp_weight, num_filters, max_filters, d_steps, g_steps, noise_amp, seed, device,
       threads, quiet):
    """Super-resolve IMAGE: train SinGAN on it in SR mode and upscale it FACTOR times (or to --size)."""
    if size_text is not None and click.get_current_context().get_parameter_source("factor").name != "DEFAULT":
        raise UserError("give --factor or --size, not both")
    echo = echo_to_stderr(quiet)
    overrides = config_overrides(iters, fine_iters, max_size, min_size, scale_factor, lr, alpha, gp_weight,
                                 num_filters, max_filters, d_steps, g_steps, noise_amp, seed)
    print_outcome(api.super_resolve_images(image, out, factor, run_dir, preset, overrides, seed, device, threads,
                                           progress=not quiet, on_scale_end=lambda s: echo(s.line()),
                                           on_notes=lambda notes: print_notes(notes, quiet),
                                           size=size_text, max_memory=max_memory), quiet)
