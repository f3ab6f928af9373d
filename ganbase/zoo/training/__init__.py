"""Zoo training: the one Trainer, its settings and each model's paper defaults (``config``), start and resume,
DistributedDataParallel and EMA."""
