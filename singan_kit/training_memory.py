"""An estimate of the memory a SinGAN/ConSinGAN training request needs, checked before training.

The finest scale dominates: its generator and critic keep every hidden layer's activations
(convolution, batch norm and LeakyReLU outputs: 3 tensors of ``filters x h x w`` float32 per layer)
for the backward pass, and the critic runs on the real image, the fake and the gradient-penalty
interpolate, whose double backward keeps more copies. Weights and Adam moments are small beside
that (``filters**2 * 9`` per layer), and so is the stored pyramid. The constants are calibrated on
peak RSS (``/usr/bin/time -v singan train`` of a 400x300 image, max_size 250, so 250x188 at the
finest scale, ``--iters 1 --threads 1``, CPU): 961 MiB with 32 filters and 2261 MiB with 128,
against 926 and 2187 MiB estimated (within 4%). With activation checkpointing
(``--checkpoint-activations``) each block keeps only its input, but the gradient penalty's double
backward still holds its recomputed activations: ``python bench/training_memory.py --filters 128
--modes on`` measured peak RSS 1.13, 2.78 and 10.21 GB at 250x188, 512x384 and 1024x768 (1.67, 1.13
and 1.10 "tensors per layer" of activations); 1.2 gives 1.19, 3.4 and 12.1 GB, an upper bound from
512 px on, where the memory matters.
A request whose estimate exceeds what the machine has left is refused with the estimate and how to
lower it. Pure functions here, so the numbers are tested with known answers. No paper.
"""

from __future__ import annotations

from ganbase.errors import UserError

FLOAT_BYTES = 4
TENSORS_PER_LAYER = 3  # conv, batch norm, LeakyReLU outputs kept for backward
TENSORS_PER_LAYER_RECOMPUTED = 1.2  # with activation checkpointing (fitted on 250-1024 px, see below)
PASSES = 6  # generator, critic on real, fake and the penalty interpolate + its double backward (fitted)
OVERHEAD_BYTES = 512 * 2**20  # torch, the interpreter and the loaded modules (fitted, see above)


def training_bytes(height: int, width: int, filters: int, layers: int, kernel_size: int = 3,
                   recomputed: bool = False) -> int:
    """Bytes to train one scale of ``height x width`` px with ``layers`` conv layers of ``filters``
    (``recomputed``: with activation checkpointing)."""
    hidden = max(layers - 1, 1)
    per_layer = TENSORS_PER_LAYER_RECOMPUTED if recomputed else TENSORS_PER_LAYER
    activations = round(PASSES * per_layer * hidden * filters * height * width * FLOAT_BYTES)
    weights = 2 * layers * filters * filters * kernel_size * kernel_size * FLOAT_BYTES * 4  # G+D, Adam
    return activations + weights + OVERHEAD_BYTES


def check_training_memory(config, sizes: tuple[tuple[int, int], ...], available: int,
                          recomputed: bool = False) -> int | None:
    """Refuse in one line a run whose finest scale would need more than ``available`` bytes; returns
    the estimate. ``filters``: the config's ``max_filters`` (SinGAN) or ``num_filters``, an upper bound.
    An architecture whose config has no ``num_filters``/``num_layers`` is not a conv pyramid this
    model describes: None, no check."""
    height, width = sizes[-1]
    filters = getattr(config, "max_filters", None) or getattr(config, "num_filters", None)
    layers = getattr(config, "num_layers", None)
    if filters is None or layers is None:
        return None
    estimate = training_bytes(height, width, filters, layers, getattr(config, "kernel_size", 3), recomputed)
    if estimate - OVERHEAD_BYTES > available:  # the overhead is already resident when this runs
        raise UserError(
            f"training needs about {estimate / 2**30:.1f} GB at the finest scale ({width}x{height} px, "
            f"{filters} filters), more than the {available / 2**30:.1f} GB available; lower --max-size "
            "or --max-filters/--num-filters" + ("" if recomputed else ", or add --checkpoint-activations")
        )
    return estimate
