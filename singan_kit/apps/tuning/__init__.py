"""The applications that train: harmonization fine-tuning, paint-to-image quantization retraining and super-resolution training."""
