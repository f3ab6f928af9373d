"""Reading, converting and writing single images (SinGAN's inputs, samples and previews).

Every image any command reads goes through :func:`read_image`, one decoder with an explicit policy
per Pillow mode, bit depth and orientation (the table is in ``docs/crash_safety.md``, "Input
validation"):

- the pixel count is checked from the file's header *before* anything is decoded, against
  ``GANBASE_MAX_IMAGE_PIXELS`` (default 8192x8192 = 67 megapixels), so decompression bombs of
  every container (PNG, JPEG, GIF, TIFF, WebP, ...) are refused without allocating;
- multi-frame files (GIF, APNG, WebP, multi-page TIFF) give their first frame; no other frame is
  decoded;
- the EXIF orientation (all 8 values) is applied;
- ``1``/``L``/``LA`` are gray, ``P``/``PA`` are expanded through their palette, ``CMYK`` (Adobe
  inverted JPEGs included, which Pillow un-inverts), ``YCbCr`` and ``HSV`` are converted to RGB,
  alpha is dropped with a note, 16-bit integers are scaled by 65535, float images must be finite
  and in [0, 1]; ``LAB`` and anything else is refused in one line naming the mode;
- TIFFs Pillow cannot decode (float RGB, more than 4 samples) are read with tifffile, page 0 only.

Problems become one-line :class:`UserError` messages.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor

from ganbase.errors import UserError
from ganbase.io.checkpoint import atomic_write_bytes

MAX_PIXELS_ENV = "GANBASE_MAX_IMAGE_PIXELS"
DEFAULT_MAX_PIXELS = 8192 * 8192  # 67 Mpx: any camera up to 61 Mpx; 805 MB as float32 RGB
FLOAT_TOLERANCE = 1e-3  # float pixels this far outside [0, 1] are rounding, not another range
TIFF_MAGIC = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")
GRAY_MODES = {"1", "L", "I", "F", "I;16", "I;16L", "I;16B", "I;16N"}
RGB_MODES = {"RGB": None, "RGBX": None, "RGBA": "RGBA image: alpha channel dropped",
             "RGBa": "RGBA image: alpha channel dropped", "LA": "gray+alpha image: alpha dropped",
             "La": "gray+alpha image: alpha dropped", "PA": "palette image: alpha dropped",
             "CMYK": "CMYK image converted to RGB (no colour profile applied)",
             "YCbCr": "YCbCr image converted to RGB", "HSV": "HSV image converted to RGB"}


def max_image_pixels() -> int:
    """The pixel-count limit for decoded images: ``GANBASE_MAX_IMAGE_PIXELS`` or the default."""
    value = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not value:
        return DEFAULT_MAX_PIXELS
    try:
        limit = int(value)
    except ValueError:
        limit = 0
    if limit < 1:
        raise UserError(f"{MAX_PIXELS_ENV} must be a whole number of pixels >= 1, got {value!r}")
    return limit


def check_pixel_count(path: Path, width: int, height: int, limit: int | None = None) -> None:
    """Refuse an image whose header declares more pixels than the limit, before decoding it."""
    limit = max_image_pixels() if limit is None else limit
    if width < 1 or height < 1:
        raise UserError(f"cannot read image {path}: it declares {width}x{height} px")
    if width * height > limit:
        raise UserError(
            f"cannot read image {path}: {width}x{height} px ({width * height:,} pixels) exceeds limit of "
            f"{limit:,} pixels (a decompression bomb?); set {MAX_PIXELS_ENV} to raise it"
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _scale_float(path: Path, array: np.ndarray) -> np.ndarray:
    array = array.astype(np.float32)
    bad = int(np.count_nonzero(~np.isfinite(array)))
    if bad:
        raise UserError(f"image {path} has {bad} NaN or infinite pixel value(s)")
    low, high = float(array.min()), float(array.max())
    if low < -FLOAT_TOLERANCE or high > 1 + FLOAT_TOLERANCE:
        raise UserError(f"image {path} has float pixel values from {low:g} to {high:g}, outside [0, 1]; "
                        "rescale it to [0, 1] or save it as 8 or 16 bits")
    return np.clip(array, 0.0, 1.0)


def _scale_integers(path: Path, array: np.ndarray, notes: list[str]) -> np.ndarray:
    """Integer pixels -> float [0, 1] by their type's range (mode ``I``: the 16-bit range)."""
    if array.dtype == bool:
        return array.astype(np.float32)
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if array.dtype.kind == "u" and array.dtype.itemsize in (2, 4):
        notes.append(f"{8 * array.dtype.itemsize}-bit image converted to float")
        return (array.astype(np.float64) / np.iinfo(array.dtype).max).astype(np.float32)
    if array.dtype.kind == "i":  # Pillow's mode I: 16-bit PNG/PGM, or signed TIFF samples
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 65535:
            raise UserError(f"cannot read image {path}: integer pixel values from {low} to {high} are outside "
                            "0..65535 (mode I); save it as 8 or 16 bits")
        notes.append("16-bit image converted to float")
        return array.astype(np.float32) / 65535.0
    raise UserError(f"cannot read image {path}: unsupported pixel type {array.dtype}")


