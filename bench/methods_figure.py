"""One figure that compares single-image methods on one photo: a row per run folder (SinGAN,
ConSinGAN, GPNN, GPDM or any registered architecture), the photo in the first row, a label at the
left of each row. Made for the README's "Training-free generation" section (issue 21).

    python bench/methods_figure.py --photo ../shared/data/singan/Images/balloons.png \\
        --runs paper=runs/balloons_paper gpnn=runs/balloons_gpnn --num 4 --out docs/methods.jpg

Samples are drawn with the same seed from every run (``SinGAN.sample``), at each run's own size;
each cell is scaled to ``--height`` pixels, keeping its aspect. The photo row repeats nothing: the
photo once, the rest of the row left blank. A ``.jpg`` output is written at quality 90.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ganbase.errors import UserError
from ganbase.io.checkpoint import atomic_write_bytes
from ganbase.io.images import check_output_path, load_image, side_by_side, to_tensor, to_uint8
from singan_kit.api import SinGAN

LABEL_WIDTH = 120
GAP = 4


def labelled_run(text: str) -> tuple[str, Path]:
    label, sep, folder = text.partition("=")
    if not sep or not label or not folder:
        raise argparse.ArgumentTypeError(f"expected LABEL=RUN_FOLDER, got {text!r}")
    return label, Path(folder)


def fit_height(image: np.ndarray, height: int) -> np.ndarray:
    """``uint8 [H, W, 3]`` scaled to ``height`` rows, aspect kept."""
    picture = Image.fromarray(image)
    width = max(1, round(picture.width * height / picture.height))
    return np.asarray(picture.resize((width, height), Image.Resampling.LANCZOS))


def compose(rows: list[tuple[str, list[np.ndarray]]], height: int) -> Image.Image:
    """One sheet: each row a label, then its images left to right, ``GAP`` pixels apart, on white."""
    strips = [(label, side_by_side([fit_height(image, height) for image in images], gap=GAP)) for label, images in rows]
    width = LABEL_WIDTH + max(strip.shape[1] for _, strip in strips) + GAP
    sheet = Image.new("RGB", (width, len(strips) * (height + GAP) + GAP), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=max(10, height // 7))
    for index, (label, strip) in enumerate(strips):
        top = GAP + index * (height + GAP)
        draw.text((6, top + height // 2), label, fill="black", font=font, anchor="lm")
        sheet.paste(Image.fromarray(strip), (LABEL_WIDTH, top))
    return sheet


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photo", type=Path, required=True, help="the photo every run was made from")
    parser.add_argument("--runs", nargs="+", type=labelled_run, required=True, metavar="LABEL=RUN",
                        help="run folders, one row each, in this order")
    parser.add_argument("--num", type=int, default=4, help="samples per run [4]")
    parser.add_argument("--seed", type=int, default=0, help="seed of every run's samples [0]")
    parser.add_argument("--height", type=int, default=96, help="height of a cell in pixels [96]")
    parser.add_argument("--out", type=Path, required=True, help="the figure (.jpg or .png)")
    args = parser.parse_args(argv)
    if args.num < 1 or args.height < 16:
        parser.error("--num must be >= 1 and --height >= 16")
    missing = [str(folder) for _, folder in args.runs if not (folder / "config.json").is_file()]
    if missing:
        parser.error(f"not run folders (no config.json): {missing}")

    try:
        out = check_output_path(args.out, args.photo)
        photo, _ = load_image(args.photo)  # float [H, W, 3] in [0, 1], gray made RGB
        rows = [("photo", [to_uint8(to_tensor(photo))[0]])]
        for label, folder in args.runs:
            print(f"sampling {args.num} from {label} ({folder}) ...", flush=True)
            rows.append((label, list(SinGAN.load(folder, device="cpu").sample(args.num, seed=args.seed))))
    except UserError as exc:  # an unreadable photo, a corrupt run folder, a bad --out
        parser.error(str(exc))
    buffer = io.BytesIO()
    jpeg = args.out.suffix.lower() in (".jpg", ".jpeg")
    compose(rows, args.height).save(buffer, format="JPEG" if jpeg else "PNG", **({"quality": 90} if jpeg else {}))
    atomic_write_bytes(out, buffer.getvalue())
    print(f"wrote {out} ({len(buffer.getvalue()) / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
