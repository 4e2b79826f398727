"""Shared checks and helpers of the imaging operators: image shapes, kernels, per-sample data."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

Shape = tuple[int, ...]


def image_shape(shape: Any, name: str = "shape") -> Shape:
    """``shape`` of one image without the batch: ``(H, W)`` or ``(C, H, W)``, positive ints."""
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"{name}: expected a tuple (H, W) or (C, H, W), got {shape!r}") from None
    if len(shape) not in (2, 3) or not all(
        isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape
    ):
        raise ValueError(f"{name}: expected positive ints (H, W) or (C, H, W), got {shape!r}")
    return shape


def floating(t: Any, name: str) -> Tensor:
    """``t`` as given, checked to be a real or complex floating tensor."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    if not (t.is_floating_point() or t.is_complex()):
        raise TypeError(f"{name}: expected a floating or complex dtype, got {t.dtype}")
    return t


def batched_2d(t: Tensor, name: str, what: str) -> tuple[Tensor, int | None]:
    """A 2-D array ``(h, w)`` shared by all samples, or ``(B, h, w)``, one per sample; returned
    as ``(B or 1, 1, h, w)`` (broadcasting against ``(B, C, H, W)``) and the batch size."""
    if t.ndim == 2:
        return t[None, None], None
    if t.ndim == 3:
        return t[:, None], t.shape[0]
    raise ValueError(
        f"{name}: expected {what} (h, w) or one per sample (B, h, w), got {tuple(t.shape)}"
    )


def image_dtype(dtype: Any, name: str = "dtype") -> torch.dtype:
    """``dtype`` checked to be a floating or complex ``torch.dtype``."""
    if not isinstance(dtype, torch.dtype) or not (dtype.is_floating_point or dtype.is_complex):
        raise TypeError(f"{name}: expected a floating or complex torch.dtype, got {dtype!r}")
    return dtype


def check_rho(rho: Any, ndim: int, operator: Any) -> None:
    """A closed-form ``solve_gram`` in a transform domain holds for one ρ per sample at most:
    a number, or a tensor whose non-batch dimensions are all 1 (``(B, 1, ..., 1)``)."""
    if isinstance(rho, torch.Tensor) and (
        rho.ndim > ndim or any(d != 1 for d in rho.shape[max(rho.ndim - ndim + 1, 0) :])
    ):
        raise ValueError(
            f"rho: {operator!r}.solve_gram takes one penalty per sample (a number or a tensor "
            f"of shape (B, {', '.join(['1'] * (ndim - 1))})), got shape {tuple(rho.shape)}; "
            f"per-pixel penalties need conjugate gradient (LinearOperator.solve_gram)"
        )
