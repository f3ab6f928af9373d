"""Checkpoints as data, never pickles: safetensors weights plus JSON metadata, written atomically.

Every write goes to a temporary file in the target folder, is flushed to disk and renamed into
place, so a crash (even SIGKILL or power loss) leaves either the old file or the new one, never a
torn file. Loading never executes code: weights are safetensors (a JSON header and raw bytes),
and a pickle or ``torch.save`` file where weights are expected is refused, not unpickled.
"""

from __future__ import annotations

import csv
import fnmatch
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from ganbase.errors import UserError

_UMASK = os.umask(0)
os.umask(_UMASK)
#: names of the temporary files atomic writes rename into place (``.<name>.<random>.tmp``)
TEMP_PATTERN = ".*.tmp"


@contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[str]:
    """A temporary path beside ``path`` (``TEMP_PATTERN``) for any writer to fill, e.g. a streaming
    encoder: renamed onto ``path`` when the block ends, deleted if it raises, so ``path`` is either
    the old file or the complete new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # TEMP_PATTERN
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_folder(path.parent)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and ``os.replace``."""
    with atomic_output(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)


def is_temp_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is named as the temporary file of an atomic write (``.<name>.<random>.tmp``)."""
    return fnmatch.fnmatchcase(Path(path).name, TEMP_PATTERN)


def remove_temp_files(folder: str | os.PathLike) -> int:
    """Delete the temporary files (see :func:`is_temp_file`) that interrupted atomic writes left in
    ``folder`` and its subfolders; returns how many. Call it only when no write is in progress."""
    stale = [p for p in Path(folder).rglob(TEMP_PATTERN) if p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def _fsync_folder(folder: Path) -> None:
    """Make a rename durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    # surrogateescape: a non-UTF-8 file name (which Python decodes to lone surrogates) is written
    # back as its original bytes instead of failing the whole write
    atomic_write_bytes(path, text.encode("utf-8", errors="surrogateescape"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def append_text(path: str | os.PathLike, text: str) -> None:
    """Append ``text`` (whole lines) with one ``write`` call on an ``O_APPEND`` file.

    For logs that grow by a line at a time, where rewriting the file would cost quadratic time: a
    crash leaves at most a torn last line, which :func:`complete_csv_rows` drops on resume.
    """
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)


def complete_csv_rows(text: str) -> list[list[str]]:
    """The rows of a CSV log that are complete: the header, then rows with as many fields."""
    lines = text.splitlines()
    if text and not text.endswith("\n"):
        lines = lines[:-1]  # a torn last line
    rows = list(csv.reader(lines))
    if not rows:
        return []
    return rows[:1] + [row for row in rows[1:] if len(row) == len(rows[0])]


MAX_JSON_BYTES = 16 * 1024 * 1024


def read_json(path: str | os.PathLike) -> dict:
    """Read a JSON object; a missing or corrupt file becomes a one-line UserError."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"missing file: {path}")
    size = path.stat().st_size
    if size > MAX_JSON_BYTES:  # the project's JSON files are kilobytes; never read a huge one into memory
        raise UserError(f"corrupt JSON file {path}: {size:,} bytes, above the limit of {MAX_JSON_BYTES:,}")
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise UserError(f"corrupt JSON file {path}: {exc}") from None
    if not isinstance(obj, dict):
        raise UserError(f"corrupt JSON file {path}: expected an object")
    return obj


def save_tensors(path: str | os.PathLike, tensors: Mapping[str, torch.Tensor],
                 metadata: Mapping[str, str] | None = None) -> None:
    """Save tensors as safetensors, atomically. Tensors are copied to CPU and made contiguous."""
    flat = {name: t.detach().to("cpu").contiguous() for name, t in tensors.items()}
    atomic_write_bytes(path, save_safetensors_bytes(flat, metadata=dict(metadata or {})))


def load_tensors(path: str | os.PathLike, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """Load a safetensors file; missing, truncated or corrupt files raise a one-line UserError."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"missing weights file: {path}")
    data = path.read_bytes()
    try:
        tensors = load_safetensors_bytes(data)
    except (SafetensorError, ValueError, RuntimeError, OSError) as exc:
        if data[:1] == b"\x80" or data[:2] == b"PK":  # pickle protocol 2+ / torch.save zip archive
            raise UserError(f"refusing to load {path}: it is a pickle or torch.save file, not safetensors "
                            "(unpickling could run code from it)") from None
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"corrupt or truncated weights file {path}: {reason}") from None
    return {name: t.to(device) for name, t in tensors.items()}



def read_state_dict(path: Path, what: str, expected: str) -> dict[str, torch.Tensor]:
    """A state dict of tensors from a user's weights file (``.safetensors``, or a torch file read
    with ``weights_only=True`` so that nothing is unpickled); ``what`` names the network and
    ``expected`` the files it takes in the one-line errors. Errors of :func:`load_tensors` pass as
    they are."""
    try:
        if path.suffix == ".safetensors":
            return load_tensors(path)
        state = torch.load(path, map_location="cpu", weights_only=True)
    except UserError:
        raise
    except Exception as exc:  # pickle, zip and safetensors each raise their own types
        raise UserError(f"cannot read {what} weights {path} ({type(exc).__name__}); expected {expected}") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError(f"{path} is not a state dict of tensors; expected {expected}")
    return state

def check_state_dict(expected: Mapping[str, torch.Tensor], tensors: Mapping[str, torch.Tensor],
                     path: str | os.PathLike, what: str = "the model in config.json") -> None:
    """Refuse, in one line, weights that do not match a network: missing, extra or misshapen tensors."""
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    mismatched = sorted(k for k in set(expected) & set(tensors)
                        if tuple(expected[k].shape) != tuple(tensors[k].shape))
    if mismatched:
        key = mismatched[0]
        detail = (f"{key} has shape {list(tensors[key].shape)}, expected {list(expected[key].shape)}"
                  + (f" (and {len(mismatched) - 1} more)" if len(mismatched) > 1 else ""))
    elif missing:
        detail = f"missing {missing[:2]}" + (f" and {len(missing) - 2} more" if len(missing) > 2 else "")
    elif unexpected:
        detail = f"unexpected {unexpected[:2]}"
    else:
        check_values(expected, tensors, path)
        return
    raise UserError(f"weights in {path} do not match {what}: {detail}")


def check_values(expected: Mapping[str, torch.Tensor], tensors: Mapping[str, torch.Tensor],
                 path: str | os.PathLike) -> None:
    """Refuse weights of another dtype than the network's (a float64 weight) or with NaN/inf values."""
    for key in sorted(expected):
        tensor = tensors[key]
        if tensor.dtype != expected[key].dtype:
            raise UserError(f"weights in {path}: {key} is {str(tensor.dtype).removeprefix('torch.')}, "
                            f"expected {str(expected[key].dtype).removeprefix('torch.')}")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise UserError(f"weights in {path}: {key} has {int((~torch.isfinite(tensor)).sum())} "
                            "NaN or infinite value(s)")
