"""Orthonormal transforms with ``O(n log n)`` apply: the centred 2-D FFT of MRI and the DCT-II.

All act on the last dimensions of batched tensors and are unitary (``norm="ortho"``), so each
one's adjoint is its inverse.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def fft2c(x: Tensor) -> Tensor:
    """Centred orthonormal 2-D FFT over the last two dimensions (the MRI convention: the image
    centre and the k-space centre sit at index ``(H // 2, W // 2)``)."""
    x = torch.fft.ifftshift(x, dim=(-2, -1))
    return torch.fft.fftshift(torch.fft.fft2(x, norm="ortho"), dim=(-2, -1))


def ifft2c(k: Tensor) -> Tensor:
    """The inverse (and adjoint) of `fft2c`."""
    k = torch.fft.ifftshift(k, dim=(-2, -1))
    return torch.fft.fftshift(torch.fft.ifft2(k, norm="ortho"), dim=(-2, -1))


def _dct_twiddle(n: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """``w_k = c_k e^{−iπk/(2n)}`` with the orthonormal scale ``c_0 = √(1/n)``, else ``√(2/n)``."""
    real = dtype.to_real() if dtype.is_complex else dtype
    k = torch.arange(n, dtype=real, device=device)
    scale = torch.full((n,), math.sqrt(2.0 / n), dtype=real, device=device)
    scale[0] = math.sqrt(1.0 / n)
    return scale * torch.exp(-1j * math.pi * k / (2 * n))


def dct(x: Tensor) -> Tensor:
    """Orthonormal DCT-II along the last dimension (``scipy.fft.dct(x, norm="ortho")``), by one
    FFT of the even/odd reordering (Makhoul 1980). Real input only."""
    if x.is_complex():
        return torch.complex(dct(x.real), dct(x.imag))
    n = x.shape[-1]
    v = torch.cat([x[..., ::2], x[..., 1::2].flip(-1)], dim=-1)
    return (torch.fft.fft(v, dim=-1) * _dct_twiddle(n, x.dtype, x.device)).real


def idct(X: Tensor) -> Tensor:
    """The inverse (and transpose) of `dct`: the orthonormal DCT-III along the last dimension."""
    if X.is_complex():
        return torch.complex(idct(X.real), idct(X.imag))
    n = X.shape[-1]
    w = _dct_twiddle(n, X.dtype, X.device)
    # V_k = (X_k − i X_{n−k}) / w_k reverses the real part taken in `dct` (X_n := 0).
    flipped = torch.cat([torch.zeros_like(X[..., :1]), X[..., 1:].flip(-1)], dim=-1)
    V = torch.complex(X, -flipped) / w
    v = torch.fft.ifft(V, dim=-1).real
    x = torch.empty_like(v)
    half = (n + 1) // 2
    x[..., ::2] = v[..., :half]
    x[..., 1::2] = v[..., half:].flip(-1)
    return x


__all__ = ["dct", "fft2c", "idct", "ifft2c"]
