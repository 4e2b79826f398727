"""Measurements on the fly: noise at a per-sample level, and per-sample blur kernels."""

from __future__ import annotations

import numbers

import torch
from torch import Tensor

from ..ops.blur import gaussian_kernel, random_motion_kernel


def add_noise(y: Tensor, sigma: float | Tensor, generator: torch.Generator | None = None) -> Tensor:
    """``y + σ n``, ``n`` standard Gaussian (circular complex, ``E|n|² = 1``, for complex ``y``).

    ``sigma``: a number ≥ 0 or a tensor ``(B,)`` of per-sample levels (in the units of ``y``:
    ``2.55/255`` for 8-bit noise σ = 2.55 on images in [0, 1])."""
    if isinstance(sigma, Tensor):
        if sigma.ndim != 1 or sigma.shape[0] != y.shape[0]:
            raise ValueError(
                f"sigma: expected a number or one level per sample ({y.shape[0]},), got "
                f"{tuple(sigma.shape)}"
            )
        sigma = sigma.to(device=y.device, dtype=y.real.dtype).view(-1, *[1] * (y.ndim - 1))
    elif not isinstance(sigma, numbers.Real) or sigma < 0:
        raise ValueError(f"sigma: expected a number >= 0 or a tensor, got {sigma!r}")
    real = y.real.dtype if y.is_complex() else y.dtype
    n = torch.randn(y.shape, generator=generator, dtype=real).to(y.device)
    if y.is_complex():
        n = torch.complex(n, torch.randn(y.shape, generator=generator, dtype=real).to(y.device))
        n = n / 2**0.5
    return y + sigma * n


def noise_levels(
    batch: int, low: float, high: float, generator: torch.Generator | None = None
) -> Tensor:
    """``(batch,)`` levels drawn uniformly in [low, high] (training over a range of noise)."""
    if not 0 <= low <= high:
        raise ValueError(f"low, high: expected 0 <= low <= high, got {low}, {high}")
    return low + (high - low) * torch.rand(batch, generator=generator, dtype=torch.float64)


def random_kernels(
    batch: int,
    size: int = 25,
    kind: str = "motion",
    *,
    sigma: tuple[float, float] = (0.7, 3.0),
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """``(batch, size, size)`` blur kernels, one per sample: camera-shake trajectories
    (``kind="motion"``, `unrolled.ops.random_motion_kernel`) or Gaussians of a standard
    deviation drawn in ``sigma`` (``kind="gaussian"``)."""
    if kind == "motion":
        ks = [random_motion_kernel(size, generator, dtype=dtype) for _ in range(batch)]
    elif kind == "gaussian":
        lo, hi = sigma
        s = lo + (hi - lo) * torch.rand(batch, generator=generator, dtype=torch.float64)
        ks = [gaussian_kernel(size, float(v), dtype=dtype) for v in s]
    else:
        raise ValueError(f"kind: expected 'motion' or 'gaussian', got {kind!r}")
    return torch.stack(ks)


def estimate_noise_level(y: Tensor) -> Tensor:
    """Each sample's Gaussian noise level σ̂ from the image alone (Donoho & Johnstone 1994):
    ``median |d| / 0.6745`` over the finest diagonal Haar wavelet coefficients
    ``d = (a − b − c + e)/2`` of the 2×2 blocks, which for natural (or blurred) images are
    nearly all noise. No gradient flows through it.

    Shapes: ``y`` ``(B, [C,] H, W)`` real, H and W ≥ 2 -> ``(B,)``."""
    if y.ndim < 3 or y.shape[-1] < 2 or y.shape[-2] < 2 or y.is_complex():
        raise ValueError(
            f"y: expected real images (B, [C,] H, W) with H, W >= 2, got {y.dtype} of shape "
            f"{tuple(y.shape)}"
        )
    y = y.detach()
    H, W = y.shape[-2] // 2 * 2, y.shape[-1] // 2 * 2
    d = (
        y[..., 0:H:2, 0:W:2] - y[..., 0:H:2, 1:W:2] - y[..., 1:H:2, 0:W:2] + y[..., 1:H:2, 1:W:2]
    ) / 2
    return d.abs().flatten(1).median(dim=1).values / 0.6745


__all__ = ["add_noise", "estimate_noise_level", "noise_levels", "random_kernels"]
