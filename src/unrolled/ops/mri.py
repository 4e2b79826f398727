"""MRI forward models: single-coil Cartesian `MRI` and multi-coil `SENSE`, and synthetic coil
sensitivity maps. Sampling masks are in `unrolled.ops.masks`."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..core import register
from ..core.checks import positive_int
from ._image import batched_2d, check_rho, floating
from .base import LinearOperator
from .fft import fft2c, ifft2c
from .inpainting import mask_tensor


def _complex_dtype(dtype: torch.dtype, name: str = "dtype") -> torch.dtype:
    if not isinstance(dtype, torch.dtype) or not dtype.is_complex:
        raise TypeError(
            f"{name}: expected a complex torch.dtype (MRI images are complex), got {dtype!r}"
        )
    return dtype


@register("mri", kind="operator")
class MRI(LinearOperator):
    """Single-coil Cartesian MRI: ``y = M ⊙ F x``, with ``F`` the centred orthonormal 2-D FFT
    (`unrolled.ops.fft.fft2c`) and ``M`` a k-space sampling mask.

    Unsampled k-space entries of ``y`` are zero. ``F`` is unitary and ``M`` a projection, so
    ``AᴴA = Fᴴ M F``, ``(AᴴA + ρI)⁻¹ = Fᴴ (M + ρ)⁻¹ F`` (``solve_gram``, exact) and ``‖A‖² = 1``.

    Args:
        mask: ``(H, W)``, one for every sample, or ``(B, H, W)``, one per sample (boolean or 0/1;
            see `unrolled.ops.masks`).
        dtype: the images' complex dtype (default complex64).

    Shapes: ``x`` ``(B, H, W)`` complex image; ``y`` ``(B, H, W)`` k-space.
    """

    _real_tensors = ("weights",)

    def __init__(self, mask: Tensor, dtype: torch.dtype = torch.complex64) -> None:
        mask = mask_tensor(mask)
        m4, self.batch_size = batched_2d(mask, "mask", "a mask")
        self.dtype = _complex_dtype(dtype)
        self.mask, self.device = mask, mask.device
        self.weights = m4[:, 0].to(dtype.to_real())  # (B or 1, H, W)
        self.in_shape = self.out_shape = tuple(mask.shape[-2:])

    def forward(self, x: Tensor) -> Tensor:
        return self.weights * fft2c(x)

    def adjoint(self, y: Tensor) -> Tensor:
        return ifft2c(self.weights * y)

    def gram(self, x: Tensor) -> Tensor:
        self._check(x, "x", self.in_shape)
        return ifft2c(self.weights * fft2c(x))

    def solve_gram(self, b: Tensor, rho: float | Tensor, iterations: int = 50) -> Tensor:
        """``(AᴴA + ρI)⁻¹ b``, exactly (``iterations`` is not used); ``rho`` a number or one per
        sample, ``(B, 1, 1)``."""
        self._check(b, "b", self.in_shape)
        check_rho(rho, b.ndim, self)
        return ifft2c(fft2c(b) / (self.weights + rho))

    @torch.no_grad()
    def lipschitz(self, iterations: int = 500, tol: float = 1e-7) -> float:
        if self._lipschitz is None:  # cached: a rule such as 1/L must not sync inside a trace
            self._lipschitz = float(self.weights.max()) if self.weights.numel() else 0.0
        return self._lipschitz

    def __repr__(self) -> str:
        per = f"{self.batch_size} masks" if self.batch_size else "mask"
        rate = float(self.weights.mean())
        return f"MRI({per} {self.in_shape}, {rate:.1%} sampled)"


@register("sense", kind="operator")
class SENSE(LinearOperator):
    """Multi-coil Cartesian MRI (SENSE, Pruessmann et al. 1999): coil ``c`` sees
    ``y_c = M ⊙ F (S_c ⊙ x)``; the adjoint combines the coils, ``Aᴴy = Σ_c conj(S_c) ⊙ Fᴴ(M ⊙ y_c)``.

    With maps normalised so that ``Σ_c |S_c|² = 1`` (as `coil_maps` gives, and ESPIRiT
    estimates), ``‖A‖ ≤ 1`` and ``Aᴴ`` of fully sampled data is the image. ``(AᴴA + ρI)⁻¹``
    has no closed form: ``solve_gram`` runs conjugate gradient (CG-SENSE).

    Args:
        mask: ``(H, W)`` or ``(B, H, W)``, boolean or 0/1, shared by the coils.
        maps: coil sensitivities ``(coils, H, W)``, or ``(B, coils, H, W)`` per sample; complex.

    Shapes: ``x`` ``(B, H, W)`` complex image; ``y`` ``(B, coils, H, W)`` k-space.
    """

    _real_tensors = ("weights",)

    def __init__(self, mask: Tensor, maps: Tensor) -> None:
        mask = mask_tensor(mask)
        maps = floating(maps, "maps")
        if not maps.is_complex():
            raise TypeError(f"maps: expected complex coil sensitivities, got {maps.dtype}")
        if maps.ndim not in (3, 4):
            raise ValueError(
                f"maps: expected (coils, H, W) or (B, coils, H, W), got {tuple(maps.shape)}"
            )
        if tuple(maps.shape[-2:]) != tuple(mask.shape[-2:]):
            raise ValueError(
                f"maps and mask: expected the same image size, got {tuple(maps.shape[-2:])} and "
                f"{tuple(mask.shape[-2:])}"
            )
        m4, mask_batch = batched_2d(mask, "mask", "a mask")
        maps_batch = maps.shape[0] if maps.ndim == 4 else None
        if None not in (mask_batch, maps_batch) and mask_batch != maps_batch:
            raise ValueError(
                f"mask and maps: per-sample batches must match, got {mask_batch} and {maps_batch}"
            )
        self.batch_size = mask_batch if mask_batch is not None else maps_batch
        self.mask, self.maps = mask, maps if maps.ndim == 4 else maps[None]  # (B or 1, C, H, W)
        self.weights = m4.to(maps.real.dtype)  # (B or 1, 1, H, W)
        self.dtype, self.device = maps.dtype, maps.device
        self.in_shape = tuple(maps.shape[-2:])
        self.out_shape = (maps.shape[-3], *self.in_shape)

    def forward(self, x: Tensor) -> Tensor:
        return self.weights * fft2c(self.maps * x.unsqueeze(1))

    def adjoint(self, y: Tensor) -> Tensor:
        return (self.maps.conj() * ifft2c(self.weights * y)).sum(1)

    def __repr__(self) -> str:
        per = "per-sample, " if self.batch_size else ""
        return f"SENSE({per}{self.out_shape[0]} coils, {self.in_shape})"


def coil_maps(
    coils: int,
    shape: tuple[int, int],
    *,
    radius: float = 1.5,
    width: float = 0.8,
    dtype: torch.dtype = torch.complex64,
) -> Tensor:
    """Smooth synthetic coil sensitivities ``(coils, H, W)``, normalised to ``Σ_c |S_c|² = 1``.

    Coil ``c`` sits at angle ``2πc/coils`` on a circle of ``radius`` (in units of the image's
    half-width) around the centre; its magnitude falls off as a Gaussian of the distance
    (``width``), and its phase turns slowly across the image and by ``2πc/coils`` between coils,
    a common simulation model of birdcage and array coils (e.g. BART's ``phantom -s``).
    """
    coils = positive_int(coils, "coils")
    try:
        H, W = (positive_int(s, "shape") for s in shape)
    except TypeError:
        raise TypeError(f"shape: expected (H, W), got {shape!r}") from None
    for name, value in (("radius", radius), ("width", width)):
        if not isinstance(value, int | float) or isinstance(value, bool) or not value > 0:
            raise ValueError(f"{name}: expected a number > 0, got {value!r}")
    _complex_dtype(dtype)
    yy = torch.linspace(-1, 1, H, dtype=torch.float64)[:, None]
    xx = torch.linspace(-1, 1, W, dtype=torch.float64)[None, :]
    out = []
    for c in range(coils):
        a = 2 * math.pi * c / coils
        cy, cx = radius * math.sin(a), radius * math.cos(a)
        d2 = (yy - cy) ** 2 + (xx - cx) ** 2
        magnitude = torch.exp(-d2 / (2 * width**2))
        phase = a + 0.5 * math.pi * (yy * math.sin(a) + xx * math.cos(a))
        out.append(torch.polar(magnitude, phase.expand_as(magnitude)))
    maps = torch.stack(out)
    maps = maps / maps.abs().square().sum(0, keepdim=True).sqrt()
    return maps.to(dtype)


__all__ = ["MRI", "SENSE", "coil_maps"]
