"""``ganzoo eval``: sample quality of an unconditional or class-conditional zoo run against its data —
ProGAN's multi-scale SWD, k-NN precision / recall, ``fcd_local`` and, with local Inception weights,
FID / KID. Parses options and calls :func:`ganbase.zoo.evaluation.quality.evaluate_zoo_run`. (``ganzoo
evaluate`` is the held-out L1 / PSNR of paired translators.)
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from cli.common import POSITIVE_INT
from ganbase.runtime.threads import restored_threads

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


@click.command("eval")
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--data", default=None, help="Data to compare with (a folder or built-in name)  "
              "[default: the run's own training data]")
@click.option("--num", "-n", type=int, default=1000, show_default=True,
              help="Samples to draw (and real images to compare with).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--batch-size", type=POSITIVE_INT, default=256, show_default=True,
              help="Samples per batch.")
@click.option("--inception-weights", default=None, metavar="PATH",
              help="Also compute FID and KID, from a local Inception-v3 state dict (pytorch-fid's "
                   "pt_inception-2015-12-05-6726825d.pth).")
@click.option("--cache-dir", default=None, metavar="DIR",
              help="Where fcd_local's classifier is cached  [default: $SINGAN_KIT_CACHE or ~/.cache/singan-kit]")
@click.option("--no-ema", is_flag=True, help="Use the raw generator even if the run kept an EMA.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--threads", type=POSITIVE_INT, default=None, help="CPU threads for torch.")
def eval_command(run: Path, data: str | None, num: int, seed: int, device: str, batch_size: int,
                 inception_weights: str | None, cache_dir: str | None, no_ema: bool, as_json: bool,
                 threads: int | None) -> None:
    """Evaluate the samples of the zoo run in RUN against its data: multi-scale SWD, precision /
    recall, fcd_local (labeled data) and optionally FID / KID (definitions: docs/eval.md)."""
    from ganbase.runtime.device import resolve_device
    from ganbase.zoo.evaluation.quality import evaluate_zoo_run

    # --threads holds for this command only (the caller's count comes back when it ends)
    click.get_current_context().with_resource(restored_threads(threads))
    result = evaluate_zoo_run(run, data, num=num, seed=seed, device=resolve_device(device),
                              inception_weights=inception_weights, batch_size=batch_size,
                              cache_dir=cache_dir, use_ema=not no_ema)
    click.echo(json.dumps(result, indent=2) if as_json else format_result(run, result))
