"""Zoo part 2: translation data (paired/unpaired/multi-domain, jitter, direction), networks, the
three translation models (training, paper defaults, learning signal) and their failure modes."""

from __future__ import annotations

import math

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from ganbase.errors import UserError
from ganbase.zoo.data.datasets import BatchStream, DataConfig, load_dataset
from ganbase.zoo.models import create_model
from ganbase.zoo.models.translation import ImagePool
from ganbase.zoo.models.translation_nets import PatchDiscriminator70, UNetGenerator
from ganbase.zoo.training.trainer import LR_SCHEDULES, TrainConfig, Trainer

TINY = {"pix2pix": {"width": 4, "d_width": 4},
        "cyclegan": {"width": 4, "d_width": 4, "num_blocks": 1},
        "stargan": {"width": 4, "d_width": 4, "num_blocks": 1}}
BUILTIN = {"pix2pix": ("edges2photos:24", "paired"), "cyclegan": ("textures:16", "unpaired"),
           "stargan": ("colored-shapes:32", "multi-domain")}


def _write(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, array)


def _random_image(seed, height=20, width=20):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _model_and_data(name, **data_options):
    source, mode = BUILTIN[name]
    dataset = load_dataset(DataConfig(source, image_size=32, mode=mode, **data_options))
    torch.manual_seed(0)
    return create_model(name, **dataset.model_options(), **TINY[name]), dataset


# ----- data ---------------------------------------------------------------------------------

def test_builtins_have_the_promised_shapes_and_split_apart():
    edges = load_dataset(DataConfig("edges2photos:20", image_size=32, mode="paired"))
    assert edges.images.shape == (20, 1, 36, 36) and edges.targets.shape == (20, 3, 36, 36)
    assert set(edges.images.unique().tolist()) <= {0, 255}  # binary edge maps
    test = load_dataset(DataConfig("edges2photos:20", image_size=32, mode="paired", split="test"))
    assert len(test) == 16 and not torch.equal(test.targets[:16], edges.targets[:16])
    gray = load_dataset(DataConfig("gray2color:8", image_size=16, mode="paired", jitter=False))
    assert gray.images.shape == (8, 1, 16, 16) and gray.targets.shape == (8, 3, 16, 16)
    textures = load_dataset(DataConfig("textures:8", image_size=16, mode="unpaired"))
    assert textures.images.shape[1] == textures.targets.shape[1] == 1
    shapes = load_dataset(DataConfig("colored-shapes:8", image_size=16, mode="multi-domain"))
    assert shapes.class_names == ("red", "green", "blue", "yellow")
    assert torch.equal(shapes.labels.sum(1), torch.ones(8))
    red = shapes.images[shapes.labels[:, 0] == 1].float()
    blue = shapes.images[shapes.labels[:, 2] == 1].float()
    assert red[:, 0].max() > red[:, 2].max() and blue[:, 2].max() > blue[:, 0].max()


def test_paired_jitter_crops_both_sides_alike_and_direction_swaps(tmp_path):
    for index in range(3):  # B is A, so any misaligned crop or flip would show
        image = _random_image(index, 24, 24)
        _write(tmp_path / "pairs" / f"{index}.png", np.concatenate([image, image], 1))
    config = DataConfig(str(tmp_path / "pairs"), image_size=16, mode="paired")
    dataset = load_dataset(config)
    assert dataset.images.shape == (3, 3, 18, 18)  # 286/256 of the crop size
    stream = BatchStream(dataset, 8, seed=0)
    batches = [stream.next() for _ in range(3)]
    for batch in batches:
        assert batch.data.shape == (8, 3, 16, 16) and torch.equal(batch.data, batch.target)
    assert not torch.equal(batches[0].data, batches[1].data)  # jitter and flips vary
    first = BatchStream(dataset, 8, seed=0)
    first.next()
    resumed = BatchStream(dataset, 8, seed=0)
    resumed.load_state_dict(first.state_dict())
    assert torch.equal(resumed.next().data, batches[1].data)  # crops and flips resume exactly

    _write(tmp_path / "ab" / "A" / "x.png", np.zeros((8, 8, 3), np.uint8))
    _write(tmp_path / "ab" / "B" / "x.jpg", np.full((8, 8, 3), 255, np.uint8))
    plain = DataConfig(str(tmp_path / "ab"), image_size=8, mode="paired", jitter=False, flip=False)
    forward = load_dataset(plain).fixed_batch(1)
    backward = load_dataset(DataConfig(**{**plain.__dict__, "direction": "BtoA"})).fixed_batch(1)
    assert forward.data.max() == -1 and forward.target.min() == 1
    assert torch.equal(backward.data, forward.target) and torch.equal(backward.target, forward.data)


