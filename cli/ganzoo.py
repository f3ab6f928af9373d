"""``ganzoo``: command line for the GAN model zoo (list, train, sample, mix, interpolate,
translate, eval, report).

Parses options, calls :mod:`ganbase.zoo.api` and prints; user errors print one ``Error: ...`` line
and exit non-zero. Models and their papers: ``ganzoo list``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cli.common import POSITIVE_INT, SEED, FiniteFloatRange, OneLineErrorGroup, checked_output
from cli.ganzoo_eval import echo_scores, eval_alias, eval_command
from cli.ganzoo_report import report
from cli.ganzoo_stylize import stylize
from ganbase import __version__
from ganbase.zoo import api

_TRAIN, _DATA = api.TrainConfig, api.DataConfig  # the library's defaults, shown by --help


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _paper_defaults(setting: str) -> tuple[str, list[tuple[str, str]]]:
    """The library's paper defaults of ``setting`` for the help texts: (the common value,
    [(models, their value)]); the models are named ``a/b``, or "the translation models"."""
    base, exceptions = api.paper_default_exceptions(setting)
    translators = sorted(info.name for info in api.models()[1])
    return _number(base), [("the translation models" if sorted(names) == translators else "/".join(names),
                            _number(value)) for value, names in exceptions.items()]


def _batch_size_help() -> str:
    base, others = _paper_defaults("batch_size")
    return f"[default: the model's paper: {'; '.join([base] + [f'{names} {value}' for names, value in others])}]"


def _others_else_help(setting: str) -> str:
    base, others = _paper_defaults(setting)
    return f"[default: {'; '.join(f'{value} for {names}' for names, value in others)}, else {base}]"


@click.group("ganzoo", cls=OneLineErrorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ganzoo")
def main() -> None:
    """GAN model zoo: classic GANs, a VAE and image-to-image translators, one shared trainer.

    \b
    ganzoo list
    ganzoo train dcgan --data digits --out runs/dcgan --steps 5000
    ganzoo sample runs/dcgan --num 64 --grid grid.png
    ganzoo interpolate runs/dcgan --steps 8 --out interp.png
    ganzoo train stylegan2 --data faces --out runs/sg2 --steps 3000 --image-size 32
    ganzoo sample runs/sg2 --truncation 0.7 --grid trunc.png
    ganzoo mix runs/sg2 --rows 4 --cols 4 --out mix.png
    ganzoo train pix2pix --data edges2photos --image-size 64 --out runs/p2p --steps 2000
    ganzoo translate runs/p2p photos/ --out translated/ --compare compare.png
    ganzoo eval runs/p2p
    """


@main.command("list")
def list_models() -> None:
    """Show every model (data it needs, description, paper) and the built-in datasets."""
    for title, group in zip(("", "\nImage-to-image translators:\n"), api.models()):
        if title:
            click.echo(title.rstrip("\n"))
        width = max(len(info.name) for info in group)
        click.echo(f"{'MODEL':<{width}}  {'DATA':<13}  DESCRIPTION / PAPER")
        for info in group:
            click.echo(f"{info.name:<{width}}  {info.data_kind:<13}  {info.description}")
            click.echo(f"{'':<{width}}  {'':<13}  {info.paper}")
    click.echo("\nBuilt-in datasets (--data NAME or NAME:COUNT):")
    for name, text in api.datasets().items():
        click.echo(f"  {name:<14} {text}")


@main.command()
@click.argument("model")
@click.option("--data", help="Image folder, labeled folder (one subfolder per class), paired/"
              "unpaired folder (A/ and B/), domain folder or CSV, or built-in: digits[:N], "
              "shapes[:N], faces, gaussians, edges2photos[:N], gray2color[:N], textures[:N], "
              "colored-shapes[:N].")
@click.option("--out", "out", required=True, callback=checked_output, type=click.Path(file_okay=False, path_type=Path),
              help="Run folder for config, checkpoints, log.csv and sample grids.")
@click.option("--steps", type=int, default=None, help="Total training steps (generator "
              f"iterations)  [default: {api.DEFAULT_STEPS}]; with --resume, a new total.")
@click.option("--batch-size", type=int, default=None, help=_batch_size_help())
@click.option("--image-size", type=click.IntRange(4, 1024), default=_DATA.image_size, show_default=True,
              help="Images are centre-cropped and resized to this (a power of two for conv models).")
@click.option("--channels", type=int, default=None, help="1 (grayscale) or 3 (RGB)  "
              "[default: the data's own]")
@click.option("--seed", type=SEED, default=_TRAIN.seed, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--amp", is_flag=True, help="Mixed precision (float16 autocast, CUDA only).")
@click.option("--ema-decay", type=float, default=None,
              help="Keep an exponential moving average of the generator (e.g. 0.999); 0 = off  "
              + _others_else_help("ema_decay"))
@click.option("--lr-schedule", type=click.Choice(["constant", "linear", "hold-linear"]),
              default=None, help="linear decays learning rates to 0 at the last step; "
              "hold-linear keeps them for the first half  " + _others_else_help("lr_schedule"))
@click.option("--sample-every", type=int, default=_TRAIN.sample_every, show_default=True,
              help="Write a sample grid to RUN/samples every N steps.")
@click.option("--checkpoint-every", type=int, default=_TRAIN.checkpoint_every, show_default=True)
@click.option("--log-every", type=int, default=_TRAIN.log_every, show_default=True)
@click.option("--option", "-o", "options", multiple=True, metavar="KEY=VALUE",
              help="Model setting, repeatable, e.g. -o latent_dim=64 -o width=32.")
@click.option("--direction", type=click.Choice(["AtoB", "BtoA"]), default=_DATA.direction,
              show_default=True, help="Translation data: which side is the input.")
@click.option("--no-jitter", is_flag=True, help="Translation data: no random resize+crop.")
@click.option("--no-flip", is_flag=True, help="Translation data: no random horizontal flips.")
@click.option("--resume", is_flag=True, help="Continue the run in --out with its saved settings "
              "(only --steps and --device may change).")
@click.option("--threads", type=POSITIVE_INT, default=None, help="CPU threads for torch.")
@click.option("--sync-batchnorm", is_flag=True, help="Under torchrun on GPUs: BatchNorm statistics "
              "over the global batch (SyncBatchNorm).")
@click.option("--style-data", default=None, metavar="FOLDER",
              help="adain: the style images (--data holds the content images).")
@click.option("--vgg-weights", default=None, metavar="PATH", help="adain: a local VGG-19 file "
              "(vgg19-dcbb9e9d.pth or vgg_normalised.pth; .pth or .safetensors)  [default: $GANBASE_VGG_WEIGHTS]")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
@click.pass_context
def train(ctx: click.Context, model: str, data: str | None, out: Path, steps: int | None,
          batch_size: int | None, image_size: int, channels: int | None, seed: int, device: str,
          amp: bool, ema_decay: float | None, lr_schedule: str | None, sample_every: int,
          checkpoint_every: int, log_every: int, options: tuple[str, ...], direction: str,
          no_jitter: bool, no_flip: bool, resume: bool, threads: int | None, sync_batchnorm: bool,
          style_data: str | None, vgg_weights: str | None, quiet: bool) -> None:
    """Train MODEL (see `ganzoo list`) and write a run folder.

    Under torchrun: DistributedDataParallel, --batch-size is the global batch split over the processes.
    """
    if resume:
        given = [name for name in ctx.params
                 if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE]
        result = api.resume(model, out, steps=steps, device=device, threads=threads,
                            sync_batchnorm=sync_batchnorm, quiet=quiet, given=given)
    else:
        result = api.train(model, out, data, steps=steps, batch_size=batch_size, image_size=image_size,
                           channels=channels, seed=seed, device=device, amp=amp, ema_decay=ema_decay,
                           lr_schedule=lr_schedule, sample_every=sample_every,
                           checkpoint_every=checkpoint_every, log_every=log_every, options=options,
                           direction=direction, jitter=not no_jitter, flip=not no_flip, threads=threads,
                           sync_batchnorm=sync_batchnorm, quiet=quiet, style_data=style_data,
                           vgg_weights=vgg_weights)
    if not quiet and result.is_main:
        losses = ", ".join(f"{key} {value:.4f}" for key, value in result.losses.items())
        next_command = "translate {out} INPUT --out DIR" if api.is_translator(model) \
            else "sample {out} --grid grid.png"
        click.echo(f"done: {out} ({losses}); grids in {out / 'samples'}; "
                   f"try `ganzoo {next_command.format(out=out)}`")
        if result.data_kind == "paired":
            scores = api.held_out_scores(out, device, threads)
            if scores is not None:
                echo_scores(scores)


@main.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--num", "-n", type=int, default=64, show_default=True)
@click.option("--out", "out_dir", callback=checked_output, type=click.Path(file_okay=False, path_type=Path),
              help="Write one PNG per sample into this folder (points: samples.csv).")
@click.option("--grid", callback=checked_output, type=click.Path(dir_okay=False, path_type=Path),
              help="Write a contact sheet PNG (points: a scatter plot).")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--label", default=None, help="Class index or name for conditional models.")
@click.option("--no-ema", is_flag=True, help="Use the raw generator even if the run kept an EMA.")
@click.option("--truncation", type=FiniteFloatRange(), default=None, help="stylegan/stylegan2: truncation psi "
              "in w (1 = none, 0 = the average image; 0.7 is typical).")
@click.option("--vary-noise", is_flag=True, help="stylegan/stylegan2: one latent (from --seed), "
              "--num different noise inputs.")
@click.option("--device", default="auto", show_default=True)
def sample(run: Path, num: int, out_dir: Path | None, grid: Path | None, seed: int,
           label: str | None, no_ema: bool, truncation: float | None, vary_noise: bool,
           device: str) -> None:
    """Draw samples from the trained model in RUN."""
    samples = api.sample(run, num, seed, label, not no_ema, truncation, vary_noise, device)
    if out_dir is None and grid is None:
        grid = api.default_grid(run, seed)
    if out_dir is not None:
        api.save_samples(samples, out_dir)
        click.echo(f"wrote {num} samples to {out_dir}")
    if grid is not None:
        api.save_grid(samples, grid)
        click.echo(f"wrote {grid} ({num} samples, {samples.model} at step {samples.step})")


@main.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--steps", type=int, default=8, show_default=True, help="Images per walk.")
@click.option("--pairs", type=int, default=4, show_default=True, help="Walks (rows).")
@click.option("--out", "out", callback=checked_output, type=click.Path(dir_okay=False, path_type=Path),
              default=Path("interp.png"), show_default=True)
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--label", default=None, help="Class index or name for conditional models.")
@click.option("--slerp", is_flag=True, help="Spherical instead of linear interpolation.")
@click.option("--space", type=click.Choice(["z", "w"]), default="z", show_default=True,
              help="stylegan/stylegan2: walk in the intermediate latent space w.")
@click.option("--truncation", type=FiniteFloatRange(), default=1.0, show_default=True,
              help="stylegan/stylegan2: truncation psi in w.")
@click.option("--device", default="auto", show_default=True)
def interpolate(run: Path, steps: int, pairs: int, out: Path, seed: int, label: str | None,
                slerp: bool, space: str, truncation: float, device: str) -> None:
    """Walk the latent space between random points (one row per walk)."""
    api.interpolate(run, out, steps, pairs, seed, label, slerp, space, truncation, device)
    click.echo(f"wrote {out} ({pairs} walks x {steps} steps)")


@main.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--rows", type=int, default=4, show_default=True,
              help="Images giving the coarse styles (left column).")
@click.option("--cols", type=int, default=4, show_default=True,
              help="Images giving the remaining styles (top row).")
@click.option("--out", "out", callback=checked_output, type=click.Path(dir_okay=False, path_type=Path),
              default=Path("mix.png"), show_default=True)
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the top row.")
@click.option("--row-seed", type=SEED, default=None, help="Seed of the left column  [default: --seed + 1]")
@click.option("--coarse-layers", type=int, default=4, show_default=True,
              help="How many of the first styles (4x4 and 8x8 layers) come from the left column.")
@click.option("--truncation", type=FiniteFloatRange(), default=1.0, show_default=True)
@click.option("--no-ema", is_flag=True, help="Use the raw generator even if the run kept an EMA.")
@click.option("--device", default="auto", show_default=True)
def mix(run: Path, rows: int, cols: int, out: Path, seed: int, row_seed: int | None,
        coarse_layers: int, truncation: float, no_ema: bool, device: str) -> None:
    """Style-mixing grid of a stylegan/stylegan2 run (StyleGAN paper, Figure 3)."""
    model, step = api.mix(run, out, rows, cols, seed, row_seed, coarse_layers, truncation, not no_ema, device)
    click.echo(f"wrote {out} ({rows} x {cols} mixes, {model} at step {step})")


@main.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, callback=checked_output, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the translations (same relative names and sizes as the inputs).")
@click.option("--direction", type=click.Choice(["AtoB", "BtoA"]), default=None,
              help="cyclegan: which way to translate  [default: the run's training direction]")
@click.option("--target-domain", default=None, help="stargan: domain name(s), e.g. blond or "
              "blond,male  [default: every domain, one subfolder each]")
@click.option("--compare", callback=checked_output, type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write a side-by-side sheet: input | output(s) [| ground truth].")
@click.option("--batch-size", type=int, default=8, show_default=True)
@click.option("--no-ema", is_flag=True, help="Use the raw generator even if the run kept an EMA.")
@click.option("--device", default="auto", show_default=True)
def translate(run: Path, source: Path, out_dir: Path, direction: str | None,
              target_domain: str | None, compare: Path | None, batch_size: int, no_ema: bool,
              device: str) -> None:
    """Translate SOURCE (an image, a folder, or a folder with A/ and B/) with the model in RUN."""
    summary = api.translate(run, source, out_dir, direction, target_domain, compare, batch_size,
                            not no_ema, device)
    click.echo(f"translated {summary['count']} image(s) with {summary['model']} at step {summary['step']} "
               f"into {', '.join(summary['outputs'])}" + (f"; comparison in {compare}" if compare else ""))


main.add_command(eval_command)
main.add_command(eval_alias)
main.add_command(report)
main.add_command(stylize)  # issue 24: neural style transfer (cli/ganzoo_stylize.py)

if __name__ == "__main__":
    main()