def _read_pillow(path: Path, image: Image.Image, limit: int, notes: list[str]) -> np.ndarray:
    check_pixel_count(path, *image.size, limit)
    if getattr(image, "is_animated", False):  # reads frame headers only, decodes no other frame
        notes.append("multi-frame image: using the first frame")
    image.load()  # decodes frame 0 only
    orientation = image.getexif().get(0x0112, 1)
    if orientation in range(2, 9):
        image = ImageOps.exif_transpose(image)
        notes.append(f"EXIF orientation {orientation} applied")
    mode = image.mode
    if image.format == "TIFF" and image.tag_v2.get(262) == 0 and mode not in ("1", "L"):
        raise UserError(f"cannot read image {path}: a white-is-zero (MINISWHITE) TIFF of mode {mode} is not "
                        "supported; save it as black-is-zero")
    if mode == "P":
        has_alpha = "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
        if has_alpha:
            notes.append("palette image with transparency: alpha dropped")
        mode = image.mode
    if mode in GRAY_MODES:
        array = np.asarray(image)
        if mode == "F":
            return _scale_float(path, array)
        if mode == "1":
            return array.astype(np.float32)
        return _scale_integers(path, array, notes)
    if mode in RGB_MODES:
        if RGB_MODES[mode]:
            notes.append(RGB_MODES[mode])
        if mode in ("LA", "La"):
            return np.asarray(image.getchannel("L")).astype(np.float32) / 255.0
        return np.asarray(image.convert("RGB")).astype(np.float32) / 255.0
    raise UserError(f"cannot read image {path}: Pillow mode {mode} is not supported; convert it to RGB")


def _read_tiff(path: Path, limit: int, notes: list[str]) -> np.ndarray:
    """A TIFF Pillow cannot decode (float RGB, many samples): page 0 with tifffile."""
    try:
        import tifffile  # imageio's TIFF plugin; only these rare TIFFs need it
    except ImportError:
        raise UserError(f"cannot read image {path}: this TIFF needs tifffile (pip install tifffile)") from None
    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            check_pixel_count(path, int(page.imagewidth), int(page.imagelength), limit)
            photometric = getattr(page.photometric, "name", str(page.photometric))
            if photometric not in ("MINISBLACK", "MINISWHITE", "RGB"):
                raise UserError(f"cannot read image {path}: TIFF photometric {photometric} with "
                                f"{page.samplesperpixel} samples of {page.dtype} is not supported; convert it to RGB")
            if tif.pages.is_multipage:  # from the first page's link to the next
                notes.append("multi-page TIFF: using the first page")
            array = page.asarray()
            axes = page.axes
    except UserError:
        raise
    except Exception as exc:  # tifffile raises many types for damaged files
        raise UserError(f"cannot read image {path}: {_first_line(exc)}") from None
    if "S" in axes and array.ndim == 3:
        array = np.moveaxis(array, axes.index("S"), -1)
    if array.ndim == 3 and array.shape[2] not in (1, 2, 3, 4):
        raise UserError(f"cannot read image {path}: {array.shape[2]} channels")
    if array.ndim not in (2, 3):
        raise UserError(f"cannot read image {path}: unexpected array shape {array.shape}")
    if array.ndim == 3 and array.shape[2] in (2, 4):
        notes.append("alpha channel dropped")
        array = array[:, :, : array.shape[2] - 1]
    array = _scale_float(path, array) if array.dtype.kind == "f" else _scale_integers(path, array, notes)
    return 1.0 - array if photometric == "MINISWHITE" else array


_PILLOW_LIMIT_LOCK = threading.Lock()


