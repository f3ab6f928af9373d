"""SinGAN's applications (Shaham et al. 2019, Sec. 4): harmonization, editing, paint-to-image,
super-resolution and animation, all built on one mechanism, injecting an image at a scale
(:mod:`singan_kit.apps.inject`). Modules here never import training code, except
:mod:`singan_kit.apps.tuning.finetune`, which the options that retrain a scale load on demand.
"""
