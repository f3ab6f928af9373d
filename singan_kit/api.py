"""The Python API of singan_kit: one object for SinGAN (Shaham et al. 2019) and its applications,
and the functions every front end (the ``singan`` CLI, a UI) calls for runs, images and folders.

    from singan_kit import SinGAN
    model = SinGAN.train("photo.png", preset="fast")   # or SinGAN.load("runs/photo")
    model.save("runs/photo")
    samples = model.sample(4)                           # uint8 [4, H, W, 3]
    result = model.harmonize("naive.png", "mask.png", inject_scale=-2)

A :class:`SinGAN` is a run folder plus its loaded model: a
:class:`~singan_kit.architectures.singan.model.GeneratorPyramid`, or the model of another registered
architecture (e.g. ``preset="consingan"``: Hinz et al. 2021), which samples but has none of the
applications. Images go in as paths, ``uint8``/float ``[H, W, 3]`` arrays or ``[1, 3, H, W]``
tensors in [-1, 1]; results come out as ``uint8`` arrays (``[H, W, 3]``, or ``[N, H, W, 3]`` for several).

The module-level functions (:func:`train_run`, :func:`train_folder`, :func:`sample_runs`,
:func:`harmonize_runs`, :func:`edit_runs`, :func:`paint_runs`, :func:`animate_runs`,
:func:`super_resolve_images`, :func:`evaluate`, :func:`report`) take a run or image, or a folder of
them (:func:`singan_kit.batch.dispatch.for_each_item`), write their results and return what
happened; front ends only print it. Training, fine-tuning and the training constants
(``CHECKPOINT_SECONDS``) import the training code on demand; loading and inference never do.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ganbase.errors import UserError
from ganbase.io.checkpoint import atomic_write_bytes, is_temp_file
from ganbase.io.images import check_output_path, save_image, to_uint8
from ganbase.runtime.device import resolve_device
from ganbase.runtime.distributed import launched
from ganbase.runtime.memory import parse_memory
from ganbase.runtime.threads import restored_threads
from singan_kit import architectures
from singan_kit import run_folder as rf
from singan_kit.apps import patch_apps
from singan_kit.apps.animate import animation_batches, check_animation_path, uint8_frames, write_animation
from singan_kit.apps.masks import EDITING_BLEND, HARMONIZATION_BLEND, BlendSettings
from singan_kit.apps.reference import edit as edit_image
from singan_kit.apps.reference import harmonize as harmonize_image
from singan_kit.apps.reference import paint as paint_image
from singan_kit.apps.super_resolution import check_factor, super_resolve
from singan_kit.architectures import make_config, preset_names
from singan_kit.architectures.singan.model import GeneratorPyramid
from singan_kit.batch.dispatch import Item, Outcome, for_each_item, is_folder_of
from singan_kit.batch.folders import ItemResult, check_folder_target, match_input, summary_table
from singan_kit.batch.sharding import folder_world
from singan_kit.sample import checked_sizes, generate, parse_scale, parse_size, sample_batches, write_stream
from singan_kit.tiling import sizes_for_size

#: the file types the applications write images as
IMAGE_OUTPUTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

Notes = Callable[[list[str]], None]


def __getattr__(name: str):
    """Training constants, read from the training code only when asked for (PEP 562)."""
    if name == "CHECKPOINT_SECONDS":  # how often training saves the scale in progress
        from singan_kit.architectures.lifecycle import CHECKPOINT_SECONDS

        return CHECKPOINT_SECONDS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _input_file(image, folder: Path) -> Path:
    """A path to train on: ``image`` itself, or an array/tensor written as PNG into ``folder``."""
    if isinstance(image, (str, os.PathLike)):
        return Path(image)
    from singan_kit.apps.inputs import read_reference

    tensor, _ = read_reference(image)
    path = folder / "input.png"
    save_image(path, tensor)
    return path


class SinGAN:
    """A trained SinGAN: sample, harmonize, edit, paint, animate, super-resolve, save."""

    def __init__(self, model: GeneratorPyramid, run_dir: str | Path) -> None:
        self.model = model
        self.run_dir = Path(run_dir)
        self.notes: list[str] = []  # notes of the last call (conversions, thresholds, resizing)

    # ------------------------------------------------------------------ training and files
    @classmethod
    def train(cls, image, preset: str = "fast", out: str | Path | None = None, device: str = "auto",
              progress: bool = False, overwrite: bool = False, **settings) -> "SinGAN":
        """Train on ``image`` into run folder ``out`` (a temporary folder if None; keep it with
        :meth:`save`). ``settings`` override the preset (``iters=``, ``max_size=``, ``seed=`` ...)."""
        config = make_config(preset, **settings)
        run_dir = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="singan-"))
        torch_device = resolve_device(device)
        with tempfile.TemporaryDirectory(prefix="singan-input-") as folder:
            source = _input_file(image, Path(folder))
            model = train_run(source, run_dir, config, device=torch_device, overwrite=overwrite,
                              progress=progress)
        return cls(model, run_dir)

    @classmethod
    def train_sr(cls, image, factor: float = 4.0, preset: str = "fast", out: str | Path | None = None,
                 device: str = "auto", progress: bool = False, **settings) -> "SinGAN":
        """Train in super-resolution mode on the low-resolution ``image`` (see :meth:`super_resolve`)."""
        from singan_kit.apps.inputs import read_reference
        from singan_kit.apps.super_resolution import sr_config

        tensor, _ = read_reference(image)
        config = sr_config(factor, tuple(tensor.shape[-2:]), preset, **settings)
        return cls.train(image, preset, out, device, progress, **config.to_dict())

    @classmethod
    def load(cls, run_dir: str | Path, device: str = "auto") -> "SinGAN":
        """Load a finished (or partly trained) run folder."""
        return cls(rf.load_model(run_dir, resolve_device(device), architectures=rf.ALL_ARCHITECTURES), run_dir)

    def save(self, run_dir: str | Path) -> Path:
        """Copy the run folder to ``run_dir`` (config.json last, every file atomically)."""
        target = Path(run_dir)
        if target.resolve() == self.run_dir.resolve():
            return target
        if target.exists() and any(target.iterdir()):
            raise UserError(f"{target} already exists and is not empty")
        files = sorted(p for p in self.run_dir.rglob("*") if p.is_file() and p.name != rf.CONFIG_FILE
                       and not is_temp_file(p))  # skip what a crash left
        for path in files + [self.run_dir / rf.CONFIG_FILE]:
            atomic_write_bytes(target / path.relative_to(self.run_dir), path.read_bytes())
        return target

    @property
    def num_scales(self) -> int:
        return self.model.num_trained

    @property
    def size(self) -> tuple[int, int]:
        """``(height, width)`` of the finest scale, the size of every application's output."""
        return tuple(self.model.pyramid.finest_size)

    def _needs_scale_generators(self, what: str) -> None:
        """The injection applications need per-scale generators with noise inputs (an architecture
        declares them with ``scale_generators``; e.g. ConSinGAN runs only sample)."""
        architecture = self.model.config.architecture
        if not architectures.get(architecture).scale_generators:
            offering = " or ".join(name for name in architectures.names() if architectures.get(name).scale_generators)
            raise UserError(f"{what} is not supported for {architecture} runs; it needs a {offering} run")

    # ------------------------------------------------------------------ inference
    def sample(self, num: int = 1, scale: float | tuple[float, float] = 1.0, start_scale: int = 0,
               seed: int = 0) -> np.ndarray:
        """``num`` random samples ``uint8 [num, H', W', 3]``; ``scale`` is one factor or (width, height)."""
        scale_w, scale_h = (scale, scale) if isinstance(scale, (int, float)) else scale
        return to_uint8(generate(self.model, num, scale_w, scale_h, start_scale, seed))

    def harmonize(self, naive, mask, inject_scale: int, seed: int = 0, fine_tune: int = 0,
                  blend: BlendSettings = HARMONIZATION_BLEND, progress: bool = False) -> np.ndarray:
        """Harmonize the object pasted into ``naive`` (white in ``mask``) with the training image.
        ``fine_tune`` > 0 first fine-tunes the finest scale for that many iterations."""
        if patch_apps.resynthesizes(self.model):  # GPNN: rebuilt from the photo's patches
            if fine_tune:
                raise UserError(f"fine-tuning needs a singan run; {self.model.config.architecture} runs learn nothing")
            return self._patch_blend(naive, mask, inject_scale, blend, "naive image")
        self._needs_scale_generators("harmonization")
        generators = None
        if fine_tune:
            generators = self._harmonization_finetune(naive, inject_scale, fine_tune, seed, progress)
        result = harmonize_image(self.model, naive, mask, inject_scale, seed, blend, generators)
        self.notes = result.notes
        return to_uint8(result.image)[0]

    def _harmonization_finetune(self, naive, inject_scale: int, iters: int, seed: int,
                                progress: bool = False) -> GeneratorPyramid:
        from singan_kit.apps.inputs import fit_to_size, read_reference
        from singan_kit.apps.tuning.finetune import harmonization_finetune

        image, _ = read_reference(naive, "naive image")
        fitted = fit_to_size(image, self.size, "naive image", [])
        critic = rf.load_critic(self.run_dir, self.model.device)
        return harmonization_finetune(self.model, fitted, inject_scale, iters, critic, seed, progress=progress)

    def edit(self, edited, mask, inject_scale: int, seed: int = 0,
             blend: BlendSettings = EDITING_BLEND) -> np.ndarray:
        """Blend a copy-paste edit of the training image (edited region white in ``mask``)."""
        if patch_apps.resynthesizes(self.model):
            return self._patch_blend(edited, mask, inject_scale, blend, "edited image")
        self._needs_scale_generators("editing")
        result = edit_image(self.model, edited, mask, inject_scale, seed, blend)
        self.notes = result.notes
        return to_uint8(result.image)[0]

    def paint(self, painting, inject_scale: int, seed: int = 0, quantize: int | None = None,
              quantize_iters: int | None = None, progress: bool = False) -> np.ndarray:
        """Turn a clip-art painting into an image; ``quantize=K`` retrains the injection scale on
        the training image quantized to K colours first (the official code uses 5). On a GPNN run the
        painting's layout is redrawn with the photo's patches from level ``inject_scale`` up (as
        :meth:`analogy`)."""
        if patch_apps.resynthesizes(self.model):
            if quantize:
                raise UserError(f"--quantize retrains a scale; {self.model.config.architecture} runs learn nothing: "
                                "paint without it")
            result, self.notes = patch_apps.structural_analogy(self.model, painting, inject_scale, what="painting")
            return to_uint8(result)[0]
        self._needs_scale_generators("paint-to-image")
        model, centers = self.model, None
        if quantize:
            from singan_kit.apps.tuning.finetune import quantize_and_finetune

            model, centers = quantize_and_finetune(self.model, inject_scale, quantize, quantize_iters, seed,
                                                   progress=progress)
        result = paint_image(model, painting, inject_scale, seed, centers)
        self.notes = result.notes
        return to_uint8(result.image)[0]

    def animation_batches(self, frames: int = 100, start_scale: int = 2, alpha: float = 0.1, beta: float = 0.9,
                          loop: bool = False, seed: int = 0, scale: float | tuple[float, float] = 1.0,
                          size: tuple[int, int] | None = None, max_memory: int | None = None):
        """Frames ``[b, 3, H, W]`` in [-1, 1] of a smooth random walk around the training image, one
        batch at a time (:func:`singan_kit.apps.animate.animation_batches`); the canvas is ``scale``
        (one factor or (width, height)) times the training size, or exactly ``size`` (height, width);
        large frames run in exact tiles within ``max_memory`` bytes."""
        self._needs_scale_generators("animation")
        scale_w, scale_h = (scale, scale) if isinstance(scale, (int, float)) else scale
        if size is not None and (scale_w, scale_h) != (1.0, 1.0):
            raise UserError("give --size or --scale, not both")
        sizes = (sizes_for_size(self.model, *size) if size is not None
                 else checked_sizes(self.model, scale_w, scale_h))
        return animation_batches(self.model, frames, start_scale, alpha, beta, seed, loop, sizes=sizes,
                                 max_memory=max_memory)

    def animate(self, frames: int = 100, start_scale: int = 2, alpha: float = 0.1, beta: float = 0.9,
                loop: bool = False, seed: int = 0, on_batch: Callable[[int], None] | None = None,
                scale: float | tuple[float, float] = 1.0, size: tuple[int, int] | None = None,
                max_memory: int | None = None) -> np.ndarray:
        """All frames ``uint8 [F, H, W, 3]`` of :meth:`animation_batches` at once; ``on_batch(count)``
        reports progress."""
        batches = self.animation_batches(frames, start_scale, alpha, beta, loop, seed, scale, size, max_memory)
        return np.stack(list(uint8_frames(batches, on_batch)))

    def super_resolve(self, factor: float = 4.0, seed: int = 0) -> np.ndarray:
        """The training image upscaled ``factor`` x (meant for models from :meth:`train_sr`)."""
        self._needs_scale_generators("super-resolution")
        return to_uint8(super_resolve(self.model, factor, seed))[0]

    # ------------------------------------------------------------------ patch re-synthesis (issue 21)
    def _patch_blend(self, source, mask, level: int, blend: BlendSettings, what: str) -> np.ndarray:
        image, self.notes = patch_apps.blend_resynthesized(self.model, source, mask, level, blend, what)
        return to_uint8(image)[0]

    def inpaint(self, mask, image=None, start_level: int | None = None) -> np.ndarray:
        """The run's image (or ``image`` of its size) with the white region of ``mask`` filled from the
        rest of its patches; pixels outside the mask are kept. ``start_level``: default 5 below the finest."""
        result, self.notes = patch_apps.inpaint(self.model, mask, image, start_level)
        return to_uint8(result)[0]

    def analogy(self, structure, start_level: int | None = None) -> np.ndarray:
        """The layout of the image ``structure`` drawn with the run image's patches."""
        result, self.notes = patch_apps.structural_analogy(self.model, structure, start_level)
        return to_uint8(result)[0]

    def __repr__(self) -> str:
        height, width = self.size
        return f"SinGAN({self.run_dir}, {self.num_scales} scales, {width}x{height} px)"


