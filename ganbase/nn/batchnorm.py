"""BatchNorm2d whose double backward is cheap on the CPU, for gradient penalties.

A WGAN-GP critic (Gulrajani et al. 2017) with batch normalisation (as in SinGAN, Shaham et al.
2019) is differentiated twice per critic step: the penalty needs the gradient of the scores with
respect to the input, and then that gradient's own gradient with respect to the weights.
PyTorch's generic batch-norm double backward builds that second derivative from about thirty
broadcast multiplies and sums; on the CPU, with one image per batch, it cost about as much as the
convolutions around it. :class:`BatchNorm2d` computes the same derivatives in closed form instead:
five per-channel reductions and five fused passes over the activation.

Forward and first backward are PyTorch's own kernels, so values, running statistics and
state-dict keys are exactly those of ``torch.nn.BatchNorm2d``; only the second derivative is
rounded differently. The fast path is taken in training mode on the CPU; everywhere else
(evaluation, CUDA, mixed dtypes), and inside ``with closed_form_double_backward(False):``, the module
is plain ``nn.BatchNorm2d``.

Derivation, per channel over its ``M`` values: ``xhat = (x - mean) * r`` with ``r = 1/sqrt(var +
eps)``; the backward maps the incoming gradient ``g`` to ``dx = gamma r (g - mean(g) - xhat
mean(g xhat))``, ``dgamma = sum(g xhat)``, ``dbeta = sum(g)``. For gradients ``v`` (of ``dx``),
``v_gamma`` and ``v_beta`` flowing back, with ``A = mean(v xhat)``, ``B = mean(g xhat)`` and ``K =
mean(v g) - mean(v) mean(g) - 3 A B``:

- to ``g``: ``gamma r (v - mean(v) - xhat A) + v_gamma xhat + v_beta``;
- to ``x``: ``-gamma r^2 (K xhat + B (v - mean(v)) + A (g - mean(g))) + v_gamma r (g - mean(g) - xhat B)``;
- to ``gamma``: ``M r (mean(v g) - mean(v) mean(g) - A B)``.
"""

from __future__ import annotations

from contextvars import ContextVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

_STATS_FROZEN = ContextVar("batch_norm_running_stats_frozen", default=False)
_CLOSED_FORM = ContextVar("batch_norm_closed_form_double_backward", default=True)


class _context_flag:  # noqa: N801 (its subclasses are used like functions in ``with``)
    """Sets a context variable for the ``with`` block; reusable and re-entrant (a stack of tokens)."""

    def __init__(self, variable: ContextVar, value: bool) -> None:
        self._variable, self._value, self._tokens = variable, value, []

    def __enter__(self) -> None:
        self._tokens.append(self._variable.set(self._value))

    def __exit__(self, *exc) -> None:
        self._variable.reset(self._tokens.pop())


class closed_form_double_backward(_context_flag):  # noqa: N801
    """``with closed_form_double_backward(False):`` makes :class:`BatchNorm2d` take PyTorch's own
    double backward (the reference the closed form is checked against); ``True`` is the default."""

    def __init__(self, enabled: bool) -> None:
        super().__init__(_CLOSED_FORM, enabled)


class running_stats_frozen(_context_flag):  # noqa: N801 (used like a function: ``with running_stats_frozen():``)
    """Training-mode batch norm inside the block normalises with batch statistics as usual but
    leaves running statistics and ``num_batches_tracked`` alone: a forward pass recomputed for
    activation checkpointing must not count the batch twice. Reusable (checkpointing may
    recompute a block more than once, e.g. for a gradient penalty and then for the loss)."""

    def __init__(self) -> None:
        super().__init__(_STATS_FROZEN, True)


def _channel_means(x: Tensor, g: Tensor, v: Tensor | None) -> tuple[Tensor, ...]:
    """Per-channel means ``[C]`` of g, x*g and, when ``v`` is given, of v, x*v and v*g.

    For one NCHW image the products are batched dot products (no temporaries).
    """
    tensors = (x, g) if v is None else (x, g, v)
    channels = x.shape[1]
    if x.shape[0] == 1 and all(t.is_contiguous() for t in tensors):
        tensors = tuple(t.view(channels, 1, -1) for t in tensors)  # [C, 1, H*W]

        def dot(a: Tensor, b: Tensor) -> Tensor:
            return torch.bmm(a, b.transpose(1, 2)).view(channels) / a.shape[-1]

        def mean(a: Tensor) -> Tensor:
            return a.mean((1, 2))
    else:
        def dot(a: Tensor, b: Tensor) -> Tensor:
            return (a * b).mean((0, 2, 3))

        def mean(a: Tensor) -> Tensor:
            return a.mean((0, 2, 3))
    x, g = tensors[:2]
    if v is None:
        return mean(g), dot(x, g)
    v = tensors[2]
    return mean(g), dot(x, g), mean(v), dot(x, v), dot(v, g)


