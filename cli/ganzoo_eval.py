"""``ganzoo eval`` (alias ``ganzoo evaluate``): the one evaluation command of the zoo.

Image generators (unconditional or class-conditional): sample quality against the run's data —
ProGAN's multi-scale SWD, k-NN precision / recall, ``fcd_local`` and, with local Inception weights,
FID / KID. Paired translators (pix2pix): L1 / PSNR on the data's held-out split. Parses options,
calls :func:`ganbase.zoo.api.evaluate` and prints. ``evaluate`` was the paired command's own name;
it stays as an alias of this one so existing scripts keep working.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import click

from cli.common import POSITIVE_INT, SEED
from ganbase.zoo import api

#: (key, format, meaning) of the printed metrics, in order
LINES = (
    ("swd", "{:.2f}", "multi-scale patch SWD x1e3, mean over levels (lower: closer)"),
    ("precision", "{:.3f}", "fraction of samples inside the real k-NN balls (k=3, 16x16 px)"),
    ("recall", "{:.3f}", "fraction of real images inside the samples' k-NN balls"),
    ("fcd_local", "{:.3f}", "Frechet distance on a small local classifier (not comparable to FID)"),
    ("classifier_accuracy", "{:.3f}", "held-out accuracy of that classifier"),
    ("fid", "{:.3f}", "Frechet Inception distance"),
    ("kid", "{:.5f}", "kernel Inception distance"),
)


def format_result(run: Path, result: dict) -> str:
    lines = [f"{run}: {result['model']} at step {result['step']}, {result['num_samples']} samples vs "
             f"{result['num_real']} {result['data']} images of {result['size']} px"]
    levels = [key for key in result if key.startswith("swd_")]
    for key, pattern, meaning in LINES:
        if key in result:
            lines.append(f"  {key:<20}{pattern.format(result[key]):>10}   {meaning}")
        if key == "swd":
            lines += [f"    {level:<18}{result[level]:>10.2f}   at {level[4:]} px" for level in levels]
    return "\n".join(lines)


def format_scores(scores: dict[str, Any]) -> str:
    """The one line of a paired run's held-out L1 / PSNR."""
    split = "held-out test" if scores["split"] == "test" else scores["split"]
    return (f"{split} split, {scores['images']} images at step "
            f"{scores['step']}: L1 {scores['l1']:.4f}, PSNR {scores['psnr']:.2f} dB "
            f"(mean-colour baseline: L1 {scores['baseline_l1']:.4f}, "
            f"PSNR {scores['baseline_psnr']:.2f} dB)")


def echo_scores(scores: dict[str, Any]) -> None:
    click.echo(format_scores(scores))


@click.command("eval")
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--data", default=None, help="Generators: data to compare with (a folder or built-in name)  "
              "[default: the run's own training data]")
@click.option("--num", "-n", type=int, default=1000, show_default=True,
              help="Generators: samples to draw (and real images to compare with).")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--batch-size", type=POSITIVE_INT, default=256, show_default=True,
              help="Generators: samples per batch.")
@click.option("--inception-weights", default=None, metavar="PATH",
              help="Generators: also compute FID and KID, from a local Inception-v3 state dict (pytorch-fid's "
                   "pt_inception-2015-12-05-6726825d.pth).")
@click.option("--cache-dir", default=None, metavar="DIR",
              help="Where fcd_local's classifier is cached  [default: $SINGAN_KIT_CACHE or ~/.cache/singan-kit]")
@click.option("--split", type=click.Choice(["test", "train"]), default="test", show_default=True,
              help="Paired translators: the split to score.")
@click.option("--no-ema", is_flag=True, help="Use the raw generator even if the run kept an EMA.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--threads", type=POSITIVE_INT, default=None, help="CPU threads for torch.")
def eval_command(run: Path, data: str | None, num: int, seed: int, device: str, batch_size: int,
                 inception_weights: str | None, cache_dir: str | None, split: str, no_ema: bool,
                 as_json: bool, threads: int | None) -> None:
    """Evaluate the zoo run in RUN. Image generators: its samples against its data — multi-scale
    SWD, precision / recall, fcd_local (labeled data) and optionally FID / KID (definitions:
    docs/eval.md). Paired translators (pix2pix): L1 and PSNR on the data's held-out split."""
    result = api.evaluate(run, split=split, data=data, num=num, seed=seed, device=device,
                          batch_size=batch_size, inception_weights=inception_weights, cache_dir=cache_dir,
                          use_ema=not no_ema, threads=threads)
    if as_json:
        click.echo(json.dumps(result.scores, indent=2))
    else:
        click.echo(format_scores(result.scores) if result.kind == "paired" else format_result(run, result.scores))


#: ``ganzoo evaluate``: the same command under the name it had for paired runs
eval_alias = copy.copy(eval_command)
eval_alias.name = "evaluate"
eval_alias.short_help = "Alias of `ganzoo eval` (kept for existing scripts)."
