"""The one image decoder (``ganbase.io.images.read_image``): its policy per Pillow mode, bit depth,
EXIF orientation and frame count, and the pixel limit checked from the header before decoding.

Every file is generated here; the "huge" ones are tiny files whose headers declare huge sizes.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
import tifffile
from PIL import GifImagePlugin, Image, ImageFile

from ganbase.errors import UserError
from ganbase.io import images
from ganbase.io.images import DEFAULT_MAX_PIXELS, load_image, read_image
from ganbase.zoo.data.base import decode_image


def png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16))
            + chunk(b"IEND", b""))


def tiff_header(width: int, height: int) -> bytes:
    """A little-endian 8-bit gray TIFF whose one strip claims ``width * height`` bytes (absent)."""
    entries = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, 8),
               (277, 3, 1), (278, 4, height), (279, 4, width * height)]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHII", tag, kind, 1, value) if kind == 4 else struct.pack("<HHIHH", tag, kind, 1, value, 0)
        for tag, kind, value in entries) + struct.pack("<I", 0)
    return b"II*\0" + struct.pack("<I", 8) + ifd


def gif_header(width: int, height: int) -> bytes:
    return (b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
            + b"," + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00;")


def jpeg_header(width: int, height: int) -> bytes:
    sof = struct.pack(">BHHB", 8, height, width, 3) + b"".join(struct.pack(">BBB", i, 0x11, 0) for i in (1, 2, 3))
    return b"\xff\xd8\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof + b"\xff\xd9"


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if any pixel data is decoded."""
    def refuse(self, *args, **kwargs):
        raise AssertionError("pixels were decoded")
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    monkeypatch.setattr(tifffile.TiffPage, "asarray", refuse)


# -- decompression bombs -------------------------------------------------------------------

@pytest.mark.parametrize("name,data", [
    ("165mpx.png", png_header(12845, 12845)),
    ("huge.tif", tiff_header(40000, 40000)),
    ("huge.gif", gif_header(20000, 20000)),
    ("huge.jpg", jpeg_header(30000, 30000)),
])
def test_huge_headers_are_refused_before_decoding(name, data, tmp_path, no_decoding):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(UserError, match="exceeds limit of 67,108,864 pixels") as info:
        read_image(path)
    assert "GANBASE_MAX_IMAGE_PIXELS" in str(info.value)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".gif", ".tif", ".webp", ".bmp"])
def test_the_limit_applies_to_every_container_before_decoding(suffix, tmp_path, monkeypatch):
    path = tmp_path / f"small{suffix}"
    Image.fromarray(np.full((20, 30, 3), 100, np.uint8)).save(path)
    assert read_image(path)[0].shape[:2] == (20, 30)
    monkeypatch.setenv("GANBASE_MAX_IMAGE_PIXELS", "599")
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("decoded"))
    with pytest.raises(UserError, match="30x20 px \\(600 pixels\\) exceeds limit of 599 pixels"):
        read_image(path)


def test_the_limit_can_be_raised_and_a_bad_value_is_refused(tmp_path, monkeypatch):
    pillow_limit = Image.MAX_IMAGE_PIXELS
    path = tmp_path / "huge.png"
    path.write_bytes(png_header(12845, 12845))
    monkeypatch.setenv("GANBASE_MAX_IMAGE_PIXELS", "many")
    with pytest.raises(UserError, match="GANBASE_MAX_IMAGE_PIXELS must be a whole number"):
        read_image(path)
    monkeypatch.setenv("GANBASE_MAX_IMAGE_PIXELS", str(200_000_000))
    with pytest.raises(UserError) as info:  # passes the limit, then the missing data is the problem
        read_image(path)
    assert "exceeds limit" not in str(info.value)
    assert DEFAULT_MAX_PIXELS == 8192 * 8192
    assert Image.MAX_IMAGE_PIXELS == pillow_limit > 0  # Pillow's own setting is left as it was


def test_a_1500_frame_gif_decodes_only_its_first_frame(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    frames = [Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)) for _ in range(1500)]
    path = tmp_path / "long.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    seen = []
    original = GifImagePlugin.GifImageFile._seek

    def spy(self, frame, update_image=True):
        seen.append(frame)
        return original(self, frame, update_image)

    monkeypatch.setattr(GifImagePlugin.GifImageFile, "_seek", spy)
    array, notes = read_image(path)
    assert array.shape == (8, 8, 3)
    assert max(seen) <= 1, f"frames up to {max(seen)} were read"
    assert "multi-frame image: using the first frame" in notes
    assert np.allclose(array * 255, np.asarray(frames[0].convert("RGB")), atol=40)  # palette quantized


