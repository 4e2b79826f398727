"""`Blur`: circular convolution by FFT, and blur-kernel generators (Gaussian, uniform, motion)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from ..core import register
from ..core.checks import positive_int, positive_number
from ._image import batched_2d, check_rho, floating, image_dtype, image_shape
from .base import LinearOperator, Shape


def transfer_function(kernel: Tensor, size: tuple[int, int], real: bool) -> Tensor:
    """The kernel's discrete Fourier transform on an ``(H, W)`` grid, centred so that the
    convolution is "same" (the kernel's centre ``(kh // 2, kw // 2)`` moved to the origin).

    ``kernel`` ``(..., kh, kw)``; returns ``(..., H, W // 2 + 1)`` (``real``: `torch.fft.rfft2`)
    or ``(..., H, W)``.
    """
    H, W = size
    kh, kw = kernel.shape[-2:]
    padded = kernel.new_zeros((*kernel.shape[:-2], H, W))
    padded[..., :kh, :kw] = kernel
    padded = padded.roll((-(kh // 2), -(kw // 2)), dims=(-2, -1))
    return torch.fft.rfft2(padded) if real else torch.fft.fft2(padded)


@register("blur", kind="operator")
class Blur(LinearOperator):
    """``y = k ⊛ x``: 2-D circular convolution with a kernel, by FFT (``O(HW log HW)``).

    Every channel is convolved with the same kernel; the kernel's centre is pixel
    ``(kh // 2, kw // 2)``, so a centred kernel does not shift the image. ``AᴴA`` is diagonal in
    the Fourier domain, so ``gram``, ``solve_gram`` (``(AᴴA + ρI)⁻¹ b``, exact: Wiener
    filtering and the x-steps of HQS/ADMM) and ``lipschitz`` (``max |k̂|²``) are closed forms.

    Args:
        kernel: ``(kh, kw)``, one kernel for every sample, or ``(B, kh, kw)``, one per sample;
            real (complex allowed); ``kh ≤ H``, ``kw ≤ W``. A fixed kernel: its transform is
            computed once (a learned kernel belongs in a module of its own).
        shape: one image, ``(H, W)`` or ``(C, H, W)``.
        dtype: the images' dtype (default the kernel's); a complex dtype convolves complex
            images with the (real or complex) kernel.

    Shapes: ``x`` and ``y`` ``(B, *shape)``.
    """

    def __init__(self, kernel: Tensor, shape: Shape, dtype: torch.dtype | None = None) -> None:
        kernel = floating(kernel, "kernel")
        _, batch = batched_2d(kernel, "kernel", "a kernel")
        self.in_shape = self.out_shape = image_shape(shape)
        H, W = self.in_shape[-2:]
        if kernel.shape[-2] > H or kernel.shape[-1] > W:
            raise ValueError(
                f"kernel: expected at most the image size {(H, W)}, got {tuple(kernel.shape[-2:])}"
            )
        dtype = kernel.dtype if dtype is None else image_dtype(dtype)
        if kernel.is_complex() and not dtype.is_complex:
            raise TypeError(f"dtype: a complex kernel needs complex images, got {dtype}")
        self.kernel, self.batch_size, self.dtype = kernel, batch, dtype
        self.device = kernel.device
        self._reset_cache()

    def _reset_cache(self) -> None:
        """The transfer function, from the kernel (again after ``.to()``): ``(B or 1, [1,] H,
        W')``, broadcasting against the transform of ``x`` ``(B, *shape)``."""
        k4, _ = batched_2d(self.kernel, "kernel", "a kernel")
        k = k4 if len(self.in_shape) == 3 else k4[:, 0]
        size = self.in_shape[-2:]
        self.otf = transfer_function(k.to(self.dtype), size, real=not self.dtype.is_complex)

    def _filter(self, x: Tensor, response: Tensor) -> Tensor:
        H, W = self.in_shape[-2:]
        if self.dtype.is_complex:
            return torch.fft.ifft2(torch.fft.fft2(x) * response)
        return torch.fft.irfft2(torch.fft.rfft2(x) * response, s=(H, W))

    def forward(self, x: Tensor) -> Tensor:
        return self._filter(x, self.otf)

    def adjoint(self, y: Tensor) -> Tensor:
        return self._filter(y, self.otf.conj())

    def gram(self, x: Tensor) -> Tensor:
        self._check(x, "x", self.in_shape)
        return self._filter(x, self.otf.abs().square())

    def solve_gram(self, b: Tensor, rho: float | Tensor, iterations: int = 50) -> Tensor:
        """``(AᴴA + ρI)⁻¹ b``, exactly, in the Fourier domain (``iterations`` is not used).

        ``rho``: a number > 0, or one per sample, ``(B, 1, ..., 1)`` shaped like ``b``."""
        self._check(b, "b", self.in_shape)
        check_rho(rho, b.ndim, self)
        return self._filter(b, 1 / (self.otf.abs().square() + rho))

    @torch.no_grad()
    def lipschitz(self, iterations: int = 500, tol: float = 1e-7) -> float:
        if self._lipschitz is None:
            self._lipschitz = float(self.otf.abs().max()) ** 2
        return self._lipschitz

    def __repr__(self) -> str:
        per = f"{self.batch_size} kernels" if self.batch_size else "kernel"
        return f"Blur({per} {tuple(self.kernel.shape[-2:])}, shape={self.in_shape})"


# -- kernels ---------------------------------------------------------------------------------


def _size(size: Any) -> int:
    size = positive_int(size, "size")
    return size


def gaussian_kernel(size: int, sigma: float, dtype: torch.dtype = torch.float32) -> Tensor:
    """An isotropic Gaussian kernel ``(size, size)``, standard deviation ``sigma`` pixels,
    centred on pixel ``size // 2``, summing to 1."""
    size, sigma = _size(size), positive_number(sigma, "sigma")
    t = torch.arange(size, dtype=torch.float64) - size // 2
    g = torch.exp(-0.5 * (t / sigma) ** 2)
    k = g[:, None] * g[None, :]
    return (k / k.sum()).to(dtype)


def uniform_kernel(size: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """The box kernel ``(size, size)``, every entry ``1/size²``."""
    size = _size(size)
    return torch.full((size, size), 1.0 / size**2, dtype=dtype)


def _splat(points: Tensor, size: int) -> Tensor:
    """Rasterise points ``(N, 2)`` (row, column; the kernel's centre at ``size // 2``) by
    bilinear weights onto a ``(size, size)`` grid, normalised to sum 1."""
    k = torch.zeros(size, size, dtype=torch.float64)
    p = points + size // 2
    base = p.floor()
    frac = p - base
    for dr in (0, 1):
        for dc in (0, 1):
            w = (frac[:, 0] if dr else 1 - frac[:, 0]) * (frac[:, 1] if dc else 1 - frac[:, 1])
            r, c = (base[:, 0] + dr).long(), (base[:, 1] + dc).long()
            inside = (r >= 0) & (r < size) & (c >= 0) & (c < size)
            k.index_put_((r[inside], c[inside]), w[inside], accumulate=True)
    return k / k.sum()


def motion_kernel(
    size: int, length: float, angle: float = 0.0, dtype: torch.dtype = torch.float32
) -> Tensor:
    """Linear motion blur ``(size, size)``: a centred segment of ``length`` pixels at ``angle``
    degrees (anticlockwise from the horizontal), anti-aliased, summing to 1."""
    size, length = _size(size), positive_number(length, "length")
    if length > size:
        raise ValueError(f"length: expected at most size ({size}), got {length}")
    a = math.radians(float(angle))
    t = torch.linspace(-(length - 1) / 2, (length - 1) / 2, max(2, math.ceil(4 * length)))
    t = t.double()
    points = torch.stack([-t * math.sin(a), t * math.cos(a)], dim=1)
    return _splat(points, size).to(dtype)


def random_motion_kernel(
    size: int,
    generator: torch.Generator | None = None,
    steps: int = 2000,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """A random camera-shake kernel ``(size, size)``: a trajectory with random velocity changes
    (a Brownian velocity with inertia, as in Schuler et al. 2016 / Boracchi & Foi 2012),
    centred on its mean, scaled to fit, rasterised by bilinear weights and summing to 1."""
    size, steps = _size(size), positive_int(steps, "steps")
    g = generator
    step = torch.randn(steps, 2, generator=g, dtype=torch.float64)
    velocity = torch.cumsum(step, 0) * 0.1 + torch.randn(1, 2, generator=g, dtype=torch.float64)
    path = torch.cumsum(velocity, 0)
    path = path - path.mean(0)
    extent = path.abs().max().clamp_min(1e-12)
    radius = (size - 1) / 2 * (0.4 + 0.6 * float(torch.rand((), generator=g)))
    return _splat(path * (radius / extent), size).to(dtype)


__all__ = [
    "Blur",
    "gaussian_kernel",
    "motion_kernel",
    "random_motion_kernel",
    "transfer_function",
    "uniform_kernel",
]
