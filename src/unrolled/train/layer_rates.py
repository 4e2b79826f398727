"""Per-layer learning rates for one stage, on stacked ``(K, …)`` tensors and per-layer modules.

A stacked param holds every layer's value in one tensor, so its layers cannot sit in different
optimiser param groups, and scaling a slice's gradient does not change Adam's step (Adam
normalises it away). So for stacked tensors the *update* is scaled: the tensor is recorded
before ``optimizer.step()`` and each layer's slice ``k`` is then blended,
``p[k] ← before[k] + f_k·(p[k] − before[k])`` (`torch.lerp`, exact at ``f_k`` = 0 and 1); with
Adam this equals a learning rate of ``lr·f_k`` for that slice. Parameters a layer owns whole
(per-layer slot modules) and shared ones get ordinary param groups with ``lr·f``. A layer with
``f = 0`` is frozen: its whole parameters are left out of the optimiser and its slices' gradients
are zeroed before clipping.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn


def layer_owners(model: nn.Module) -> list[tuple[str, nn.Parameter, int | None, bool]]:
    """``model.layer_parameters()`` (see `unrolled.Unrolled`), or every parameter shared."""
    if hasattr(model, "layer_parameters"):
        return list(model.layer_parameters())
    return [(n, p, None, False) for n, p in model.named_parameters()]


class LayerRates:
    """The optimiser param groups of one stage, and the per-slice update blending.

    Args:
        model: the network (its parameters with ``requires_grad`` train).
        layer_factors: K relative learning rates, one per layer (0: frozen).
        shared_factor: relative learning rate of parameters shared by all layers.

    ``groups`` are the param groups; each carries ``"lr_factor"``, its rate relative to the
    stage's learning rate (set ``group["lr"] = stage_lr * group["lr_factor"]``). Around each
    step call ``mask_gradients()`` (before clipping), ``before_step()`` and ``after_step()``.
    """

    def __init__(
        self, model: nn.Module, layer_factors: tuple[float, ...], shared_factor: float
    ) -> None:
        whole: dict[float, list[nn.Parameter]] = {}
        stacked: dict[int, tuple[nn.Parameter, list[float]]] = {}
        for _, p, layer, sliced in layer_owners(model):
            if not p.requires_grad:
                continue
            if sliced:
                stacked.setdefault(id(p), (p, [0.0] * p.shape[0]))[1][layer] = layer_factors[layer]
                continue
            factor = shared_factor if layer is None else layer_factors[layer]
            if factor > 0:
                whole.setdefault(float(factor), []).append(p)
        self._blend: list[tuple[nn.Parameter, Tensor]] = []  # (param, factors (K, 1, ...))
        self._mask: list[tuple[nn.Parameter, Tensor]] = []  # (param, 1 where factor > 0)
        self._before: list[Tensor] = []
        trained = []
        for p, factors in stacked.values():
            if not any(f > 0 for f in factors):
                continue
            trained.append(p)
            shape = (len(factors),) + (1,) * (p.ndim - 1)
            f = torch.tensor(factors, dtype=p.dtype, device=p.device).view(shape)
            if any(x != 1 for x in factors):
                self._blend.append((p, f))
            if any(x == 0 for x in factors):
                self._mask.append((p, (f > 0).to(p.dtype)))
        by_factor: dict[float, list[nn.Parameter]] = {1.0: trained} if trained else {}
        for factor, params in whole.items():
            by_factor.setdefault(factor, []).extend(params)
        self.groups: list[dict[str, Any]] = [
            {"params": ps, "lr_factor": f} for f, ps in by_factor.items()
        ]
        self.parameters = [p for g in self.groups for p in g["params"]]

    @torch.no_grad()
    def mask_gradients(self) -> None:
        """Zero the gradient of frozen layers' slices (so clipping and Adam ignore them)."""
        for p, mask in self._mask:
            if p.grad is not None:
                p.grad.mul_(mask)

    @torch.no_grad()
    def before_step(self) -> None:
        """Record the stacked tensors whose layers learn at different rates."""
        self._before = [p.detach().clone() for p, _ in self._blend]

    @torch.no_grad()
    def after_step(self) -> None:
        """Scale each slice's update by its layer's factor."""
        for (p, f), before in zip(self._blend, self._before, strict=True):
            p.copy_(torch.lerp(before, p, f))
        self._before = []


__all__ = ["LayerRates", "layer_owners"]