@pytest.mark.parametrize("suffix", [".png", ".webp", ".tif"])
def test_multi_frame_files_give_their_first_frame(suffix, tmp_path):
    first, second = (Image.fromarray(np.full((6, 6, 3), v, np.uint8)) for v in (30, 220))
    path = tmp_path / f"anim{suffix}"
    first.save(path, save_all=True, append_images=[second], **({"lossless": True} if suffix == ".webp" else {}))
    array, notes = read_image(path)
    assert np.allclose(array, 30 / 255, atol=1 / 255)
    assert any("first frame" in note or "first page" in note for note in notes), notes


# -- modes and bit depths ------------------------------------------------------------------

def save(tmp_path, image: Image.Image, name: str, **kwargs):
    path = tmp_path / name
    image.save(path, **kwargs)
    return path


def test_cmyk_jpeg_is_converted_not_inverted_and_no_alpha_is_claimed(tmp_path):
    path = save(tmp_path, Image.new("CMYK", (16, 16), (0, 255, 0, 0)), "magenta.jpg", quality=100)
    assert Image.open(path).info.get("adobe") is not None  # Pillow writes Adobe (inverted) CMYK
    array, notes = load_image(path)
    assert np.allclose(array[8, 8], [1, 0, 1], atol=0.02)
    assert notes == ["CMYK image converted to RGB (no colour profile applied)"]
    assert not any("alpha" in note for note in notes)
    gray = save(tmp_path, Image.new("CMYK", (16, 16), (0, 0, 0, 128)), "gray.jpg", quality=100)
    assert np.allclose(load_image(gray)[0][8, 8], 127 / 255, atol=0.02)


def test_zoo_data_decodes_cmyk_the_same_way(tmp_path):
    path = save(tmp_path, Image.new("CMYK", (16, 16), (0, 255, 0, 0)), "magenta.jpg", quality=100)
    assert np.allclose(decode_image(path, 3)[8, 8], [1, 0, 1], atol=0.02)
    assert decode_image(path, 1).shape == (16, 16, 1)


def test_palette_with_transparency_and_gray_alpha(tmp_path):
    palette = Image.new("P", (4, 4), 1)
    palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    path = save(tmp_path, palette, "p.png", transparency=0)
    array, notes = load_image(path)
    assert np.allclose(array[0, 0], [1, 0, 0]) and "palette image with transparency: alpha dropped" in notes
    path = save(tmp_path, Image.new("LA", (4, 4), (200, 0)), "la.png")
    array, notes = read_image(path)
    assert array.shape == (4, 4) and np.allclose(array, 200 / 255) and "gray+alpha image: alpha dropped" in notes
    path = save(tmp_path, Image.new("RGBA", (4, 4), (10, 20, 30, 0)), "rgba.png")
    array, notes = load_image(path)
    assert np.allclose(array[0, 0] * 255, [10, 20, 30]) and notes == ["RGBA image: alpha channel dropped"]


def test_one_bit_and_gray(tmp_path):
    bits = Image.new("1", (8, 8), 0)
    bits.putpixel((2, 3), 1)
    array, notes = load_image(save(tmp_path, bits, "bits.png"))
    assert array[3, 2].tolist() == [1, 1, 1] and array.sum() == 3
    assert notes == ["grayscale image converted to RGB"]


@pytest.mark.parametrize("mode,name", [("I;16", "a.png"), ("I;16", "b.tif"), ("I;16B", "c.tif")])
def test_sixteen_bit_images_are_scaled_by_65535(mode, name, tmp_path):
    image = Image.new(mode, (4, 4), 40000)
    array, notes = read_image(save(tmp_path, image, name))
    assert np.allclose(array, 40000 / 65535) and "16-bit image converted to float" in notes


def test_32_bit_integer_images(tmp_path):
    path = save(tmp_path, Image.fromarray(np.full((4, 4), 65535, np.int32)), "i.tif")
    assert np.allclose(read_image(path)[0], 1.0)
    path = save(tmp_path, Image.fromarray(np.full((4, 4), 70000, np.int32)), "big.tif")
    with pytest.raises(UserError, match="values from 70000 to 70000 are outside 0..65535 \\(mode I\\)"):
        read_image(path)
    path = tmp_path / "u32.tif"
    tifffile.imwrite(path, np.full((4, 4, 3), 2**32 - 1, np.uint32), photometric="rgb")
    assert np.allclose(read_image(path)[0], 1.0)


