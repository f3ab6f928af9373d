"""Files: atomic safetensors + JSON checkpoints, training state, image reading, conversion and writing, grids."""
