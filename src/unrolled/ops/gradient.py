"""`Gradient`: the discrete image gradient (forward differences), the operator of total variation."""

from __future__ import annotations

import torch
from torch import Tensor

from ..core import register
from ._image import image_dtype, image_shape
from .base import LinearOperator, Shape


@register("gradient", kind="operator")
class Gradient(LinearOperator):
    """``∇x = (∂_v x, ∂_h x)``: forward differences along H and W with Neumann boundary (the
    difference leaving the image is 0), as in Chambolle 2004. ``∇ᴴ = −div``; ``‖∇‖² ≤ 8``.

    Args:
        shape: one image ``(H, W)`` or ``(C, H, W)``.
        dtype: the images' dtype (real or complex).

    Shapes: ``x`` ``(B, *shape)``; ``∇x`` ``(B, 2, *shape)`` (vertical, horizontal).
    """

    def __init__(self, shape: Shape, dtype: torch.dtype = torch.float32) -> None:
        self.in_shape = image_shape(shape)
        self.out_shape = (2, *self.in_shape)
        self.dtype = image_dtype(dtype)

    def forward(self, x: Tensor) -> Tensor:
        return gradient(x)

    def adjoint(self, y: Tensor) -> Tensor:
        return -divergence(y[:, 0], y[:, 1])

    def lipschitz(self, iterations: int = 500, tol: float = 1e-7) -> float:
        """The bound 8 (the exact norm is below it and tends to it with the image size)."""
        return 8.0

    def __repr__(self) -> str:
        return f"Gradient(shape={self.in_shape})"


def gradient(x: Tensor) -> Tensor:
    """Forward differences of ``(B, ..., H, W)`` along the last two axes, Neumann boundary:
    ``(B, 2, ..., H, W)``. A signal ``(B, n)`` is a one-row image: ``(B, 2, n)``, the first
    component zero (so TV of a 1-D signal is its total variation)."""
    if x.ndim == 2:
        return gradient(x.unsqueeze(1)).squeeze(2)
    dv = torch.zeros_like(x)
    dh = torch.zeros_like(x)
    dv[..., :-1, :] = x[..., 1:, :] - x[..., :-1, :]
    dh[..., :, :-1] = x[..., :, 1:] - x[..., :, :-1]
    return torch.stack([dv, dh], dim=1)


def divergence(pv: Tensor, ph: Tensor) -> Tensor:
    """``div p = −∇ᴴ p`` for the two components ``(B, ..., H, W)`` (or ``(B, n)``, see
    `gradient`) of a vector field."""
    if pv.ndim == 2:
        return divergence(pv.unsqueeze(1), ph.unsqueeze(1)).squeeze(1)
    dv = torch.zeros_like(pv)
    dv[..., :-1, :] = pv[..., :-1, :]
    dv[..., 1:, :] -= pv[..., :-1, :]
    dh = torch.zeros_like(ph)
    dh[..., :, :-1] = ph[..., :, :-1]
    dh[..., :, 1:] -= ph[..., :, :-1]
    return dv + dh


def pixel_norm(field: Tensor) -> Tensor:
    """``|p|`` per pixel of a vector field ``(B, 2, ...)``, keeping the axis: ``(B, 1, ...)``.

    A tiny floor under the square root keeps its gradient finite where the field is zero (a
    flat region), where ``sqrt`` alone would give ``0 · ∞ = NaN``."""
    squared = field.abs().square() if field.is_complex() else field.square()
    return (squared.sum(1, keepdim=True) + torch.finfo(squared.dtype).tiny).sqrt()


def project_ball(field: Tensor, radius: float | Tensor) -> Tensor:
    """Each pixel's vector of ``field`` ``(B, 2, ...)`` projected onto the ball ``|p| ≤ radius``
    (the dual constraint of isotropic TV); ``radius`` a number or a tensor broadcasting against
    ``(B, 1, ...)``. A zero radius gives zero."""
    norm = pixel_norm(field)
    if isinstance(radius, Tensor):
        bound = torch.maximum(norm, radius)
    else:
        bound = norm.clamp_min(radius)
    return field * (radius / bound.clamp_min(torch.finfo(norm.dtype).tiny))


__all__ = ["Gradient", "divergence", "gradient", "pixel_norm", "project_ball"]
