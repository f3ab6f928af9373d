"""SinGAN's applications (Shaham et al. 2019, Sec. 4): harmonization, editing, paint-to-image,
super-resolution and animation, all built on one mechanism, injecting an image at a scale
(:mod:`singan_kit.apps.inject`). Modules here never import training code, not even inside
functions; the applications that train (fine-tuning, SR training) are in :mod:`singan_kit.apps.tuning`,
which :mod:`singan_kit.api` loads on demand.
"""
