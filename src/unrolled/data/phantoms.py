"""Synthetic phantoms for MRI and CT: Shepp–Logan, random ellipses, smooth phase maps."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..core.checks import positive_int

#: The modified Shepp–Logan head (Toft 1996): intensity, semi-axes a, b, centre x, y, angle (°).
SHEPP_LOGAN = (
    (1.0, 0.69, 0.92, 0.0, 0.0, 0.0),
    (-0.8, 0.6624, 0.874, 0.0, -0.0184, 0.0),
    (-0.2, 0.11, 0.31, 0.22, 0.0, -18.0),
    (-0.2, 0.16, 0.41, -0.22, 0.0, 18.0),
    (0.1, 0.21, 0.25, 0.0, 0.35, 0.0),
    (0.1, 0.046, 0.046, 0.0, 0.1, 0.0),
    (0.1, 0.046, 0.046, 0.0, -0.1, 0.0),
    (0.1, 0.046, 0.023, -0.08, -0.605, 0.0),
    (0.1, 0.023, 0.023, 0.0, -0.606, 0.0),
    (0.1, 0.023, 0.046, 0.06, -0.605, 0.0),
)


def _grid(size: int) -> tuple[Tensor, Tensor]:
    size = positive_int(size, "size")
    t = (torch.arange(size, dtype=torch.float64) + 0.5) / size * 2 - 1
    return t[None, :], -t[:, None]  # x to the right, y up


def ellipses(size: int, table) -> Tensor:
    """Sum of filled ellipses on a ``size × size`` grid over [−1, 1]²; ``table`` rows are
    ``(intensity, a, b, x0, y0, angle in degrees)``. Float64 ``(size, size)``."""
    x, y = _grid(size)
    image = torch.zeros(size, size, dtype=torch.float64)
    for value, a, b, x0, y0, angle in table:
        c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        u, v = (x - x0) * c + (y - y0) * s, -(x - x0) * s + (y - y0) * c
        image = image + value * ((u / a) ** 2 + (v / b) ** 2 <= 1)
    return image


def shepp_logan(size: int = 256, dtype: torch.dtype = torch.float32) -> Tensor:
    """The modified Shepp–Logan phantom ``(size, size)`` in [0, 1]."""
    return ellipses(size, SHEPP_LOGAN).clamp(0, 1).to(dtype)


def random_ellipses(
    size: int,
    count: int = 8,
    *,
    generator: torch.Generator | None = None,
    batch: int | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Random ellipse phantoms in [0, 1]: a large background ellipse and ``count`` smaller ones
    of random size, position, angle and intensity (the synthetic training data of learned CT and
    MRI reconstruction, e.g. Adler & Öktem 2018). ``(size, size)``, or ``(batch, size, size)``."""

    def one() -> Tensor:
        g = generator
        r = lambda n=1: torch.rand(n, generator=g, dtype=torch.float64)  # noqa: E731
        table = [(1.0, 0.7 + 0.2 * float(r()), 0.8 + 0.15 * float(r()), 0.0, 0.0, 0.0)]
        for _ in range(count):
            a, b, x0, y0, ang, val = r(6).tolist()
            table.append(
                (
                    (val - 0.5) * 0.8,
                    0.05 + 0.3 * a,
                    0.05 + 0.3 * b,
                    (x0 - 0.5) * 0.9,
                    (y0 - 0.5) * 1.1,
                    360 * ang,
                )
            )
        image = ellipses(size, table)
        return ((image - image.min()) / (image.max() - image.min()).clamp_min(1e-12)).to(dtype)

    if batch is None:
        return one()
    batch = positive_int(batch, "batch")
    return torch.stack([one() for _ in range(batch)])


def smooth_phase(
    shape: tuple[int, int],
    *,
    strength: float = math.pi / 2,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.complex64,
) -> Tensor:
    """A smooth random phase map ``exp(iφ)``, ``(H, W)``: φ a random low-order polynomial of
    the position, of amplitude about ``strength`` radians (MRI images carry slowly varying
    phase from field inhomogeneity; multiply a magnitude image by it)."""
    H, W = shape
    y = torch.linspace(-1, 1, H, dtype=torch.float64)[:, None]
    x = torch.linspace(-1, 1, W, dtype=torch.float64)[None, :]
    c = (torch.rand(6, generator=generator, dtype=torch.float64) * 2 - 1) * strength
    phi = c[0] + c[1] * x + c[2] * y + c[3] * x * y + c[4] * x**2 + c[5] * y**2
    return torch.polar(torch.ones_like(phi), phi).to(dtype)


__all__ = ["SHEPP_LOGAN", "ellipses", "random_ellipses", "shepp_logan", "smooth_phase"]
