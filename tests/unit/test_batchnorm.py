"""ganbase.nn.batchnorm.BatchNorm2d: nn.BatchNorm2d's values, with a closed-form double backward."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganbase.nn.batchnorm import BatchNorm2d


def _pair(channels: int, dtype=torch.float32, **kwargs) -> tuple[BatchNorm2d, nn.BatchNorm2d]:
    torch.manual_seed(0)
    fast = BatchNorm2d(channels, **kwargs).to(dtype)
    with torch.no_grad():
        fast.weight.normal_(1.0, 0.3)
        fast.bias.normal_(0.0, 0.3)
    reference = nn.BatchNorm2d(channels, **kwargs).to(dtype)
    reference.load_state_dict(fast.state_dict())
    return fast, reference


@pytest.mark.parametrize("shape, channels_last", [((1, 3, 5, 6), False), ((2, 3, 4, 5), False),
                                                   ((1, 3, 5, 6), True)])
def test_first_and_second_derivatives_match_autograd_numerically(shape, channels_last):
    fast, _ = _pair(shape[1], torch.float64)
    x = torch.randn(*shape, dtype=torch.float64)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)

    def call(inputs, weight, bias):
        return torch.func.functional_call(fast, {"weight": weight, "bias": bias}, (inputs,))

    assert torch.autograd.gradcheck(call, (x, fast.weight, fast.bias))
    assert torch.autograd.gradgradcheck(call, (x, fast.weight, fast.bias))


@pytest.mark.parametrize("momentum", [0.1, None])
def test_values_running_statistics_and_first_backward_equal_nn_batchnorm(momentum):
    fast, reference = _pair(8, momentum=momentum)
    x = torch.randn(1, 8, 12, 15, requires_grad=True)
    for _ in range(3):  # running statistics over several updates
        out, expected = fast(x), reference(x)
    assert torch.equal(out, expected)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        assert torch.equal(getattr(fast, name), getattr(reference, name)), name
    upstream = torch.randn_like(out)
    grads = torch.autograd.grad(out, (x, fast.weight, fast.bias), upstream)
    expected_grads = torch.autograd.grad(expected, (x, reference.weight, reference.bias), upstream)
    for got, want in zip(grads, expected_grads):
        assert torch.equal(got, want)
    fast.eval(), reference.eval()
    assert torch.equal(fast(x), reference(x))
    assert fast.state_dict().keys() == reference.state_dict().keys()


def test_gradient_penalty_through_conv_block_matches_pytorch_double_backward():
    fast, reference = _pair(16)
    torch.manual_seed(1)
    conv = nn.Conv2d(3, 16, 3)
    x = torch.randn(1, 3, 20, 24, requires_grad=True)
    results = []
    for norm in (fast, reference):
        scores = F.leaky_relu(norm(conv(x)), 0.2).mean((1, 2, 3))
        (grad_x,) = torch.autograd.grad(scores.sum(), x, create_graph=True)
        penalty = ((grad_x.flatten(1).norm(dim=1) - 1) ** 2).mean()
        results.append(torch.autograd.grad(penalty, (conv.weight, conv.bias, norm.weight, norm.bias)))
    for got, want in zip(*results):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
    assert results[0][2].abs().sum() > 0  # the penalty does depend on gamma


def test_falls_back_to_nn_batchnorm_outside_cpu_training():
    fast, reference = _pair(4)
    x = torch.randn(2, 4, 6, 6)
    with torch.no_grad():  # no autograd: PyTorch's own path, same values
        assert torch.equal(fast(x), reference(x))
    fast.eval(), reference.eval()
    assert torch.equal(fast(x), reference(x))
