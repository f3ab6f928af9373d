"""``ganzoo``: command line for the GAN model zoo (list, train, sample, mix, interpolate,
translate, evaluate).

Parses options and calls :mod:`ganbase`; user errors print one ``Error: ...`` line and exit
non-zero. Models and their papers: ``ganzoo list``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cli.common import POSITIVE_INT, FiniteFloatRange, OneLineErrorGroup
from cli.ganzoo_eval import eval_command
from cli.ganzoo_report import report
from ganbase import __version__
from ganbase.errors import UserError
from ganbase.runtime.device import resolve_device
from ganbase.runtime.threads import restored_threads
from ganbase.zoo.models import get_model_class, model_info, model_names
from ganbase.zoo.models.base import TRANSLATION_KINDS

TRAIN_SETTINGS = ("data", "batch_size", "image_size", "channels", "seed", "amp", "ema_decay",
                  "lr_schedule", "sample_every", "checkpoint_every", "log_every", "options",
                  "direction", "no_jitter", "no_flip")


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
    ganzoo evaluate runs/p2p
    """


@main.command("list")
def list_models() -> None:
    """Show every model (data it needs, description, paper) and the built-in datasets."""
    from ganbase.zoo.data.datasets import BUILTIN_DESCRIPTIONS
    from ganbase.zoo.data.translation import TRANSLATION_DESCRIPTIONS

    infos = [model_info(name) for name in model_names()]
    generators = [info for info in infos if info.data_kind not in TRANSLATION_KINDS]
    translators = [info for info in infos if info.data_kind in TRANSLATION_KINDS]
    for title, group in (("", generators), ("\nImage-to-image translators:\n", translators)):
        if title:
            click.echo(title.rstrip("\n"))
        width = max(len(info.name) for info in group)
        click.echo(f"{'MODEL':<{width}}  {'DATA':<13}  DESCRIPTION / PAPER")
        for info in group:
            click.echo(f"{info.name:<{width}}  {info.data_kind:<13}  {info.description}")
            click.echo(f"{'':<{width}}  {'':<13}  {info.paper}")
    click.echo("\nBuilt-in datasets (--data NAME or NAME:COUNT):")
    for name, text in {**BUILTIN_DESCRIPTIONS, **TRANSLATION_DESCRIPTIONS}.items():
        click.echo(f"  {name:<14} {text}")


