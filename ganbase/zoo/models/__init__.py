"""The GAN model zoo: a registry of classic generative models sharing one trainer.

Importing this package registers every model (GAN, cGAN, DCGAN, WGAN, WGAN-GP, LSGAN, VAE, and
the image-to-image translators pix2pix, CycleGAN, StarGAN, and the progressive / style-based
Progressive GAN, StyleGAN, StyleGAN2; see each module's docstring for its
paper). Use ``create_model(name, **options)`` to build one and
``model_names()`` / ``model_info(name)`` to list them.
"""

from ganbase.zoo.models import (  # noqa: F401  (importing registers the models)
    cgan,
    cyclegan,
    dcgan,
    gan,
    lsgan,
    pggan,
    pix2pix,
    stargan,
    stylegan,
    stylegan2,
    vae,
    wgan,
    wgan_gp,
)
from ganbase.zoo.models.base import (
    Batch,
    ModelConfig,
    OptimizerSpec,
    StepContext,
    ZooModel,
)
from ganbase.zoo.models.registry import (
    ModelInfo,
    create_model,
    get_model_class,
    model_info,
    model_names,
    register_model,
)

__all__ = [
    "Batch",
    "ModelConfig",
    "ModelInfo",
    "OptimizerSpec",
    "StepContext",
    "ZooModel",
    "create_model",
    "get_model_class",
    "model_info",
    "model_names",
    "register_model",
]
