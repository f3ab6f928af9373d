"""singan_kit: single-image generation (SinGAN, Shaham, Dekel & Michaeli, ICCV 2019; ConSinGAN, Hinz
et al., WACV 2021) for modern PyTorch.

Coarse-to-fine training of an image pyramid, sampling at any size, and the paper's applications.
``from singan_kit import SinGAN`` is the Python API (:mod:`singan_kit.api`); it is loaded on first
use, so importing an inference module (``singan_kit.sample``, ``run_folder``, ``apps``) loads only
what that module needs. Inference never imports the training modules (an architecture's
``train``/``fit``, ``architectures.lifecycle``, ``apps.tuning``, ``batch.train_folder``).
"""

from ganbase import __version__

__all__ = ["SinGAN", "__version__"]


def __getattr__(name: str):
    if name == "SinGAN":
        from singan_kit.api import SinGAN

        return SinGAN
    raise AttributeError(f"module 'singan_kit' has no attribute {name!r}")