def _open_without_pillow_limit(path: Path) -> Image.Image:
    """``Image.open`` (the header only) with Pillow's own, larger bomb check off: the limit here is
    ours, checked from the same header before decoding. The lock keeps concurrent readers (the web
    studio) from leaving Pillow's global setting off."""
    with _PILLOW_LIMIT_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            return Image.open(path)
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def read_image(path: str | os.PathLike, max_pixels: int | None = None) -> tuple[np.ndarray, list[str]]:
    """Decode one image file as ``float32 [H, W, C]`` in ``[0, 1]`` (C = 1 for gray, 3 for RGB)
    plus notes on any conversion; the one decoder of the project (policy: module docstring)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"image not found: {path}")
    if not path.is_file():
        raise UserError(f"not a file: {path}")
    if path.stat().st_size == 0:
        raise UserError(f"cannot read image {path}: the file is empty")
    limit = max_image_pixels() if max_pixels is None else max_pixels
    notes: list[str] = []
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise UserError(f"cannot read image {path}: {exc.strerror}") from None
    try:
        with _open_without_pillow_limit(path) as image:
            array = _read_pillow(path, image, limit, notes)
    except UserError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if magic in TIFF_MAGIC:
            array = _read_tiff(path, limit, notes)
        elif isinstance(exc, UnidentifiedImageError):
            raise UserError(f"cannot read image {path}: not an image, or a format Pillow does not read") from None
        else:
            raise UserError(f"cannot read image {path}: {_first_line(exc)}") from None
    except Exception as exc:  # Pillow's decoders raise many types on damaged data
        raise UserError(f"cannot read image {path}: {_first_line(exc)}") from None
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    return np.ascontiguousarray(array, dtype=np.float32), notes


def load_image(path: str | os.PathLike) -> tuple[np.ndarray, list[str]]:
    """Load an image as ``float32 [H, W, 3]`` RGB in ``[0, 1]`` plus notes on any conversion."""
    array, notes = read_image(path)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
        notes.append("grayscale image converted to RGB")
    return np.ascontiguousarray(array), notes


def check_output_path(out: str | os.PathLike, *inputs: str | os.PathLike | None) -> Path:
    """Refuse an output path that is a folder, lies under a file, or is one of the inputs."""
    out = Path(out)
    if out.is_dir():
        raise UserError(f"--out {out} is a folder; give a file name such as {out / 'out.png'}")
    blocking = next((parent for parent in out.parents if parent.exists() and not parent.is_dir()), None)
    if blocking is not None:
        raise UserError(f"cannot write --out {out}: {blocking} is a file, not a folder")
    for source in inputs:
        if source is not None and Path(source).exists() and out.exists() and out.samefile(source):
            raise UserError(f"--out {out} is the input file {source}; choose another output name")
    return out


def to_tensor(array: np.ndarray) -> Tensor:
    """``[H, W, 3]`` in [0, 1] -> ``[1, 3, H, W]`` in [-1, 1]."""
    return torch.from_numpy(array).permute(2, 0, 1)[None].float() * 2.0 - 1.0


def to_uint8(images: Tensor) -> np.ndarray:
    """``[N, 3, H, W]`` or ``[3, H, W]`` in [-1, 1] -> ``uint8 [N, H, W, 3]`` / ``[H, W, 3]``."""
    array = ((images.detach().float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return array.movedim(-3, -1).cpu().numpy()


def encode_image(array: np.ndarray, suffix: str = ".png") -> bytes:
    """Encode ``uint8 [H, W, 3]`` in the format named by ``suffix``."""
    return iio.imwrite("<bytes>", array, extension=suffix)


def save_image(path: str | os.PathLike, image: Tensor | np.ndarray) -> None:
    """Write one image (tensor in [-1, 1] or uint8 array) atomically; format from the suffix."""
    array = to_uint8(image) if isinstance(image, Tensor) else image
    if array.ndim == 4:
        array = array[0]
    atomic_write_bytes(path, encode_image(array, Path(path).suffix.lower() or ".png"))


def side_by_side(images: list[np.ndarray], gap: int = 2, fill: int = 255) -> np.ndarray:
    """Place ``uint8 [H_i, W_i, 3]`` images in a row, top-aligned."""
    height = max(image.shape[0] for image in images)
    width = sum(image.shape[1] for image in images) + gap * (len(images) - 1)
    row = np.full((height, width, 3), fill, dtype=np.uint8)
    x = 0
    for image in images:
        row[: image.shape[0], x:x + image.shape[1]] = image
        x += image.shape[1] + gap
    return row
