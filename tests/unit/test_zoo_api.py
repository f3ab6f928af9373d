"""The zoo facade ``ganbase.zoo.api`` and its training settings: calling the library gives the CLI's
defaults (run length, each model's paper batch size / EMA / schedule) and its resume checks."""

from __future__ import annotations

import pytest

from ganbase.errors import UserError
from ganbase.zoo import api
from ganbase.zoo.training.config import (
    DEFAULT_STEPS,
    RESUME_FIXED_SETTINGS,
    TrainConfig,
    check_resume,
    paper_defaults,
    train_config,
)


def test_one_default_run_length():
    assert TrainConfig().steps == DEFAULT_STEPS == train_config("dcgan").steps == 10000


@pytest.mark.parametrize("model, batch_size, ema_decay, schedule", [
    ("dcgan", 64, 0.0, "constant"),
    ("stylegan2", 32, 0.999, "constant"),
    ("pggan", 16, 0.0, "constant"),
    ("pix2pix", 1, 0.0, "hold-linear"),
    ("cyclegan", 1, 0.0, "hold-linear"),
    ("stargan", 16, 0.0, "hold-linear"),
])
def test_paper_defaults(model, batch_size, ema_decay, schedule):
    config = train_config(model)
    assert (config.batch_size, config.ema_decay, config.lr_schedule) == (batch_size, ema_decay, schedule)
    assert paper_defaults(model) == {"batch_size": batch_size, "ema_decay": ema_decay, "lr_schedule": schedule}


def test_given_settings_win_over_the_paper():
    config = train_config("stylegan2", steps=5, batch_size=4, ema_decay=0.0, lr_schedule="linear", seed=3)
    assert (config.steps, config.batch_size, config.ema_decay, config.lr_schedule, config.seed) == \
        (5, 4, 0.0, "linear", 3)


def test_paper_default_exceptions_name_the_models():
    base, others = api.paper_default_exceptions("ema_decay")
    assert base == 0.0 and others == {0.999: ["stylegan2"]}
    base, others = api.paper_default_exceptions("lr_schedule")
    assert base == "constant" and others == {"hold-linear": ["pix2pix", "cyclegan", "stargan"]}


def test_resume_checks(tmp_path):
    with pytest.raises(UserError, match="unknown model 'nope'"):
        check_resume(tmp_path, "nope")
    with pytest.raises(UserError, match="--batch-size cannot change on --resume"):
        check_resume(tmp_path, "gan", ["steps", "batch_size", "seed"])
    assert "steps" not in RESUME_FIXED_SETTINGS and "device" not in RESUME_FIXED_SETTINGS
    with pytest.raises(UserError, match="run folder not found"):
        check_resume(tmp_path / "missing", "gan", ["steps", "device"])


def test_parse_options():
    assert api.parse_options(("latent-dim=8", " width = 4 ")) == {"latent_dim": "8", "width": "4"}
    assert api.parse_options({"width": 4}) == {"width": 4} and api.parse_options(None) == {}
    with pytest.raises(UserError, match="KEY=VALUE"):
        api.parse_options(("width",))


def test_resolve_label():
    config = {"class_names": ["cat", "dog"]}
    assert api.resolve_label("dog", config) == 1 and api.resolve_label("0", config) == 0
    assert api.resolve_label(None, config) is None
    with pytest.raises(UserError, match="classes: cat, dog"):
        api.resolve_label("cow", config)


def test_models_and_datasets():
    generators, translators = api.models()
    assert {info.name for info in translators} == {"pix2pix", "cyclegan", "stargan", "adain"}  # adain: issue 24
    assert "dcgan" in {info.name for info in generators}
    assert {"digits", "edges2photos"} <= set(api.datasets())
