"""Name -> model class registry for the GAN zoo (no paper; infrastructure).

Models register themselves with ``@register_model("dcgan")``; ``create_model`` builds one by
name, and unknown names fail with a message that lists every known model. Every module of the
:mod:`ganbase.zoo.models` package is imported on the first lookup (``model_names``,
``get_model_class``, ``model_info``, ``create_model``), so a new model is one new file there.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any, Callable

import torch

from ganbase.errors import UserError
from ganbase.zoo.models.base import (
    DATA_KINDS,
    TRANSLATION_KINDS,
    ZooModel,
    build_config,
)

_REGISTRY: dict[str, type[ZooModel]] = {}
_PACKAGE = __name__.rpartition(".")[0]
_loaded = False


def _load_models() -> None:
    """Import every module of the models package once: each registers the models it defines."""
    global _loaded
    if _loaded:
        return
    package = importlib.import_module(_PACKAGE)
    for module in sorted(info.name for info in pkgutil.iter_modules(package.__path__)):
        importlib.import_module(f"{_PACKAGE}.{module}")
    _loaded = True


@dataclass(frozen=True)
class ModelInfo:
    """What ``ganzoo list`` shows for one model."""

    name: str
    description: str
    paper: str
    data_kind: str


def register_model(name: str) -> Callable[[type[ZooModel]], type[ZooModel]]:
    """Class decorator adding a :class:`ZooModel` subclass to the registry under ``name``."""

    def decorate(cls: type[ZooModel]) -> type[ZooModel]:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        if cls.data_kind not in DATA_KINDS:
            raise ValueError(f"model {name!r}: data_kind must be one of {DATA_KINDS}")
        if not (cls.description and cls.paper):
            raise ValueError(f"model {name!r} needs a description and a paper")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def model_names() -> list[str]:
    _load_models()
    return sorted(_REGISTRY)


def get_model_class(name: str) -> type[ZooModel]:
    _load_models()
    try:
        return _REGISTRY[name]
    except KeyError:
        translators = [n for n in model_names() if _REGISTRY[n].data_kind in TRANSLATION_KINDS]
        generators = [n for n in model_names() if n not in translators]
        raise UserError(f"unknown model {name!r}; known models: {', '.join(generators)}; "
                        f"image-to-image: {', '.join(translators)}") from None


def model_info(name: str) -> ModelInfo:
    cls = get_model_class(name)
    return ModelInfo(name, cls.description, cls.paper, cls.data_kind)


# The zoo's largest model (pix2pix) has 57 M parameters; a billion (4 GB of float32 weights, 16 GB
# with gradients and Adam) is a typo such as ``-o width=100000``, refused before any allocation.
MAX_PARAMETERS = 1_000_000_000


def create_model(name: str, **options: Any) -> ZooModel:
    """Build model ``name``; ``options`` are fields of its config (``data_shape``, sizes, rates).
    The model is first built on the ``meta`` device (shapes only, no memory) to count its
    parameters, and refused in one line above :data:`MAX_PARAMETERS`."""
    cls = get_model_class(name)
    config = build_config(cls.config_class, options)
    with torch.device("meta"):
        count = sum(p.numel() for p in cls(config).parameters())
    if count > MAX_PARAMETERS:
        given = ", ".join(f"{k}={v}" for k, v in vars(config).items() if type(v) is int)
        raise UserError(f"model {name} ({given}) would have {count:,} parameters ({4 * count / 2**30:,.0f} GB), "
                        f"above the limit of {MAX_PARAMETERS:,}; lower its size options (width, ...)")
    return cls(config)
