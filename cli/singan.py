"""``singan``: train SinGAN on one image (or a folder of images), sample from it, and run the
paper's applications (Shaham et al. 2019; application commands in :mod:`cli.singan_apps`).

The commands only parse arguments, call :mod:`singan_kit.api` and print; problems the user can fix end in one
``Error: ...`` line and a non-zero exit.
"""

from __future__ import annotations

from pathlib import Path

import click

from cli.common import (
    NON_NEGATIVE_INT,
    POSITIVE_INT,
    LibraryDefault,
    OneLineErrorGroup,
    device_option,
    library_default,
    out_option,
    quiet_option,
    seed_option,
    threads_option,
)
from cli.singan_apps import animate, edit, harmonize, paint, sr
from cli.singan_common import (
    BATCH_SIZE_OPTION,
    config_overrides,
    consingan_options,
    echo_to_stderr,
    official_loop_options,
    patch_options,
    print_notes,
    print_outcome,
    training_options,
    user_errors,
)
from cli.singan_eval import eval_command
from cli.singan_patch_apps import COMMANDS as PATCH_COMMANDS
from cli.singan_report import report
from cli.singan_serve import serve
from ganbase.errors import UserError
from singan_kit import api


@click.group("singan", cls=OneLineErrorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="singan-kit", prog_name="singan")
def main() -> None:
    """SinGAN: learn a generative model from a single natural image."""


@main.command()
@click.argument("image", required=False)
@out_option("Run folder to write (default: runs/<image name>); for a folder of images, the folder that gets "
            "one run folder per image (default: runs).", dest="out_dir")
@click.option("--resume", "resume_dir", default=None, metavar="RUN",
              help="Continue an interrupted run folder from its last checkpoint.")
@click.option("--overwrite", is_flag=True, help="Replace an existing, non-empty output folder.")
@click.option("--checkpoint-minutes", type=click.FloatRange(min=0), show_default=True,
              default=LibraryDefault(lambda: api.CHECKPOINT_SECONDS / 60),
              help="SinGAN: save the scale in progress this often (0: as often as possible, every block of up "
                   "to 8 iterations).")
@click.option("--checkpoint-activations", is_flag=True,
              help="Recompute each convolution block's activations in the backward pass instead of keeping "
                   "them: much less memory for large images (--max-size 512/1024), same results, slower.")
@training_options
@official_loop_options
@consingan_options
@patch_options
@user_errors
def train(image, out_dir, resume_dir, overwrite, checkpoint_minutes, checkpoint_activations, preset, iters, fine_iters, max_size, min_size,
          scale_factor, lr, alpha, gp_weight, num_filters, max_filters, d_steps, g_steps, noise_amp, seed, device,
          threads, quiet, rec_noise, lr_milestone, generator_graph, upsample_precision, stages, concurrent_stages, lr_scale, patch_size, noise,
          pyramid_ratio, levels):
    """Train SinGAN on IMAGE, coarse to fine; saves after every scale and every few minutes within one.

    IMAGE may be a folder: one model per image, finished ones skipped, unfinished ones resumed.
    --preset consingan trains ConSinGAN (Hinz et al. 2021) instead.
    """
    from ganbase.runtime.device import resolve_device
    from ganbase.runtime.distributed import launched

    overrides = config_overrides(iters, fine_iters, max_size, min_size, scale_factor, lr, alpha, gp_weight,
                                 num_filters, max_filters, d_steps, g_steps, noise_amp, seed)
    overrides.update(rec_noise=rec_noise, lr_milestone=lr_milestone, generator_graph=generator_graph,
                     upsample_precision=upsample_precision,
                     num_stages=stages, concurrent_stages=concurrent_stages, lr_scale=lr_scale,
                     patch_size=patch_size, noise=noise, pyramid_ratio=pyramid_ratio, num_levels=levels)
    folder = api.is_folder_of(image, "image")
    if launched() and not folder:
        raise UserError("under torchrun, singan train takes a folder of images (each process trains its "
                        "share); train one image or --resume without torchrun")
    torch_device = resolve_device(device)
    echo = echo_to_stderr(quiet)
    options = dict(progress=not quiet, threads=threads, checkpoint_seconds=60 * checkpoint_minutes,
                   checkpoint_activations=checkpoint_activations)
    if resume_dir is not None:
        if image is not None or any(v is not None for v in overrides.values()):
            raise UserError("--resume continues a run with its saved settings; give no image or settings")
        echo(f"resuming {resume_dir}")
        model = api.train_run(None, Path(resume_dir), resume=True, device=torch_device,
                              on_scale_end=lambda s: echo(s.line()), **options)
        echo(f"done: {model.num_trained} scales in {resume_dir}; sample with: singan sample {resume_dir}")
        return
    if image is None:
        raise UserError("missing IMAGE (or use --resume RUN)")
    config = api.make_config(preset, **overrides)
    if folder:
        if overwrite:
            raise UserError("--overwrite is not available for folders: remove the runs to retrain")
        print_outcome(api.train_folder(image, out_dir or "runs", config, device, on_line=echo, **options), quiet=False)
        return
    run_dir = Path(out_dir) if out_dir else Path("runs") / Path(image).stem
    model = api.train_run(image, run_dir, config, overwrite=overwrite, device=torch_device,
                          on_scale_end=lambda s: echo(s.line()),
                          on_notes=lambda lines: print_notes(lines, quiet), **options)
    echo(f"done: {model.num_trained} scales in {run_dir}; sample with: singan sample {run_dir}")


