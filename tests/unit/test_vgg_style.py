"""VGG-19 loading from user files (both layouts, .pth and .safetensors), style statistics against
hand-computed values, and Gatys optimisation with random weights (no pretrained VGG is available here)."""

from __future__ import annotations

import os
import pickle

import pytest
import torch
from safetensors.torch import save_file

from ganbase.errors import UserError
from ganbase.nn.style_transfer import adain, gram_matrix, gram_style_loss, mean_std, preserve_color
from ganbase.nn.vgg import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    VGG_WEIGHTS_ENV,
    layout_indices,
    load_vgg19,
    random_vgg19_state,
)
from ganbase.zoo.inference.gatys import GatysConfig, stylize_gatys

FEATURE_SHAPES = {"relu1_1": (64, 32, 32), "relu2_1": (128, 16, 16), "relu3_1": (256, 8, 8),
                  "relu4_1": (512, 4, 4), "relu5_1": (512, 2, 2)}


def _write(tmp_path, layout, suffix, last="relu5_1"):
    state = random_vgg19_state(layout, seed=3, last=last)
    path = tmp_path / f"{layout}{suffix}"
    if suffix == ".safetensors":
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        torch.save(state, path)
    return path


def test_layout_indices_match_the_published_files():
    assert layout_indices("torchvision")[:6] == [0, 2, 5, 7, 10, 12]
    assert layout_indices("torchvision")[-1] == 34
    assert layout_indices("adain")[:6] == [2, 5, 9, 12, 16, 19]
    assert layout_indices("adain")[12] == 42 and layout_indices("adain")[-1] == 51


@pytest.mark.parametrize("layout", ["torchvision", "adain"])
def test_both_formats_load_with_identical_features_and_shapes(tmp_path, layout):
    image = torch.rand(2, 3, 32, 32) * 2 - 1
    features = []
    for suffix in (".pth", ".safetensors"):
        encoder = load_vgg19(_write(tmp_path, layout, suffix), last="relu5_1")
        assert encoder.layout == layout
        features.append(encoder(image, tuple(FEATURE_SHAPES)))
    for name, shape in FEATURE_SHAPES.items():
        assert tuple(features[0][name].shape) == (2, *shape)
        assert torch.equal(features[0][name], features[1][name])


