"""Registry-wide tests: every zoo model builds, trains one step with finite losses, samples well."""

from __future__ import annotations

import math

import pytest
import torch

from ganbase.errors import UserError
from ganbase.zoo.data.datasets import DataConfig, load_dataset
from ganbase.zoo.models import create_model, model_info, model_names
from ganbase.zoo.models.base import DATA_KINDS
from ganbase.zoo.training.trainer import TrainConfig, Trainer
from tests.helpers import assert_imports_no_training

EXPECTED = {"gan", "cgan", "dcgan", "wgan", "wgan-gp", "lsgan", "vae"}
CGAN_TINY = {"g_hidden": (16, 32), "d_hidden": (32, 16), "latent_dim": 8}
CGAN_PAPER_TINY = {"architecture": "paper", "latent_hidden": 8, "label_hidden": 16, "joint_hidden": 32,
                   "d_data_units": 16, "d_label_units": 4, "d_joint_units": 16, "latent_dim": 8}
TINY = {"gan": {"hidden": (32,), "latent_dim": 8}, "cgan": CGAN_TINY,
        "dcgan": {"width": 4, "latent_dim": 8}, "wgan": {"width": 4, "latent_dim": 8},
        "wgan-gp": {"width": 4, "latent_dim": 8}, "lsgan": {"width": 4, "latent_dim": 8},
        "vae": {"width": 4, "latent_dim": 8}}


@pytest.fixture(scope="module")
def digits():
    return load_dataset(DataConfig("digits:40", image_size=16, labeled=True))


def test_registry_has_the_seven_models_with_info():
    translators = {"pix2pix", "cyclegan", "stargan"}  # zoo part 2, tested in test_zoo_translation*
    translators.add("adain")  # issue 24, tested in test_zoo_stylize and unit/test_vgg_style
    styled = {"pggan", "stylegan", "stylegan2"}  # zoo part 3, tested in test_zoo_pggan/style*
    assert set(model_names()) == EXPECTED | translators | styled
    for name in model_names():
        info = model_info(name)
        assert info.data_kind in DATA_KINDS
        assert info.description and any(str(year) in info.paper for year in range(2013, 2021))


def test_unknown_model_error_lists_known_names():
    with pytest.raises(UserError, match="known models: cgan, dcgan, gan"):
        create_model("stylegan9")


def test_bad_model_options_are_user_errors():
    with pytest.raises(UserError, match="unknown model option"):
        create_model("dcgan", no_such_option=1)
    with pytest.raises(UserError, match="expected int"):
        create_model("dcgan", width="wide")
    with pytest.raises(UserError, match="power of two"):
        create_model("dcgan", data_shape=(3, 48, 48))
    with pytest.raises(UserError, match="needs image data"):
        create_model("vae", data_shape=(2,))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_one_train_step_updates_all_networks_and_samples_in_range(name, digits, tmp_path):
    torch.manual_seed(0)
    model = create_model(name, data_shape=digits.data_shape, num_classes=digits.num_classes,
                         **TINY[name])
    before = {key: value.clone() for key, value in model.state_dict().items()}
    trainer = Trainer(model, digits, tmp_path, TrainConfig(steps=1, batch_size=8, log_every=1),
                      torch.device("cpu"), quiet=True)
    logs = trainer.fit()
    assert logs and all(math.isfinite(value) for value in logs.values())
    for spec in model.optimizer_specs():  # every optimised network moved
        for module_name in spec.module.split("+"):
            params = dict(getattr(model, module_name).named_parameters())
            changed = any(not torch.equal(before[f"{module_name}.{key}"], value)
                          for key, value in params.items())
            assert changed, f"{name}: {module_name} did not change"
    model.eval()
    samples = model.sample(6, torch.Generator().manual_seed(1))
    assert samples.shape == (6, *digits.data_shape)
    assert torch.isfinite(samples).all() and samples.min() >= -1 and samples.max() <= 1
    again = model.sample(6, torch.Generator().manual_seed(1))
    assert torch.equal(samples, again)  # sampling is reproducible from the generator
    assert (tmp_path / "samples" / "step_00000001.png").is_file()


@pytest.mark.parametrize("size", [32, 64, 128])
def test_dcgan_depth_follows_image_size(size):
    model = create_model("dcgan", data_shape=(3, size, size), width=4, latent_dim=8).eval()
    images = model.sample(2)
    assert images.shape == (2, 3, size, size)
    assert model.discriminator(images).shape == (2,)


@pytest.mark.parametrize("options", [CGAN_TINY, CGAN_PAPER_TINY], ids=["mlp", "paper"])
def test_cgan_samples_requested_label_and_rejects_bad_labels(options):
    model = create_model("cgan", data_shape=(1, 16, 16), num_classes=10, **options).eval()
    latent = model.sample_latent(4, torch.Generator().manual_seed(0))
    threes = model.decode(latent, torch.tensor([3]))
    sevens = model.decode(latent, torch.tensor([7]))
    assert threes.shape == (4, 1, 16, 16) and not torch.equal(threes, sevens)
    assert model.score(threes, torch.tensor([3] * 4)).shape == (4,)
    with pytest.raises(UserError, match="label out of range"):
        model.sample(2, labels=torch.tensor([10]))
    with pytest.raises(UserError, match="unconditional"):
        create_model("gan", data_shape=(2,)).sample(2, labels=torch.tensor([1]))
    with pytest.raises(UserError, match="unknown architecture"):
        create_model("cgan", data_shape=(1, 16, 16), architecture="maxout")


def test_wgan_clips_critic_weights(digits, tmp_path):
    model = create_model("wgan", data_shape=digits.data_shape, **TINY["wgan"])
    Trainer(model, digits, tmp_path, TrainConfig(steps=1, batch_size=8), torch.device("cpu"),
            quiet=True).fit()
    assert model.real_batches_per_step() == 5
    assert max(p.abs().max().item() for p in model.discriminator.parameters()) <= 0.01 + 1e-7


def test_paper_hyperparameters_are_the_defaults():
    def specs(name, **kw):
        return {s.module: s for s in create_model(name, **kw).optimizer_specs()}

    dcgan = specs("dcgan", width=4)
    assert dcgan["generator"].lr == 2e-4 and dcgan["generator"].betas == (0.5, 0.999)
    wgan = specs("wgan", width=4)
    assert wgan["discriminator"].algorithm == "rmsprop" and wgan["discriminator"].lr == 5e-5
    wgan_gp = specs("wgan-gp", width=4)
    assert wgan_gp["discriminator"].betas == (0.0, 0.9) and wgan_gp["discriminator"].lr == 1e-4
    assert create_model("wgan-gp", width=4).loss.weight == 10.0
    lsgan = create_model("lsgan", width=4).loss
    assert (lsgan.a, lsgan.b, lsgan.c) == (0.0, 1.0, 1.0)


def test_inference_never_imports_training_code():
    assert_imports_no_training(["ganbase.zoo.inference.runs", "ganbase.zoo.inference.sampling", "ganbase.io.grids"],
                               also_forbidden=["ganbase.zoo.data", "ganbase.io.train_state"])
