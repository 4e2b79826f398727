"""`WaveletL1`: sparsity in an orthonormal wavelet transform."""

from __future__ import annotations

import torch
from torch import Tensor

from ..core import register
from ..ops.wavelet import Wavelet
from .basic import Prior, soft_threshold


@register("wavelet-l1", kind="prior")
class WaveletL1(Prior):
    """``R(x) = ‖W x‖₁`` over the detail coefficients of the orthonormal wavelet transform
    ``W`` (`unrolled.ops.Wavelet`); the coarse approximation is not penalised unless
    ``approximation=True`` (it holds the image's mean and large-scale contrast, not sparse).

    ``W`` is orthonormal, so the prox is exact: ``prox_{τR}(v) = Wᴴ soft(W v, τ)``.

    Args:
        shape: one image ``(H, W)`` or ``(C, H, W)`` (``H``, ``W`` multiples of ``2^levels``).
        wavelet: an orthogonal wavelet (default ``"db4"``).
        levels: decomposition levels (default 3).
        approximation: also threshold the coarse approximation.
        dtype: the images' dtype (real or complex: complex coefficients shrink in modulus).

    Shapes: ``v`` ``(B, *shape)``; ``tau`` a number ≥ 0 or a tensor broadcastable to ``v``.
    """

    def __init__(
        self,
        shape: tuple[int, ...],
        wavelet: str = "db4",
        levels: int = 3,
        approximation: bool = False,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        self.transform = Wavelet(shape, wavelet, levels, dtype)
        self.approximation = approximation
        # 1 where coefficients are thresholded; a buffer so that .to() moves it
        self.register_buffer(
            "penalised",
            (~self.transform.approximation_mask() | approximation).float(),
            persistent=False,
        )

    def forward(self, v: Tensor, tau: float | Tensor) -> Tensor:
        c = self.transform(v)
        shrunk = soft_threshold(c, tau * self.penalised.to(v.real.dtype))
        return self.transform.H(shrunk)

    def value(self, x: Tensor) -> Tensor:
        return (self.transform(x).abs() * self.penalised).flatten(1).sum(1)

    def _apply(self, fn, recurse=True):  # keep the transform's filters with the module
        self.transform = self.transform._apply(fn)
        return super()._apply(fn, recurse)

    def extra_repr(self) -> str:
        t = self.transform
        return f"{t.wavelet!r}, levels={t.levels}, shape={t.in_shape}, approximation={self.approximation}"


__all__ = ["WaveletL1"]
