"""``singan``: train SinGAN on one image (or a folder of images), sample from it, and run the
paper's applications (Shaham et al. 2019; application commands in :mod:`cli.singan_apps`).

The commands only parse arguments and call ``singan_kit``; problems the user can fix end in one
``Error: ...`` line and a non-zero exit.
"""

from __future__ import annotations

from pathlib import Path

import click

from cli.common import NON_NEGATIVE_INT, POSITIVE_INT, OneLineErrorGroup
from cli.singan_apps import animate, edit, harmonize, paint, sr
from cli.singan_common import (
    BATCH_SIZE_OPTION,
    config_overrides,
    consingan_options,
    echo_to_stderr,
    resolve,
    training_options,
    user_errors,
)
from cli.singan_eval import eval_command
from cli.singan_report import report
from ganbase.errors import UserError


@click.group("singan", cls=OneLineErrorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="singan-kit", prog_name="singan")
def main() -> None:
    """SinGAN: learn a generative model from a single natural image."""


@main.command()
@click.argument("image", required=False)
@click.option("--out", "out_dir", default=None,
              help="Run folder to write (default: runs/<image name>); for a folder of images, the "
                   "folder that gets one run folder per image (default: runs).")
@click.option("--resume", "resume_dir", default=None, metavar="RUN",
              help="Continue an interrupted run folder from its last checkpoint.")
@click.option("--overwrite", is_flag=True, help="Replace an existing, non-empty output folder.")
@click.option("--checkpoint-minutes", type=click.FloatRange(min=0), default=5.0, show_default=True,
              help="SinGAN: save the scale in progress this often (0: as often as possible, every block of up "
                   "to 8 iterations).")
@training_options
@consingan_options
@user_errors
def train(image, out_dir, resume_dir, overwrite, checkpoint_minutes, preset, iters, fine_iters, max_size, min_size,
          scale_factor, lr, alpha, gp_weight, num_filters, max_filters, d_steps, g_steps, noise_amp, seed, device,
          threads, quiet, stages, concurrent_stages, lr_scale):
    """Train SinGAN on IMAGE, coarse to fine; saves after every scale and every few minutes within one.

    IMAGE may be a folder: one model per image, finished ones skipped, unfinished ones resumed.
    --preset consingan trains ConSinGAN (Hinz et al. 2021) instead.
    """
    from ganbase.runtime.distributed import launched
    from singan_kit.architectures.singan.config import make_config
    from singan_kit.architectures.singan.train import train as train_run

    overrides = config_overrides(iters, fine_iters, max_size, min_size, scale_factor, lr, alpha, gp_weight,
                                 num_filters, max_filters, d_steps, g_steps, noise_amp, seed)
    overrides.update(num_stages=stages, concurrent_stages=concurrent_stages, lr_scale=lr_scale)
    if launched() and (image is None or not Path(image).is_dir()):
        raise UserError("under torchrun, singan train takes a folder of images (each process trains its "
                        "share); train one image or --resume without torchrun")
    torch_device = resolve(device)
    echo = echo_to_stderr(quiet)
    options = dict(device=torch_device, progress=not quiet, on_scale_end=lambda s: echo(s.line()), threads=threads,
                   checkpoint_seconds=60 * checkpoint_minutes)
    if resume_dir is not None:
        if image is not None or any(v is not None for v in overrides.values()):
            raise UserError("--resume continues a run with its saved settings; give no image or settings")
        echo(f"resuming {resume_dir}")
        model = train_run(None, Path(resume_dir), resume=True, **options)
        echo(f"done: {model.num_trained} scales in {resume_dir}; sample with: singan sample {resume_dir}")
        return
    if image is None:
        raise UserError("missing IMAGE (or use --resume RUN)")
    config = make_config(preset, **overrides)

    def notes(lines: list[str]) -> None:
        for line in lines:
            echo(f"note: {line}")

    if Path(image).is_dir():
        from singan_kit.batch.folders import summary_table
        from singan_kit.batch.sharding import folder_world
        from singan_kit.batch.train_folder import train_images

        if overwrite:
            raise UserError("--overwrite is not available for folders: remove the runs to retrain")
        with folder_world(device, threads) as (world, process_device):
            def say(line: str) -> None:
                echo(world.prefix() + line)

            def rank_notes(lines: list[str]) -> None:
                for line in lines:
                    say(f"note: {line}")

            options.update(device=process_device, progress=not quiet and world.is_main,
                           on_scale_end=lambda s: say(s.line()))
            results = train_images(image, Path(out_dir or "runs"), config, world=world, on_notes=rank_notes,
                                   on_start=lambda path, run: say(f"training {path.name} -> {run}"), **options)
        if world.is_main:
            click.echo(summary_table(results), err=True)
            if all(r.status == "failed" for r in results):
                raise UserError("every image failed")
        return
    run_dir = Path(out_dir) if out_dir else Path("runs") / Path(image).stem
    model = train_run(image, run_dir, config, overwrite=overwrite, on_notes=notes, **options)
    echo(f"done: {model.num_trained} scales in {run_dir}; sample with: singan sample {run_dir}")


