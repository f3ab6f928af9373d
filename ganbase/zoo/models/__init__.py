"""The GAN model zoo: a registry of classic generative models sharing one trainer.

The models: GAN, cGAN, DCGAN, WGAN, WGAN-GP, LSGAN, VAE, the image-to-image translators pix2pix,
CycleGAN, StarGAN, and the progressive / style-based Progressive GAN, StyleGAN, StyleGAN2 (see each
module's docstring for its paper). Use ``create_model(name, **options)`` to build one and
``model_names()`` / ``model_info(name)`` to list them.

Importing this package loads only the model contract (:mod:`~ganbase.zoo.models.base`) and the
registry; the model modules themselves are imported (and so registered) on the first registry
lookup, so the data side, which needs :class:`Batch`, does not load thirteen networks.
"""

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