def test_torchvision_input_is_imagenet_normalised(tmp_path):
    encoder = load_vgg19(_write(tmp_path, "torchvision", ".pth"), last="relu1_1")
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    image = (mean * 2 - 1).expand(1, 3, 4, 4)  # [-1, 1] pixels whose [0, 1] value is the mean
    assert torch.allclose(encoder.network_input(image), torch.zeros(1, 3, 4, 4), atol=1e-6)
    white = encoder.network_input(torch.ones(1, 3, 1, 1)).flatten()
    expected = (1 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    assert torch.allclose(white, expected, atol=1e-6)


def test_adain_input_goes_through_the_leading_1x1_conv_in_0_1_rgb(tmp_path):
    state = random_vgg19_state("adain", last="relu1_1")
    state["0.weight"] = torch.eye(3).flip(0)[:, :, None, None] * 255  # RGB -> BGR, x255
    state["0.bias"] = -torch.tensor([103.939, 116.779, 123.68])
    path = tmp_path / "vgg_normalised.pth"
    torch.save(state, path)
    encoder = load_vgg19(path, last="relu1_1")
    image = torch.tensor([1.0, 0.0, -1.0]).view(1, 3, 1, 1)  # RGB 1, 0.5, 0 in [0, 1]
    got = encoder.network_input(image).flatten()
    assert torch.allclose(got, torch.tensor([-103.939, 127.5 - 116.779, 255 - 123.68]), atol=1e-3)


def test_environment_variable_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv(VGG_WEIGHTS_ENV, str(_write(tmp_path, "adain", ".pth", last="relu4_1")))
    assert load_vgg19(None, last="relu4_1").layout == "adain"


def _one_line_error(weights, match):
    with pytest.raises(UserError, match=match) as info:
        load_vgg19(weights, last="relu4_1")
    message = str(info.value)
    assert "\n" not in message and "vgg19-dcbb9e9d.pth" in message and "vgg_normalised.pth" in message
    return message


def test_missing_file_and_no_file_give_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv(VGG_WEIGHTS_ENV, raising=False)
    _one_line_error(None, "needs VGG-19 weights")
    _one_line_error(tmp_path / "nope.pth", "not found")


def test_wrong_keys_and_wrong_shapes_give_one_line(tmp_path):
    torch.save({"fc.weight": torch.zeros(2, 2)}, tmp_path / "other.pth")
    _one_line_error(tmp_path / "other.pth", "not a VGG-19 state dict")
    state = random_vgg19_state("torchvision", last="relu4_1")
    state["features.5.weight"] = torch.zeros(128, 64, 1, 1)
    torch.save(state, tmp_path / "bad.pth")
    assert "features.5.weight" in _one_line_error(tmp_path / "bad.pth", "wrong shape")
    del state["features.10.weight"]
    torch.save(state, tmp_path / "short.pth")
    _one_line_error(tmp_path / "short.pth", "missing")


class _Payload:
    """Unpickling it creates the folder ``marker``: proof that code from the file ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_pickled_objects_are_refused_without_running_them(tmp_path):
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(_Payload(marker)))
    assert marker.is_dir()  # the payload is live
    marker.rmdir()
    path = tmp_path / "evil.pth"
    torch.save({"0.weight": _Payload(marker)}, path)
    _one_line_error(path, "cannot read VGG weights")
    raw = tmp_path / "evil.safetensors"
    raw.write_bytes(pickle.dumps({"0.weight": _Payload(marker)}))
    _one_line_error(raw, "refusing to load")
    assert not marker.exists()


def test_gram_matrix_known_answer():
    features = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 2, 1, 2)  # 2 channels, 2 positions
    assert torch.equal(gram_matrix(features)[0], torch.tensor([[5.0, 11.0], [11.0, 25.0]]))
    # (G - 0)^2 summed = 25 + 121 + 121 + 625 = 892, / (4 * 2^2 * 2^2)
    assert gram_style_loss(features, torch.zeros(1, 2, 2)).item() == pytest.approx(892 / 64)


def test_adain_gives_the_style_channel_statistics():
    content = torch.randn(2, 4, 8, 8) * 3 + 1
    style = torch.randn(2, 4, 5, 7) * torch.tensor([0.5, 2.0, 1.0, 4.0]).view(1, 4, 1, 1) - 2
    out = adain(content, *mean_std(style))
    got_mean, got_std = mean_std(out)
    want_mean, want_std = mean_std(style)
    assert torch.allclose(got_mean, want_mean, atol=1e-5)
    assert torch.allclose(got_std, want_std, atol=1e-3)
    flat = torch.tensor([1.0, 3.0]).view(1, 1, 1, 2)  # mean 2, unbiased std sqrt(2)
    mean, std = mean_std(flat, eps=0.0)
    assert mean.item() == 2.0 and std.item() == pytest.approx(2 ** 0.5)


def test_preserve_color_keeps_content_chroma_and_stylized_luma():
    content = torch.rand(1, 3, 6, 6) * 0.6 - 0.3  # chroma small enough that nothing clips
    gray = torch.rand(1, 1, 6, 6).expand(1, 3, 6, 6) * 0.6 - 0.3
    out = preserve_color(gray, content)
    luma = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    assert torch.allclose((out * luma).sum(1), (gray * luma).sum(1), atol=1e-5)
    assert not torch.allclose(out, gray, atol=1e-2)


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_gatys_lowers_its_loss_with_random_weights(tmp_path, optimizer):
    torch.manual_seed(0)
    encoder = load_vgg19(_write(tmp_path, "torchvision", ".pth"), last="relu5_1", pool="avg")
    content, style = torch.rand(1, 3, 32, 40) * 2 - 1, torch.rand(1, 3, 24, 24) * 2 - 1
    losses = []
    config = GatysConfig(steps=12, size=32, optimizer=optimizer, style_weight=1e3)
    out = stylize_gatys(encoder, content, style, config, quiet=True,
                        on_step=lambda step, c, s: losses.append(c + 1e3 * s))
    assert tuple(out.shape) == (1, 3, 26, 32) and out.abs().max() <= 1
    assert losses[-1] < 0.5 * losses[0]


def test_gatys_refuses_bad_settings():
    with pytest.raises(UserError, match="--init"):
        GatysConfig(init="zeros").validate()
    with pytest.raises(UserError, match="--steps"):
        GatysConfig(steps=0).validate()


# ----- adain (Huang & Belongie 2017) through the zoo's one trainer ---------------------------

def _image_folder(folder, count, seed, size=24):
    import imageio.v3 as iio
    import numpy as np

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for index in range(count):
        base = rng.integers(0, 256, (3, 3, 3)).astype(np.float64)
        image = np.kron(base, np.ones((size // 3, size // 3, 1))) + rng.normal(0, 20, (size, size, 3))
        iio.imwrite(folder / f"{index}.png", image.clip(0, 255).astype(np.uint8))
    return folder


@pytest.fixture
def adain_data(tmp_path):
    from ganbase.zoo.data.datasets import DataConfig

    content = _image_folder(tmp_path / "content", 6, seed=1)
    style = _image_folder(tmp_path / "style", 4, seed=2)
    weights = tmp_path / "vgg.safetensors"
    save_file({k: v.contiguous() for k, v in random_vgg19_state("adain", seed=5, last="relu4_1").items()},
              str(weights))
    return DataConfig(str(content), image_size=16, style_source=str(style)), weights


def test_adain_training_lowers_content_plus_style_loss(adain_data):
    from ganbase.zoo.models import create_model

    torch.manual_seed(0)
    data, weights = adain_data
    model = create_model("adain", data_shape=(3, 16, 16), vgg_weights=str(weights))
    assert model.config.vgg_layout == "adain" and not any(p.requires_grad for p in model.encoder.parameters())
    content = torch.rand(2, 3, 16, 16) * 2 - 1
    style = torch.rand(2, 3, 16, 16) * 2 - 1
    optimizer = torch.optim.Adam(model.decoder.parameters(), lr=1e-3)
    totals = []
    for _ in range(25):
        content_loss, style_loss = model.losses(content, style)
        total = content_loss + model.config.style_weight * style_loss
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        totals.append(total.item())
    assert totals[-1] < 0.9 * totals[0] and min(totals[-5:]) < min(totals[:5])


def test_adain_resume_is_bit_exact_and_alpha_zero_is_encoder_decoder(adain_data, tmp_path):
    from ganbase.io.checkpoint import load_tensors
    from ganbase.zoo.inference.runs import latest_checkpoint
    from ganbase.zoo.inference.stylize import load_adain_run, stylize_tensor
    from ganbase.zoo.training.launch import resume_training, start_training
    from ganbase.zoo.training.trainer import TrainConfig

    data, weights = adain_data
    options = {"vgg_weights": str(weights)}

    def config(steps):
        return TrainConfig(steps=steps, batch_size=2, seed=1, checkpoint_every=2, sample_every=2, log_every=1)

    start_training("adain", data, config(4), tmp_path / "straight", options, "cpu", quiet=True)
    start_training("adain", data, config(2), tmp_path / "resumed", options, "cpu", quiet=True)
    resume_training(tmp_path / "resumed", steps=4, device="cpu", quiet=True)
    finals = []
    for run in ("straight", "resumed"):
        step, folder = latest_checkpoint(tmp_path / run)
        assert step == 4
        finals.append({**load_tensors(folder / "model.safetensors"),
                       **load_tensors(folder / "training_state.safetensors")})
    assert finals[0].keys() == finals[1].keys()
    assert all(torch.equal(finals[0][k], finals[1][k]) for k in finals[0])
    assert (tmp_path / "straight" / "samples" / "step_00000004.png").is_file()

    weights.unlink()  # the run holds the encoder: stylizing needs no VGG file
    model, step = load_adain_run(tmp_path / "straight")
    content = torch.rand(1, 3, 19, 13) * 2 - 1  # any size: padded to multiples of 8 and cropped back
    mean, std = model.style_statistics(torch.rand(1, 3, 16, 16) * 2 - 1)
    out = stylize_tensor(model, content, mean, std, alpha=0.0, keep_color=False)
    assert tuple(out.shape) == (1, 3, 19, 13)
    with torch.no_grad():
        padded = torch.nn.functional.pad(content, (0, 3, 0, 5), mode="reflect")
        direct = model.decoder(model.encoder(padded, ("relu4_1",))["relu4_1"])[..., :19, :13].clamp(-1, 1)
    assert torch.allclose(out, direct, atol=1e-6)
    stylized = stylize_tensor(model, content, mean, std, alpha=1.0, keep_color=False)
    assert not torch.equal(out, stylized)  # alpha 1 decodes the AdaIN target instead
