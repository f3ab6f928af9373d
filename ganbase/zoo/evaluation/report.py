"""An HTML report of a GAN-zoo run folder: one self-contained page. No paper.

The page shows the model (and its paper), data and training settings, the loss curves of
``log.csv``, the periodic sample grids the trainer wrote to ``samples/`` (a selection spread over
the run, so progress over time is visible), the newest grid enlarged, and optionally an evaluation
table. Reads the run folder only; never imports training code.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from ganbase.errors import UserError
from ganbase.io.checkpoint import read_json
from ganbase.report.html import (
    Curve,
    Page,
    Panel,
    check_out_path,
    display_zoom,
    figure,
    footer_text,
    plot_panels,
    png_size,
    read_log,
    table,
)
from ganbase.zoo.inference.runs import (
    CONFIG_FILE,
    LOG_FILE,
    SAMPLES_DIR,
    latest_checkpoint,
    read_run_config,
)

#: log.csv columns that are bookkeeping, not losses
NOT_LOSSES = ("step", "seconds", "lr")
GRID_NAME = re.compile(r"step_(\d+)\.png")
MAX_GRIDS = 8
EVAL_DESCRIPTIONS = {
    "swd": "multi-scale sliced Wasserstein distance of 7x7 patches, x1000, mean over levels (lower: closer)",
    "precision": "share of samples inside the real images' k-NN balls (k=3, 16x16 pixels): fidelity",
    "recall": "share of real images inside the samples' k-NN balls: coverage",
    "fcd_local": "Frechet distance on a small classifier trained on the data (lower: closer)",
    "classifier_accuracy": "held-out accuracy of that classifier",
    "fid": "Frechet Inception distance (lower: closer)",
    "kid": "kernel Inception distance (lower: closer)",
    "num_samples": "samples drawn", "num_real": "real images compared",
}


def sample_grids(run_dir: Path) -> list[tuple[int, Path]]:
    """Every ``samples/step_N.png`` as (step, path), in step order."""
    folder = run_dir / SAMPLES_DIR
    if not folder.is_dir():
        return []
    grids = [(int(match.group(1)), path) for path in folder.iterdir()
             if (match := GRID_NAME.fullmatch(path.name))]
    return sorted(grids)


def spread(items: list, count: int) -> list:
    """``count`` items spread evenly over ``items``, always the first and the last."""
    if len(items) <= count:
        return list(items)
    picks = sorted({round(i * (len(items) - 1) / (count - 1)) for i in range(count)})
    return [items[i] for i in picks]


def _settings_section(page: Page, run_dir: Path, config: dict[str, Any], step: int | None) -> None:
    from ganbase.zoo.models import model_info

    try:
        info = model_info(config["model"])
        about = [("description", info.description), ("paper", info.paper), ("data kind", info.data_kind)]
    except UserError:  # a model this version does not know: show the folder anyway
        about = [("description", "(unknown model)")]
    run = [("run folder", str(run_dir)), ("model", config["model"]),
           ("newest checkpoint", "none" if step is None else f"step {step}"),
           ("package version", str(config.get("ganzoo_version", "?")))] + about
    tables = [table(("run", "value"), run)]
    for key, title in (("data", "data"), ("training", "training"), ("model_config", "model settings")):
        values = config.get(key) or {}
        if values:
            tables.append(table((title, "value"), [(k, str(v)) for k, v in values.items()]))
    page.add("Settings", f'<div class="row">{"".join(tables)}</div>', "settings")


def _loss_section(page: Page, rows: list[dict[str, float]]) -> None:
    steps = [row.get("step", float(i)) for i, row in enumerate(rows)]
    keys = [key for key in rows[0] if key not in NOT_LOSSES]
    panels = [Panel(key, [Curve(key, steps, [row.get(key, float("nan")) for row in rows])]) for key in keys]
    rates = [row["lr"] for row in rows if "lr" in row]
    if rates and max(rates) != min(rates):
        panels.append(Panel("learning rate", [Curve("lr", steps, rates)]))
    columns = min(3, len(panels))
    plot = plot_panels(panels, "step", columns=columns, width_px=360 * columns, panel_height_px=250)
    page.add("Loss curves", figure(plot, f"losses from {LOG_FILE} ({len(rows)} rows)", zoom=1), "losses")


def _grids_section(page: Page, grids: list[tuple[int, Path]]) -> None:
    shown = spread(grids, MAX_GRIDS)
    figures = []
    for step, path in shown:
        png = path.read_bytes()
        zoom = display_zoom(png_size(png)[0], target_width=240, max_zoom=4)
        figures.append(f'<div data-step="{step}">' + figure(png, f"step {step}", zoom=zoom) + "</div>")
    note = f"{len(shown)} of {len(grids)} grids, the same inputs every time" if len(shown) < len(grids) \
        else f"all {len(grids)} grids, the same inputs every time"
    page.add("Sample grids over training", f'<p>{html.escape(note)}</p><div class="row">{"".join(figures)}</div>',
             "grids")
    step, path = grids[-1]
    png = path.read_bytes()
    page.add("Newest samples", figure(png, f"sample grid at step {step}",
                                      zoom=display_zoom(png_size(png)[0], target_width=480, max_zoom=6)),
             "newest")


def _meaning(key: str) -> str:
    level = re.fullmatch(r"swd_(\d+)", key)
    return f"SWD x1000 at the {level.group(1)} px level" if level else EVAL_DESCRIPTIONS.get(key, "")


def _eval_section(page: Page, run_dir: Path, config: dict[str, Any], data: str | None, num: int, seed: int,
                  device: str) -> None:
    from ganbase.zoo.evaluation.quality import evaluate_zoo_run
    from ganbase.zoo.models import get_model_class
    from ganbase.zoo.models.base import TRANSLATION_KINDS

    data_kind = get_model_class(config["model"]).data_kind
    if data_kind in TRANSLATION_KINDS or len(config["model_config"].get("data_shape", ())) != 3:
        what = "a translation" if data_kind in TRANSLATION_KINDS else "a 2-D point"
        hint = f" (paired runs: <code>ganzoo evaluate {html.escape(str(run_dir))}</code>)" \
            if data_kind in TRANSLATION_KINDS else ""
        page.add("Evaluation", f'<p class="note">no sample-quality table for {what} model{hint}</p>', "evaluation")
        return
    scores = evaluate_zoo_run(run_dir, data, num=num, seed=seed, device=device)
    rows = [(key, value if isinstance(value, (int, float)) else str(value), _meaning(key))
            for key, value in scores.items()]
    page.add("Evaluation", table(("metric", "value", "meaning"), rows)
             + f"<p>ganbase.zoo.evaluation.quality.evaluate_zoo_run(num={num}, seed={seed}); metrics defined in "
               "ganbase.metrics.image_metrics.</p>", "evaluation")


def build_zoo_report(run_dir: str | Path, out_path: str | Path | None = None, data: str | None = None,
                     with_eval: bool = True, eval_num: int = 1000, seed: int = 0, device: str = "cpu") -> Path:
    """Write the HTML report of the zoo run in ``run_dir`` (default ``run_dir/report.html``).

    ``data`` overrides the run's own data source for the evaluation. Returns the path written.
    """
    run_dir = Path(run_dir)
    if (run_dir / CONFIG_FILE).is_file() and read_json(run_dir / CONFIG_FILE).get("model") == "singan":
        raise UserError(f"{run_dir} is a SinGAN run folder: use `singan report {run_dir}`")
    config = read_run_config(run_dir)
    out_path = check_out_path(out_path if out_path is not None else run_dir / "report.html")
    found = latest_checkpoint(run_dir)
    rows = read_log(run_dir / LOG_FILE)
    grids = sample_grids(run_dir)
    if not rows and not grids:
        raise UserError(f"{run_dir} has no {LOG_FILE} and no sample grids yet; train it first")
    page = Page(f"ganzoo report: {config['model']} in {run_dir.resolve().name}",
                f"step {found[0] if found else 0} · {footer_text()}")
    _settings_section(page, run_dir, config, found[0] if found else None)
    if rows:
        _loss_section(page, rows)
    if grids:
        _grids_section(page, grids)
    if with_eval:
        if found is None:
            raise UserError(f"{run_dir} has no checkpoint to evaluate; use --no-eval")
        _eval_section(page, run_dir, config, data, eval_num, seed, device)
    return page.write(out_path)
