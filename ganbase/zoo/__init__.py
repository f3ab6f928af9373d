"""The GAN model zoo (GAN to StyleGAN2, pix2pix, CycleGAN, StarGAN, VAE): models, data, training, inference
and evaluation, with :mod:`ganbase.zoo.api` as the entry point front ends call; never imports singan_kit."""
