"""The one rule for a command's RUN or IMAGE argument: one run / image, or a folder of them.

A path names a folder of runs when it is a folder that is not itself a run folder (no
``config.json``), and a folder of images when it is a folder at all; anything else is one item
(a missing path too: the work reports it). :func:`for_each_item` calls the work once for one item,
its errors ending the command, or for every item of a folder, each error ending only that item
(:func:`singan_kit.batch.folders.run_each`); under torchrun a sharded folder is split between the
processes (:mod:`singan_kit.batch.sharding`) and every process gets the results of all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ganbase.errors import UserError
from ganbase.runtime.distributed import SINGLE, World
from singan_kit.batch.folders import ItemResult, find_runs, is_run_folder, list_images, run_each, run_names
from singan_kit.batch.sharding import gather_results

KINDS = ("run", "image")


@dataclass(frozen=True)
class Item:
    """One run folder or image that a command works on."""

    path: Path
    name: str  # the run folder's name; for an image, the name of its run (see run_names)
    in_folder: bool  # False: the command's argument itself


@dataclass(frozen=True)
class Outcome:
    """What :func:`for_each_item` did: one item's detail, or every item's result of a folder."""

    kind: str  # "run" or "image"
    is_folder: bool
    detail: str = ""  # one item: what the work returned
    results: list[ItemResult] = field(default_factory=list)  # a folder: one result per item
    is_main: bool = True  # False on torchrun processes other than rank 0, which print nothing

    def check(self) -> None:
        """Refuse a folder in which an item failed (after its summary was shown), so that scripts
        can tell (issue 22)."""
        failed = sum(r.status == "failed" for r in self.results) if self.is_folder else 0
        if failed == len(self.results) and failed:
            raise UserError(f"every {self.kind} failed")
        if failed:
            raise UserError(f"{failed} of {len(self.results)} {self.kind}s failed (see the table above)")


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def is_folder_of(path: str | Path | None, kind: str) -> bool:
    """Whether ``path`` is a folder of runs (``kind="run"``) or of images (``kind="image"``). A run
    folder given where images are expected is an error (its real.png and previews are not photos)."""
    _check_kind(kind)
    if path is None:
        return False
    path = Path(path)
    if kind == "image" and path.is_dir() and is_run_folder(path):
        raise UserError(f"{path} is a run folder, not an image or a folder of images")
    return path.is_dir() and (kind == "image" or not is_run_folder(path))


def folder_items(path: str | Path, kind: str) -> dict[str, Item]:
    """The items of a folder by name, sorted: its run folders, or its images by run name."""
    _check_kind(kind)
    if kind == "run":
        return {run.name: Item(run, run.name, True) for run in find_runs(path)}
    return {name: Item(image, name, True) for image, name in run_names(list_images(path)).items()}


def run_items(items: Mapping[str, Item], work: Callable[[Item], str], world: World = SINGLE,
              on_item: Callable[[ItemResult], None] | None = None) -> list[ItemResult]:
    """``work(item)`` for every item (under torchrun: this rank's share), the results of all ranks
    in the order of ``items``, named by its keys."""
    names = list(items)
    return gather_results(world, run_each(world.shard(names), lambda name: work(items[name]), on_item), names)


def for_each_item(path: str | Path, kind: str, work: Callable[[Item], str], world: World = SINGLE,
                  on_folder: Callable[[dict[str, Item]], None] | None = None,
                  on_item: Callable[[ItemResult], None] | None = None) -> Outcome:
    """Call ``work(item)`` for the run or image ``path``, or for every one in the folder ``path``.
    ``on_folder(items)`` runs before the first item of a folder (checks of folder-mode options);
    ``world`` shares a folder's items between torchrun processes."""
    if not is_folder_of(path, kind):
        path = Path(path)
        return Outcome(kind, False, work(Item(path, path.name, False)))
    items = folder_items(path, kind)
    if on_folder is not None:
        on_folder(items)
    return Outcome(kind, True, results=run_items(items, work, world, on_item), is_main=world.is_main)


__all__ = ["Item", "Outcome", "is_folder_of", "folder_items", "run_items", "for_each_item"]
