"""DistributedDataParallel training of the zoo's models (no paper; PyTorch DDP, Li et al. 2020,
"PyTorch Distributed: Experiences on Accelerating Data Parallel Training", VLDB).

Every network an optimizer trains (the generator and the discriminator separately, a VAE's
encoder and decoder) gets its own ``DistributedDataParallel`` wrapper, so each ``update`` of the
model's ``train_step`` averages exactly that network's gradients over the ranks.

Models call their networks as attributes: ``self.generator(z)``, ``self.generator.mapping(z)``,
``self.generators["AtoB"](x)``. While ``train_step`` runs, the trainer swaps in a
:class:`RoutedNetwork` for each wrapped network, which sends every such call through the DDP
wrapper's forward (DDP wraps a :class:`_Dispatch` module whose forward takes the route of the
part to call), so DDP prepares the all-reduce for the backward that follows. Calls that cannot
give the network gradients (under ``no_grad``, or while its parameters are frozen during the
other network's update) go to the network directly: DDP's reducer only sees forward passes that
are followed by a backward into its parameters.

Gradient penalties (WGAN-GP, Gulrajani et al. 2017) and R1 (Mescheder et al. 2018) take
``autograd.grad`` with respect to the *inputs* (``create_graph=True``), which fires none of DDP's
parameter hooks; the penalty's parameter gradients arrive in the update's one backward together
with the loss's and are averaged with them. DDP waits for a gradient of every parameter, but an
update may leave some without one (R1 does not depend on the critic's last bias, growth phases
leave layers unused): :meth:`DataParallel.every_parameter_in` finds them in the loss's autograd
graph, gives them a zero-weighted term and resets their gradients to None after the backward, so
the optimizer skips them exactly as in one process (no ``find_unused_parameters`` needed).

Buffers (BatchNorm statistics, StyleGAN's ``w_avg``, path-length mean) follow rank 0: DDP's own
buffer broadcast is off and :meth:`DataParallel.sync_buffers` broadcasts all of the model's
buffers after every step. :meth:`DataParallel.check_in_sync` compares digests of every
parameter across ranks (at checkpoints), so a model that bypassed the wrappers cannot silently
train different weights on different ranks.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
from typing import Any, Callable, Iterator

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ganbase.errors import UserError
from ganbase.runtime.distributed import World

Route = tuple[tuple[str, Any], ...]  # ("attr", name) or ("item", key) steps from the network

# DDP's per-forward buffer broadcast is replaced by DataParallel.sync_buffers (newer torch renamed it)
_NO_BUFFER_SYNC = ({"forward_sync_buffers": False}
                   if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
                   else {"broadcast_buffers": False})


def _resolve(network: nn.Module, route: Route) -> Any:
    target: Any = network
    for kind, key in route:
        target = target[key] if kind == "item" else getattr(target, key)
    return target


class _Dispatch(nn.Module):
    """What DDP wraps: ``forward(route, *args)`` calls the part of the network named by ``route``."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, route: Route, *args: Any, **kwargs: Any) -> Any:
        return _resolve(self.network, route)(*args, **kwargs)


