"""Single-image architectures (SinGAN, ConSinGAN, ...): the registry and the built-in ones.

Each architecture is one folder here that defines one
:class:`~singan_kit.architectures.base.Architecture` (config class, presets, pyramid rule, model
builder, batch sampler, trainer), registered below with one :func:`register` call; sampling,
evaluation, reports, folders and the CLI pick it up. An architecture's folder never imports
another's; what they share is in ``base.py`` (types, used by inference too) and ``lifecycle.py``
(the training lifecycle).
"""

from singan_kit.architectures.consingan import CONSINGAN
from singan_kit.architectures.gpdm import GPDM
from singan_kit.architectures.gpnn import GPNN
from singan_kit.architectures.registry import (
    get,
    make_config,
    names,
    preset_names,
    preset_settings,
    register,
    unregister,
)
from singan_kit.architectures.singan import SINGAN

register(SINGAN)  # its presets first: paper (the default), fast, quick, tiny
register(CONSINGAN)
register(GPNN)  # training-free: the run stores the pyramid (Granot et al. 2022)
register(GPDM)  # training-free: patch distribution matching (Elnekave & Weiss 2022)

__all__ = ["get", "make_config", "names", "preset_names", "preset_settings", "register", "unregister"]
