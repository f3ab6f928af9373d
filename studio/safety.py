"""What keeps the web studio safe on a shared machine: only files inside the runs folder are
served, names from the network never become paths, uploads are bounded before they are decoded,
and state-changing requests from other origins (CSRF, DNS rebinding) are refused.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from ganbase.errors import UserError
from ganbase.io.images import read_image, save_image

MAX_UPLOAD_BYTES = 25 * 1024 * 1024  # one uploaded file
MAX_UPLOAD_PIXELS = 25_000_000  # checked from the header, before decoding
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def new_run_name(filename: str | None) -> str:
    """A fresh run folder name: the uploaded file's stem reduced to ``[A-Za-z0-9_-]`` plus a random tag."""
    stem = _UNSAFE.sub("-", Path(filename or "image").stem).strip("-_")[:40] or "image"
    return f"{stem}-{uuid.uuid4().hex[:6]}"


def check_run_name(name: str) -> str:
    """A run name from a URL: one plain folder name (no separators, no ``..``, no hidden folders)."""
    if not RUN_NAME.match(name) or ".." in name:
        raise UserError(f"not a run name: {name!r}")
    return name


def inside(root: Path, *parts: str) -> Path:
    """``root / parts`` resolved, refused unless it is inside ``root`` (symlinks resolved too)."""
    base = root.resolve()
    target = base.joinpath(*parts).resolve()
    if target != base and base not in target.parents:
        raise UserError("path outside the runs folder")
    return target


def store_upload(data: bytes, folder: Path, what: str = "image") -> tuple[Path, list[str]]:
    """Check an uploaded image (size, then the pixel count from its header, then decode) and store it
    as ``<folder>/<random>.png``, RGB; returns the path and notes on conversions."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise UserError(f"the {what} is larger than the limit of {MAX_UPLOAD_BYTES:,} bytes")
    if not data:
        raise UserError(f"the {what} is empty")
    folder.mkdir(parents=True, exist_ok=True)
    raw = folder / f"{uuid.uuid4().hex}.upload"
    raw.write_bytes(data)
    try:
        array, notes = read_image(raw, max_pixels=MAX_UPLOAD_PIXELS)
    except UserError as exc:  # its message names our random path: say what the user sent instead
        raise UserError(str(exc).replace(str(raw), f"the uploaded {what}")) from None
    finally:
        raw.unlink(missing_ok=True)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    path = folder / f"{uuid.uuid4().hex}.png"
    save_image(path, (np.clip(array, 0, 1) * 255).round().astype(np.uint8))
    return path, notes


def same_origin(headers, allowed_hosts: set[str] | None, check_origin: bool = True) -> str | None:
    """Why a request must be refused, or None: its Host must be one the server answers to (no DNS
    rebinding; any host when bound to all interfaces, ``allowed_hosts`` None), and an Origin or
    Referer, when sent, must be that same host (no cross-site requests: CSRF)."""
    host = headers.get("host", "")
    if allowed_hosts is not None and host not in allowed_hosts:
        return f"unexpected Host header {host!r}"
    if not check_origin:  # pages and files may be linked to from elsewhere; the API may not
        return None
    if headers.get("sec-fetch-site") == "cross-site":
        return "cross-site request"
    for header in ("origin", "referer"):
        value = headers.get(header)
        if value is None:
            continue
        if value == "null" or urlsplit(value).netloc != host:
            return f"request from another origin ({value})"
    return None


def allowed_hosts(host: str, port: int) -> set[str] | None:
    """The Host header values of requests to this server: the bound address and loopback names
    (None, any, for a server bound to every interface, which cannot know its names)."""
    if host in ("0.0.0.0", "::", ""):
        return None
    names = set(LOOPBACK_HOSTS) | {host}
    return {f"{name}:{port}" for name in names} | ({host} if port == 80 else set())