class RoutedNetwork(nn.Module):
    """Stands in for a network (or a part of it) during ``train_step``: calls that can produce
    gradients for its parameters run through the DDP wrapper; attribute values (``num_ws``,
    buffers) are the network's own."""

    def __init__(self, network: nn.Module, wrapper: DistributedDataParallel, route: Route = ()) -> None:
        super().__init__()
        self.network = network
        object.__setattr__(self, "_wrapper", wrapper)
        object.__setattr__(self, "_route", route)

    def _call(self, route: Route, direct: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if torch.is_grad_enabled() and any(p.requires_grad for p in self.network.parameters()):
            return self._wrapper(route, *args, **kwargs)
        return direct(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(self._route, self.network, *args, **kwargs)

    def _routed(self, value: Any, step: tuple[str, Any]) -> Any:
        if isinstance(value, nn.Module):
            return RoutedNetwork(value, self._wrapper, self._route + (step,))
        if inspect.ismethod(value):
            route = self._route + (step,)
            return lambda *args, **kwargs: self._call(route, value, *args, **kwargs)
        return value

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            return self._routed(getattr(self.network, name), ("attr", name))

    def __getitem__(self, key: Any) -> Any:
        return self._routed(self.network[key], ("item", key))


def trained_networks(model: nn.Module) -> list[str]:
    """Attribute names of the networks the model's optimizers train (``encoder+decoder`` -> 2)."""
    names: list[str] = []
    for spec in model.optimizer_specs():
        names += [name for name in spec.module.split("+") if name not in names]
    return names


class DataParallel:
    """DDP wrappers of a zoo model's trained networks; a no-op for a world of one."""

    def __init__(self, model: nn.Module, world: World, device: torch.device) -> None:
        self.model, self.world, self.device = model, world, device
        self.routed: dict[str, RoutedNetwork] = {}
        if not world.is_distributed:
            return
        for size in getattr(model.config, "batch_sizes", ()):  # Progressive GAN's, per resolution:
            world.local_batch(size)  # refuse an uneven split now, not at a later phase change
        device_ids = [device.index] if device.type == "cuda" else None
        for name in trained_networks(model):
            network = getattr(model, name)
            wrapper = DistributedDataParallel(_Dispatch(network), device_ids=device_ids,
                                              **_NO_BUFFER_SYNC)
            self.routed[name] = RoutedNetwork(network, wrapper)
        self.sync_buffers()  # DDP broadcast rank 0's parameters; the model's other buffers too

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Inside the block the model's trained networks are their routed (DDP) views."""
        if not self.routed:
            yield
            return
        modules = self.model._modules
        originals = {name: modules[name] for name in self.routed}
        modules.update(self.routed)
        try:
            yield
        finally:
            modules.update(originals)

    @contextlib.contextmanager
    def every_parameter_in(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> Iterator[torch.Tensor]:
        """The loss to backpropagate for one update: DDP waits for a gradient of every parameter,
        so parameters the loss does not reach (an R1 penalty does not depend on the critic's last
        bias) get a zero-weighted term, and their gradients are reset to None after the backward,
        so the optimizer skips them as it does in one process."""
        if not self.routed:
            yield loss
            return
        reached = reached_parameters(loss)
        missing = [p for group in optimizer.param_groups for p in group["params"]
                   if p.requires_grad and id(p) not in reached]
        if missing:
            loss = loss + sum(p.reshape(-1)[0] * 0.0 for p in missing)
        yield loss
        for parameter in missing:
            parameter.grad = None

    def sync_buffers(self) -> None:
        """Give every rank rank 0's buffers (all of the model's, one broadcast per dtype)."""
        if not self.world.is_distributed:
            return
        by_dtype: dict[torch.dtype, list[torch.Tensor]] = {}
        for buffer in self.model.buffers():
            by_dtype.setdefault(buffer.dtype, []).append(buffer)
        for buffers in by_dtype.values():
            flat = torch.cat([b.detach().reshape(-1) for b in buffers])
            dist.broadcast(flat, src=0)
            offset = 0
            with torch.no_grad():
                for buffer in buffers:
                    buffer.copy_(flat[offset:offset + buffer.numel()].view_as(buffer))
                    offset += buffer.numel()

    def check_in_sync(self) -> None:
        """Raise when the ranks' parameters or buffers differ (a bug, never expected)."""
        if not self.world.is_distributed:
            return
        digest = state_digest(self.model)
        digests = self.world.gather(digest)
        if len(set(digests)) != 1:
            raise UserError(f"the {self.world.size} processes hold different weights "
                            f"(digests {', '.join(d[:12] for d in digests)}): model "
                            f"{type(self.model).__name__} does not support multi-process training")


def reached_parameters(loss: torch.Tensor) -> set[int]:
    """``id`` of every leaf tensor whose gradient the backward of ``loss`` accumulates."""
    reached: set[int] = set()
    seen: set[Any] = set()
    stack = [loss.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        variable = getattr(node, "variable", None)  # AccumulateGrad nodes hold their leaf
        if variable is not None:
            reached.add(id(variable))
        stack.extend(child for child, _ in node.next_functions)
    return reached


def state_digest(model: nn.Module) -> str:
    """SHA-256 of every parameter and buffer, in state-dict order."""
    digest = hashlib.sha256()
    for key, tensor in model.state_dict().items():
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def convert_sync_batchnorm(model: nn.Module, world: World, device: torch.device) -> nn.Module:
    """Replace BatchNorm layers by SyncBatchNorm (statistics over the global batch; CUDA only)."""
    if not world.is_distributed:
        return model
    if device.type != "cuda":
        raise UserError("--sync-batchnorm needs CUDA devices (PyTorch's SyncBatchNorm is GPU-only)")
    return nn.SyncBatchNorm.convert_sync_batchnorm(model)


__all__ = ["DataParallel", "RoutedNetwork", "convert_sync_batchnorm", "state_digest", "trained_networks"]
