"""Folders of images and of run folders for SinGAN (Shaham et al. 2019), which trains one model
per image: naming, matching by file name, and the done / skipped / failed summary table.

Names are stable: an image ``photos/beach.jpg`` trains ``<out>/beach``; when two images share a
stem (``a.png``, ``a.jpg``) both runs are named with the suffix (``a_png``, ``a_jpg``). Application
inputs are matched to run ``<name>`` by file name: ``<name>.<ext>`` (masks also ``<name>_mask.<ext>``);
outputs are ``<out>/<name>.png``. This module does no training itself: callers pass the work.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from ganbase.errors import TrainingInterrupted, UserError
from singan_kit import run_folder as rf

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")


@dataclass(frozen=True)
class ItemResult:
    """What happened to one image or run of a folder."""

    name: str
    status: str  # "done", "skipped" or "failed"
    detail: str = ""


class Skip(Exception):
    """Raised by per-item work to mark the item as skipped (with the reason as message)."""


def list_images(folder: str | Path) -> list[Path]:
    """Image files (by suffix) directly in ``folder``, sorted by name; hidden files are ignored."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"not a folder: {folder}")
    images = sorted(p for p in folder.iterdir()
                    if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise UserError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    return images


def run_names(images: Iterable[Path]) -> dict[Path, str]:
    """The run folder name of each image: its stem, or ``<stem>_<ext>`` where stems collide."""
    images = list(images)
    counts = Counter(p.stem for p in images)
    names = {p: p.stem if counts[p.stem] == 1 else f"{p.stem}_{p.suffix.lstrip('.').lower()}" for p in images}
    # two images on one run would train one and report the other as "already trained" (issue 22);
    # names differing only in case are one folder on case-insensitive file systems
    seen: dict[str, Path] = {}
    for image, name in names.items():
        other = seen.setdefault(name.casefold(), image)
        if other != image:
            raise UserError(f"images {other.name} and {image.name} would both train the run folder {name}: "
                            "rename one of them")
    return names


def is_run_folder(path: str | Path) -> bool:
    return (Path(path) / rf.CONFIG_FILE).is_file()


def find_runs(folder: str | Path) -> list[Path]:
    """Run folders directly inside ``folder`` (sorted by name)."""
    folder = Path(folder)
    runs = sorted(p for p in folder.iterdir() if p.is_dir() and is_run_folder(p)) if folder.is_dir() else []
    if not runs:
        raise UserError(f"{folder} is not a SinGAN run folder (no {rf.CONFIG_FILE}) nor a folder of run folders")
    return runs


def match_input(folder: str | Path, name: str, what: str, mask: bool = False) -> Path:
    """The file of ``folder`` for run ``name`` (``name.<ext>``, for masks also ``name_mask.<ext>``)."""
    stems = [name, f"{name}_mask"] if mask else [name]
    for stem in stems:
        for path in sorted(Path(folder).glob(f"{glob_escape(stem)}.*")):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                return path
    raise Skip(f"no {what} named {name}.<ext> in {folder}")


def glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in text)


def run_each(names: Iterable[str], work: Callable[[str], str],
             on_item: Callable[[ItemResult], None] | None = None) -> list[ItemResult]:
    """Call ``work(name)`` for every name; a :class:`UserError` fails that item, :class:`Skip`
    skips it, and the loop goes on (Ctrl-C, :class:`TrainingInterrupted`, ends it). ``work``
    returns a detail for the table."""
    results = []
    for name in names:
        try:
            result = ItemResult(name, "done", work(name))
        except Skip as reason:
            result = ItemResult(name, "skipped", str(reason))
        except TrainingInterrupted:  # Ctrl-C stops the whole folder, not just this item
            raise
        except UserError as error:
            result = ItemResult(name, "failed", str(error))
        results.append(result)
        if on_item is not None:
            on_item(result)
    return results


def check_folder_target(path: str | Path, option: str, inputs: str | Path | None = None) -> Path:
    """A folder option of folder mode: must not be an existing file, nor the folder of ``inputs``
    (whose ``<name>.png`` it would replace)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"with a folder of runs or images, {option} must be a folder, not the file {path}")
    if inputs is not None and path.exists() and path.resolve() == Path(inputs).resolve():
        raise UserError(f"{option} {path} is the input folder: its outputs would replace the inputs; "
                        "choose another folder")
    return path


def summary_table(results: list[ItemResult]) -> str:
    """A plain-text table of the results and a count line."""
    width = max([len("name")] + [len(r.name) for r in results])
    lines = [f"{'name':<{width}}  {'status':<7}  detail", f"{'-' * width}  {'-' * 7}  {'-' * 6}"]
    lines += [f"{r.name:<{width}}  {r.status:<7}  {r.detail}" for r in results]
    counts = Counter(r.status for r in results)
    lines.append(f"{counts['done']} done, {counts['skipped']} skipped, {counts['failed']} failed")
    return "\n".join(lines)


__all__ = ["ItemResult", "Skip", "list_images", "run_names", "is_run_folder", "find_runs", "match_input",
           "run_each", "summary_table", "check_folder_target", "IMAGE_SUFFIXES"]