def test_float_tiffs_must_be_finite_and_in_range(tmp_path):
    path = save(tmp_path, Image.fromarray(np.full((4, 4), 0.25, np.float32)), "f.tif")
    assert np.allclose(read_image(path)[0], 0.25)
    path = save(tmp_path, Image.fromarray(np.full((4, 4), 300.0, np.float32)), "hdr.tif")
    with pytest.raises(UserError, match="float pixel values from 300 to 300, outside \\[0, 1\\]"):
        read_image(path)
    values = np.full((4, 4, 3), 0.5, np.float32)
    values[1, 1, 2] = np.inf
    tifffile.imwrite(tmp_path / "inf.tif", values, photometric="rgb")
    with pytest.raises(UserError, match="1 NaN or infinite pixel value"):
        read_image(tmp_path / "inf.tif")


def test_tiff_photometrics_pillow_cannot_read(tmp_path):
    tifffile.imwrite(tmp_path / "white.tif", np.full((4, 4), 64, np.uint8), photometric="miniswhite")
    assert np.allclose(read_image(tmp_path / "white.tif")[0], 191 / 255)
    tifffile.imwrite(tmp_path / "white_f.tif", np.full((4, 4), 0.25, np.float32), photometric="miniswhite")
    with pytest.raises(UserError, match="MINISWHITE"):
        read_image(tmp_path / "white_f.tif")
    tifffile.imwrite(tmp_path / "lab.tif", np.zeros((4, 4, 3), np.float32), photometric="cielab")
    with pytest.raises(UserError, match="TIFF photometric CIELAB"):
        read_image(tmp_path / "lab.tif")


def test_ycbcr_and_hsv_are_converted_and_lab_is_refused(tmp_path):
    notes: list[str] = []
    rgb = images._read_pillow(tmp_path / "x", Image.new("HSV", (2, 2), (0, 255, 255)), 100, notes)
    assert np.allclose(rgb, [1, 0, 0]) and notes == ["HSV image converted to RGB"]
    rgb = images._read_pillow(tmp_path / "x", Image.new("YCbCr", (2, 2), (128, 128, 128)), 100, [])
    assert np.allclose(rgb, 128 / 255)
    with pytest.raises(UserError, match="Pillow mode LAB is not supported"):
        images._read_pillow(tmp_path / "x", Image.new("LAB", (2, 2)), 100, [])


# -- orientation ---------------------------------------------------------------------------

EXPECTED = {  # what a viewer shows for each EXIF orientation of the stored array ``a``
    1: lambda a: a, 2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
    5: lambda a: a.T, 6: lambda a: np.rot90(a, -1), 7: lambda a: np.rot90(a, 2).T, 8: lambda a: np.rot90(a, 1),
}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_is_applied(orientation, tmp_path):
    stored = np.arange(6, dtype=np.uint8).reshape(2, 3) * 40
    image = Image.fromarray(stored)
    exif = Image.Exif()
    exif[0x0112] = orientation
    array, notes = read_image(save(tmp_path, image, "o.png", exif=exif))
    assert np.array_equal(np.round(array * 255).astype(np.uint8), EXPECTED[orientation](stored))
    assert (f"EXIF orientation {orientation} applied" in notes) == (orientation != 1)


# -- careless input ------------------------------------------------------------------------

def test_files_that_are_not_images(tmp_path):
    (tmp_path / "text.png").write_text("hello\n")
    with pytest.raises(UserError, match="not an image"):
        read_image(tmp_path / "text.png")
    with pytest.raises(UserError, match="not a file"):
        read_image(tmp_path)
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(UserError, match="the file is empty"):
        read_image(tmp_path / "empty.jpg")
    good = save(tmp_path, Image.fromarray(np.full((64, 64, 3), 90, np.uint8)), "good.jpg")
    (tmp_path / "cut.jpg").write_bytes(good.read_bytes()[:200])
    with pytest.raises(UserError, match="cannot read image .*cut.jpg"):
        read_image(tmp_path / "cut.jpg")
    (tmp_path / "zero.png").write_bytes(png_header(0, 0))
    with pytest.raises(UserError, match="cannot read image"):
        read_image(tmp_path / "zero.png")
    (tmp_path / "loop.png").symlink_to(tmp_path / "loop.png")
    with pytest.raises(UserError):
        read_image(tmp_path / "loop.png")
