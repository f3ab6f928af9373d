"""SinGAN (Shaham, Dekel & Michaeli, ICCV 2019): config, generator pyramid, fit of one scale and trainer."""