class _BatchNormBackward(torch.autograd.Function):
    """Batch norm's backward (g, x -> dx, dgamma, dbeta) with a closed-form backward of its own."""

    @staticmethod
    def forward(ctx, grad_out: Tensor, x: Tensor, weight: Tensor, mean: Tensor, invstd: Tensor,
                eps: float) -> tuple[Tensor, Tensor, Tensor]:
        ctx.save_for_backward(grad_out, x, weight, mean, invstd)
        ctx.set_materialize_grads(False)  # unused outputs' gradients arrive as None, not zeros
        return torch.ops.aten.native_batch_norm_backward(
            grad_out, x, weight, None, None, mean, invstd, True, eps, [True, True, True])

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, v: Tensor | None, v_gamma: Tensor | None, v_beta: Tensor | None):
        g, x, weight, mean, invstd = ctx.saved_tensors
        count = x.numel() // x.shape[1]
        r, gamma = invstd, weight
        stats = _channel_means(x, g, v)
        g_mean, xg_mean = stats[0], stats[1]
        b = r * (xg_mean - mean * g_mean)  # mean(g xhat)

        # to g: c_v v + c_x x + c_0 ; to x: e_x x + e_v v + e_g g + e_0 ; all per channel [C]
        zero = torch.zeros_like(r)
        c_v = c_x = c_0 = e_x = e_v = e_g = e_0 = d_gamma = zero
        if v is not None:
            v_mean, xv_mean, vg_mean = stats[2], stats[3], stats[4]
            a = r * (xv_mean - mean * v_mean)  # mean(v xhat)
            cov = vg_mean - v_mean * g_mean
            k = cov - 3 * a * b
            gr, grr = gamma * r, gamma * r * r
            c_v, c_x, c_0 = gr, -grr * a, -gr * v_mean + grr * a * mean
            e_x, e_v, e_g = -grr * k * r, -grr * b, -grr * a
            e_0 = grr * (k * r * mean + b * v_mean + a * g_mean)
            d_gamma = count * r * (cov - a * b)
        if v_gamma is not None:  # dgamma = sum(g xhat)
            c_x, c_0 = c_x + v_gamma * r, c_0 - v_gamma * r * mean
            e_g, e_x = e_g + v_gamma * r, e_x - v_gamma * r * r * b
            e_0 = e_0 - v_gamma * r * g_mean + v_gamma * r * r * b * mean
        if v_beta is not None:  # dbeta = sum(g)
            c_0 = c_0 + v_beta

        def per_channel(t: Tensor) -> Tensor:
            return t.view(1, -1, 1, 1)

        d_g = torch.addcmul(per_channel(c_0), x, per_channel(c_x))  # [N, C, H, W]
        d_x = torch.addcmul(per_channel(e_0), x, per_channel(e_x))
        if v is not None:
            d_g.addcmul_(v, per_channel(c_v))
            d_x.addcmul_(v, per_channel(e_v))
        d_x.addcmul_(g, per_channel(e_g))
        return d_g, d_x, d_gamma, None, None, None


class _BatchNormTrain(torch.autograd.Function):
    """Training-mode batch norm (batch statistics, running-statistics update) via PyTorch's kernel."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor, running_mean: Tensor | None,
                running_var: Tensor | None, momentum: float, eps: float) -> Tensor:
        out, mean, invstd = torch.native_batch_norm(x, weight, bias, running_mean, running_var, True, momentum, eps)
        ctx.save_for_backward(x, weight, mean, invstd)
        ctx.eps = eps
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        x, weight, mean, invstd = ctx.saved_tensors
        d_x, d_weight, d_bias = _BatchNormBackward.apply(grad_out, x, weight, mean, invstd, ctx.eps)
        return d_x, d_weight, d_bias, None, None, None, None


class BatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` with a closed-form double backward in CPU training (same state dict)."""

    def forward(self, input: Tensor) -> Tensor:
        frozen = self.training and _STATS_FROZEN.get()
        fast = (self.training and self.affine and torch.is_grad_enabled() and input.device.type == "cpu"
                and input.dim() == 4 and input.dtype == self.weight.dtype and _CLOSED_FORM.get())
        if not fast and frozen:
            return F.batch_norm(input, None, None, self.weight, self.bias, True, 0.0, self.eps)
        if not fast:
            return super().forward(input)
        self._check_input_dim(input)
        if frozen:
            return _BatchNormTrain.apply(input, self.weight, self.bias, None, None, 0.0, self.eps)
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative moving average, as nn.BatchNorm2d
                momentum = 1.0 / float(self.num_batches_tracked)
        running_mean = self.running_mean if self.track_running_stats else None
        running_var = self.running_var if self.track_running_stats else None
        return _BatchNormTrain.apply(input, self.weight, self.bias, running_mean, running_var, momentum, self.eps)


__all__ = ["BatchNorm2d", "closed_form_double_backward", "running_stats_frozen"]