def test_unpaired_and_domain_folders_and_csv(tmp_path):
    for index in range(3):
        _write(tmp_path / "u" / "trainA" / f"a{index}.png", _random_image(index))
    _write(tmp_path / "u" / "trainB" / "b.png", _random_image(9))
    unpaired = load_dataset(DataConfig(str(tmp_path / "u"), image_size=16, mode="unpaired"))
    assert len(unpaired) == 3 and unpaired.targets.shape[0] == 1
    batch = BatchStream(unpaired, 5, seed=0).next()
    assert batch.data.shape == batch.target.shape == (5, 3, 16, 16)

    for domain in ("black", "blond"):
        _write(tmp_path / "hair" / domain / "x.png", _random_image(len(domain)))
    domains = load_dataset(DataConfig(str(tmp_path / "hair"), image_size=16, mode="multi-domain"))
    assert domains.class_names == ("black", "blond") and domains.labels.tolist() == [[1, 0], [0, 1]]
    assert domains.model_options()["multi_label"] is False
    (tmp_path / "hair" / "attrs.csv").write_text(
        "filename,blond,male\nblack/x.png,-1,1\nblond/x.png,1,1\n")
    attrs = load_dataset(DataConfig(str(tmp_path / "hair" / "attrs.csv"), image_size=16,
                                    mode="multi-domain"))
    assert attrs.class_names == ("blond", "male") and attrs.labels.tolist() == [[0, 1], [1, 1]]
    assert attrs.model_options()["multi_label"] is True
    # a spreadsheet's Latin-1 CSV (a header with "é") reads as such, not as a UnicodeDecodeError
    (tmp_path / "hair" / "attrs.csv").write_bytes(
        "filename,blond,mâle\nblack/x.png,-1,1\nblond/x.png,1,1\n".encode("latin-1"))
    latin = load_dataset(DataConfig(str(tmp_path / "hair" / "attrs.csv"), image_size=16, mode="multi-domain"))
    assert latin.class_names == ("blond", "mâle") and latin.labels.tolist() == [[0, 1], [1, 1]]


def test_bad_translation_data_gives_clear_errors(tmp_path):
    for name in ("a", "b", "c", "d", "e"):
        _write(tmp_path / "p" / "A" / f"{name}.png", _random_image(0))
    _write(tmp_path / "p" / "B" / "a.png", _random_image(0))
    _write(tmp_path / "p" / "B" / "zz.png", _random_image(0))
    with pytest.raises(UserError, match=r"A/ has b.png, c.png, d.png, \.\.\. \(4 in all\) without a "
                                        r"match in B/; B/ has zz.png"):
        load_dataset(DataConfig(str(tmp_path / "p"), mode="paired"))
    _write(tmp_path / "u" / "A" / "a.png", _random_image(0))
    (tmp_path / "u" / "B").mkdir()
    with pytest.raises(UserError, match="unpaired data: .*B has no images"):
        load_dataset(DataConfig(str(tmp_path / "u"), mode="unpaired"))
    with pytest.raises(UserError, match="'textures' is unpaired data, but this model needs paired"):
        load_dataset(DataConfig("textures", mode="paired"))
    with pytest.raises(UserError, match="--direction must be AtoB or BtoA"):
        load_dataset(DataConfig("edges2photos:4", mode="paired", direction="up"))
    with pytest.raises(UserError, match="one subfolder per domain"):
        load_dataset(DataConfig(str(tmp_path / "u" / "A"), mode="multi-domain"))


# ----- networks -----------------------------------------------------------------------------

def test_unet_depths_and_patchgan_receptive_field():
    assert len(UNetGenerator(3, 3, 8, width=2).downs) == 8  # unet_256
    unet_128 = create_model("pix2pix", data_shape=(3, 128, 128), generator="unet_128", width=2,
                            d_width=2).eval()
    assert len(unet_128.generator.downs) == 7
    assert unet_128.generator(torch.zeros(1, 3, 256, 256)).shape == (1, 3, 256, 256)
    with pytest.raises(UserError, match="unknown generator"):
        create_model("pix2pix", data_shape=(3, 64, 64), generator="unet_100")
    critic = PatchDiscriminator70(3, width=2).eval()
    images = torch.zeros(1, 3, 256, 256, requires_grad=True)
    scores = critic(images)
    assert scores.shape == (1, 1, 30, 30)  # the reference PatchGAN's map at 256 px
    scores[0, 0, 15, 15].backward()
    rows, cols = images.grad[0].abs().sum(0).nonzero(as_tuple=True)
    assert rows.max() - rows.min() + 1 == 70 and cols.max() - cols.min() + 1 == 70


def test_hold_linear_schedule_and_image_pool():
    schedule = LR_SCHEDULES["hold-linear"](10)
    assert [schedule(step) for step in (0, 5, 6, 8, 10)] == [1.0, 1.0, 0.8, 0.4, 0.0]
    torch.manual_seed(0)
    pool = ImagePool(4, (1, 2, 2))
    first = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 1, 2, 2)
    assert torch.equal(pool.query(first), first) and int(pool.count) == 4
    fresh = torch.arange(100.0, 164.0).view(64, 1, 1, 1).expand(64, 1, 2, 2)
    later = pool.query(fresh)
    from_history = (later != fresh).flatten(1).all(1).sum()
    assert 16 < from_history < 48  # about half are swapped for stored images
    assert set(later[:, 0, 0, 0].tolist()) <= set(range(164))
    assert "images" in pool.state_dict() and "count" in pool.state_dict()


