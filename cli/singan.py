"""``singan``: train SinGAN on one image and sample from it (Shaham et al. 2019).

The commands only parse arguments and call ``singan_kit``; problems the user can fix end in one
``Error: ...`` line and a non-zero exit.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from ganbase.errors import UserError


def user_errors(func):
    """Turn library errors into one-line click errors; Ctrl-C into a clean exit 130."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except UserError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            click.echo("\nInterrupted.", err=True)
            sys.exit(130)
        except MemoryError:
            raise click.ClickException("out of memory: try a smaller --max-size or --batch-size") from None

    return wrapper


def _device(spec: str):
    from ganbase.device import resolve_device

    return resolve_device(spec)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="singan-kit", prog_name="singan")
def main() -> None:
    """SinGAN: learn a generative model from a single natural image."""


@main.command()
@click.argument("image", required=False)
@click.option("--out", "out_dir", default=None, help="Run folder to write (default: runs/<image name>).")
@click.option("--preset", type=click.Choice(["paper", "fast", "tiny"]), default="paper", show_default=True,
              help="paper: the paper's defaults; fast: fewer iterations for CPUs; tiny: seconds, for tests.")
@click.option("--resume", "resume_dir", default=None, metavar="RUN",
              help="Continue an interrupted run folder from its last finished scale.")
@click.option("--overwrite", is_flag=True, help="Replace an existing, non-empty output folder.")
@click.option("--iters", type=int, default=None, help="Iterations per scale [paper: 2000].")
@click.option("--max-size", type=int, default=None, help="Longer side of the finest scale [250].")
@click.option("--min-size", type=int, default=None, help="Shorter side of the coarsest scale [25].")
@click.option("--scale-factor", type=float, default=None, help="Initial pyramid factor [0.75].")
@click.option("--lr", type=float, default=None, help="Adam learning rate of G and D [5e-4].")
@click.option("--alpha", type=float, default=None, help="Reconstruction loss weight [10].")
@click.option("--gp-weight", type=float, default=None, help="Gradient penalty weight [0.1].")
@click.option("--num-filters", type=int, default=None, help="Filters at the coarsest scale [32].")
@click.option("--max-filters", type=int, default=None, help="Maximum filters per layer [128].")
@click.option("--d-steps", type=int, default=None, help="Critic steps per iteration [3].")
@click.option("--g-steps", type=int, default=None, help="Generator steps per iteration [3].")
@click.option("--noise-amp", type=float, default=None, help="Noise amplitude factor [0.1].")
@click.option("--seed", type=int, default=None, help="Random seed [0].")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--threads", type=int, default=None, help="CPU threads (default: chosen per scale).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars or summaries.")
@user_errors
def train(image, out_dir, preset, resume_dir, overwrite, iters, max_size, min_size, scale_factor, lr,
          alpha, gp_weight, num_filters, max_filters, d_steps, g_steps, noise_amp, seed, device,
          threads, quiet):
    """Train SinGAN on IMAGE, coarse to fine; saves after every scale."""
    from singan_kit.config import make_config
    from singan_kit.train import train as train_run

    overrides = dict(iters=iters, max_size=max_size, min_size=min_size, scale_factor=scale_factor,
                     lr_generator=lr, lr_discriminator=lr, alpha=alpha, gp_weight=gp_weight,
                     num_filters=num_filters, max_filters=max_filters, d_steps=d_steps, g_steps=g_steps,
                     noise_amp_factor=noise_amp, seed=seed)
    if threads is not None and threads < 1:
        raise UserError("--threads must be >= 1")
    torch_device = _device(device)
    echo = (lambda message: None) if quiet else (lambda message: click.echo(message, err=True))
    if resume_dir is not None:
        if image is not None or any(v is not None for v in overrides.values()):
            raise UserError("--resume continues a run with its saved settings; give no image or settings")
        run_dir, resume, config = Path(resume_dir), True, None
        echo(f"resuming {run_dir}")
    else:
        if image is None:
            raise UserError("missing IMAGE (or use --resume RUN)")
        config = make_config(preset, **overrides)
        run_dir = Path(out_dir) if out_dir else Path("runs") / Path(image).stem
        resume = False
    model = train_run(image, run_dir, config, device=torch_device, resume=resume, overwrite=overwrite,
                      progress=not quiet, on_scale_end=lambda s: echo(s.line()), threads=threads,
                      on_notes=lambda notes: [echo(f"note: {n}") for n in notes])
    echo(f"done: {model.num_trained} scales in {run_dir}; sample with: singan sample {run_dir}")


@main.command()
@click.argument("run")
@click.option("--num", "-n", type=int, default=50, show_default=True, help="Number of samples.")
@click.option("--scale", "scale_text", default="1", show_default=True,
              help="Size multiplier: one number for both sides or WxH (width x W, height x H).")
@click.option("--start-scale", type=int, default=0, show_default=True,
              help="Keep the real image's structure below this scale (0: fully random).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--out", "out_dir", default=None, help="Output folder (default: RUN/samples).")
@click.option("--batch-size", type=int, default=16, show_default=True, help="Samples per batch.")
@click.option("--grid", is_flag=True, help="Also write grid.png, a contact sheet of all samples.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@user_errors
def sample(run, num, scale_text, start_scale, seed, out_dir, batch_size, grid, device, quiet):
    """Write NUM random samples of the SinGAN trained in RUN."""
    from tqdm.auto import tqdm

    from singan_kit.run_folder import load_model
    from singan_kit.sample import generate, parse_scale, write_samples

    scale_w, scale_h = parse_scale(scale_text)
    if num < 1:
        raise UserError(f"--num must be >= 1, got {num}")
    model = load_model(run, _device(device))
    out = Path(out_dir) if out_dir else Path(run) / "samples"
    with tqdm(total=num, desc="sampling", unit="img", disable=quiet, leave=False) as bar:
        samples = generate(model, num, scale_w, scale_h, start_scale, seed, batch_size, on_batch=bar.update)
    paths = write_samples(samples, out, grid=grid)
    if not quiet:
        height, width = samples.shape[-2:]
        click.echo(f"wrote {num} samples of {width}x{height} px to {out}" + (" (+ grid.png)" if grid else ""),
                   err=True)
    return paths


if __name__ == "__main__":
    main()
