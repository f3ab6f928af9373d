"""ganbase: the shared GAN backbone (layers and losses in ``nn``, checkpoints and images in ``io``,
devices and threads in ``runtime``, ``metrics``, ``report``) and the GAN model zoo (``zoo``).

The core subpackages know nothing of SinGAN, of the zoo or of the CLI; ``singan_kit`` and
``ganbase.zoo`` build on them (docs/architecture.md).
"""

__version__ = "0.1.0"