# ---------------------------------------------------------------------- training
def train_run(image: str | Path | None, run_dir: str | Path, config=None, **options):
    """Train the run folder ``run_dir`` on ``image`` with ``config`` (see :func:`make_config`), or
    continue it with ``resume=True`` (no image or config); returns the trained model. ``options``:
    ``device``, ``progress``, ``threads``, ``overwrite``, ``on_scale_end``, ``on_notes``,
    ``checkpoint_seconds`` (default ``CHECKPOINT_SECONDS``), ``checkpoint_activations`` (recompute
    activations in backward: less memory for large images, about one more forward pass),
    ``fast_paths`` (False: the reference numerics, for checking the speed-ups; same math, slower)."""
    from singan_kit.architectures.lifecycle import train

    return train(image, run_dir, config, **options)


def train_folder(folder: str | Path, out_root: str | Path, config, device: str = "auto",
                 threads: int | None = None, progress: bool = True,
                 on_line: Callable[[str], None] | None = None, **options) -> Outcome:
    """Train ``<out_root>/<name>`` on every image of ``folder``: finished runs skipped, unfinished
    ones resumed, under torchrun this process's share (every process gets the results of all).
    ``on_line`` gets the progress lines (prefixed with the rank under torchrun); ``options`` as
    :func:`train_run` (``checkpoint_seconds``, ``checkpoint_activations``)."""
    from singan_kit.batch.train_folder import train_images

    say_line = on_line or (lambda line: None)
    with folder_world(device, threads) as (world, process_device):
        def say(line: str) -> None:
            say_line(world.prefix() + line)

        def notes(lines: list[str]) -> None:
            for line in lines:
                say(f"note: {line}")

        results = train_images(folder, Path(out_root), config, world=world, device=process_device,
                               progress=progress and world.is_main, on_scale_end=lambda s: say(s.line()),
                               threads=threads, on_notes=notes,
                               on_start=lambda path, run: say(f"training {path.name} -> {run}"), **options)
    return Outcome("image", True, results=results, is_main=world.is_main)


