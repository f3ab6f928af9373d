"""What a command may write and delete around run folders, so that no command destroys a run
(SinGAN's or the zoo's) or a user's files. No paper.

- Run kinds. SinGAN and the zoo register what their runs look like (:class:`RunKind`: how to tell
  their ``config.json``, which top-level names the run itself writes). A folder holding a
  ``config.json`` of no registered kind is foreign.
- Ownership (:func:`check_run_target`): training writes only into a folder that is missing or
  empty, a run of its own kind, or (``--overwrite``) a folder that is no run at all; never into
  another kind's run or a foreign ``config.json``, whatever the options.
- Output paths (:func:`check_output_not_in_run`): an output file or folder never names a run's own
  files (``RUN/config.json``, ``RUN/checkpoints/...``); new files inside a run are fine.
- Pruning (:func:`prune_owned`): only entries whose name matches the writer's pattern and which
  hold nothing but the writer's files are removed, file by file, and only inside the resolved run
  folder: a ``checkpoints/`` that is a link to elsewhere is never pruned.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ganbase.errors import UserError
from ganbase.io.checkpoint import is_temp_file
from ganbase.io.run_lock import LOCK_FILE

CONFIG_FILE = "config.json"


@dataclass(frozen=True)
class RunKind:
    """One kind of run folder: ``title`` for messages, ``matches(config)`` tells its config.json,
    ``own_names`` are the top-level entries the run writes (never an output of a command)."""

    title: str
    matches: Callable[[dict], bool]
    own_names: frozenset[str]


_KINDS: dict[str, RunKind] = {}


def register_run_kind(name: str, kind: RunKind) -> None:
    _KINDS[name] = kind


def read_config(folder: Path) -> dict | None:
    """The JSON object of ``folder/config.json``; None when there is none; ``{}`` when unreadable."""
    path = folder / CONFIG_FILE
    if not path.is_file():
        return None
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


def kind_of(folder: str | os.PathLike) -> str | None:
    """The registered kind name of the run ``folder``; ``"foreign"`` for another config.json;
    None when it holds no config.json."""
    config = read_config(Path(folder))
    if config is None:
        return None
    return next((name for name, kind in _KINDS.items() if kind.matches(config)), "foreign")


def _title(kind: str) -> str:
    return _KINDS[kind].title if kind in _KINDS else "run of another kind (or another program's folder)"


def is_empty(folder: Path) -> bool:
    """No entries but this process's lock file."""
    return all(entry.name == LOCK_FILE for entry in folder.iterdir())


def check_run_target(folder: str | os.PathLike, kind: str, overwrite: bool | None = None) -> str:
    """Whether training of ``kind`` may write into ``folder``: ``"new"`` (missing or empty),
    ``"own"`` (a run of this kind; the caller resumes or replaces it) or ``"other"`` (files that
    are no run, named with ``overwrite``; None: the command has no ``--overwrite``). Otherwise a
    one-line :class:`UserError`."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UserError(f"--out {folder} is a file; the run needs a folder")
    if not folder.exists() or is_empty(folder):
        return "new"
    found = kind_of(folder)
    if found == kind:
        return "own"
    if found is not None:
        raise UserError(f"--out {folder} is a {_title(found)}, not a {_title(kind)}: nothing is written "
                        "into it (not even with --overwrite); choose another --out")
    if not overwrite:
        hint = "" if overwrite is None else " or use --overwrite to write the run among its files"
        raise UserError(f"output folder {folder} already exists and is not empty (and no {_title(kind)}); "
                        f"choose another --out{hint}")
    return "other"


def _run_root(path: Path) -> tuple[Path, str] | None:
    """The nearest folder above ``path`` holding a config.json (with its kind)."""
    for folder in path.parents:
        kind = kind_of(folder)
        if kind is not None:
            return folder, kind
    return None


def _owned(root: Path, kind: str, top: str) -> bool:
    """Whether the top-level entry ``top`` of ``root`` belongs to its run: a registered kind's own
    names; for a run of a kind not loaded in this process (a config.json with a "model"), every
    existing entry; for another program's folder, its config.json only."""
    if kind in _KINDS:
        return top in _KINDS[kind].own_names
    if "model" in (read_config(root) or {}):
        return (root / top).exists()
    return top == CONFIG_FILE


def check_output_not_in_run(path: str | os.PathLike, option: str) -> None:
    """Refuse an output ``path`` that is a run's own file or folder, or lies inside one."""
    target = Path(os.path.abspath(path))
    if target.is_symlink() or target.exists():
        target = target.resolve()
    found = _run_root(target)
    if found is None:
        return
    root, kind = found
    top = target.relative_to(root).parts[0]
    if _owned(root, kind, top) or top == LOCK_FILE:
        raise UserError(f"{option} {path} would overwrite {root / top} of the run folder {root}: outputs never "
                        "replace a run's own files; choose another output path")


def prune_owned(run_dir: str | os.PathLike, subfolder: str, pattern: str, file_names: frozenset[str],
                keep: str) -> list[Path]:
    """Remove ``run_dir/subfolder/<entry>`` for every entry (but ``keep``) that fully matches
    ``pattern``, is a real folder (no link) and holds only ``file_names`` (and temp files of
    interrupted writes). Nothing is removed when ``subfolder`` resolves outside the run folder.
    Returns the removed folders."""
    root = Path(run_dir).resolve()
    parent = Path(run_dir) / subfolder
    if parent.is_symlink() or not parent.is_dir() or parent.resolve().parent != root:
        return []
    removed = []
    for entry in sorted(parent.iterdir()):
        if entry.name == keep or not re.fullmatch(pattern, entry.name) or entry.is_symlink() or not entry.is_dir():
            continue
        files = list(entry.iterdir())
        if not all(f.is_file() and not f.is_symlink() and (f.name in file_names or is_temp_file(f))
                   for f in files):
            continue
        for f in files:
            f.unlink(missing_ok=True)
        try:
            entry.rmdir()
        except OSError:  # something appeared meanwhile: leave it
            continue
        removed.append(entry)
    return removed


__all__ = ["CONFIG_FILE", "RunKind", "check_output_not_in_run", "check_run_target", "is_empty",
           "kind_of", "prune_owned", "read_config", "register_run_kind"]
