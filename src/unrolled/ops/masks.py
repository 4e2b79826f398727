"""k-space sampling masks for `unrolled.ops.MRI` and `unrolled.ops.SENSE`.

Every generator returns a boolean mask ``(H, W)``, or ``(batch, H, W)`` with ``batch=`` (one
mask per sample, each drawn independently). Cartesian masks sample whole columns of k-space
(each column, a phase encode, is a full readout line along ``H``), as in fastMRI. Random ones take a ``torch.Generator`` so that a seed gives the same mask everywhere.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from ..core.checks import positive_int


def _size(shape: Any) -> tuple[int, int]:
    try:
        H, W = shape
    except (TypeError, ValueError):
        raise ValueError(f"shape: expected (H, W), got {shape!r}") from None
    if not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in (H, W)):
        raise ValueError(f"shape: expected positive ints (H, W), got {shape!r}")
    return H, W


def _acceleration(value: Any) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value >= 1:
        raise ValueError(f"acceleration: expected a number >= 1, got {value!r}")
    return float(value)


def _fraction(value: Any, name: str) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not 0 <= value <= 1:
        raise ValueError(f"{name}: expected a number in [0, 1], got {value!r}")
    return float(value)


def _batched(draw: Callable[[], Tensor], batch: int | None) -> Tensor:
    if batch is None:
        return draw()
    batch = positive_int(batch, "batch")
    return torch.stack([draw() for _ in range(batch)])


def _center_columns(W: int, center_fraction: float) -> slice:
    n = round(W * center_fraction)
    start = (W - n + 1) // 2
    return slice(start, start + n)


def random_lines(
    shape: tuple[int, int],
    acceleration: float = 4,
    center_fraction: float = 0.08,
    *,
    generator: torch.Generator | None = None,
    batch: int | None = None,
) -> Tensor:
    """Random phase-encode lines with a fully sampled centre (fastMRI's ``RandomMaskFunc``).

    ``round(W·center_fraction)`` central columns are always sampled; every other column with
    the probability that makes the expected number of sampled columns ``W / acceleration``.
    """
    H, W = _size(shape)
    acc, cf = _acceleration(acceleration), _fraction(center_fraction, "center_fraction")
    center = _center_columns(W, cf)
    n_center = center.stop - center.start
    if n_center > W / acc:
        raise ValueError(
            f"center_fraction: the centre ({n_center} columns) exceeds the {W / acc:.1f} columns "
            f"that acceleration {acc:g} allows"
        )
    prob = (W / acc - n_center) / max(W - n_center, 1)

    def draw() -> Tensor:
        cols = torch.rand(W, generator=generator) < prob
        cols[center] = True
        return cols.expand(H, W).clone()

    return _batched(draw, batch)


def equispaced_lines(
    shape: tuple[int, int],
    acceleration: int = 4,
    center_fraction: float = 0.08,
    *,
    offset: int | None = None,
    generator: torch.Generator | None = None,
    batch: int | None = None,
) -> Tensor:
    """Every ``acceleration``-th phase-encode line plus a fully sampled centre (the
    autocalibration signal, ACS), as in fastMRI's ``EquispacedMaskFunc`` and GRAPPA
    acquisitions. ``offset`` (0..acceleration−1) picks the first line; ``None`` draws it."""
    H, W = _size(shape)
    acceleration = positive_int(acceleration, "acceleration")
    center = _center_columns(W, _fraction(center_fraction, "center_fraction"))
    if offset is not None and not (isinstance(offset, int) and 0 <= offset < acceleration):
        raise ValueError(f"offset: expected an int in [0, {acceleration}), got {offset!r}")

    def draw() -> Tensor:
        start = (
            offset
            if offset is not None
            else int(torch.randint(acceleration, (), generator=generator))
        )
        cols = torch.zeros(W, dtype=torch.bool)
        cols[start::acceleration] = True
        cols[center] = True
        return cols.expand(H, W).clone()

    return _batched(draw, batch)


def _radius(H: int, W: int) -> Tensor:
    """Distance of each k-space point from the centre ``(H // 2, W // 2)``, normalised so the
    edge midpoints are at 1."""
    ky = (torch.arange(H, dtype=torch.float64) - H // 2) / (H / 2)
    kx = (torch.arange(W, dtype=torch.float64) - W // 2) / (W / 2)
    return torch.sqrt(ky[:, None] ** 2 + kx[None, :] ** 2)


def gaussian_density(
    shape: tuple[int, int],
    acceleration: float = 4,
    center_radius: float = 0.04,
    *,
    sigma: float = 0.3,
    generator: torch.Generator | None = None,
    batch: int | None = None,
) -> Tensor:
    """2-D variable-density random sampling (for 3-D Cartesian acquisitions, where both phase
    encodes are free): each point is drawn with a probability proportional to a Gaussian of its
    distance to the k-space centre (standard deviation ``sigma``, in units of the half-width),
    capped at 1 and scaled so that the expected fraction is ``1/acceleration``; points within
    ``center_radius`` are always sampled (Lustig et al. 2007's variable density)."""
    H, W = _size(shape)
    acc = _acceleration(acceleration)
    cr = _fraction(center_radius, "center_radius")
    if not isinstance(sigma, numbers.Real) or not sigma > 0:
        raise ValueError(f"sigma: expected a number > 0, got {sigma!r}")
    r = _radius(H, W)
    center = r <= cr
    target = H * W / acc
    if int(center.sum()) > target:
        raise ValueError(
            f"center_radius: its {int(center.sum())} points exceed the {target:.0f} that "
            f"acceleration {acc:g} allows"
        )
    # floored: a narrow Gaussian underflows to 0 at the edges, and the bisection divides by it
    density = torch.exp(-0.5 * (r / sigma) ** 2).clamp_min(1e-300)
    # the scale c with Σ min(c·density, 1) over the outside points = the points left, by bisection
    lo, hi = 0.0, 1.0 / float(density.min())
    outside, need = density[~center], target - int(center.sum())
    for _ in range(60):
        c = (lo + hi) / 2
        lo, hi = (c, hi) if float((c * outside).clamp_max(1).sum()) < need else (lo, c)
    prob = (hi * density).clamp_max(1)

    def draw() -> Tensor:
        return (torch.rand(H, W, generator=generator, dtype=torch.float64) < prob) | center

    return _batched(draw, batch)


def radial(
    shape: tuple[int, int],
    spokes: int,
    *,
    golden_angle: bool = True,
    generator: torch.Generator | None = None,
    batch: int | None = None,
) -> Tensor:
    """Radial-like Cartesian sampling: ``spokes`` lines through the k-space centre, rasterised
    to the grid (nearest point), at golden-angle increments (111.25°) or evenly spread over
    180°. With ``generator`` the first angle is random (per mask)."""
    H, W = _size(shape)
    spokes = positive_int(spokes, "spokes")
    step = math.pi * (math.sqrt(5) - 1) / 2 if golden_angle else math.pi / spokes
    t = torch.linspace(-1, 1, 2 * max(H, W), dtype=torch.float64)

    def draw() -> Tensor:
        start = float(torch.rand((), generator=generator)) * math.pi if generator else 0.0
        mask = torch.zeros(H, W, dtype=torch.bool)
        for s in range(spokes):
            a = start + s * step
            rows = (H // 2 + t * (H / 2) * math.sin(a)).round().long().clamp(0, H - 1)
            cols = (W // 2 + t * (W / 2) * math.cos(a)).round().long().clamp(0, W - 1)
            mask[rows, cols] = True
        return mask

    return _batched(draw, batch)


def acceleration_of(mask: Tensor) -> float:
    """The achieved acceleration ``H·W / (sampled points)`` of a mask ``(..., H, W)`` (inf for an
    empty mask)."""
    sampled = int(mask.sum())
    return mask.numel() / sampled if sampled else float("inf")


__all__ = ["acceleration_of", "equispaced_lines", "gaussian_density", "radial", "random_lines"]
