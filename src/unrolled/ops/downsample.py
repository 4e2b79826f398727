"""`Downsample`: blur, then keep every s-th pixel (the super-resolution forward model)."""

from __future__ import annotations

import torch
from torch import Tensor

from ..core import register
from ..core.checks import positive_int
from ._image import check_rho
from .base import LinearOperator, Shape
from .blur import Blur


def _block_mean(t: Tensor, s: int) -> Tensor:
    """``(..., H, W) -> (..., H/s, W/s)``: the mean of the s×s blocks ``t[..., i::H/s, j::W/s]``
    (the spectrum of the s-fold decimated signal, up to the FFT's scale)."""
    *lead, H, W = t.shape
    h, w = H // s, W // s
    return t.reshape(*lead, s, h, s, w).mean(dim=(-4, -2))


@register("downsample", kind="operator")
class Downsample(LinearOperator):
    """``y = (k ⊛ x)↓s``: circular blur by ``kernel``, then the pixels ``(s·i, s·j)``.

    With a Gaussian or bicubic-like kernel this is the super-resolution model of USRNet
    (Zhang et al. 2020). ``(AᴴA + ρI)⁻¹`` has a closed form in the Fourier domain (Zhao et al.
    2016, "Fast single image super-resolution using a new analytical solution for ℓ2–ℓ2
    problems"): by Woodbury, ``(1/ρ)(b − Kᴴ Sᴴ (ρI + S K Kᴴ Sᴴ)⁻¹ S K b)``, where ``S K Kᴴ Sᴴ``
    is diagonal on the low-resolution spectrum, with entries the mean of ``|k̂|²`` over the s²
    aliased frequencies. ``solve_gram`` uses it (exact, ``O(HW log HW)``).

    Args:
        kernel: ``(kh, kw)`` or one per sample ``(B, kh, kw)`` (the blur before sampling; a
            1×1 kernel ``[[1.]]`` is plain decimation).
        factor: s ≥ 1; ``H`` and ``W`` must be multiples of it.
        shape: the high-resolution image, ``(H, W)`` or ``(C, H, W)``.
        dtype: the images' dtype (default the kernel's).

    Shapes: ``x`` ``(B, *shape)``; ``y`` ``(B, [C,] H/s, W/s)``.
    """

    def __init__(
        self, kernel: Tensor, factor: int, shape: Shape, dtype: torch.dtype | None = None
    ) -> None:
        self.blur = Blur(kernel, shape, dtype=dtype)
        factor = positive_int(factor, "factor")
        H, W = self.blur.in_shape[-2:]
        if H % factor or W % factor:
            raise ValueError(
                f"shape: expected H and W to be multiples of factor {factor}, got {(H, W)}"
            )
        self.factor = factor
        self.in_shape = self.blur.in_shape
        self.out_shape = (*self.in_shape[:-2], H // factor, W // factor)
        self._reset_cache()

    def _reset_cache(self) -> None:
        """The full-grid transfer function and its aliased energy (per low-resolution
        frequency), computed once per operator (and after ``.to()``)."""
        otf = self.blur.otf
        if not self.blur.dtype.is_complex:  # the full spectrum: aliasing folds the whole grid
            otf = _full_spectrum(otf, self.blur.in_shape[-1])
        self.full_otf = otf
        self.alias_energy = _block_mean(otf.abs().square(), self.factor)

    batch_size = property(lambda self: self.blur.batch_size)  # type: ignore[assignment]
    dtype = property(lambda self: self.blur.dtype)  # type: ignore[assignment]
    device = property(lambda self: self.blur.device)  # type: ignore[assignment]

    def forward(self, x: Tensor) -> Tensor:
        s = self.factor
        return self.blur.forward(x)[..., ::s, ::s]

    def adjoint(self, y: Tensor) -> Tensor:
        s = self.factor
        up = y.new_zeros((*y.shape[:-2], y.shape[-2] * s, y.shape[-1] * s))
        up[..., ::s, ::s] = y
        return self.blur.adjoint(up)

    def solve_gram(self, b: Tensor, rho: float | Tensor, iterations: int = 50) -> Tensor:
        """``(AᴴA + ρI)⁻¹ b``, exactly, by Zhao et al.'s formula (``iterations`` is not used).

        ``rho``: a number > 0, or one per sample, ``(B, 1, ..., 1)`` shaped like ``b``."""
        self._check(b, "b", self.in_shape)
        check_rho(rho, b.ndim, self)
        s, otf = self.factor, self.full_otf
        fb = torch.fft.fft2(b)
        # S K b in the low-resolution spectrum, divided by (ρ + mean |k̂|² over the aliases)
        low = _block_mean(otf * fb, s) / (self.alias_energy + rho)
        correction = otf.conj() * low.repeat(*[1] * (low.ndim - 2), s, s)
        x = torch.fft.ifft2((fb - correction) / rho)
        return x if self.dtype.is_complex else x.real

    @torch.no_grad()
    def lipschitz(self, iterations: int = 500, tol: float = 1e-7) -> float:
        """``‖A‖² = max over low-resolution frequencies of the mean of |k̂|² over the aliases``."""
        if self._lipschitz is None:
            self._lipschitz = float(self.alias_energy.max())
        return self._lipschitz

    def __repr__(self) -> str:
        return f"Downsample(x{self.factor}, {self.blur!r})"


def _full_spectrum(half: Tensor, W: int) -> Tensor:
    """The full ``(..., H, W)`` spectrum of a real signal from its `torch.fft.rfft2` half."""
    return torch.fft.fft2(torch.fft.irfft2(half, s=(half.shape[-2], W)))


__all__ = ["Downsample"]
