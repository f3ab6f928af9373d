"""Folders of images or runs on one machine or many: the one rule for "a run/image or a folder of
them" (:mod:`~singan_kit.batch.dispatch`), run naming and the summary table
(:mod:`~singan_kit.batch.folders`), claims and torchrun sharding (:mod:`~singan_kit.batch.sharding`),
and training a folder of images (:mod:`~singan_kit.batch.train_folder`, training code)."""
