"""ganbase: shared GAN building blocks (conv blocks, losses, discriminators, checkpoints, devices).

Used by the SinGAN toolkit (``singan_kit``) and by the GAN model zoo (``ganbase.zoo.models``).
"""

__version__ = "0.1.0"
