"""``singan harmonize | edit | paint | animate | sr``: SinGAN's applications (Shaham et al. 2019).

Each command works on one run folder, or on a folder of run folders with inputs matched by file
name (see :mod:`singan_kit.batch.folders`). Commands only parse and call ``singan_kit``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import click

from cli.common import (
    FRACTION,
    NON_NEGATIVE_FLOAT,
    NON_NEGATIVE_INT,
    POSITIVE_FLOAT,
    POSITIVE_INT,
)
from cli.singan_common import (
    config_overrides,
    echo_to_stderr,
    print_notes,
    resolve,
    training_options,
    user_errors,
)
from ganbase.errors import UserError

IMAGE_OUTPUTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def _check_image_out(path: Path) -> Path:
    if path.suffix.lower() not in IMAGE_OUTPUTS:
        raise UserError(f"cannot write an image as {path.name!r}: use one of {', '.join(IMAGE_OUTPUTS)}")
    if path.is_dir():
        raise UserError(f"--out {path} is a folder; give a file name such as {path / 'out.png'}")
    return path


def _for_runs(run: str, out: str | None, default_name: str, suffix: str, quiet: bool,
              work: Callable[[Path, str, Path], str]) -> None:
    """Call ``work(run_dir, name, out_path)`` for RUN, or for every run when RUN holds runs."""
    from singan_kit.batch.folders import (
        check_folder_target,
        find_runs,
        is_run_folder,
        run_each,
        summary_table,
    )

    echo = echo_to_stderr(quiet)
    run_path = Path(run)
    if is_run_folder(run_path) or not run_path.is_dir():
        out_path = Path(out) if out else run_path / default_name
        if suffix == ".png":
            _check_image_out(out_path)
        echo(work(run_path, run_path.name, out_path))
        return
    runs = find_runs(run_path)
    target = check_folder_target(out, "--out") if out else None

    def one(name: str) -> str:
        out_path = target / f"{name}{suffix}" if target else run_path / name / default_name
        return work(run_path / name, name, out_path)

    results = run_each([r.name for r in runs], one)
    click.echo(summary_table(results), err=True)
    if all(r.status == "failed" for r in results):
        raise UserError("every run failed")


def _input_for(source: str, name: str, run_is_folder: bool, what: str, mask: bool = False) -> Path:
    """The input file of run ``name``: ``source`` itself, or its match in the folder ``source``."""
    from singan_kit.batch.folders import match_input

    if not run_is_folder:
        return Path(source)
    if not Path(source).is_dir():
        raise UserError(f"with a folder of runs, {what} must be a folder of files named after the runs")
    return match_input(source, name, what, mask)


def _save(image, path: Path, notes: list[str], quiet: bool) -> str:
    from ganbase.io.images import save_image

    print_notes(notes, quiet)
    save_image(path, image)
    height, width = image.shape[-2:]
    return f"wrote {width}x{height} px to {path}"


def _blend_command(kind: str, run, source, mask, inject_scale, out, seed, dilate, blur, fine_tune, device,
                   quiet):
    from ganbase.io.images import check_output_path
    from singan_kit.apps.masks import EDITING_BLEND, HARMONIZATION_BLEND, BlendSettings
    from singan_kit.apps.reference import edit as edit_image
    from singan_kit.apps.reference import harmonize as harmonize_image
    from singan_kit.batch.folders import is_run_folder
    from singan_kit.run_folder import load_critic, load_model

    defaults = HARMONIZATION_BLEND if kind == "harmonized" else EDITING_BLEND
    settings = BlendSettings(defaults.dilation_radius if dilate is None else dilate,
                             defaults.blur_sigma if blur is None else blur).validate()
    if fine_tune < 0:
        raise UserError(f"--fine-tune must be >= 0, got {fine_tune}")
    torch_device = resolve(device)
    folder_mode = Path(run).is_dir() and not is_run_folder(run)
    what = "naive image" if kind == "harmonized" else "edited image"

    def work(run_dir: Path, name: str, out_path: Path) -> str:
        image_path = _input_for(source, name, folder_mode, "--naive" if kind == "harmonized" else "--edited")
        mask_path = _input_for(mask, name, folder_mode, "--mask", mask=True)
        check_output_path(out_path, image_path, mask_path)
        model = load_model(run_dir, torch_device)
        if kind == "edited":
            result = edit_image(model, image_path, mask_path, inject_scale, seed, settings)
            return _save(result.image, out_path, result.notes, quiet)
        generators = None
        if fine_tune:
            from singan_kit.apps.inputs import fit_to_size, read_reference
            from singan_kit.apps.tuning.finetune import harmonization_finetune

            naive, _ = read_reference(image_path, what)
            generators = harmonization_finetune(model, fit_to_size(naive, model.pyramid.finest_size, what, []),
                                                inject_scale, fine_tune, load_critic(run_dir, torch_device),
                                                seed, progress=not quiet)
        result = harmonize_image(model, image_path, mask_path, inject_scale, seed, settings, generators)
        return _save(result.image, out_path, result.notes, quiet)

    _for_runs(run, out, f"{kind}.png", ".png", quiet, work)


def _blend_options(image_option: str, image_help: str, dilate_default: int):
    def decorate(func):
        options = [
            click.argument("run"),
            click.option(image_option, "source", required=True, help=image_help),
            click.option("--mask", required=True,
                         help="Mask of the same size, white where the image changed (grey is thresholded)."),
            click.option("--inject-scale", type=int, required=True,
                         help="Scale to inject at: 1 (coarsest possible) .. N (finest); -1 is the finest."),
            click.option("--out", default=None, help="Output image (default: RUN/<command>.png); for a folder "
                                                     "of runs, a folder of <run name>.png."),
            click.option("--seed", type=NON_NEGATIVE_INT, default=0, show_default=True, help="Random seed."),
            click.option("--dilate", type=NON_NEGATIVE_INT, default=None,
                         help=f"Mask dilation radius in px [{dilate_default}, as the official code]."),
            click.option("--blur", type=NON_NEGATIVE_FLOAT, default=None, help="Mask blur sigma in px [5]."),
        ]
        for option in reversed(options):
            func = option(func)
        return func
    return decorate


@click.command()
@_blend_options("--naive", "The background with the object pasted in (a folder for a folder of runs).", 7)
@click.option("--fine-tune", type=NON_NEGATIVE_INT, default=0, show_default=True,
              help="First fine-tune the finest scale for this many iterations on the naive image.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--quiet", "-q", is_flag=True, help="No progress or notes.")
@user_errors
def harmonize(run, source, mask, inject_scale, out, seed, dilate, blur, fine_tune, device, quiet):
    """Harmonize an object pasted into the background that RUN was trained on."""
    _blend_command("harmonized", run, source, mask, inject_scale, out, seed, dilate, blur, fine_tune, device, quiet)


@click.command()
@_blend_options("--edited", "A copy-paste edit of the training image (a folder for a folder of runs).", 20)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--quiet", "-q", is_flag=True, help="No notes.")
@user_errors
def edit(run, source, mask, inject_scale, out, seed, dilate, blur, device, quiet):
    """Blend a user's copy-paste edit into the patch statistics of RUN's training image."""
    _blend_command("edited", run, source, mask, inject_scale, out, seed, dilate, blur, 0, device, quiet)


@click.command()
@click.argument("run")
@click.option("--paint", "painting", required=True, help="Clip-art painting (a folder for a folder of runs).")
@click.option("--inject-scale", type=int, required=True,
              help="Scale to inject at: 1 (coarsest possible) .. N (finest); -1 is the finest.")
@click.option("--quantize", type=click.IntRange(min=2), default=None,
              help="Quantize the training image to K colours and retrain the injection scale on it "
                   "(the official code uses 5).")
@click.option("--quantize-iters", type=POSITIVE_INT, default=None,
              help="Iterations of that retraining [the scale's training iterations].")
@click.option("--out", default=None, help="Output image (default: RUN/painted.png); for a folder of runs, "
                                          "a folder of <run name>.png.")
@click.option("--seed", type=NON_NEGATIVE_INT, default=0, show_default=True, help="Random seed.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--quiet", "-q", is_flag=True, help="No progress or notes.")
@user_errors
def paint(run, painting, inject_scale, quantize, quantize_iters, out, seed, device, quiet):
    """Turn a clip-art painting into an image with the textures of RUN's training image."""
    from ganbase.io.images import check_output_path
    from singan_kit.apps.reference import paint as paint_image
    from singan_kit.batch.folders import is_run_folder
    from singan_kit.run_folder import load_model

    torch_device = resolve(device)
    folder_mode = Path(run).is_dir() and not is_run_folder(run)

    def work(run_dir: Path, name: str, out_path: Path) -> str:
        source = _input_for(painting, name, folder_mode, "--paint")
        check_output_path(out_path, source)
        model, centers = load_model(run_dir, torch_device), None
        if quantize:
            from singan_kit.apps.tuning.finetune import quantize_and_finetune

            model, centers = quantize_and_finetune(model, inject_scale, quantize, quantize_iters, seed,
                                                   progress=not quiet)
        result = paint_image(model, source, inject_scale, seed, centers)
        return _save(result.image, out_path, result.notes, quiet)

    _for_runs(run, out, "painted.png", ".png", quiet, work)


