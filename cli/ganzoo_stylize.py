"""``ganzoo stylize``: neural style transfer, by optimisation (Gatys et al., CVPR 2016) or with a
trained ``adain`` run (Huang & Belongie, ICCV 2017).

Parses options, calls :func:`ganbase.zoo.api.stylize` and prints; user errors become one
``Error: ...`` line through the ``ganzoo`` group. Defaults are the library's
(:class:`ganbase.zoo.inference.gatys.GatysConfig`).
"""

from __future__ import annotations

from pathlib import Path

import click

from cli.common import FRACTION, NON_NEGATIVE_FLOAT, POSITIVE_INT, SEED, checked_output
from ganbase.errors import UserError
from ganbase.zoo import api
from ganbase.zoo.inference.gatys import INITS, OPTIMIZERS, GatysConfig


def _comma_list(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _weights(text: str | None) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in _comma_list(text))
    except ValueError:
        raise UserError(f"--style-weights expects numbers separated by commas, got {text!r}") from None


@click.command()
@click.argument("inputs", nargs=-1, required=True, metavar="[RUN] CONTENT")
@click.option("--style", required=True, help="Style image; adain: several as a.jpg,b.jpg (mixed).")
@click.option("--out", required=True, callback=checked_output, type=click.Path(path_type=Path),
              help="gatys: the output image file; adain: a folder (same names and sizes as the inputs).")
@click.option("--method", type=click.Choice(["gatys", "adain"]), default=None,
              help="[default: adain when a RUN is given, else gatys]")
@click.option("--vgg-weights", default=None, metavar="PATH", help="gatys: a local VGG-19 file "
              "(vgg19-dcbb9e9d.pth or vgg_normalised.pth; .pth or .safetensors)  [default: $GANBASE_VGG_WEIGHTS]")
@click.option("--style-weights", default=None, help="adain: weights of the styles, e.g. 0.3,0.7.")
@click.option("--alpha", type=FRACTION, default=1.0, show_default=True,
              help="adain: content-style trade-off (0: the content through encoder and decoder).")
@click.option("--preserve-color", is_flag=True, help="Keep the content image's colours (luminance transfer).")
@click.option("--steps", type=POSITIVE_INT, default=GatysConfig.steps, show_default=True, help="gatys: optimiser steps.")
@click.option("--content-weight", type=NON_NEGATIVE_FLOAT, default=GatysConfig.content_weight, show_default=True,
              help="gatys: alpha.")
@click.option("--style-weight", type=NON_NEGATIVE_FLOAT, default=GatysConfig.style_weight, show_default=True,
              help="gatys: beta.")
@click.option("--optimizer", type=click.Choice(OPTIMIZERS), default=GatysConfig.optimizer, show_default=True)
@click.option("--lr", type=NON_NEGATIVE_FLOAT, default=GatysConfig.lr, show_default=True,
              help="gatys: step size (0: 1 for lbfgs, 0.02 for adam).")
@click.option("--init", type=click.Choice(INITS), default=GatysConfig.init, show_default=True,
              help="gatys: start from white noise (the paper) or the content image.")
@click.option("--size", type=click.IntRange(min=16), default=GatysConfig.size, show_default=True,
              help="gatys: longer side of the output in pixels.")
@click.option("--seed", type=SEED, default=GatysConfig.seed, show_default=True, help="gatys: noise seed.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--threads", type=POSITIVE_INT, default=None, help="CPU threads for torch.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
def stylize(inputs: tuple[str, ...], style: str, out: Path, method: str | None, vgg_weights: str | None,
            style_weights: str | None, alpha: float, preserve_color: bool, steps: int, content_weight: float,
            style_weight: float, optimizer: str, lr: float, init: str, size: int, seed: int, device: str,
            threads: int | None, quiet: bool) -> None:
    """Paint CONTENT in the style of --style.

    \b
    ganzoo stylize content.jpg --style style.jpg --vgg-weights vgg19-dcbb9e9d.pth --out out.png
    ganzoo stylize runs/adain photos/ --style a.jpg,b.jpg --style-weights 0.3,0.7 --alpha 0.8 --out out/
    """
    result = api.stylize(list(inputs), out, _comma_list(style), method=method,
                         style_weights=_weights(style_weights), alpha=alpha, preserve_color=preserve_color,
                         vgg_weights=vgg_weights, steps=steps, content_weight=content_weight,
                         style_weight=style_weight, optimizer=optimizer, lr=lr, init=init, size=size, seed=seed,
                         device=device, threads=threads, quiet=quiet)
    if not quiet:
        if result["method"] == "adain":
            click.echo(f"stylized {result['count']} image(s) with adain at step {result['step']} into {out}")
        else:
            height, width = result["size"]
            click.echo(f"wrote {out} ({width}x{height}, gatys, {steps} {optimizer} steps)")