def _parse_options(pairs: tuple[str, ...]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--option expects KEY=VALUE, got {pair!r}")
        options[key.strip().replace("-", "_")] = value.strip()
    return options


@main.command()
@click.argument("model")
@click.option("--data", help="Image folder, labeled folder (one subfolder per class), paired/"
              "unpaired folder (A/ and B/), domain folder or CSV, or built-in: digits[:N], "
              "shapes[:N], faces, gaussians, edges2photos[:N], gray2color[:N], textures[:N], "
              "colored-shapes[:N].")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Run folder for config, checkpoints, log.csv and sample grids.")
@click.option("--steps", type=int, default=None, help="Total training steps (generator "
              "iterations)  [default: 10000]; with --resume, a new total.")
@click.option("--batch-size", type=int, default=None,
              help="[default: the model's paper: 64; pix2pix/cyclegan 1; stargan 16]")
@click.option("--image-size", type=click.IntRange(4, 1024), default=32, show_default=True,
              help="Images are centre-cropped and resized to this (a power of two for conv models).")
@click.option("--channels", type=int, default=None, help="1 (grayscale) or 3 (RGB)  "
              "[default: the data's own]")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--amp", is_flag=True, help="Mixed precision (float16 autocast, CUDA only).")
@click.option("--ema-decay", type=float, default=None,
              help="Keep an exponential moving average of the generator (e.g. 0.999); 0 = off  "
              "[default: 0.999 for stylegan2, else 0]")
@click.option("--lr-schedule", type=click.Choice(["constant", "linear", "hold-linear"]),
              default=None, help="linear decays learning rates to 0 at the last step; "
              "hold-linear keeps them for the first half  [default: hold-linear for the "
              "translation models, else constant]")
@click.option("--sample-every", type=int, default=500, show_default=True,
              help="Write a sample grid to RUN/samples every N steps.")
@click.option("--checkpoint-every", type=int, default=1000, show_default=True)
@click.option("--log-every", type=int, default=20, show_default=True)
@click.option("--option", "-o", "options", multiple=True, metavar="KEY=VALUE",
              help="Model setting, repeatable, e.g. -o latent_dim=64 -o width=32.")
@click.option("--direction", type=click.Choice(["AtoB", "BtoA"]), default="AtoB",
              show_default=True, help="Translation data: which side is the input.")
@click.option("--no-jitter", is_flag=True, help="Translation data: no random resize+crop.")
@click.option("--no-flip", is_flag=True, help="Translation data: no random horizontal flips.")
@click.option("--resume", is_flag=True, help="Continue the run in --out with its saved settings "
              "(only --steps and --device may change).")
@click.option("--threads", type=POSITIVE_INT, default=None, help="CPU threads for torch.")
@click.option("--sync-batchnorm", is_flag=True, help="Under torchrun on GPUs: BatchNorm statistics "
              "over the global batch (SyncBatchNorm).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
@click.pass_context
def train(ctx: click.Context, model: str, data: str | None, out: Path, steps: int | None,
          batch_size: int | None, image_size: int, channels: int | None, seed: int, device: str,
          amp: bool, ema_decay: float | None, lr_schedule: str | None, sample_every: int,
          checkpoint_every: int, log_every: int, options: tuple[str, ...], direction: str,
          no_jitter: bool, no_flip: bool, resume: bool, threads: int | None, sync_batchnorm: bool,
          quiet: bool) -> None:
    """Train MODEL (see `ganzoo list`) and write a run folder.

    Under torchrun: DistributedDataParallel, --batch-size is the global batch split over the processes.
    """
    from ganbase.runtime.distributed import distributed_world
    from ganbase.zoo.data.datasets import DataConfig
    from ganbase.zoo.inference.runs import read_run_config
    from ganbase.zoo.training.launch import resume_training, start_training
    from ganbase.zoo.training.trainer import TrainConfig

    # --threads holds for this command only (the caller's count comes back when it ends)
    ctx.with_resource(restored_threads(threads))
    model_class = get_model_class(model)  # unknown names fail here, listing the known ones
    if resume:
        changed = [name for name in TRAIN_SETTINGS
                   if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE]
        if changed:
            raise UserError(f"--{changed[0].replace('_', '-')} cannot change on --resume; "
                            "the run keeps its saved settings (only --steps and --device may)")
        saved = read_run_config(out)["model"]
        if saved != model:
            raise UserError(f"{out} is a {saved!r} run, not {model!r}")
        with distributed_world(device, threads=threads) as (world, process_device):
            logs = resume_training(out, steps, process_device, quiet, world, sync_batchnorm)
    else:
        if data is None:
            raise UserError("missing --data (a folder or one of digits, shapes, faces, gaussians)")
        data_config = DataConfig(source=data, image_size=image_size, channels=channels,
                                 direction=direction, jitter=not no_jitter, flip=not no_flip)
        train_config = TrainConfig(steps=10000 if steps is None else steps,
                                   batch_size=batch_size or model_class.default_batch_size,
                                   seed=seed, amp=amp,
                                   ema_decay=model_class.default_ema_decay if ema_decay is None else ema_decay,
                                   lr_schedule=lr_schedule or model_class.default_lr_schedule,
                                   sample_every=sample_every, checkpoint_every=checkpoint_every,
                                   log_every=log_every)
        with distributed_world(device, threads=threads) as (world, process_device):
            logs = start_training(model, data_config, train_config, out, _parse_options(options),
                                  process_device, quiet, world, sync_batchnorm)
    if not quiet and world.is_main:
        losses = ", ".join(f"{key} {value:.4f}" for key, value in logs.items())
        next_command = "translate {out} INPUT --out DIR" if model_class.data_kind in TRANSLATION_KINDS \
            else "sample {out} --grid grid.png"
        click.echo(f"done: {out} ({losses}); grids in {out / 'samples'}; "
                   f"try `ganzoo {next_command.format(out=out)}`")
        if model_class.data_kind == "paired":
            _report_held_out(out, device)


def _report_held_out(run: Path, device: str) -> None:
    """After a paired run: L1 / PSNR on the held-out split, when the data has one."""
    from ganbase.zoo.data.datasets import DataConfig
    from ganbase.zoo.evaluation.paired import evaluate_paired, has_test_split
    from ganbase.zoo.inference.runs import read_run_config

    if has_test_split(DataConfig(**read_run_config(run)["data"])):
        _echo_scores(evaluate_paired(run, device=resolve_device(device)))


def _echo_scores(scores: dict[str, Any]) -> None:
    split = "held-out test" if scores["split"] == "test" else scores["split"]
    click.echo(f"{split} split, {scores['images']} images at step "
               f"{scores['step']}: L1 {scores['l1']:.4f}, PSNR {scores['psnr']:.2f} dB "
               f"(mean-colour baseline: L1 {scores['baseline_l1']:.4f}, "
               f"PSNR {scores['baseline_psnr']:.2f} dB)")


def _resolve_label(label: str | None, config: dict[str, Any]) -> int | None:
    if label is None:
        return None
    names = config.get("class_names") or []
    if label in names and not label.isdigit():
        return names.index(label)
    try:
        return int(label)
    except ValueError:
        raise UserError(f"unknown --label {label!r}; classes: {', '.join(names) or 'none'}") from None


@main.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--num", "-n", type=int, default=64, show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write one PNG per sample into this folder (points: samples.csv).")
@click.option("--grid", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a contact sheet PNG (points: a scatter plot).")
@click.option("--seed", type=int, default=0, show_default=True)
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
    from ganbase.io.checkpoint import atomic_write_text
    from ganbase.io.grids import sample_sheet, save_image_files, save_png
    from ganbase.zoo.inference.runs import load_model
    from ganbase.zoo.inference.sampling import draw_samples
    from ganbase.zoo.inference.sampling import vary_noise as noise_variations

    model, config, step = load_model(run, resolve_device(device), use_ema=not no_ema)
    if vary_noise:
        samples = noise_variations(model, num, seed, 1.0 if truncation is None else truncation)
    else:
        samples = draw_samples(model, num, seed, _resolve_label(label, config), truncation)
    if out_dir is None and grid is None:
        grid = run / "samples" / f"sampled_seed{seed}.png"
    if out_dir is not None:
        if samples.dim() == 2:
            out_dir.mkdir(parents=True, exist_ok=True)
            rows = "\n".join(",".join(f"{v:.6f}" for v in point) for point in samples.tolist())
            atomic_write_text(out_dir / "samples.csv", "x,y\n" + rows + "\n")
        else:
            save_image_files(out_dir, samples)
        click.echo(f"wrote {num} samples to {out_dir}")
    if grid is not None:
        save_png(grid, sample_sheet(samples))
        click.echo(f"wrote {grid} ({num} samples, {config['model']} at step {step})")


@main.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--steps", type=int, default=8, show_default=True, help="Images per walk.")
@click.option("--pairs", type=int, default=4, show_default=True, help="Walks (rows).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("interp.png"), show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
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
    from ganbase.io.grids import make_grid, save_png
    from ganbase.io.images import to_uint8
    from ganbase.zoo.inference.runs import load_model
    from ganbase.zoo.inference.sampling import interpolate as latent_walk

    model, config, _ = load_model(run, resolve_device(device))
    images = latent_walk(model, steps, pairs, seed, _resolve_label(label, config), slerp, space,
                         truncation)
    save_png(out, make_grid(to_uint8(images), columns=steps))
    click.echo(f"wrote {out} ({pairs} walks x {steps} steps)")


@main.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--rows", type=int, default=4, show_default=True,
              help="Images giving the coarse styles (left column).")
@click.option("--cols", type=int, default=4, show_default=True,
              help="Images giving the remaining styles (top row).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("mix.png"), show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the top row.")
@click.option("--row-seed", type=int, default=None, help="Seed of the left column  [default: --seed + 1]")
@click.option("--coarse-layers", type=int, default=4, show_default=True,
              help="How many of the first styles (4x4 and 8x8 layers) come from the left column.")
@click.option("--truncation", type=FiniteFloatRange(), default=1.0, show_default=True)
@click.option("--no-ema", is_flag=True, help="Use the raw generator even if the run kept an EMA.")
@click.option("--device", default="auto", show_default=True)
def mix(run: Path, rows: int, cols: int, out: Path, seed: int, row_seed: int | None,
        coarse_layers: int, truncation: float, no_ema: bool, device: str) -> None:
    """Style-mixing grid of a stylegan/stylegan2 run (StyleGAN paper, Figure 3)."""
    from ganbase.io.grids import make_grid, save_png
    from ganbase.io.images import to_uint8
    from ganbase.zoo.inference.runs import load_model
    from ganbase.zoo.inference.sampling import style_mix

    model, _, step = load_model(run, resolve_device(device), use_ema=not no_ema)
    images, columns = style_mix(model, rows, cols, seed, row_seed, coarse_layers, truncation)
    save_png(out, make_grid(to_uint8(images), columns=columns))
    click.echo(f"wrote {out} ({rows} x {cols} mixes, {model.name} at step {step})")


@main.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the translations (same relative names and sizes as the inputs).")
@click.option("--direction", type=click.Choice(["AtoB", "BtoA"]), default=None,
              help="cyclegan: which way to translate  [default: the run's training direction]")
@click.option("--target-domain", default=None, help="stargan: domain name(s), e.g. blond or "
              "blond,male  [default: every domain, one subfolder each]")
@click.option("--compare", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write a side-by-side sheet: input | output(s) [| ground truth].")
@click.option("--batch-size", type=int, default=8, show_default=True)
@click.option("--no-ema", is_flag=True, help="Use the raw generator even if the run kept an EMA.")
@click.option("--device", default="auto", show_default=True)
def translate(run: Path, source: Path, out_dir: Path, direction: str | None,
              target_domain: str | None, compare: Path | None, batch_size: int, no_ema: bool,
              device: str) -> None:
    """Translate SOURCE (an image, a folder, or a folder with A/ and B/) with the model in RUN."""
    from ganbase.zoo.inference.runs import load_model
    from ganbase.zoo.inference.translate import translate_files

    model, config, step = load_model(run, resolve_device(device), use_ema=not no_ema)
    if model.data_kind not in TRANSLATION_KINDS:
        raise UserError(f"{run} holds a {model.name} run, which samples from noise; use "
                        f"`ganzoo sample`")
    summary = translate_files(model, config, source, out_dir, direction, target_domain, compare,
                              batch_size)
    click.echo(f"translated {summary['count']} image(s) with {model.name} at step {step} into "
               f"{', '.join(summary['outputs'])}" + (f"; comparison in {compare}" if compare else ""))


@main.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--split", type=click.Choice(["test", "train"]), default="test", show_default=True)
@click.option("--device", default="auto", show_default=True)
def evaluate(run: Path, split: str, device: str) -> None:
    """L1 and PSNR of a paired (pix2pix) run on its data's held-out split."""
    from ganbase.zoo.evaluation.paired import evaluate_paired

    _echo_scores(evaluate_paired(run, split, resolve_device(device)))


main.add_command(report)
main.add_command(eval_command)

if __name__ == "__main__":
    main()