@click.command()
@click.argument("run")
@click.option("--frames", type=click.IntRange(min=2), default=100, show_default=True, help="Number of frames.")
@click.option("--start-scale", type=NON_NEGATIVE_INT, default=2, show_default=True,
              help="Scales below this follow the training image (higher: smaller motions).")
@click.option("--alpha", type=FRACTION, default=0.1, show_default=True, help="Pull towards the training image.")
@click.option("--beta", type=FRACTION, default=0.9, show_default=True, help="Momentum of the walk (smoothness).")
@click.option("--fps", type=POSITIVE_FLOAT, default=10, show_default=True, help="Frames per second.")
@click.option("--loop", is_flag=True, help="Make the last frame lead back into the first.")
@click.option("--out", default=None, help="clip.gif or clip.mp4 (default: RUN/animation.gif); for a folder "
                                          "of runs, a folder of <run name>.gif.")
@click.option("--seed", type=NON_NEGATIVE_INT, default=0, show_default=True, help="Random seed.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@user_errors
def animate(run, frames, start_scale, alpha, beta, fps, loop, out, seed, device, quiet):
    """Write an animation of RUN's training image: a smooth random walk in its noise maps."""
    from tqdm.auto import tqdm

    from ganbase.io.images import to_uint8
    from singan_kit.apps.animate import animate as animate_frames
    from singan_kit.apps.animate import check_animation_path, write_animation
    from singan_kit.run_folder import load_model

    if fps <= 0:
        raise UserError(f"--fps must be > 0, got {fps}")
    torch_device = resolve(device)

    def work(run_dir: Path, name: str, out_path: Path) -> str:
        check_animation_path(out_path)
        model = load_model(run_dir, torch_device)
        if start_scale >= model.num_trained:  # checked before the progress bar starts
            raise UserError(f"start scale must be between 0 and {model.num_trained - 1}, got {start_scale}")
        with tqdm(total=frames, desc=f"animating {name}", unit="frame", disable=quiet, leave=False) as bar:
            clip = animate_frames(model, frames, start_scale, alpha, beta, seed, loop, on_batch=bar.update)
        write_animation(to_uint8(clip), out_path, fps)
        return f"wrote {frames} frames to {out_path}"

    if out is not None and Path(out).suffix:
        check_animation_path(out)
    _for_runs(run, out, "animation.gif", ".gif", quiet, work)


@click.command()
@click.argument("image")
@click.option("--factor", type=float, default=4.0, show_default=True, help="Upscaling factor, any value > 1.")
@click.option("--out", required=True, help="Output image; for a folder of images, a folder of <name>.png.")
@click.option("--run", "run_dir", default=None,
              help="Run folder of the SR model: reused when finished, resumed or created otherwise "
                   "(default: a temporary one); for a folder of images, a folder of runs.")
@training_options
@user_errors
def sr(image, factor, out, run_dir, preset, iters, fine_iters, max_size, min_size, scale_factor, lr, alpha,
       gp_weight, num_filters, max_filters, d_steps, g_steps, noise_amp, seed, device, threads, quiet):
    """Super-resolve IMAGE: train SinGAN on it in SR mode and upscale it FACTOR times."""
    from ganbase.io.images import check_output_path
    from singan_kit.apps.super_resolution import check_factor
    from singan_kit.apps.tuning.sr_train import super_resolve_image
    from singan_kit.batch.folders import (
        check_folder_target,
        list_images,
        run_each,
        run_names,
        summary_table,
    )

    check_factor(factor)
    echo = echo_to_stderr(quiet)
    overrides = config_overrides(iters, fine_iters, max_size, min_size, scale_factor, lr, alpha, gp_weight,
                                 num_filters, max_filters, d_steps, g_steps, noise_amp, seed)
    options = dict(preset=preset, overrides=overrides, device=resolve(device), progress=not quiet,
                   threads=threads, on_scale_end=lambda s: echo(s.line()))

    def upscale(path: Path, out_path: Path, run: Path | None) -> str:
        result, notes = super_resolve_image(path, factor, run, seed or 0, **options)
        return _save(result, out_path, notes, quiet)

    if not Path(image).is_dir():
        out_path = check_output_path(_check_image_out(Path(out)), image)
        echo(upscale(Path(image), out_path, Path(run_dir) if run_dir else None))
        return
    out_root = check_folder_target(out, "--out")
    runs_root = check_folder_target(run_dir, "--run") if run_dir else None
    by_name = {name: path for path, name in run_names(list_images(image)).items()}
    results = run_each(by_name, lambda name: upscale(by_name[name], out_root / f"{name}.png",
                                                     runs_root / name if runs_root else None))
    click.echo(summary_table(results), err=True)
    if all(r.status == "failed" for r in results):
        raise UserError("every image failed")
