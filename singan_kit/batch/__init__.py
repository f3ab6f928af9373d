"""Folders of images or runs on one machine or many: run naming, claims and torchrun sharding."""
