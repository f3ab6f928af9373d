"""The GAN model zoo (GAN to StyleGAN2, pix2pix, CycleGAN, StarGAN, VAE): models, data, training, inference and evaluation; never imports singan_kit."""