@main.command()
@click.argument("run")
@click.option("--num", "-n", type=POSITIVE_INT, default=library_default(api.sample_runs, "num"), show_default=True,
              help="Number of samples.")
@click.option("--scale", "scale_text", default=library_default(api.sample_runs, "scale"), show_default=True,
              help="Size multiplier: one number for both sides or WxH (width x W, height x H). Resizes the "
                   "noise maps: retargeting. Use --start-scale 1 or 2 to keep large structures in place.")
@click.option("--start-scale", type=NON_NEGATIVE_INT, default=library_default(api.sample_runs, "start_scale"),
              show_default=True, help="Keep the real image's structure below this scale (0: fully random).")
@seed_option()
@out_option("Output folder (default: RUN/samples); for a folder of runs, <out>/<run name>.", dest="out_dir")
@BATCH_SIZE_OPTION
@click.option("--grid", is_flag=True, help="Also write grid.png, a contact sheet of all samples.")
# --- large outputs (issue 23): exact tiled sampling in bounded memory
@click.option("--size", "size_text", default=None, metavar="WxH",
              help="Exact output size in pixels, e.g. 3840x2160 (instead of --scale); sampled in exact tiles.")
@click.option("--tiled", is_flag=True, help="Sample --scale in exact tiles too (noise drawn per block: other "
                                            "samples than without it, the same for every tile and batch size).")
@click.option("--max-memory", default=None, metavar="SIZE",
              help="Memory to stay within, e.g. 2GB: sets the tile size and bounds the batch [what is available].")
# --- end large outputs
@device_option()
@threads_option("CPU threads for torch (default: all cores, shared out between torchrun processes).")
@quiet_option()
@user_errors
def sample(run, num, scale_text, start_scale, seed, out_dir, batch_size, grid, size_text, tiled, max_memory, device,
           threads, quiet):
    """Write NUM random samples of the SinGAN trained in RUN (or of every run in the folder RUN)."""
    outcome = api.sample_runs(run, out_dir, num, scale_text, start_scale, seed, batch_size, grid, device, threads,
                              progress=not quiet, size=size_text, tiled=tiled, max_memory=max_memory)
    print_outcome(outcome, quiet)


for command in (harmonize, edit, paint, animate, sr, report, eval_command):
    main.add_command(command)
main.add_command(serve)  # the web studio (issue 25)
for command in PATCH_COMMANDS:  # inpaint, analogy, style (issue 21)
    main.add_command(command)


if __name__ == "__main__":
    main()
