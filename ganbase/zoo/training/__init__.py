"""Zoo training: the one Trainer, start and resume with each model's paper defaults, DistributedDataParallel and EMA."""