# ---------------------------------------------------------------------- sampling
def sample_runs(run: str | Path, out: str | Path | None = None, num: int = 50, scale: str = "1",
                start_scale: int = 0, seed: int = 0, batch_size: int | None = None, grid: bool = False,
                device: str = "auto", threads: int | None = None, progress: bool = True,
                size: str | None = None, tiled: bool = False, max_memory: str | None = None) -> Outcome:
    """Write ``num`` samples of the run ``run`` to ``out`` (default ``<run>/samples``), or of every
    run in the folder ``run`` to ``<out>/<run name>`` (default ``<run>/<run name>/samples``); a
    folder is split between torchrun processes. ``scale``: one factor or ``WxH``. Each sample is
    written as soon as it is done. ``size`` (``"WIDTHxHEIGHT"`` px, instead of ``scale``) or
    ``tiled`` samples in exact tiles (:mod:`singan_kit.tiling`) within ``max_memory`` (``"2GB"``;
    None: what the machine has available), which also bounds the untiled batch."""
    from tqdm.auto import tqdm

    scale_w, scale_h = parse_scale(scale)
    if size is not None and (scale_w, scale_h) != (1.0, 1.0):
        raise UserError("give --size or --scale, not both")
    exact_size = parse_size(size) if size is not None else None
    memory_cap = parse_memory(max_memory) if max_memory is not None else None
    if num < 1:
        raise UserError(f"--num must be >= 1, got {num}")
    torch_device = resolve_device(device)

    def sample_run(item: Item, torch_device: torch.device, show: bool) -> str:
        if out:
            out_dir = Path(out) / item.name if item.in_folder else Path(out)
        else:
            out_dir = item.path / "samples"
        if out_dir.exists() and not out_dir.is_dir():
            raise UserError(f"--out {out_dir} is a file; samples are written to a folder")
        model = rf.load_model(item.path, torch_device, architectures=rf.ALL_ARCHITECTURES)
        if start_scale >= model.num_trained:  # checked before the progress bar starts
            raise UserError(f"start scale must be between 0 and {model.num_trained - 1}, got {start_scale}")
        batches = sample_batches(model, num, scale_w, scale_h, start_scale, seed, batch_size, grid, memory_cap,
                                 exact_size, tiled)  # checked before the progress bar starts
        with tqdm(total=num, desc=f"sampling {item.path.name}", unit="img", disable=not show, leave=False) as bar:
            # each sample is written as soon as its batch is done (issue 22: never all held at once)
            height, width = write_stream(batches, out_dir, num, grid, on_batch=bar.update)
        return f"wrote {num} samples of {width}x{height} px to {out_dir}" + (" (+ grid.png)" if grid else "")

    if not is_folder_of(run, "run"):
        if launched():
            raise UserError("under torchrun, singan sample takes a folder of runs; sample one run without it")
        with restored_threads(threads):
            return for_each_item(run, "run", lambda item: sample_run(item, torch_device, progress))
    with folder_world(device, threads) as (world, process_device):
        return for_each_item(run, "run", lambda item: sample_run(item, process_device, progress and world.is_main),
                             world=world)


