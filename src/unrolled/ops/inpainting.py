"""`Inpainting`: keep the pixels of a mask, zero the others."""

from __future__ import annotations

import torch
from torch import Tensor

from ..core import register
from ._image import batched_2d, image_dtype, image_shape
from .base import LinearOperator, Shape


def mask_tensor(mask: Tensor, name: str = "mask") -> Tensor:
    """A sampling mask as given, checked: boolean, or 0/1 numbers."""
    if not isinstance(mask, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(mask).__name__}")
    if mask.dtype != torch.bool and not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError(f"{name}: expected a boolean or 0/1 mask, got other values")
    return mask


@register("inpainting", kind="operator")
class Inpainting(LinearOperator):
    """``y = m ⊙ x``: the pixels where the mask is 1 are observed, the others are zero.

    The observed pixels keep their place (``y`` has the image's shape), the usual convention of
    inpainting networks. ``AᴴA = A`` (a projection): ``solve_gram`` is ``b / (m + ρ)`` and
    ``lipschitz`` is 1 (0 for an empty mask).

    Args:
        mask: ``(H, W)``, one for every sample, or ``(B, H, W)``, one per sample; boolean or 0/1.
            Every channel shares it.
        shape: one image, ``(H, W)`` or ``(C, H, W)``.
        dtype: the images' dtype, real or complex (default float32).

    Shapes: ``x`` and ``y`` ``(B, *shape)``.
    """

    _real_tensors = ("weights",)

    def __init__(self, mask: Tensor, shape: Shape, dtype: torch.dtype = torch.float32) -> None:
        mask = mask_tensor(mask)
        dtype = image_dtype(dtype)
        self.in_shape = self.out_shape = image_shape(shape)
        m4, self.batch_size = batched_2d(mask, "mask", "a mask")
        if tuple(mask.shape[-2:]) != self.in_shape[-2:]:
            raise ValueError(
                f"mask: expected the image size {self.in_shape[-2:]}, got {tuple(mask.shape[-2:])}"
            )
        self.mask, self.dtype, self.device = mask, dtype, mask.device
        real = dtype.to_real() if dtype.is_complex else dtype
        self.weights = (m4 if len(self.in_shape) == 3 else m4[:, 0]).to(real)

    def forward(self, x: Tensor) -> Tensor:
        return self.weights * x

    def adjoint(self, y: Tensor) -> Tensor:
        return self.weights * y

    def gram(self, x: Tensor) -> Tensor:
        self._check(x, "x", self.in_shape)
        return self.weights * x

    def solve_gram(self, b: Tensor, rho: float | Tensor, iterations: int = 50) -> Tensor:
        self._check(b, "b", self.in_shape)
        return b / (self.weights + rho)

    @torch.no_grad()
    def lipschitz(self, iterations: int = 500, tol: float = 1e-7) -> float:
        return float(self.weights.max()) if self.weights.numel() else 0.0

    def __repr__(self) -> str:
        per = f"{self.batch_size} masks" if self.batch_size else "mask"
        return f"Inpainting({per}, shape={self.in_shape})"


__all__ = ["Inpainting", "mask_tensor"]
