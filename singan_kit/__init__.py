"""singan_kit: SinGAN (Shaham, Dekel, Michaeli, ICCV 2019) for modern PyTorch.

Coarse-to-fine training of one generator/critic pair per scale of an image pyramid, sampling at any
size, and the paper's applications. ``from singan_kit import SinGAN`` is the Python API
(:mod:`singan_kit.api`). Inference modules (``model``, ``sample``, ``apps``) never import the
training modules (``train``, ``fit``, ``apps.finetune``).
"""

from ganbase import __version__
from singan_kit.api import SinGAN

__all__ = ["SinGAN", "__version__"]
