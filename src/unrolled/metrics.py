"""Reconstruction metrics, per sample, batch first.

``nmse(x_hat, x)`` is the normalised mean squared error of each sample,

    NMSE_i = ‖x̂_i − x_i‖² / ‖x_i‖²

over all non-batch dimensions (the modulus for complex tensors), and ``nmse_db`` is
``10·log10(NMSE_i)``. A sample with ``x_i = 0`` has no scale, and its NMSE is ``inf`` (or
``nan`` if ``x̂_i = 0`` too): pass signals that are not all zero.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

REDUCTIONS = ("none", "mean", "median")


def _check_pair(x_hat: Any, x: Any, names: tuple[str, str] = ("x_hat", "x")) -> None:
    for value, name in zip((x_hat, x), names, strict=True):
        if not isinstance(value, Tensor):
            raise TypeError(f"{name}: expected a torch.Tensor, got {type(value).__name__}")
        if value.ndim < 1:
            raise ValueError(f"{name}: expected a batched tensor (B, ...), got a 0-dim tensor")
    if x_hat.shape != x.shape:
        raise ValueError(
            f"{names[0]} and {names[1]}: expected the same shape, got {names[0]} "
            f"{tuple(x_hat.shape)} and {names[1]} {tuple(x.shape)}"
        )


def _squared_norm(t: Tensor) -> Tensor:
    """``‖t_i‖²`` per sample: ``(B, ...) -> (B,)``, real even for complex ``t``."""
    t = t.flatten(1) if t.ndim > 1 else t.unsqueeze(1)
    return torch.linalg.vector_norm(t, dim=1).square()


def _reduce(values: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return values
    if reduction == "mean":
        return values.mean()
    if reduction == "median":
        return values.median()
    raise ValueError(f"reduction: expected one of {REDUCTIONS}, got {reduction!r}")


def nmse(x_hat: Tensor, x: Tensor) -> Tensor:
    """Linear NMSE per sample, ``‖x̂_i − x_i‖² / ‖x_i‖²``.

    Args:
        x_hat: the estimate, ``(B, *shape)``, real or complex.
        x: the truth, ``(B, *shape)``, same shape.

    Returns:
        ``(B,)``, real.
    """
    _check_pair(x_hat, x)
    return _squared_norm(x_hat - x) / _squared_norm(x)


def nmse_db(x_hat: Tensor, x: Tensor, reduction: str = "mean") -> Tensor:
    """NMSE in decibels, ``10·log10(‖x̂_i − x_i‖² / ‖x_i‖²)`` per sample.

    Args:
        x_hat: the estimate, ``(B, *shape)``, real or complex.
        x: the truth, ``(B, *shape)``, same shape.
        reduction: ``"none"``: the per-sample values, ``(B,)``; ``"mean"``: the mean of the
            per-sample dB values (a geometric mean of the ratios, not the ratio of mean errors),
            ``()``; ``"median"``: their median, ``()``.

    Returns:
        ``(B,)`` or ``()``, real.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction: expected one of {REDUCTIONS}, got {reduction!r}")
    return _reduce(10 * torch.log10(nmse(x_hat, x)), reduction)


def nmse_db_per_layer(trace: Tensor, x: Tensor) -> Tensor:
    """Mean NMSE (dB) of every layer (iteration) of a trace.

    Args:
        trace: every layer's estimate, ``(K, B, *shape)`` (the ``trace`` of ``net(y, trace=True)``
            or ``algorithm.run(y, A, trace=True)``).
        x: the truth, ``(B, *shape)``.

    Returns:
        ``(K,)``: entry k is ``nmse_db(trace[k], x, reduction="mean")``.
    """
    if not isinstance(trace, Tensor):
        raise TypeError(f"trace: expected a torch.Tensor, got {type(trace).__name__}")
    if not isinstance(x, Tensor):
        raise TypeError(f"x: expected a torch.Tensor, got {type(x).__name__}")
    if trace.ndim < 2 or trace.shape[1:] != x.shape:
        raise ValueError(
            f"trace and x: expected trace of shape (K, *x.shape) = (K, {', '.join(map(str, x.shape))}), "
            f"got trace {tuple(trace.shape)} and x {tuple(x.shape)}"
        )
    K = trace.shape[0]
    errors = _squared_norm((trace - x).flatten(0, 1)).view(K, -1)  # (K, B)
    return (10 * torch.log10(errors / _squared_norm(x))).mean(dim=1)


__all__ = ["REDUCTIONS", "nmse", "nmse_db", "nmse_db_per_layer"]
