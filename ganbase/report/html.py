"""Self-contained HTML report pages: images embedded as base64 PNG data URIs, simple inline CSS,
loss curves drawn with matplotlib's Agg canvas. Shared by the SinGAN and zoo reports. No paper.

A page has no external reference at all (no CDN, no remote font, no linked file), so one file can
be mailed or archived. matplotlib is imported only when a plot is drawn, and only through its
object-oriented API on an Agg canvas (no pyplot, no global state, no display needed).
"""

from __future__ import annotations

import base64
import csv
import html
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ganbase import __version__
from ganbase.errors import UserError
from ganbase.io.checkpoint import atomic_write_text
from ganbase.io.images import encode_image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0;
       background: #f4f5f7; color: #1d2330; }
main { max-width: 1180px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 1.6em; margin: 12px 0 4px; }
h2 { font-size: 1.25em; margin: 0 0 10px; border-bottom: 1px solid #d8dbe2; padding-bottom: 4px; }
h3 { font-size: 1.05em; margin: 12px 0 6px; }
.subtitle { color: #5a6272; margin: 0 0 16px; }
section { background: #fff; border: 1px solid #dde0e6; border-radius: 6px; padding: 14px 18px;
          margin: 14px 0; }
.row { display: flex; flex-wrap: wrap; gap: 14px; align-items: flex-start; }
figure { margin: 0; display: inline-block; }
figure img { display: block; border: 1px solid #c9ccd3; background: #eee; }
img.pixelated { image-rendering: pixelated; }
figcaption { font-size: 0.85em; color: #4a5160; margin-top: 4px; }
table { border-collapse: collapse; font-size: 0.92em; }
th, td { border: 1px solid #dde0e6; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f0f1f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #7a5a00; background: #fff8e1; border: 1px solid #f0e0a0; padding: 6px 10px;
        border-radius: 4px; }
"""


def png_data_uri(png: bytes) -> str:
    """A ``data:image/png;base64,...`` URI for PNG bytes."""
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("not PNG data")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def encode_array(image: np.ndarray) -> bytes:
    """PNG bytes of ``uint8 [H, W, 3]``, ``[H, W, 1]`` or ``[H, W]``."""
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    return encode_image(np.ascontiguousarray(image))


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    if not png.startswith(PNG_SIGNATURE) or len(png) < 24:
        raise ValueError("not PNG data")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def display_zoom(width: int, target_width: int = 240, max_zoom: int = 8) -> int:
    """An integer zoom that shows an image of ``width`` px at least ``target_width`` px wide."""
    return int(max(1, min(max_zoom, math.ceil(target_width / max(1, width)))))


def figure(png: bytes, caption: str, zoom: int | None = None, alt: str | None = None,
           max_width: int = 1120) -> str:
    """An ``<figure>`` with the embedded image, displayed ``zoom`` times enlarged (pixelated)."""
    width, height = png_size(png)
    zoom = display_zoom(width) if zoom is None else max(1, zoom)
    shown_w, shown_h = width * zoom, height * zoom
    if shown_w > max_width:  # keep wide sheets inside the page; the browser scales down smoothly
        shown_w, shown_h = max_width, round(height * max_width / width)
    klass = ' class="pixelated"' if zoom > 1 else ""
    return (f'<figure><img src="{png_data_uri(png)}" width="{shown_w}" height="{shown_h}"{klass} '
            f'alt="{html.escape(alt or caption)}"><figcaption>{html.escape(caption)}</figcaption></figure>')


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """An HTML table; floats are formatted with 4 significant digits and right-aligned."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, float):
                cells.append(f'<td class="num">{value:.4g}</td>')
            elif isinstance(value, int) and not isinstance(value, bool):
                cells.append(f'<td class="num">{value}</td>')
            else:
                cells.append(f"<td>{html.escape(str(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


@dataclass
class Page:
    """An HTML page built section by section; :meth:`render` gives the whole document."""

    title: str
    subtitle: str = ""
    sections: list[str] = field(default_factory=list)

    def add(self, title: str, body: str, section_id: str, attributes: dict[str, object] | None = None) -> None:
        extra = "".join(f' {key}="{html.escape(str(value))}"' for key, value in (attributes or {}).items())
        self.sections.append(f'<section id="{html.escape(section_id)}"{extra}>'
                             f"<h2>{html.escape(title)}</h2>{body}</section>")

    def render(self) -> str:
        subtitle = f'<p class="subtitle">{html.escape(self.subtitle)}</p>' if self.subtitle else ""
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{html.escape(self.title)}</title><style>{CSS}</style></head>"
                f"<body><main><h1>{html.escape(self.title)}</h1>{subtitle}"
                + "\n".join(self.sections) + "</main></body></html>\n")

    def write(self, out_path: str | Path) -> Path:
        out_path = check_out_path(out_path)
        try:
            atomic_write_text(out_path, self.render())
        except OSError as exc:
            raise UserError(f"cannot write {out_path}: {exc.strerror or exc}") from None
        return out_path


def check_out_path(out_path: str | Path) -> Path:
    """``out_path`` as a Path, or a one-line error if a report cannot be written there."""
    out_path = Path(out_path)
    folder = out_path.parent
    if out_path.is_dir():
        raise UserError(f"--out {out_path} is a folder; give a file name such as report.html")
    if not folder.is_dir():
        raise UserError(f"cannot write {out_path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (out_path.exists() and not os.access(out_path, os.W_OK)):
        raise UserError(f"cannot write {out_path}: permission denied")
    return out_path


def footer_text() -> str:
    return f"singan-kit {__version__}"


def read_log(path: Path) -> list[dict[str, float]]:
    """Rows of a training ``log.csv`` with every numeric field as float (others dropped)."""
    if not path.is_file():
        return []
    rows = []
    with open(path, newline="", encoding="utf-8") as handle:
        for raw in csv.DictReader(handle):
            row = {}
            for key, value in raw.items():
                try:
                    row[key] = float(value)
                except (TypeError, ValueError):
                    continue
            rows.append(row)
    return rows


@dataclass(frozen=True)
class Curve:
    """One line of a plot: ``label`` over ``xs``."""

    label: str
    xs: Sequence[float]
    ys: Sequence[float]


@dataclass(frozen=True)
class Panel:
    """One plot of a figure; ``log_y``: a log scale when the values span a decade or more."""

    title: str
    curves: Sequence[Curve]
    log_y: bool = False


def plot_panels(panels: Sequence[Panel], xlabel: str, width_px: int = 1080, panel_height_px: int = 260,
                columns: int | None = None, boundaries: Sequence[float] = ()) -> bytes:
    """PNG bytes of a row (or grid) of line plots, one per panel.

    ``boundaries`` are x positions marked by dotted vertical lines (e.g. where a scale starts).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    columns = columns or len(panels)
    rows = math.ceil(len(panels) / columns)
    dpi = 100
    fig = Figure(figsize=(width_px / dpi, panel_height_px * rows / dpi), dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    for index, panel in enumerate(panels):
        axes = fig.add_subplot(rows, columns, index + 1)
        for curve in panel.curves:
            axes.plot(curve.xs, curve.ys, label=curve.label, linewidth=1.3,
                      marker="o" if len(curve.xs) < 12 else None, markersize=3)
        for x in boundaries:
            axes.axvline(x, color="#999999", linestyle=":", linewidth=0.8)
        values = [y for curve in panel.curves for y in curve.ys if math.isfinite(y)]
        if panel.log_y and values and min(values) > 0 and max(values) >= 10 * min(values):
            axes.set_yscale("log")  # only over a decade or more: fewer would crowd the tick labels
        axes.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))  # iterations and steps
        axes.set_title(panel.title, fontsize=10)
        axes.set_xlabel(xlabel, fontsize=9)
        axes.tick_params(labelsize=8)
        axes.grid(True, alpha=0.3)
        if len(panel.curves) > 1:
            axes.legend(fontsize=7, ncol=1 + len(panel.curves) // 6)
    # fixed margins in pixels (tight_layout costs about as much as drawing): room for tick labels
    # like "1.8x10^-1" on the left, the x label below and the title above every panel
    height_px = panel_height_px * rows
    axes_width = (width_px - 70 - 15 - 75 * (columns - 1)) / columns
    axes_height = (height_px - 55 - 30 - 75 * (rows - 1)) / rows
    fig.subplots_adjust(left=70 / width_px, right=1 - 15 / width_px, bottom=55 / height_px,
                        top=1 - 30 / height_px, wspace=75 / axes_width, hspace=75 / axes_height)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())  # [H, W, 4]
    return encode_array(rgba[:, :, :3].copy())