# ---------------------------------------------------------------------- applications
def _check_image_out(path: Path) -> Path:
    if path.suffix.lower() not in IMAGE_OUTPUTS:
        raise UserError(f"cannot write an image as {path.name!r}: use one of {', '.join(IMAGE_OUTPUTS)}")
    if path.is_dir():
        raise UserError(f"--out {path} is a folder; give a file name such as {path / 'out.png'}")
    return path


def _for_runs(run: str | Path, out: str | Path | None, default_name: str,
              work: Callable[[Item, Path], str]) -> Outcome:
    """``work(item, out_path)`` for the run ``run`` (output ``out``, default ``<run>/<default_name>``)
    or for every run of the folder ``run`` (outputs ``<out>/<run name><suffix>``, default
    ``<run>/<run name>/<default_name>``)."""
    suffix = Path(default_name).suffix
    target: Path | None = None

    def check_target(items: dict[str, Item]) -> None:
        nonlocal target
        target = check_folder_target(out, "--out") if out else None

    def one(item: Item) -> str:
        if not item.in_folder:
            out_path = Path(out) if out else item.path / default_name
            if suffix == ".png":
                _check_image_out(out_path)
        else:
            out_path = target / f"{item.name}{suffix}" if target else item.path / default_name
        return work(item, out_path)

    return for_each_item(run, "run", one, on_folder=check_target)


