"""CUDA-graph training path, FLOP counting and learning-rate helpers (CUDA tests skip on CPU)."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from ganbase.nn.discriminators import PatchDiscriminator
from ganbase.runtime.cuda_graphs import GraphedStep, make_adam, set_learning_rate
from ganbase.runtime.flops import count_flops, matmul_gflops, matmul_rates
from singan_kit.architectures import make_config
from singan_kit.architectures.singan.fit import ScaleTargets, fit_scale, iteration_flops
from singan_kit.architectures.singan.model import ScaleGenerator, to_device

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_conv_flops_match_hand_count():
    image = torch.zeros(1, 3, 8, 8, device="meta")
    weight = torch.zeros(4, 3, 3, 3, device="meta")
    total, by_operator = count_flops(F.conv2d, image, weight)
    assert total == 2 * 3 * 4 * 9 * 6 * 6  # 2 FLOPs per multiply-add, 6x6 outputs
    assert set(by_operator) == {"aten.convolution"}


def test_matmul_limit_is_the_fastest_library(monkeypatch):
    rates = matmul_rates(torch.device("cpu"), size=64, repeats=1)
    assert "torch.mm" in rates and all(rate > 0 for rate in rates.values())
    if torch.backends.mkldnn.is_available():  # our convolutions run on oneDNN: its GEMM counts too
        assert "oneDNN (1x1 conv)" in rates
    fixed = {"torch.mm": 100.0, "oneDNN (1x1 conv)": 250.0}
    monkeypatch.setattr("ganbase.runtime.flops.matmul_rates", lambda *args, **kwargs: fixed)
    assert matmul_gflops(torch.device("cpu")) == 250.0


def test_iteration_flops_grow_with_size_and_filters():
    cfg = make_config("tiny")
    small = iteration_flops(cfg, 1, (20, 20))
    assert small > 0
    assert iteration_flops(cfg, 1, (40, 40)) > 3 * small  # conv work ~ pixels (minus borders)
    wide = make_config("tiny", num_filters=16, max_filters=16)
    assert iteration_flops(wide, 1, (20, 20)) > 3 * small  # ~ filters squared


def test_learning_rate_helpers_on_cpu():
    param = torch.nn.Parameter(torch.zeros(2))
    adam = make_adam([param], 1e-3, (0.5, 0.999), torch.device("cpu"), capturable=True)
    assert isinstance(adam.param_groups[0]["lr"], float)  # capturable only matters on CUDA
    set_learning_rate(adam, 1e-4)
    assert adam.param_groups[0]["lr"] == 1e-4
    tensor_lr = torch.optim.SGD([param], lr=torch.tensor(0.5))
    set_learning_rate(tensor_lr, 0.25)
    assert tensor_lr.param_groups[0]["lr"].item() == 0.25
    with pytest.raises(ValueError, match="CUDA"):
        GraphedStep(lambda x: x, torch.device("cpu"))
    assert to_device(torch.ones(2), "cpu").device.type == "cpu"


def _fit(generator, critic, cuda_graphs: bool, iters: int):
    device = torch.device("cuda")
    cfg = make_config("tiny", iters=iters)
    torch.manual_seed(0)
    real = torch.rand(1, 3, 24, 28, device=device) * 2 - 1
    targets = ScaleTargets(1, real, torch.zeros_like(real), None, 0.1)
    gen = torch.Generator().manual_seed(1)

    def inputs(count):
        return torch.rand(count, 3, 24, 28, generator=gen).to(device) * 0.1

    return fit_scale(generator, critic, targets, inputs, cfg, iters, torch.Generator().manual_seed(2), device,
                     cuda_graphs=cuda_graphs, log_every=5)


@needs_cuda
def test_graphed_fit_matches_eager_fit():
    torch.backends.cudnn.deterministic = True
    generator = ScaleGenerator(8).cuda()
    critic = PatchDiscriminator(3, 8, 5, 3).cuda()
    eager_g, eager_d = copy.deepcopy(generator), copy.deepcopy(critic)
    iters = 20  # 3 eager warm-up iterations, then 17 replays, across the LR decay at 16
    graphed = _fit(generator, critic, True, iters)
    eager = _fit(eager_g, eager_d, False, iters)
    torch.backends.cudnn.deterministic = False
    for key, value in eager_g.state_dict().items():
        assert torch.allclose(generator.state_dict()[key].float(), value.float(), atol=1e-4), key
    for graphed_row, eager_row in zip(graphed.rows, eager.rows):
        assert graphed_row["lr"] == eager_row["lr"]
        assert graphed_row["d_loss"] == pytest.approx(eager_row["d_loss"], rel=1e-3, abs=1e-4)


@needs_cuda
def test_graphed_step_replays_with_new_inputs():
    weights = torch.nn.Parameter(torch.ones(3, device="cuda"))
    opt = make_adam([weights], 0.1, (0.5, 0.999), torch.device("cuda"), capturable=True)

    def step(x):
        opt.zero_grad(set_to_none=False)
        loss = (weights * x).sum()
        loss.backward()
        opt.step()
        return loss.detach()

    graphed = GraphedStep(step, torch.device("cuda"), warmup=2)
    outputs = [graphed(torch.full((3,), float(k), device="cuda")).item() for k in range(1, 6)]
    assert graphed.graph is not None
    assert outputs[2] != outputs[3]  # each replay reads the refilled input buffer
    assert weights.detach().lt(1.0).all()  # and the optimizer steps inside the graph ran
