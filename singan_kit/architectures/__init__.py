"""Single-image architectures (SinGAN, ConSinGAN, ...): a registry of Architecture objects and the shared training lifecycle."""