def test_paper_defaults():
    pix2pix = create_model("pix2pix", data_shape=(1, 32, 32), width=2, d_width=2)
    specs = {s.module: s for s in pix2pix.optimizer_specs()}
    assert pix2pix.config.l1_weight == 100 and pix2pix.config.dropout == 0.5
    assert specs["generator"].lr == 2e-4 and specs["generator"].betas == (0.5, 0.999)
    assert pix2pix.default_batch_size == 1 and pix2pix.default_lr_schedule == "hold-linear"
    cyclegan = create_model("cyclegan", data_shape=(3, 256, 256), width=2, d_width=2)
    assert len([m for m in cyclegan.generators["AtoB"].modules()
                if type(m).__name__ == "ResidualBlock"]) == 9
    assert (cyclegan.loss.a, cyclegan.loss.b, cyclegan.loss.c) == (0.0, 1.0, 1.0)
    assert cyclegan.config.cycle_weight == 10 and cyclegan.identity_weight == 5.0
    assert cyclegan.pool_a.size == 50
    stargan = create_model("stargan", data_shape=(3, 128, 128), num_classes=5, width=2, d_width=2)
    assert stargan.real_batches_per_step() == 5 and stargan.loss.weight == 10
    assert (stargan.config.cls_weight, stargan.config.rec_weight) == (1.0, 10.0)
    assert {s.lr for s in stargan.optimizer_specs()} == {1e-4}
    _, logits = stargan.discriminator(torch.zeros(2, 3, 128, 128))
    assert logits.shape == (2, 5) and len(stargan.discriminator.body) == 12  # 6 stride-2 layers


# ----- training -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_a_few_steps_on_the_builtin_data_update_every_network(name, tmp_path):
    model, dataset = _model_and_data(name)
    before = {key: value.clone() for key, value in model.state_dict().items()}
    trainer = Trainer(model, dataset, tmp_path, TrainConfig(steps=2, batch_size=4, log_every=1),
                      torch.device("cpu"), quiet=True)
    logs = trainer.fit()
    assert len(logs) >= 3 and all(math.isfinite(value) for value in logs.values())
    for spec in model.optimizer_specs():
        params = dict(getattr(model, spec.module).named_parameters())
        assert any(not torch.equal(before[f"{spec.module}.{key}"], value)
                   for key, value in params.items()), f"{name}: {spec.module} did not change"
    grid = iio.imread(tmp_path / "samples" / "step_00000002.png")
    columns = {"pix2pix": 3, "cyclegan": 6, "stargan": 5}[name]  # input | outputs | ...
    assert grid.shape[1] == columns * 34 + 2 and grid.shape[0] == 8 * 34 + 2  # 8 fixed rows
    with pytest.raises(UserError, match="no latent space"):
        model.sample(2)


def test_cyclegan_cycle_error_drops_on_gray2color(tmp_path):
    dataset = load_dataset(DataConfig("gray2color:32", image_size=32, mode="unpaired"))
    torch.manual_seed(0)
    model = create_model("cyclegan", **dataset.model_options(), width=8, d_width=8, num_blocks=2,
                         lr=1e-3)  # a faster rate so that a few CPU seconds show the trend
    fixed = dataset.fixed_batch(8)

    def cycle_error():
        model.eval()
        with torch.no_grad():
            there = model.translate(model.translate(fixed.data), reverse=True)
            back = model.translate(model.translate(fixed.target, reverse=True))
        model.train()
        return float((there - fixed.data).abs().mean() + (back - fixed.target).abs().mean())

    before = cycle_error()
    Trainer(model, dataset, tmp_path, TrainConfig(steps=60, batch_size=4, seed=1),
            torch.device("cpu"), quiet=True).fit()
    assert model.identity_weight == 0.0  # gray -> colour: no identity loss
    after = cycle_error()
    assert after < 0.85 * before, (before, after)


def test_stargan_output_depends_on_the_target_domain(tmp_path):
    model, dataset = _model_and_data("stargan")
    Trainer(model, dataset, tmp_path, TrainConfig(steps=2, batch_size=4), torch.device("cpu"),
            quiet=True).fit()
    model.eval()
    images = dataset.fixed_batch(4).data
    eye = torch.eye(4)
    outputs = [model.translate(images, domains=row) for row in eye]
    for first in range(4):
        for second in range(first + 1, 4):
            assert (outputs[first] - outputs[second]).abs().mean() > 1e-4
    assert torch.equal(outputs[1], model.translate(images, domains=eye[1]))
    with pytest.raises(UserError, match="target domain"):
        model.translate(images)
