"""ConSinGAN (Hinz, Fisher, Wang & Wermter, WACV 2021): config, growing generator and trainer."""
