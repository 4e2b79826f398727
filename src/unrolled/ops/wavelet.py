"""`Wavelet`: the orthonormal 2-D discrete wavelet transform (periodised), as a square operator.

Why our own transform rather than ``ptwt``: the proximal map of ``λ‖Wx‖₁`` is
``Wᵀ soft(W x, λ)`` only when ``W`` is orthonormal. On an image of ``H×W`` pixels that needs the
*periodised* transform (``H×W`` coefficients, circular boundary); ``ptwt``'s padded modes are
redundant and not orthonormal, and its orthogonal ``"boundary"`` mode goes through sparse
matrices. The periodised transform is a strided convolution and its exact adjoint a strided
transposed convolution, about forty lines, batched, differentiable and on any device. The filter
taps (Daubechies, symlets, coiflets, ...) are a table that PyWavelets holds; Haar needs nothing.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ..core import register
from ..core.checks import positive_int
from ._image import image_dtype, image_shape
from .base import LinearOperator, Shape


def wavelet_filters(name: str) -> tuple[list[float], list[float]]:
    """The orthonormal analysis filters ``(low-pass, high-pass)`` of wavelet ``name``
    (``"haar"`` built in; ``"db4"``, ``"sym8"``, ... from PyWavelets)."""
    if name in ("haar", "db1"):
        s = 1 / math.sqrt(2)
        return [s, s], [s, -s]
    try:
        import pywt
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"wavelet {name!r}: the filter taps come from PyWavelets; install unrolled[imaging] "
            f"(or use 'haar')"
        ) from error
    try:
        w = pywt.Wavelet(name)
    except ValueError:
        raise ValueError(f"wavelet: unknown wavelet {name!r} (see pywt.wavelist())") from None
    if not w.orthogonal:
        raise ValueError(f"wavelet: expected an orthogonal wavelet, got {name!r}")
    # pywt's dec filters are for convolution; ours are applied as correlations (conv1d)
    return list(reversed(w.dec_lo)), list(reversed(w.dec_hi))


@register("wavelet", kind="operator")
class Wavelet(LinearOperator):
    """The orthonormal ``levels``-level 2-D DWT with periodic boundary, ``W x`` in the Mallat
    layout: an ``(H, W)`` array of coefficients whose top-left ``H/2^J × W/2^J`` block is the
    coarse approximation and whose other blocks are the detail bands, coarsest nearest to it.

    ``WᴴW = WWᴴ = I`` (to rounding), so the adjoint is the inverse transform. Channels (and real
    and imaginary parts) are transformed independently.

    Args:
        shape: one image ``(H, W)`` or ``(C, H, W)``; ``H`` and ``W`` multiples of ``2^levels``.
        wavelet: an orthogonal wavelet's name (default ``"db4"``; ``"haar"``).
        levels: the number of decomposition levels J ≥ 1.
        dtype: the images' dtype (real or complex).

    Shapes: ``x`` and ``W x`` ``(B, *shape)``.
    """

    _real_tensors = ("filters",)

    def __init__(
        self,
        shape: Shape,
        wavelet: str = "db4",
        levels: int = 3,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.in_shape = self.out_shape = image_shape(shape)
        dtype = image_dtype(dtype)
        levels = positive_int(levels, "levels")
        H, W = self.in_shape[-2:]
        if H % 2**levels or W % 2**levels:
            raise ValueError(
                f"shape: expected H and W to be multiples of 2^levels = {2**levels}, got {(H, W)}"
            )
        lo, hi = wavelet_filters(wavelet)
        real = dtype.to_real() if dtype.is_complex else dtype
        self.filters = torch.tensor([lo, hi], dtype=real)[:, None]  # (2, 1, L)
        self.wavelet, self.levels, self.dtype = wavelet, levels, dtype
        self.device = self.filters.device

    # one level along the last axis of (N, 1, n) real signals
    def _analysis(self, x: Tensor) -> Tensor:
        L = self.filters.shape[-1]
        n = x.shape[-1]
        reps = -(-(L - 1) // n)  # short signals wrap more than once
        padded = torch.cat([x] * (1 + reps), dim=-1)[..., : n + L - 1]
        out = F.conv1d(padded, self.filters, stride=2)  # (N, 2, n/2)
        return out.reshape(x.shape[0], 1, n)  # [low | high]

    def _synthesis(self, c: Tensor) -> Tensor:
        n = c.shape[-1]
        full = F.conv_transpose1d(c.reshape(c.shape[0], 2, n // 2), self.filters, stride=2)
        out = full[..., :n].clone()
        tail = full[..., n:]
        for start in range(0, tail.shape[-1], n):  # fold the periodic overflow back
            piece = tail[..., start : start + n]
            out[..., : piece.shape[-1]] += piece
        return out

    def _along(self, x: Tensor, fn, dim: int) -> Tensor:
        """Apply a 1-D map ``fn`` to every line of the real ``(N, h, w)`` array along ``dim``."""
        x = x.movedim(dim, -1)
        shape = x.shape
        y = fn(x.reshape(-1, 1, shape[-1])).reshape(shape)
        return y.movedim(-1, dim)

    def _real_forward(self, x: Tensor) -> Tensor:
        out = x.clone()
        h, w = x.shape[-2:]
        for _ in range(self.levels):
            band = out[..., :h, :w]
            band = self._along(self._along(band, self._analysis, -1), self._analysis, -2)
            out[..., :h, :w] = band
            h, w = h // 2, w // 2
        return out

    def _real_adjoint(self, c: Tensor) -> Tensor:
        out = c.clone()
        H, W = c.shape[-2:]
        for level in reversed(range(self.levels)):
            h, w = H // 2**level, W // 2**level
            band = out[..., :h, :w]
            band = self._along(self._along(band, self._synthesis, -2), self._synthesis, -1)
            out[..., :h, :w] = band
        return out

    def _apply_real(self, fn, x: Tensor) -> Tensor:
        H, W = self.in_shape[-2:]
        if x.is_complex():
            parts = torch.view_as_real(x).movedim(-1, 0)  # (2, B, ..., H, W)
            y = fn(parts.reshape(-1, H, W)).reshape(parts.shape)
            return torch.view_as_complex(y.movedim(0, -1).contiguous())
        return fn(x.reshape(-1, H, W)).reshape(x.shape)

    def forward(self, x: Tensor) -> Tensor:
        return self._apply_real(self._real_forward, x)

    def adjoint(self, y: Tensor) -> Tensor:
        return self._apply_real(self._real_adjoint, y)

    def gram(self, x: Tensor) -> Tensor:
        self._check(x, "x", self.in_shape)
        return x

    def solve_gram(self, b: Tensor, rho: float | Tensor, iterations: int = 50) -> Tensor:
        self._check(b, "b", self.in_shape)
        return b / (1 + rho)

    def lipschitz(self, iterations: int = 500, tol: float = 1e-7) -> float:
        return 1.0

    def approximation_mask(self) -> Tensor:
        """``(H, W)`` boolean: True on the coarse approximation block of the coefficients."""
        H, W = self.in_shape[-2:]
        mask = torch.zeros(H, W, dtype=torch.bool, device=self.device)
        mask[: H // 2**self.levels, : W // 2**self.levels] = True
        return mask

    def __repr__(self) -> str:
        return f"Wavelet({self.wavelet!r}, levels={self.levels}, shape={self.in_shape})"


__all__ = ["Wavelet", "wavelet_filters"]
