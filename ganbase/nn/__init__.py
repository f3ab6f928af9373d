"""Layers and losses shared by SinGAN, ConSinGAN and the zoo: conv blocks, batch norm with a closed-form double backward, patch critics, style blocks and adversarial loss objects."""