def _input_for(source: str | Path, item: Item, what: str, mask: bool = False) -> Path:
    """The input file of ``item``: ``source`` itself, or its match in the folder ``source``."""
    if not item.in_folder:
        return Path(source)
    if not Path(source).is_dir():
        raise UserError(f"with a folder of runs, {what} must be a folder of files named after the runs")
    return match_input(source, item.name, what, mask)


def _load_for_apps(run_dir: Path, device: torch.device) -> SinGAN:
    """A run for the applications: SinGAN runs and runs whose architecture re-synthesises from its
    patches (GPNN); others are refused with a one-line error."""
    able = ("singan", *patch_apps.resynthesizing_architectures())
    return SinGAN(rf.load_model(run_dir, device, architectures=able), run_dir)


def _save(image: np.ndarray, path: Path, notes: list[str], on_notes: Notes | None) -> str:
    """Report the notes, write ``uint8 [H, W, 3]`` to ``path`` and say so."""
    if on_notes is not None:
        on_notes(notes)
    save_image(path, image)
    height, width = image.shape[:2]
    return f"wrote {width}x{height} px to {path}"


def _blend_settings(defaults: BlendSettings, dilate: int | None, blur: float | None) -> BlendSettings:
    return BlendSettings(defaults.dilation_radius if dilate is None else dilate,
                         defaults.blur_sigma if blur is None else blur).validate()


def harmonize_runs(run: str | Path, naive: str | Path, mask: str | Path, inject_scale: int,
                   out: str | Path | None = None, seed: int = 0, dilate: int | None = None,
                   blur: float | None = None, fine_tune: int = 0, device: str = "auto", progress: bool = True,
                   on_notes: Notes | None = None) -> Outcome:
    """:meth:`SinGAN.harmonize` for the run ``run`` (output default ``<run>/harmonized.png``), or for
    every run of the folder ``run`` with ``naive`` and ``mask`` folders of files named after the runs."""
    settings = _blend_settings(HARMONIZATION_BLEND, dilate, blur)
    if fine_tune < 0:
        raise UserError(f"--fine-tune must be >= 0, got {fine_tune}")
    torch_device = resolve_device(device)

    def work(item: Item, out_path: Path) -> str:
        image_path = _input_for(naive, item, "--naive")
        mask_path = _input_for(mask, item, "--mask", mask=True)
        check_output_path(out_path, image_path, mask_path)
        model = _load_for_apps(item.path, torch_device)
        image = model.harmonize(image_path, mask_path, inject_scale, seed, fine_tune, settings, progress=progress)
        return _save(image, out_path, model.notes, on_notes)

    return _for_runs(run, out, "harmonized.png", work)


