"""An HTML report of a trained SinGAN run (Shaham et al. 2019; ConSinGAN runs, Hinz et al. 2021,
too): one self-contained page.

The page shows the settings, the training image and its pyramid, for every trained scale the real
image, a random sample and the reconstruction (generated afresh with the run's generators, seeded)
next to that scale's loss curves, an overview of the losses of all scales, samples from several
start scales at several sizes (the paper's Fig. 4 and retargeting, Sec. 3) and the evaluation
table of :mod:`singan_kit.evaluate`. Inference only: never imports the training code.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from ganbase.errors import UserError
from ganbase.io.grids import make_grid
from ganbase.io.images import to_uint8
from ganbase.report.html import (
    Curve,
    Page,
    Panel,
    check_out_path,
    display_zoom,
    encode_array,
    figure,
    footer_text,
    plot_panels,
    read_log,
    table,
)
from singan_kit import architectures
from singan_kit import run_folder as rf
from singan_kit.architectures.base import Architecture
from singan_kit.sample import generate

#: (label, width factor, height factor) of the sample sizes shown
SAMPLE_SIZES = (("1x", 1.0, 1.0), ("1.5x width", 1.5, 1.0), ("2x height", 1.0, 2.0))
#: loss columns of log.csv (written by singan_kit.architectures.singan.train) and their plot titles
LOSSES = (("d_loss", "critic loss"), ("g_adv", "G adversarial"), ("rec_loss", "reconstruction"),
          ("gradient_penalty", "gradient penalty"))
EVAL_DESCRIPTIONS = {
    "swd": "sliced Wasserstein distance of 7x7 patches per Laplacian level, x1000 (lower: closer)",
    "swd_se": "standard error of the SWD over draws of the samples (grouped jackknife)",
    "diversity": "per-pixel std over samples / std of the training image (Sec. 4.1)",
    "nn_coherence": "sample patches to their nearest training patch, mean squared distance (lower: better)",
    "nn_completeness": "training patches to their nearest sample patch, mean squared distance (lower: better)",
    "memorization": "fraction of samples with SSIM > 0.9 to the training image (copies)",
    "sifid": "single-image FID on Inception features (lower: closer)",
    "num_samples": "samples evaluated",
    "scales": "trained scales",
    "size": "sample size (HxW)",
}


def start_scales(num_trained: int) -> list[int]:
    """The start scales shown: 0, 1 and the middle scale, where trained."""
    return sorted({s for s in (0, 1, num_trained // 2) if s < num_trained})


def scale_log_rows(rows: list[dict[str, float]]) -> dict[int, list[dict[str, float]]]:
    """Log rows per scale; when a scale was logged twice (a resumed run) the last attempt wins."""
    per_scale: dict[int, list[dict[str, float]]] = {}
    for row in rows:
        if "scale" not in row or "iter" not in row:
            continue
        scale_rows = per_scale.setdefault(int(row["scale"]), [])
        if scale_rows and row["iter"] <= scale_rows[-1]["iter"]:
            scale_rows.clear()
        scale_rows.append(row)
    return per_scale


@torch.no_grad()
def scale_sample(model: nn.Module, scale: int, seed: int) -> torch.Tensor:
    """One random sample at ``scale`` ``[1, 3, h, w]``: the random path from scale 0 to ``scale``.

    The same ``seed`` at every scale gives one random path, refined scale by scale; at the finest
    scale it is sample 0 of :func:`singan_kit.sample.generate` with that seed.
    """
    return _architecture(model).scale_sample(model, scale, seed)


@torch.no_grad()
def scale_reconstruction(model: nn.Module, scale: int) -> torch.Tensor:
    """The reconstruction at ``scale`` ``[1, 3, h, w]`` (fixed noise)."""
    return _architecture(model).scale_reconstruction(model, scale)


def generator_filters(model: nn.Module, scale: int) -> int:
    return _architecture(model).scale_filters(model.config, scale)


def _architecture(model: nn.Module) -> Architecture:
    return architectures.get(model.config.architecture)


def _image_png(tensor: torch.Tensor) -> bytes:
    return encode_array(to_uint8(tensor)[0])


def _summary_section(page: Page, meta: dict, run_dir: Path, per_scale: dict, num_trained: int) -> None:
    config, pyramid = meta["config"], meta["pyramid"]
    in_h, in_w = pyramid.input_size
    fine_h, fine_w = pyramid.finest_size
    seconds = sum(rows[-1].get("seconds", 0.0) for rows in per_scale.values() if rows)
    rows = [
        ("run folder", str(run_dir)),
        ("source image", f"{Path(meta.get('source_image', '?')).name} ({in_w}x{in_h} px)"),
        ("training size", f"{fine_w}x{fine_h} px"),
        ("scales trained", f"{num_trained} of {pyramid.num_scales}"),
        ("pyramid factor", f"{pyramid.scale_factor:.4f}"),
        ("training time (sum of scales)", f"{seconds:.1f} s"),
        ("trained on", str(meta.get("device", "?"))),
        ("package version", str(meta.get("version", "?"))),
    ]
    settings = [(key, str(value)) for key, value in config.to_dict().items()]
    notes = "".join(f'<p class="note">{html.escape(note)}</p>' for note in meta.get("notes", []))
    body = (f'<div class="row">{table(("run", "value"), rows)}{table(("setting", "value"), settings[:12])}'
            f'{table(("setting", "value"), settings[12:])}</div>{notes}')
    page.add("Settings", body, "settings")


def _pyramid_sections(page: Page, model: nn.Module, num_scales: int) -> None:
    reals = model.reals
    finest = to_uint8(reals[-1])[0]
    page.add("Training image", figure(encode_array(finest), f"training image, {finest.shape[1]}x"
                                      f"{finest.shape[0]} px (the finest scale)"), "training-image")
    zoom = display_zoom(finest.shape[1], target_width=320)  # one zoom: relative sizes stay visible
    figures = []
    for n, real in enumerate(reals):
        h, w = real.shape[-2:]
        state = "" if n < model.num_trained else ", not trained yet"
        figures.append(f'<div data-scale="{n}">' + figure(_image_png(real), f"scale {n}: {w}x{h} px{state}",
                                                            zoom=zoom) + "</div>")
    page.add(f"Pyramid ({num_scales} scales, coarse to fine)", f'<div class="row">{"".join(figures)}</div>',
             "pyramid")


def _scale_section(page: Page, model: nn.Module, scale: int,
                   rows: list[dict[str, float]], seed: int) -> None:
    real = model.reals[scale]
    h, w = real.shape[-2:]
    zoom = display_zoom(w, target_width=200)
    images = [(real, "real"), (scale_sample(model, scale, seed), f"random sample (seed {seed})"),
              (scale_reconstruction(model, scale), "reconstruction (fixed noise z_opt)")]
    figures = "".join(figure(_image_png(img), f"scale {scale} {caption}", zoom=zoom) for img, caption in images)
    body = f'<div class="row">{figures}</div>'
    facts = [("size", f"{w}x{h} px"), ("noise amplitude", model.noise_amps[scale]),
             ("generator filters", generator_filters(model, scale))]
    if rows:
        last = rows[-1]
        facts += [("iterations", int(last["iter"])), ("seconds", last.get("seconds", float("nan")))]
        facts += [(f"final {title}", last[key]) for key, title in LOSSES if key in last]
        iters = [row["iter"] for row in rows]
        adversarial = [Curve(title, iters, [row[key] for row in rows])
                       for key, title in LOSSES if key != "rec_loss" and key in rows[0]]
        reconstruction = [Curve("reconstruction", iters, [row["rec_loss"] for row in rows])] \
            if "rec_loss" in rows[0] else []
        plot = plot_panels([Panel("critic / adversarial", adversarial),
                            Panel("reconstruction", reconstruction, log_y=True)],
                           "iteration", width_px=760, panel_height_px=230)
        body += '<div class="row">' + figure(plot, f"scale {scale} losses (log.csv)", zoom=1)
    else:
        body += '<div class="row"><p class="note">no log rows for this scale</p>'
    body += table(("", "value"), facts) + "</div>"
    page.add(f"Scale {scale}", body, f"scale-{scale}", {"data-scale": scale})


def _loss_overview(page: Page, per_scale: dict[int, list[dict[str, float]]]) -> None:
    offsets, offset = {}, 0.0
    for scale in sorted(per_scale):
        offsets[scale] = offset
        offset += per_scale[scale][-1]["iter"] if per_scale[scale] else 0.0
    panels = []
    for key, title in LOSSES:
        curves = [Curve(f"scale {s}", [offsets[s] + r["iter"] for r in rows], [r[key] for r in rows])
                  for s, rows in sorted(per_scale.items()) if rows and key in rows[0]]
        panels.append(Panel(title, curves, log_y=key == "rec_loss"))
    plot = plot_panels(panels, "iteration (all scales, in training order)", columns=2, panel_height_px=280,
                       boundaries=[offsets[s] for s in sorted(offsets) if s > 0])
    page.add("Losses of all scales", figure(plot, "losses over the whole training; dotted lines: a new "
                                            "scale starts", zoom=1), "losses")


def _samples_section(page: Page, model: nn.Module, num: int, seed: int) -> None:
    body = ""
    for start in start_scales(model.num_trained):
        figures = []
        for label, scale_w, scale_h in SAMPLE_SIZES:
            samples = generate(model, num, scale_w, scale_h, start_scale=start, seed=seed)
            height, width = samples.shape[-2:]
            zoom = display_zoom(width, target_width=160, max_zoom=4)
            columns = max(1, min(num, 1100 // ((width + 2) * zoom)))  # the sheet fits the page
            sheet = make_grid(to_uint8(samples), columns)
            figures.append(figure(encode_array(sheet), f"{num} samples, {label} ({width}x{height} px), "
                                  f"start scale {start}", zoom=zoom))
        what = "fully random" if start == 0 else f"scales below {start} follow the reconstruction"
        body += (f'<div data-start-scale="{start}"><h3>Start scale {start} ({what})</h3>'
                 f'<div class="row">{"".join(figures)}</div></div>')
    page.add(f"Samples (seed {seed})", body, "samples")


def _eval_section(page: Page, run_dir: Path, num: int, seed: int, device: str) -> None:
    from singan_kit.evaluate import evaluate_run

    scores = evaluate_run(run_dir, num=num, seed=seed, device=device)
    rows = [(key, value if isinstance(value, (int, float)) else str(value), EVAL_DESCRIPTIONS.get(key, ""))
            for key, value in scores.items()]
    page.add("Evaluation", table(("metric", "value", "meaning"), rows)
             + f"<p>singan_kit.evaluate.evaluate_run(num={num}, seed={seed}), start scale 0.</p>", "evaluation")


def build_report(run_dir: str | Path, out_path: str | Path | None = None, num_samples: int = 4, seed: int = 0,
                 device: str | torch.device = "cpu", with_eval: bool = True, eval_num: int = 50,
                 progress: bool = False) -> Path:
    """Write the HTML report of the SinGAN run in ``run_dir`` (default ``run_dir/report.html``).

    ``num_samples`` samples per start scale and size; ``with_eval`` adds the evaluation table
    (``eval_num`` samples, the slowest part). Returns the path written.
    """
    from tqdm.auto import tqdm

    run_dir = Path(run_dir)
    out_path = Path(out_path) if out_path is not None else run_dir / "report.html"
    if num_samples < 1:
        raise UserError(f"number of samples must be >= 1, got {num_samples}")
    if with_eval and eval_num < 2:
        raise UserError(f"evaluation needs at least 2 samples, got {eval_num}")
    meta = rf.read_meta(run_dir)
    check_out_path(out_path)  # fail before the slow part
    model = rf.load_model(run_dir, device, architectures=rf.ALL_ARCHITECTURES)
    per_scale = scale_log_rows(read_log(run_dir / rf.LOG_FILE))
    architecture = rf.architecture_of(meta)
    name, paper = architecture.title, architecture.paper
    page = Page(f"{name} report: {run_dir.resolve().name}",
                f"{model.num_trained} trained scales · {footer_text()} · {paper}")
    stages: list[tuple[str, Callable[[], None]]] = [
        ("settings", lambda: _summary_section(page, meta, run_dir, per_scale, model.num_trained)),
        ("pyramid", lambda: _pyramid_sections(page, model, meta["pyramid"].num_scales)),
    ]
    stages += [(f"scale {n}", lambda n=n: _scale_section(page, model, n, per_scale.get(n, []), seed))
               for n in range(model.num_trained)]
    if per_scale:
        stages.append(("losses", lambda: _loss_overview(page, per_scale)))
    stages.append(("samples", lambda: _samples_section(page, model, num_samples, seed)))
    if with_eval:
        stages.append(("evaluation", lambda: _eval_section(page, run_dir, eval_num, seed, str(device))))
    with tqdm(total=len(stages), desc="report", unit="part", disable=not progress, leave=False) as bar:
        for name, stage in stages:
            bar.set_postfix_str(name)
            stage()
            bar.update(1)
    return page.write(out_path)