@main.command()
@click.argument("run")
@click.option("--num", "-n", type=POSITIVE_INT, default=50, show_default=True, help="Number of samples.")
@click.option("--scale", "scale_text", default="1", show_default=True,
              help="Size multiplier: one number for both sides or WxH (width x W, height x H). Resizes the "
                   "noise maps: retargeting. Use --start-scale 1 or 2 to keep large structures in place.")
@click.option("--start-scale", type=NON_NEGATIVE_INT, default=0, show_default=True,
              help="Keep the real image's structure below this scale (0: fully random).")
@click.option("--seed", type=NON_NEGATIVE_INT, default=0, show_default=True, help="Random seed.")
@click.option("--out", "out_dir", default=None,
              help="Output folder (default: RUN/samples); for a folder of runs, <out>/<run name>.")
@BATCH_SIZE_OPTION
@click.option("--grid", is_flag=True, help="Also write grid.png, a contact sheet of all samples.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--threads", type=POSITIVE_INT, default=None,
              help="CPU threads for torch (default: all cores, shared out between torchrun processes).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@user_errors
def sample(run, num, scale_text, start_scale, seed, out_dir, batch_size, grid, device, threads, quiet):
    """Write NUM random samples of the SinGAN trained in RUN (or of every run in the folder RUN)."""
    from tqdm.auto import tqdm

    from ganbase.runtime.distributed import launched
    from ganbase.runtime.threads import restored_threads
    from singan_kit.batch.folders import (
        find_runs,
        is_run_folder,
        run_each,
        summary_table,
    )
    from singan_kit.batch.sharding import folder_world, gather_results
    from singan_kit.run_folder import ALL_ARCHITECTURES, load_model
    from singan_kit.sample import generate, parse_scale, write_samples

    scale_w, scale_h = parse_scale(scale_text)
    if num < 1:
        raise UserError(f"--num must be >= 1, got {num}")
    torch_device = resolve(device)
    echo = echo_to_stderr(quiet)

    def sample_run(run_dir: Path, out: Path, torch_device, bar_off: bool = quiet) -> str:
        if out.exists() and not out.is_dir():
            raise UserError(f"--out {out} is a file; samples are written to a folder")
        model = load_model(run_dir, torch_device, architectures=ALL_ARCHITECTURES)
        if start_scale >= model.num_trained:  # checked before the progress bar starts
            raise UserError(f"start scale must be between 0 and {model.num_trained - 1}, got {start_scale}")
        with tqdm(total=num, desc=f"sampling {run_dir.name}", unit="img", disable=bar_off, leave=False) as bar:
            samples = generate(model, num, scale_w, scale_h, start_scale, seed, batch_size, on_batch=bar.update)
        write_samples(samples, out, grid=grid)
        height, width = samples.shape[-2:]
        return f"wrote {num} samples of {width}x{height} px to {out}" + (" (+ grid.png)" if grid else "")

    if is_run_folder(run) or not Path(run).is_dir():
        if launched():
            raise UserError("under torchrun, singan sample takes a folder of runs; sample one run without it")
        with restored_threads(threads):
            echo(sample_run(Path(run), Path(out_dir) if out_dir else Path(run) / "samples", torch_device))
        return
    names = [r.name for r in find_runs(run)]
    with folder_world(device, threads) as (world, process_device):
        results = run_each(world.shard(names), lambda name: sample_run(
            Path(run) / name, Path(out_dir) / name if out_dir else Path(run) / name / "samples",
            process_device, quiet or not world.is_main))
        results = gather_results(world, results, names)
    if world.is_main:
        click.echo(summary_table(results), err=True)
        if all(r.status == "failed" for r in results):
            raise UserError("every run failed")


for command in (harmonize, edit, paint, animate, sr, report, eval_command):
    main.add_command(command)


if __name__ == "__main__":
    main()