def edit_runs(run: str | Path, edited: str | Path, mask: str | Path, inject_scale: int,
              out: str | Path | None = None, seed: int = 0, dilate: int | None = None, blur: float | None = None,
              device: str = "auto", on_notes: Notes | None = None) -> Outcome:
    """:meth:`SinGAN.edit` for the run ``run`` (output default ``<run>/edited.png``), or for every
    run of the folder ``run`` with ``edited`` and ``mask`` folders of files named after the runs."""
    settings = _blend_settings(EDITING_BLEND, dilate, blur)
    torch_device = resolve_device(device)

    def work(item: Item, out_path: Path) -> str:
        image_path = _input_for(edited, item, "--edited")
        mask_path = _input_for(mask, item, "--mask", mask=True)
        check_output_path(out_path, image_path, mask_path)
        model = _load_for_apps(item.path, torch_device)
        image = model.edit(image_path, mask_path, inject_scale, seed, settings)
        return _save(image, out_path, model.notes, on_notes)

    return _for_runs(run, out, "edited.png", work)


def paint_runs(run: str | Path, painting: str | Path, inject_scale: int, quantize: int | None = None,
               quantize_iters: int | None = None, out: str | Path | None = None, seed: int = 0,
               device: str = "auto", progress: bool = True, on_notes: Notes | None = None) -> Outcome:
    """:meth:`SinGAN.paint` for the run ``run`` (output default ``<run>/painted.png``), or for every
    run of the folder ``run`` with ``painting`` a folder of files named after the runs."""
    torch_device = resolve_device(device)

    def work(item: Item, out_path: Path) -> str:
        source = _input_for(painting, item, "--paint")
        check_output_path(out_path, source)
        model = _load_for_apps(item.path, torch_device)
        image = model.paint(source, inject_scale, seed, quantize, quantize_iters, progress=progress)
        return _save(image, out_path, model.notes, on_notes)

    return _for_runs(run, out, "painted.png", work)


def animate_runs(run: str | Path, frames: int = 100, start_scale: int = 2, alpha: float = 0.1,
                 beta: float = 0.9, fps: float = 10, loop: bool = False, out: str | Path | None = None,
                 seed: int = 0, device: str = "auto", progress: bool = True, scale: str = "1",
                 size: str | None = None, max_memory: str | None = None) -> Outcome:
    """:meth:`SinGAN.animation_batches` written as GIF or MP4 for the run ``run`` (default
    ``<run>/animation.gif``), or for every run of the folder ``run`` (``<out>/<run name>.gif``).
    Frames are written as they are made. ``scale`` (one factor or ``WxH``) or ``size``
    (``"WIDTHxHEIGHT"`` px) sets the canvas; large frames run in exact tiles within ``max_memory``
    (``"2GB"``; None: the sampler's working budget or what is available)."""
    from tqdm.auto import tqdm

    if fps <= 0:
        raise UserError(f"--fps must be > 0, got {fps}")
    scale_w, scale_h = parse_scale(scale)
    if size is not None and (scale_w, scale_h) != (1.0, 1.0):
        raise UserError("give --size or --scale, not both")
    exact_size = parse_size(size) if size is not None else None
    memory_cap = parse_memory(max_memory) if max_memory is not None else None
    torch_device = resolve_device(device)

    def work(item: Item, out_path: Path) -> str:
        check_animation_path(out_path)
        model = _load_for_apps(item.path, torch_device)
        if start_scale >= model.num_scales:  # checked before the progress bar starts
            raise UserError(f"start scale must be between 0 and {model.num_scales - 1}, got {start_scale}")
        batches = model.animation_batches(frames, start_scale, alpha, beta, loop, seed, (scale_w, scale_h),
                                          exact_size, memory_cap)  # checked before the progress bar starts
        with tqdm(total=frames, desc=f"animating {item.name}", unit="frame", disable=not progress,
                  leave=False) as bar:
            write_animation(uint8_frames(batches, bar.update), out_path, fps)
        return f"wrote {frames} frames to {out_path}"

    if out is not None and Path(out).suffix:
        check_animation_path(out)
    return _for_runs(run, out, "animation.gif", work)


