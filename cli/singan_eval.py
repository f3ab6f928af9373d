"""``singan eval``: quality metrics of trained SinGAN runs (Shaham et al. 2019) — patch SWD,
diversity, patch nearest-neighbour coherence / completeness, memorization, optionally SIFID.

Parses options, calls :func:`singan_kit.api.evaluate` and prints (or writes as CSV) the results;
definitions in :mod:`ganbase.metrics.image_metrics`.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import click

from cli.common import (
    POSITIVE_INT,
    checked_output,
    device_option,
    library_default,
    quiet_option,
    seed_option,
    threads_option,
)
from cli.singan_common import BATCH_SIZE_OPTION, user_errors
from ganbase.errors import UserError
from singan_kit import api

#: (key, column title, format, meaning) of the printed metrics
COLUMNS = (
    ("swd", "SWD", "{:.2f}", "patch sliced Wasserstein distance x1e3 to the training image (lower: closer)"),
    ("swd_se", "SWD ±", "{:.2f}", "standard error of swd (jackknife; with --draws: swd_sd / sqrt draws)"),
    ("swd_sd", "SWD sd", "{:.2f}", "standard deviation of swd over the draws"),
    ("diversity", "diversity", "{:.4f}", "per-pixel std over samples / std of the training image"),
    ("nn_coherence", "NN coh.", "{:.5f}", "sample patch -> nearest training patch, mean sq. diff. (lower: better)"),
    ("nn_completeness", "NN compl.", "{:.5f}", "training patch -> nearest sample patch, mean sq. diff. (lower: better)"),
    ("memorization", "memorized", "{:.2f}", "fraction of samples with SSIM > 0.9 to the training image"),
    ("sifid", "SIFID", "{:.4f}", "single-image FID on Inception Conv2d_4a features (lower: closer)"),
)


def _format(key: str, value) -> str:
    for name, _, pattern, _ in COLUMNS:
        if name == key and isinstance(value, (int, float)):
            return pattern.format(value)
    return str(value)


def format_run(run: str, result: dict) -> str:
    """The multi-line report of one run."""
    draws = result.get("draws", 1)
    what = f"{result['num_samples']} samples"
    if draws > 1:
        what = f"means over {draws} draws of {what}"
    lines = [f"{run}: {what} of {result['size']} px, {result['scales']} scales"]
    for key, _, _, meaning in COLUMNS:
        if key in result:
            lines.append(f"  {key:<16}{_format(key, result[key]):>10}   {meaning}")
    return "\n".join(lines)


def table_rows(results: list[dict]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the table over runs (failed runs show their error)."""
    keys = [key for key, *_ in COLUMNS if any(key in r for r in results)]
    header = ["run", "scales", "size"] + [title for key, title, *_ in COLUMNS if key in keys]
    rows = []
    for result in results:
        if "error" in result:
            rows.append([result["run"], "-", "-", f"error: {result['error']}"])
        else:
            rows.append([result["run"], str(result["scales"]), result["size"]]
                        + [_format(key, result[key]) if key in result else "-" for key in keys])
    return header, rows


def format_table(header: list[str], rows: list[list[str]]) -> str:
    """Aligned columns; rows shorter than the header (errors) run on after their first cells."""
    full = [header] + [row for row in rows if len(row) == len(header)]
    widths = [max(len(row[i]) for row in full) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(header, widths)).rstrip(),
             "  ".join("-" * width for width in widths)]
    for row in rows:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return "\n".join(lines)


def write_csv(path: Path, results: list[dict]) -> None:
    """All results, one row per run, every key as a column (errors in an ``error`` column)."""
    from ganbase.io.checkpoint import atomic_write_text

    keys: list[str] = []
    for result in results:
        keys += [key for key in result if key not in keys]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    writer.writerows(results)
    atomic_write_text(path, buffer.getvalue())


@click.command("eval")
@click.argument("run")
@click.option("--num", "-n", type=click.IntRange(min=2), default=library_default(api.evaluate, "num"), show_default=True,
              help="Samples to draw and evaluate.")
@click.option("--start-scale", type=int, default=library_default(api.evaluate, "start_scale"), show_default=True,
              help="Keep the real image's structure below this scale (0: fully random).")
@seed_option("Seed of the samples and the metrics.")
@click.option("--draws", type=POSITIVE_INT, default=library_default(api.evaluate, "draws"), show_default=True,
              help="Evaluate this many draws of NUM samples (seeds SEED, SEED+1, ...) and report the means; "
                   "SWD ± then comes from the spread over draws.")
@device_option()
@BATCH_SIZE_OPTION
@click.option("--inception-weights", default=None, metavar="PATH",
              help="Also compute SIFID, from a local Inception-v3 state dict (pytorch-fid's "
                   "pt_inception-2015-12-05-6726825d.pth or torchvision's inception_v3_google-*.pth).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--csv", "csv_path", default=None, metavar="FILE", callback=checked_output,
              help="Also write the results as CSV.")
@threads_option()
@quiet_option()
@user_errors
def eval_command(run, num, start_scale, seed, draws, device, batch_size, inception_weights, as_json, csv_path,
                 threads, quiet):
    """Evaluate the SinGAN in RUN (or every run in the folder RUN): patch SWD, diversity, patch
    nearest-neighbour coherence / completeness and memorization of NUM samples against the
    training image (definitions: docs/eval.md). One draw's SWD is noisy: compare runs with
    --draws 8 or more."""
    if csv_path is not None and Path(csv_path).is_dir():
        raise UserError(f"--csv must be a file, not the folder {csv_path}")
    folder, results = api.evaluate(run, num, start_scale, seed, draws, device, batch_size, inception_weights,
                                   threads, progress=not quiet)
    if not folder:
        click.echo(json.dumps(results[0], indent=2) if as_json else format_run(str(run), results[0]))
    else:
        click.echo(json.dumps(results, indent=2) if as_json else format_table(*table_rows(results)))
        if all("error" in r for r in results):
            raise UserError("every run failed")
    if csv_path is not None:
        write_csv(Path(csv_path), results)
        if not as_json and not quiet:
            click.echo(f"wrote {csv_path}", err=True)
    failed = sum("error" in r for r in results)
    if failed:  # a non-zero exit, so that scripts can tell (issue 22)
        raise UserError(f"{failed} of {len(results)} runs failed (see the table above)")
