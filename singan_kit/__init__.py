"""singan_kit: SinGAN (Shaham, Dekel, Michaeli, ICCV 2019) for modern PyTorch.

Coarse-to-fine training of one generator/critic pair per scale of an image pyramid, sampling at any
size, and the paper's applications. Inference modules (``model``, ``sample``) never import the
training module (``train``).
"""

from ganbase import __version__

__all__ = ["__version__"]