def super_resolve_images(image: str | Path, out: str | Path, factor: float = 4.0, run_dir: str | Path | None = None,
                         preset: str = "paper", overrides: dict | None = None, seed: int | None = 0,
                         device: str = "auto", threads: int | None = None, progress: bool = True,
                         on_scale_end: Callable | None = None, on_notes: Notes | None = None,
                         size: str | None = None, max_memory: str | None = None) -> Outcome:
    """Train (or reuse, or resume) an SR model of ``image`` in ``run_dir`` (default: a temporary
    folder) and write it upscaled ``factor`` x to ``out``; for a folder of images, ``out`` and
    ``run_dir`` are folders of ``<name>.png`` and of runs. ``size`` (``"WIDTHxHEIGHT"``, the image's
    aspect ratio) sets the output size instead of ``factor``; large outputs run in exact tiles
    within ``max_memory`` (``"2GB"``; None: what is available)."""
    from singan_kit.apps.tuning.sr_train import super_resolve_image

    check_factor(factor)
    exact_size = parse_size(size) if size is not None else None
    memory_cap = parse_memory(max_memory) if max_memory is not None else None
    options = dict(preset=preset, overrides=overrides, device=resolve_device(device), progress=progress,
                   threads=threads, on_scale_end=on_scale_end, size=exact_size, max_memory=memory_cap)

    def upscale(path: Path, out_path: Path, run: Path | None) -> str:
        result, notes = super_resolve_image(path, factor, run, seed or 0, **options)
        return _save(to_uint8(result)[0], out_path, notes, on_notes)

    if not is_folder_of(image, "image"):
        out_path = check_output_path(_check_image_out(Path(out)), image)
        return for_each_item(image, "image", lambda item: upscale(item.path, out_path,
                                                                  Path(run_dir) if run_dir else None))
    out_root = check_folder_target(out, "--out", inputs=image)
    runs_root = check_folder_target(run_dir, "--run") if run_dir else None
    return for_each_item(image, "image", lambda item: upscale(item.path, out_root / f"{item.name}.png",
                                                              runs_root / item.name if runs_root else None))


# ---------------------------------------------------------------------- evaluation and reports
def evaluate(run: str | Path, num: int = 50, start_scale: int = 0, seed: int = 0, draws: int = 1,
             device: str = "auto", batch_size: int | None = None, inception_weights: str | None = None,
             threads: int | None = None, progress: bool = True) -> tuple[bool, list[dict]]:
    """Metrics of the run ``run`` or of every run in the folder ``run`` (see
    :func:`singan_kit.evaluate.evaluate_run`): ``(whether run is a folder, one dict per run)``; each
    dict holds ``run`` (the path given, or the run's name in a folder), and a run of a folder that
    failed holds ``error`` instead of metrics."""
    from tqdm.auto import tqdm

    from singan_kit.batch.folders import find_runs
    from singan_kit.evaluate import evaluate_run, evaluate_runs

    with restored_threads(threads):
        options = dict(num=num, start_scale=start_scale, seed=seed, draws=draws, device=resolve_device(device),
                       inception_weights=inception_weights, batch_size=batch_size)
        if not is_folder_of(run, "run"):
            rf.read_meta(run)  # a bad run folder fails before the progress bar is drawn
            with tqdm(total=num * draws, desc=f"sampling {Path(run).name}", unit="img", disable=not progress,
                      leave=False) as bar:
                return False, [{"run": str(run), **evaluate_run(run, on_batch=bar.update, **options)}]
        with tqdm(total=len(find_runs(run)), desc="evaluating", unit="run", disable=not progress,
                  leave=False) as bar:
            return True, evaluate_runs(run, on_run=lambda name, result: bar.update(), **options)


def report(run: str | Path, out: str | Path | None = None, num: int = 4, eval_num: int = 50, seed: int = 0,
           device: str = "auto", with_eval: bool = True, progress: bool = True) -> Path:
    """Write the HTML report of the run ``run`` (default ``<run>/report.html``); returns its path."""
    from singan_kit.report import build_report

    return build_report(run, out, num_samples=num, seed=seed, device=resolve_device(device), with_eval=with_eval,
                        eval_num=eval_num, progress=progress)


# ---------------------------------------------------------------------- patch re-synthesis (issue 21)
def inpaint_runs(run: str | Path, mask: str | Path, image: str | Path | None = None, out: str | Path | None = None,
                 start_level: int | None = None, device: str = "auto", on_notes: Notes | None = None) -> Outcome:
    """:meth:`SinGAN.inpaint` for the run ``run`` (output default ``<run>/inpainted.png``), or for every
    run of the folder ``run`` with ``mask`` (and ``image``) folders of files named after the runs."""
    torch_device = resolve_device(device)

    def work(item: Item, out_path: Path) -> str:
        mask_path = _input_for(mask, item, "--mask", mask=True)
        image_path = None if image is None else _input_for(image, item, "--image")
        check_output_path(out_path, *(p for p in (mask_path, image_path) if p is not None))
        model = _load_for_apps(item.path, torch_device)
        return _save(model.inpaint(mask_path, image_path, start_level), out_path, model.notes, on_notes)

    return _for_runs(run, out, "inpainted.png", work)


