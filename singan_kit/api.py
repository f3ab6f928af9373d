"""The Python API of singan_kit: one object for SinGAN (Shaham et al. 2019) and its applications.

    from singan_kit import SinGAN
    model = SinGAN.train("photo.png", preset="fast")   # or SinGAN.load("runs/photo")
    model.save("runs/photo")
    samples = model.sample(4)                           # uint8 [4, H, W, 3]
    result = model.harmonize("naive.png", "mask.png", inject_scale=-2)

A :class:`SinGAN` is a run folder plus its loaded :class:`~singan_kit.architectures.singan.model.GeneratorPyramid` (or,
for ``preset="consingan"``, a :class:`~singan_kit.architectures.consingan.model.ConSinGANModel`: Hinz et al. 2021,
which samples but has none of the applications).
Images go in as paths, ``uint8``/float ``[H, W, 3]`` arrays or ``[1, 3, H, W]`` tensors in
[-1, 1]; results come out as ``uint8`` arrays (``[H, W, 3]``, or ``[N, H, W, 3]`` for several).
Training and fine-tuning import the training code on demand; loading and inference never do.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from ganbase.errors import UserError
from ganbase.io.checkpoint import atomic_write_bytes, is_temp_file
from ganbase.io.images import save_image, to_uint8
from ganbase.runtime.device import resolve_device
from singan_kit import run_folder as rf
from singan_kit.apps.animate import animate as animate_frames
from singan_kit.apps.masks import EDITING_BLEND, HARMONIZATION_BLEND, BlendSettings
from singan_kit.apps.reference import edit as edit_image
from singan_kit.apps.reference import harmonize as harmonize_image
from singan_kit.apps.reference import paint as paint_image
from singan_kit.apps.super_resolution import super_resolve
from singan_kit.architectures.singan.model import GeneratorPyramid
from singan_kit.sample import generate


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
        from singan_kit.architectures.singan.config import make_config
        from singan_kit.architectures.singan.train import train as train_run

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

    def _singan_only(self, what: str) -> None:
        """The applications need SinGAN's per-scale generators (ConSinGAN runs only sample)."""
        architecture = self.model.config.architecture
        if architecture != "singan":
            raise UserError(f"{what} is not supported for {architecture} runs; it needs a singan run")

    # ------------------------------------------------------------------ inference
    def sample(self, num: int = 1, scale: float | tuple[float, float] = 1.0, start_scale: int = 0,
               seed: int = 0) -> np.ndarray:
        """``num`` random samples ``uint8 [num, H', W', 3]``; ``scale`` is one factor or (width, height)."""
        scale_w, scale_h = (scale, scale) if isinstance(scale, (int, float)) else scale
        return to_uint8(generate(self.model, num, scale_w, scale_h, start_scale, seed))

    def harmonize(self, naive, mask, inject_scale: int, seed: int = 0, fine_tune: int = 0,
                  blend: BlendSettings = HARMONIZATION_BLEND) -> np.ndarray:
        """Harmonize the object pasted into ``naive`` (white in ``mask``) with the training image.
        ``fine_tune`` > 0 first fine-tunes the finest scale for that many iterations."""
        self._singan_only("harmonization")
        generators = None
        if fine_tune:
            generators = self._harmonization_finetune(naive, inject_scale, fine_tune, seed)
        result = harmonize_image(self.model, naive, mask, inject_scale, seed, blend, generators)
        self.notes = result.notes
        return to_uint8(result.image)[0]

    def _harmonization_finetune(self, naive, inject_scale: int, iters: int, seed: int) -> GeneratorPyramid:
        from singan_kit.apps.inputs import fit_to_size, read_reference
        from singan_kit.apps.tuning.finetune import harmonization_finetune

        image, _ = read_reference(naive, "naive image")
        fitted = fit_to_size(image, self.size, "naive image", [])
        critic = rf.load_critic(self.run_dir, self.model.device)
        return harmonization_finetune(self.model, fitted, inject_scale, iters, critic, seed)

    def edit(self, edited, mask, inject_scale: int, seed: int = 0,
             blend: BlendSettings = EDITING_BLEND) -> np.ndarray:
        """Blend a copy-paste edit of the training image (edited region white in ``mask``)."""
        self._singan_only("editing")
        result = edit_image(self.model, edited, mask, inject_scale, seed, blend)
        self.notes = result.notes
        return to_uint8(result.image)[0]

    def paint(self, painting, inject_scale: int, seed: int = 0, quantize: int | None = None,
              quantize_iters: int | None = None) -> np.ndarray:
        """Turn a clip-art painting into an image; ``quantize=K`` retrains the injection scale on
        the training image quantized to K colours first (the official code uses 5)."""
        self._singan_only("paint-to-image")
        model, centers = self.model, None
        if quantize:
            from singan_kit.apps.tuning.finetune import quantize_and_finetune

            model, centers = quantize_and_finetune(self.model, inject_scale, quantize, quantize_iters, seed)
        result = paint_image(model, painting, inject_scale, seed, centers)
        self.notes = result.notes
        return to_uint8(result.image)[0]

    def animate(self, frames: int = 100, start_scale: int = 2, alpha: float = 0.1, beta: float = 0.9,
                loop: bool = False, seed: int = 0) -> np.ndarray:
        """Frames ``uint8 [F, H, W, 3]`` of a smooth random walk around the training image."""
        self._singan_only("animation")
        return to_uint8(animate_frames(self.model, frames, start_scale, alpha, beta, seed, loop))

    def super_resolve(self, factor: float = 4.0, seed: int = 0) -> np.ndarray:
        """The training image upscaled ``factor`` x (meant for models from :meth:`train_sr`)."""
        self._singan_only("super-resolution")
        return to_uint8(super_resolve(self.model, factor, seed))[0]

    def __repr__(self) -> str:
        height, width = self.size
        return f"SinGAN({self.run_dir}, {self.num_scales} scales, {width}x{height} px)"


__all__ = ["SinGAN"]
