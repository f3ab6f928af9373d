"""The registry of single-image architectures: name -> :class:`~singan_kit.architectures.base.Architecture`,
and the presets they bring (SinGAN's ``paper``, ``fast``, ``quick``, ``tiny``; ``consingan``; ...).

Shared code (run folders, sampling, reports, training, the CLI) looks an architecture up here by the
name stored in a run folder's config.json and never branches on that name.
"""

from __future__ import annotations

from dataclasses import fields

from ganbase.errors import UserError
from singan_kit.architectures.base import Architecture, RunConfig

_ARCHITECTURES: dict[str, Architecture] = {}


def register(architecture: Architecture) -> Architecture:
    """Add ``architecture`` (its presets become ``--preset`` choices); names must be new."""
    if architecture.name in _ARCHITECTURES:
        raise ValueError(f"architecture {architecture.name!r} is already registered")
    taken = set(preset_names())
    clashes = sorted(taken & set(architecture.presets))
    if clashes:
        raise ValueError(f"presets {clashes} of {architecture.name!r} are already registered")
    _ARCHITECTURES[architecture.name] = architecture
    return architecture


def unregister(name: str) -> None:
    """Remove a registered architecture (for tests that register their own)."""
    _ARCHITECTURES.pop(name, None)


def get(name: str) -> Architecture:
    """The registered architecture ``name``; a one-line error for names this version does not know."""
    try:
        return _ARCHITECTURES[name]
    except KeyError:
        raise UserError(f"unknown architecture {name!r}; this version knows {', '.join(_ARCHITECTURES)}") from None


def names() -> tuple[str, ...]:
    return tuple(_ARCHITECTURES)


def preset_names() -> tuple[str, ...]:
    """Every preset of every architecture, in registration order."""
    return tuple(preset for arch in _ARCHITECTURES.values() for preset in arch.presets)


def preset_settings(preset: str) -> tuple[Architecture, dict]:
    """The architecture of ``preset`` and the settings the preset changes."""
    for architecture in _ARCHITECTURES.values():
        if preset in architecture.presets:
            return architecture, architecture.presets[preset]
    raise UserError(f"unknown preset {preset!r}; choose one of {', '.join(preset_names())}")


def make_config(preset: str = "paper", **overrides) -> RunConfig:
    """Config of a preset with ``overrides`` (settings left as None keep the preset's value; a name in
    the architecture's ``setting_aliases``, e.g. ``lr``, sets the fields it stands for)."""
    architecture, base = preset_settings(preset)
    config_class = architecture.config_class
    given = {k: v for k, v in overrides.items() if v is not None}
    for alias, targets in architecture.setting_aliases.items():
        if alias in given:
            value = given.pop(alias)
            given.update({target: given.get(target, value) for target in targets})
    unknown = sorted(set(given) - {f.name for f in fields(config_class)})
    if unknown:
        raise UserError(f"unknown settings {unknown} for the {preset} preset")
    if "iters" in given and "fine_iters" not in given and base.get("fine_iters") is not None:
        # a tapering preset keeps its finest/coarsest ratio when only the coarsest count is given
        given["fine_iters"] = max(1, round(given["iters"] * base["fine_iters"] / base["iters"]))
    return config_class(**{**base, **given}).validate()


__all__ = ["get", "make_config", "names", "preset_names", "preset_settings", "register", "unregister"]