def analogy_runs(run: str | Path, structure: str | Path, out: str | Path | None = None,
                 start_level: int | None = None, device: str = "auto", on_notes: Notes | None = None) -> Outcome:
    """:meth:`SinGAN.analogy` for the run ``run`` (output default ``<run>/analogy.png``), or for every
    run of the folder ``run`` with ``structure`` a folder of files named after the runs."""
    torch_device = resolve_device(device)

    def work(item: Item, out_path: Path) -> str:
        structure_path = _input_for(structure, item, "--structure")
        check_output_path(out_path, structure_path)
        model = _load_for_apps(item.path, torch_device)
        return _save(model.analogy(structure_path, start_level), out_path, model.notes, on_notes)

    return _for_runs(run, out, "analogy.png", work)


def style_image(content: str | Path, style: str | Path, out: str | Path, seed: int = 0, iters: int | None = None,
                max_size: int | None = None, device: str = "auto", on_notes: Notes | None = None) -> str:
    """GPDM style transfer (:func:`singan_kit.apps.patch_apps.style_transfer`) written to ``out``."""
    defaults = patch_apps.StyleSettings()
    settings = patch_apps.StyleSettings(max_size=defaults.max_size if max_size is None else max_size,
                                        iters=defaults.iters if iters is None else iters)
    check_output_path(Path(out), Path(content), Path(style))
    image, notes = patch_apps.style_transfer(content, style, settings, seed, resolve_device(device))
    return _save(to_uint8(image)[0], Path(out), notes, on_notes)

__all__ = ["SinGAN", "IMAGE_OUTPUTS", "BlendSettings", "HARMONIZATION_BLEND", "EDITING_BLEND", "Item", "ItemResult", "Outcome", "make_config",
           "preset_names", "summary_table", "is_folder_of", "for_each_item", "train_run", "train_folder",
           "sample_runs", "harmonize_runs", "edit_runs", "inpaint_runs", "analogy_runs", "style_image", "paint_runs", "animate_runs", "super_resolve_images",
           "evaluate", "report"]


# ---------------------------------------------------------------------- web studio (issue 25)
# What a front end that lists runs needs without loading any weights: read from config.json only.
def run_status(run: str | Path) -> dict:
    """The state of the run folder ``run`` from its config.json: ``architecture``, ``scales_done``,
    ``num_scales``, ``sizes`` (``[height, width]`` per scale, coarse to fine), ``iters`` (of one
    scale, None where the config has none), ``level_iters`` (per scale, with a preset's taper from
    ``iters`` to ``fine_iters``; None without ``iters``), ``finished``, ``saved_iteration`` (of the scale in
    progress, from its in-scale checkpoint; None without one) and ``config`` (a dict)."""
    from singan_kit.architectures.scale_checkpoint import progress_iteration
    from singan_kit.architectures.singan.config import iters_at_scale

    meta = rf.read_meta(run)
    config, pyramid = meta["config"], meta["pyramid"]
    done, iters = meta["scales_done"], getattr(config, "iters", None)
    level_iters = None if iters is None else [
        iters_at_scale(n, pyramid.num_scales, iters, getattr(config, "fine_iters", None))
        for n in range(pyramid.num_scales)]
    return {"architecture": meta["architecture"], "scales_done": done, "num_scales": pyramid.num_scales,
            "sizes": [list(size) for size in pyramid.sizes], "iters": iters, "level_iters": level_iters,
            "finished": done == pyramid.num_scales, "saved_iteration": progress_iteration(run, done),
            "config": config.to_dict()}


def preset_catalog() -> list[dict]:
    """Every preset of every registered architecture: ``preset``, ``architecture``, ``title``,
    ``paper`` and the settings it changes (new architectures appear here by registering)."""
    from singan_kit.architectures import registry as registered

    catalog = []
    for preset in preset_names():
        architecture, settings = registered.preset_settings(preset)
        catalog.append({"preset": preset, "architecture": architecture.name, "title": architecture.title,
                        "paper": architecture.paper, "settings": dict(settings)})
    return catalog


__all__ += ["run_status", "preset_catalog"]
# ---------------------------------------------------------------------- end web studio
