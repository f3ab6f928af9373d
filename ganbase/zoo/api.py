"""The GAN zoo's facade: what the ``ganzoo`` command line (and any other front end) calls.

One function per command: :func:`models` / :func:`datasets` (``ganzoo list``), :func:`train` and
:func:`resume` (``ganzoo train [--resume]``, with each model's paper defaults from
:mod:`ganbase.zoo.training.config`), :func:`sample` with :func:`save_samples` / :func:`save_grid`,
:func:`interpolate`, :func:`mix`, :func:`translate`, :func:`evaluate` (``ganzoo eval``: sample
quality of a generator, or held-out L1 / PSNR of a paired translator; :func:`held_out_scores` after
training), and :func:`report`. Calling these directly gives what the command gives: the same
defaults, checks and files; front ends only parse and print. Devices are names (``"auto"``,
``"cpu"``, ``"cuda:1"``); user errors are :class:`~ganbase.errors.UserError`.

The training modules are imported only by :func:`train` and :func:`resume` (and the settings
module :mod:`ganbase.zoo.training.config`, which loads no trainer), so sampling, translating and
evaluating through this module never load the trainer. No paper.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from torch import Tensor

from ganbase.errors import UserError
from ganbase.io.checkpoint import atomic_write_text
from ganbase.io.grids import make_grid, sample_sheet, save_image_files, save_png
from ganbase.io.images import check_output_path, to_uint8
from ganbase.runtime.device import resolve_device
from ganbase.runtime.memory import check_fits
from ganbase.runtime.threads import restored_threads
from ganbase.zoo.data.datasets import BUILTIN_DESCRIPTIONS, DataConfig
from ganbase.zoo.data.translation import TRANSLATION_DESCRIPTIONS
from ganbase.zoo.evaluation.paired import evaluate_paired, has_test_split
from ganbase.zoo.evaluation.quality import evaluate_zoo_run
from ganbase.zoo.evaluation.report import build_zoo_report
from ganbase.zoo.inference import sampling
from ganbase.zoo.inference.gatys import GatysConfig
from ganbase.zoo.inference.runs import SAMPLES_DIR, load_model, read_run_config
from ganbase.zoo.inference.translate import translate_files
from ganbase.zoo.models import ModelInfo, get_model_class, model_info, model_names
from ganbase.zoo.models.base import TRANSLATION_KINDS
from ganbase.zoo.training.config import (
    DEFAULT_STEPS,
    TrainConfig,
    check_resume,
    paper_default_exceptions,
    train_config,
)

__all__ = [
    "DEFAULT_STEPS", "DataConfig", "Evaluation", "Samples", "TrainConfig", "TrainResult", "datasets",
    "default_grid", "evaluate", "held_out_scores", "interpolate", "is_translator", "mix", "models",
    "paper_default_exceptions", "parse_options", "report", "resolve_label", "resume", "sample", "save_grid",
    "save_samples", "stylize", "train", "translate",
]

# ----- ganzoo list --------------------------------------------------------------------------

def models() -> tuple[list[ModelInfo], list[ModelInfo]]:
    """(the generators, the image-to-image translators), each sorted by name."""
    infos = [model_info(name) for name in model_names()]
    return ([info for info in infos if info.data_kind not in TRANSLATION_KINDS],
            [info for info in infos if info.data_kind in TRANSLATION_KINDS])


def datasets() -> dict[str, str]:
    """The built-in datasets (``--data NAME`` or ``NAME:COUNT``) and what each holds."""
    return {**BUILTIN_DESCRIPTIONS, **TRANSLATION_DESCRIPTIONS}


def is_translator(model_name: str) -> bool:
    return get_model_class(model_name).data_kind in TRANSLATION_KINDS


# ----- ganzoo train -------------------------------------------------------------------------

@dataclass(frozen=True)
class TrainResult:
    """What a finished (or resumed) training returns: the run folder, its model and data kind,
    the last logged losses, and whether this process is the main one (rank 0 under torchrun)."""

    run: Path
    model: str
    data_kind: str
    losses: dict[str, float]
    is_main: bool


def parse_options(options: Mapping[str, Any] | Sequence[str] | None) -> dict[str, Any]:
    """Model settings as a dict: a mapping as it is, or ``KEY=VALUE`` strings (``-o`` of the CLI;
    dashes in keys become underscores)."""
    if options is None:
        return {}
    if isinstance(options, Mapping):
        return dict(options)
    parsed = {}
    for pair in options:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--option expects KEY=VALUE, got {pair!r}")
        parsed[key.strip().replace("-", "_")] = value.strip()
    return parsed


def train(model: str, out: str | os.PathLike, data: str | None, *, steps: int | None = None,
          batch_size: int | None = None, image_size: int = DataConfig.image_size, channels: int | None = None,
          seed: int = TrainConfig.seed, device: str = "auto", amp: bool = TrainConfig.amp,
          ema_decay: float | None = None, lr_schedule: str | None = None,
          sample_every: int = TrainConfig.sample_every, checkpoint_every: int = TrainConfig.checkpoint_every,
          log_every: int = TrainConfig.log_every, options: Mapping[str, Any] | Sequence[str] | None = None,
          direction: str = DataConfig.direction, jitter: bool = DataConfig.jitter, flip: bool = DataConfig.flip,
          threads: int | None = None, sync_batchnorm: bool = False, quiet: bool = False,
          style_data: str | None = None, vgg_weights: str | None = None) -> TrainResult:
    """Train ``model`` from scratch into the new run folder ``out`` (``ganzoo train``).

    ``steps``, ``batch_size``, ``ema_decay`` and ``lr_schedule`` left None take the defaults of
    :func:`ganbase.zoo.training.config.train_config` (``DEFAULT_STEPS`` and the model's paper).
    Under torchrun: DistributedDataParallel, ``batch_size`` is the global batch. ``threads``: torch
    CPU threads for this call only. Style transfer models (adain): ``style_data`` is the folder of
    style images (``data`` holds the content images) and ``vgg_weights`` the VGG-19 file (else
    ``$GANBASE_VGG_WEIGHTS``)."""
    from ganbase.runtime.distributed import distributed_world
    from ganbase.zoo.training.launch import start_training

    out = Path(out)
    with restored_threads(threads):
        model_class = get_model_class(model)  # unknown names fail here, listing the known ones
        if data is None:
            raise UserError("missing --data (a folder or one of digits, shapes, faces, gaussians)")
        data_config = DataConfig(source=data, image_size=image_size, channels=channels,
                                 direction=direction, jitter=jitter, flip=flip, style_source=style_data or "")
        options = _with_vgg_weights(model, parse_options(options), vgg_weights, style_data)  # issue 24
        config = train_config(model, steps, batch_size, ema_decay, lr_schedule, seed=seed, amp=amp,
                              sample_every=sample_every, checkpoint_every=checkpoint_every,
                              log_every=log_every)
        # float32 images of one batch alone, at least one channel: a lower bound of what training holds
        check_fits(config.batch_size * image_size ** 2 * (channels or 1) * 4,
                   f"a batch of {config.batch_size} images of {image_size}x{image_size} px", "--batch-size")
        with distributed_world(device, threads=threads) as (world, process_device):
            losses = start_training(model, data_config, config, out, options,
                                    process_device, quiet, world, sync_batchnorm)
    return TrainResult(out, model, model_class.data_kind, losses, world.is_main)


def resume(model: str, out: str | os.PathLike, *, steps: int | None = None, device: str = "auto",
           threads: int | None = None, sync_batchnorm: bool = False, quiet: bool = False,
           given: Iterable[str] = ()) -> TrainResult:
    """Continue the ``model`` run in ``out`` from its newest checkpoint with its saved settings
    (``ganzoo train --resume``); ``steps`` is a new total. ``given``: the other settings the
    caller set (parameter names of :func:`train`); any that a run keeps
    (:data:`~ganbase.zoo.training.config.RESUME_FIXED_SETTINGS`) is refused."""
    from ganbase.runtime.distributed import distributed_world
    from ganbase.zoo.training.launch import resume_training

    out = Path(out)
    with restored_threads(threads):
        check_resume(out, model, given)
        with distributed_world(device, threads=threads) as (world, process_device):
            losses = resume_training(out, steps, process_device, quiet, world, sync_batchnorm)
    return TrainResult(out, model, get_model_class(model).data_kind, losses, world.is_main)


def held_out_scores(run: str | os.PathLike, device: str = "auto",
                    threads: int | None = None) -> dict[str, Any] | None:
    """L1 / PSNR of a paired run on its data's held-out split, or None when the data has none
    (what ``ganzoo train`` prints after a paired run)."""
    with restored_threads(threads):
        if not has_test_split(DataConfig(**read_run_config(run)["data"])):
            return None
        return evaluate_paired(run, device=resolve_device(device))


# ----- inference ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Samples:
    """Samples of a run: ``data`` ``[N, C, H, W]`` images in [-1, 1] or ``[N, 2]`` points."""

    data: Tensor
    model: str
    step: int


def resolve_label(label: str | int | None, config: Mapping[str, Any]) -> int | None:
    """A class index from an index or a class name of the run's data."""
    if label is None:
        return None
    label = str(label)
    names = config.get("class_names") or []
    if label in names and not label.isdigit():
        return names.index(label)
    try:
        return int(label)
    except ValueError:
        raise UserError(f"unknown --label {label!r}; classes: {', '.join(names) or 'none'}") from None


def sample(run: str | os.PathLike, num: int = 64, seed: int = 0, label: str | int | None = None,
           use_ema: bool = True, truncation: float | None = None, vary_noise: bool = False,
           device: str = "auto") -> Samples:
    """Draw ``num`` samples from the newest checkpoint of ``run`` (``ganzoo sample``).

    ``label``: class index or name (conditional models); ``truncation``: psi in w (style models);
    ``vary_noise``: one latent from ``seed`` with ``num`` noise inputs (style models)."""
    torch_device = resolve_device(device)
    size = int(read_run_config(run)["data"]["image_size"])
    # the float32 samples alone, at least one channel: a lower bound of what drawing them holds
    check_fits(num * size ** 2 * 4, f"{num} samples of {size}x{size} px", "--num", torch_device)
    model, config, step = load_model(run, torch_device, use_ema=use_ema)
    if vary_noise:
        data = sampling.vary_noise(model, num, seed, 1.0 if truncation is None else truncation)
    else:
        data = sampling.draw_samples(model, num, seed, resolve_label(label, config), truncation)
    return Samples(data, config["model"], step)


def default_grid(run: str | os.PathLike, seed: int) -> Path:
    """Where ``ganzoo sample`` writes its grid when asked for no file."""
    return Path(run) / SAMPLES_DIR / f"sampled_seed{seed}.png"


def save_samples(samples: Samples, out_dir: str | os.PathLike) -> Path:
    """One PNG per image in ``out_dir`` (points: ``samples.csv``); returns the folder."""
    out_dir = Path(out_dir)
    if samples.data.dim() == 2:
        out_dir.mkdir(parents=True, exist_ok=True)
        rows = "\n".join(",".join(f"{v:.6f}" for v in point) for point in samples.data.tolist())
        atomic_write_text(out_dir / "samples.csv", "x,y\n" + rows + "\n")
    else:
        save_image_files(out_dir, samples.data)
    return out_dir


def save_grid(samples: Samples, path: str | os.PathLike) -> Path:
    """A contact sheet PNG of the images (points: a scatter plot); returns the path."""
    save_png(Path(path), sample_sheet(samples.data))
    return Path(path)


def interpolate(run: str | os.PathLike, out: str | os.PathLike = "interp.png", steps: int = 8,
                pairs: int = 4, seed: int = 0, label: str | int | None = None, slerp: bool = False,
                space: str = "z", truncation: float = 1.0, device: str = "auto") -> Path:
    """Write a grid of ``pairs`` latent walks of ``steps`` images each (``ganzoo interpolate``)."""
    model, config, _ = load_model(run, resolve_device(device))
    images = sampling.interpolate(model, steps, pairs, seed, resolve_label(label, config), slerp, space,
                                  truncation)
    save_png(Path(out), make_grid(to_uint8(images), columns=steps))
    return Path(out)


def mix(run: str | os.PathLike, out: str | os.PathLike = "mix.png", rows: int = 4, cols: int = 4,
        seed: int = 0, row_seed: int | None = None, coarse_layers: int = sampling.COARSE_LAYERS,
        truncation: float = 1.0, use_ema: bool = True, device: str = "auto") -> tuple[str, int]:
    """Write a style-mixing grid of a stylegan/stylegan2 run (``ganzoo mix``); returns (model, step)."""
    model, _, step = load_model(run, resolve_device(device), use_ema=use_ema)
    images, columns = sampling.style_mix(model, rows, cols, seed, row_seed, coarse_layers, truncation)
    save_png(Path(out), make_grid(to_uint8(images), columns=columns))
    return model.name, step


def translate(run: str | os.PathLike, source: str | os.PathLike, out_dir: str | os.PathLike,
              direction: str | None = None, target_domain: str | None = None,
              compare: str | os.PathLike | None = None, batch_size: int = 8, use_ema: bool = True,
              device: str = "auto") -> dict[str, Any]:
    """Translate an image, a folder, or a folder with ``A/`` and ``B/`` into ``out_dir`` (``ganzoo
    translate``); returns ``count``, ``outputs`` (the folders written), ``model`` and ``step``."""
    model, config, step = load_model(run, resolve_device(device), use_ema=use_ema)
    if model.data_kind not in TRANSLATION_KINDS:
        raise UserError(f"{run} holds a {model.name} run, which samples from noise; use "
                        f"`ganzoo sample`")
    summary = translate_files(model, config, Path(source), Path(out_dir), direction, target_domain,
                              None if compare is None else Path(compare), batch_size)
    return {**summary, "model": model.name, "step": step}


# ----- evaluation and report ----------------------------------------------------------------

@dataclass(frozen=True)
class Evaluation:
    """``kind`` ``"paired"`` (held-out L1 / PSNR, :func:`~ganbase.zoo.evaluation.paired.evaluate_paired`)
    or ``"quality"`` (sample quality, :func:`~ganbase.zoo.evaluation.quality.evaluate_zoo_run`)."""

    kind: str
    scores: dict[str, Any]


def evaluate(run: str | os.PathLike, split: str = "test", data: str | None = None, num: int = 1000,
             seed: int = 0, device: str = "auto", batch_size: int | None = None,
             inception_weights: str | None = None, cache_dir: str | os.PathLike | None = None,
             use_ema: bool = True, threads: int | None = None) -> Evaluation:
    """Evaluate the run in ``run`` (``ganzoo eval``, alias ``evaluate``).

    Translators: L1 / PSNR on the data's held-out ``split`` (paired runs only; the sample options
    are not used). Generators: multi-scale SWD, precision / recall, ``fcd_local`` (labeled data),
    FID / KID with ``inception_weights``, from ``num`` samples (``batch_size`` per batch, default
    256) against the run's data or ``data``."""
    with restored_threads(threads):
        if get_model_class(read_run_config(run)["model"]).data_kind in TRANSLATION_KINDS:
            return Evaluation("paired", evaluate_paired(run, split, resolve_device(device), use_ema=use_ema))
        return Evaluation("quality", evaluate_zoo_run(
            run, data, num=num, seed=seed, device=resolve_device(device), inception_weights=inception_weights,
            batch_size=batch_size, cache_dir=cache_dir, use_ema=use_ema))


def report(run: str | os.PathLike, out: str | os.PathLike | None = None, data: str | None = None,
           with_eval: bool = True, eval_num: int = 1000, seed: int = 0, device: str = "auto") -> Path:
    """Write the HTML report of ``run`` (``ganzoo report``; default ``RUN/report.html``)."""
    return build_zoo_report(run, out, data=data, with_eval=with_eval, eval_num=eval_num, seed=seed,
                            device=str(resolve_device(device)))


# ----- ganzoo stylize: neural style transfer (issue 24) -------------------------------------

def _with_vgg_weights(model: str, options: dict[str, Any], vgg_weights: str | None,
                      style_data: str | None) -> dict[str, Any]:
    """Models with a ``vgg_weights`` option (adain) get the user's VGG-19 file, found before any
    training starts (``vgg_weights``, else ``$GANBASE_VGG_WEIGHTS``); other models refuse one
    and ``style_data``."""
    from ganbase.nn.vgg import vgg_weights_path

    if "vgg_weights" not in {field.name for field in dataclasses.fields(get_model_class(model).config_class)}:
        for name, value in (("--vgg-weights", vgg_weights), ("--style-data", style_data)):
            if value is not None:
                raise UserError(f"{name} is for style transfer models; {model} takes none")
        return options
    return {**options, "vgg_weights": str(vgg_weights_path(vgg_weights or options.get("vgg_weights")))}


def stylize(inputs: Sequence[str | os.PathLike], out: str | os.PathLike, style: Sequence[str | os.PathLike], *,
            method: str | None = None, style_weights: Sequence[float] = (), alpha: float = 1.0,
            preserve_color: bool = False, vgg_weights: str | None = None, steps: int = GatysConfig.steps,
            content_weight: float = GatysConfig.content_weight, style_weight: float = GatysConfig.style_weight,
            optimizer: str = GatysConfig.optimizer, lr: float = GatysConfig.lr, init: str = GatysConfig.init,
            size: int = GatysConfig.size, seed: int = GatysConfig.seed, device: str = "auto",
            threads: int | None = None, quiet: bool = False) -> dict[str, Any]:
    """``ganzoo stylize``. Gatys et al. 2016 (``inputs`` = [content image], ``out`` an image file,
    one ``style``; the optimisation settings; ``vgg_weights`` or ``$GANBASE_VGG_WEIGHTS``) or a
    trained adain run (``inputs`` = [run, image or folder], ``out`` a folder; several styles mixed
    by ``style_weights``; ``alpha``). Returns ``method``, ``count`` and, for adain, ``step``."""
    from ganbase.nn.vgg import load_vgg19
    from ganbase.zoo.inference.gatys import STYLE_LAYERS, stylize_file
    from ganbase.zoo.inference.stylize import StyleMix, load_adain_run, stylize_files

    inputs = [Path(item) for item in inputs]
    chosen = method or ("adain" if len(inputs) == 2 else "gatys")
    expected_inputs = {"gatys": 1, "adain": 2}.get(chosen)
    if expected_inputs is None:
        raise UserError(f"unknown --method {chosen!r}; use gatys or adain")
    if len(inputs) != expected_inputs:
        raise UserError("gatys takes one CONTENT image; adain takes a RUN folder and a CONTENT image or folder"
                        f" (got {len(inputs)} argument(s))")
    with restored_threads(threads):
        resolved = resolve_device(device)
        if chosen == "adain":
            model, step = load_adain_run(inputs[0], resolved)
            count = stylize_files(model, inputs[1], out, StyleMix(tuple(Path(s) for s in style),
                                                                  tuple(style_weights), alpha, preserve_color))
            return {"method": chosen, "count": count, "step": step}
        if len(style) != 1 or style_weights:
            raise UserError("gatys takes exactly one --style image (style mixing is for adain runs)")
        config = GatysConfig(steps=steps, content_weight=content_weight, style_weight=style_weight,
                             optimizer=optimizer, lr=lr, init=init, size=size, preserve_color=preserve_color,
                             seed=seed)
        config.validate()
        out = check_output_path(out, inputs[0], style[0])
        for path in (inputs[0], Path(style[0])):
            if not path.is_file():
                raise UserError(f"image not found: {path}")
        encoder = load_vgg19(vgg_weights, last=STYLE_LAYERS[-1], pool="avg", device=resolved)
        height, width = stylize_file(inputs[0], Path(style[0]), out, encoder, config, quiet)
        return {"method": chosen, "count": 1, "size": (height, width)}
