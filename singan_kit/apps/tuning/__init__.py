"""The applications that train: harmonization fine-tuning, paint-to-image quantization retraining
and super-resolution training. Training code: only :mod:`singan_kit.api` loads these, on demand
(``SinGAN.harmonize(fine_tune=...)``, ``SinGAN.paint(quantize=...)``, ``super_resolve_images``)."""
