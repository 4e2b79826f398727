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

Rates per param (``factors``, `fit`'s ``lr_factors``) multiply on top: a learned param or slot
named there learns at ``lr·factor`` (times its layer's factor), e.g. LISTA's matrix ``D``, whose
entries need a rate 30 times smaller than its other matrix's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn


def param_name(name: str) -> str:
    """The learned param or slot a parameter belongs to: ``params.D`` -> ``D``,
    ``slots.prox.3.weight`` -> ``prox``; any other name unchanged."""
    if name.startswith("params."):
        return name.removeprefix("params.")
    if name.startswith("slots."):
        return name.removeprefix("slots.").split(".", 1)[0]
    return name


def layer_owners(model: nn.Module) -> list[tuple[str, nn.Parameter, int | None, bool]]:
    """``model.layer_parameters()`` (see `unrolled.Unrolled`), or every parameter shared."""
    if hasattr(model, "layer_parameters"):
        return list(model.layer_parameters())
    return [(n, p, None, False) for n, p in model.named_parameters()]


def check_factors(model: nn.Module, factors: Mapping[str, float] | None) -> dict[str, float]:
    """``factors`` (`fit`'s ``lr_factors``) as a dict; a clear error naming ``lr_factors``
    unless each name is one of the model's trained params or slots (`param_name`)."""
    factors = dict(factors or {})
    names = sorted({param_name(n) for n, p, *_ in layer_owners(model) if p.requires_grad})
    for name in factors:
        if name not in names:
            raise ValueError(
                f"lr_factors: {name!r} is not a learned param or slot of the model; "
                f"learned: {names}"
            )
    return factors


class LayerRates:
    """The optimiser param groups of one stage, and the per-slice update blending.

    Args:
        model: the network (its parameters with ``requires_grad`` train).
        layer_factors: K relative learning rates, one per layer (0: frozen).
        shared_factor: relative learning rate of parameters shared by all layers.
        factors: learned param or slot name (`param_name`) -> relative learning rate, applied
            on top of the layer's; each name must be one of the model's trained ones.

    ``groups`` are the param groups; each carries ``"lr_factor"``, its rate relative to the
    stage's learning rate (set ``group["lr"] = stage_lr * group["lr_factor"]``). Around each
    step call ``mask_gradients()`` (before clipping), ``before_step()`` and ``after_step()``.
    """

    def __init__(
        self,
        model: nn.Module,
        layer_factors: tuple[float, ...],
        shared_factor: float,
        factors: Mapping[str, float] | None = None,
    ) -> None:
        factors = check_factors(model, factors)
        owners = [o for o in layer_owners(model) if o[1].requires_grad]
        whole: dict[float, list[nn.Parameter]] = {}
        stacked: dict[int, tuple[nn.Parameter, list[float], float]] = {}
        for name, p, layer, sliced in owners:
            own = factors.get(param_name(name), 1.0)
            if sliced:
                entry = stacked.setdefault(id(p), (p, [0.0] * p.shape[0], own))
                entry[1][layer] = layer_factors[layer]
                continue
            factor = own * (shared_factor if layer is None else layer_factors[layer])
            if factor > 0:
                whole.setdefault(float(factor), []).append(p)
        self._blend: list[tuple[nn.Parameter, Tensor]] = []  # (param, factors (K, 1, ...))
        self._mask: list[tuple[nn.Parameter, Tensor]] = []  # (param, 1 where factor > 0)
        self._before: list[Tensor] = []
        by_factor: dict[float, list[nn.Parameter]] = {}
        for p, per_layer, own in stacked.values():
            if not any(f > 0 for f in per_layer):
                continue
            by_factor.setdefault(own, []).append(p)
            shape = (len(per_layer),) + (1,) * (p.ndim - 1)
            f = torch.tensor(per_layer, dtype=p.dtype, device=p.device).view(shape)
            if any(x != 1 for x in per_layer):
                self._blend.append((p, f))
            if any(x == 0 for x in per_layer):
                self._mask.append((p, (f > 0).to(p.dtype)))
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


__all__ = ["LayerRates", "check_factors", "layer_owners", "param_name"]
