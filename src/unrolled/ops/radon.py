"""`Radon`: the parallel-beam X-ray transform (CT), and filtered back-projection (`fbp`)."""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch
from torch import Tensor

from ..core import register
from ..core.checks import choice, positive_int
from ._image import image_shape
from .base import LinearOperator, Shape

#: The filters of `fbp`: the ramp |ω| (Ram-Lak) alone, or windowed by a Hann window.
FILTERS = ("ramp", "hann")


def _angles(angles: Any) -> Tensor:
    """A count (uniform in [0, π)) or a 1-D sequence of angles in radians, as float64."""
    if isinstance(angles, numbers.Integral) and not isinstance(angles, bool):
        count = positive_int(angles, "angles")
        return torch.arange(count, dtype=torch.float64) * (math.pi / count)
    theta = torch.as_tensor(angles, dtype=torch.float64)
    if theta.ndim != 1 or theta.numel() == 0 or not torch.isfinite(theta).all():
        raise ValueError(
            f"angles: expected a positive int or a 1-D sequence of finite angles (radians), got "
            f"{angles!r}"
        )
    return theta


def projection_matrix(size: tuple[int, int], theta: Tensor, detector: int) -> Tensor:
    """The sparse ``(angles·detector, H·W)`` matrix of the pixel-driven projector: each pixel
    centre ``(u, v)`` (unit pixels, origin at the image centre, ``v`` pointing up) projects to
    ``t = u cos θ + v sin θ`` on a detector of unit bins centred on 0, and its value is split
    between the two nearest bins in proportion to the distance (linear interpolation), so
    every pixel adds its area to each projection. float64, coalesced COO."""
    H, W = size
    u = torch.arange(W, dtype=torch.float64) - (W - 1) / 2
    v = (H - 1) / 2 - torch.arange(H, dtype=torch.float64)
    U, V = u[None, :].expand(H, W).reshape(-1), v[:, None].expand(H, W).reshape(-1)
    t = U[None] * torch.cos(theta)[:, None] + V[None] * torch.sin(theta)[:, None]  # (A, HW)
    position = t + (detector - 1) / 2  # in bins, 0 at the first bin's centre
    low = torch.floor(position)
    frac = position - low
    low = low.long()
    pixel = torch.arange(H * W).expand_as(low)
    rows, cols, vals = [], [], []
    for offset, weight in ((0, 1 - frac), (1, frac)):
        bin_ = low + offset
        keep = (bin_ >= 0) & (bin_ < detector) & (weight > 0)
        angle = torch.arange(theta.numel())[:, None].expand_as(low)
        rows.append((angle * detector + bin_)[keep])
        cols.append(pixel[keep])
        vals.append(weight[keep])
    index = torch.stack([torch.cat(rows), torch.cat(cols)])
    shape = (theta.numel() * detector, H * W)
    # valid by construction: skip torch's invariant checks (and their warning)
    P = torch.sparse_coo_tensor(index, torch.cat(vals), shape, check_invariants=False)
    return P.coalesce()


@register("radon", kind="operator")
class Radon(LinearOperator):
    """The parallel-beam X-ray transform of images: the line integrals

        y(θ, t) = ∫ x(t·θ + s·θ⊥) ds,      θ = (cos θ, sin θ),

    for each angle θ and detector position t, discretised by the pixel-driven projector
    (`projection_matrix`: each pixel's value split between the two detector bins nearest to
    its projection, unit pixels and bins). The matrix is built once per geometry and held
    sparse; ``Aᴴ`` is its transpose (pixel-driven back-projection), so the adjoint is exact.
    `fbp` inverts it approximately (filtered back-projection); ``solve_gram`` is CG.

    Args:
        shape: one image, ``(H, W)`` or ``(C, H, W)`` (every channel projected alike).
        angles: the number of angles, uniform in [0, π) (default 180), or a 1-D sequence of
            angles in radians (a limited-angle or sparse-view geometry).
        detector: detector bins, default ``⌈√(H² + W²)⌉`` + 1: every ray through the image is
            seen.
        dtype: a real floating dtype (default float32).

    Shapes: ``x`` ``(B, *shape)``, ``y`` ``(B, [C,] angles, detector)`` (a sinogram).
    """

    def __init__(
        self,
        shape: Shape,
        angles: int | Any = 180,
        detector: int | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.in_shape = image_shape(shape)
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise TypeError(f"dtype: expected a real floating torch.dtype, got {dtype!r}")
        H, W = self.in_shape[-2:]
        if detector is None:
            detector = math.ceil(math.hypot(H, W)) + 1
        self.detector = positive_int(detector, "detector")
        self.theta = _angles(angles)
        self.out_shape = (*self.in_shape[:-2], self.theta.numel(), self.detector)
        self.subset_axis = len(self.out_shape) - 2  # ordered subsets of angles (OSEM)
        P = projection_matrix((H, W), self.theta, self.detector)
        self.matrix = P.to(dtype)
        self.matrix_t = P.t().coalesce().to(dtype)
        self.dtype, self.device = dtype, None

    def _product(self, P: Tensor, t: Tensor, out: tuple[int, ...]) -> Tensor:
        """``P`` applied to every 2-D slice of ``t`` ``(B, [C,] h, w)``: one sparse product,
        the result ``(B, [C,] *out)``."""
        lead = t.shape[:-2]
        flat = t.reshape(-1, P.shape[1]).mT  # (h·w, B·C)
        return torch.sparse.mm(P.to(t.dtype), flat).mT.reshape(*lead, *out)

    def forward(self, x: Tensor) -> Tensor:
        self._check(x, "x", self.in_shape)
        return self._product(self.matrix, x, self.out_shape[-2:])

    def adjoint(self, y: Tensor) -> Tensor:
        self._check(y, "y", self.out_shape)
        return self._product(self.matrix_t, y, self.in_shape[-2:])

    def __repr__(self) -> str:
        return (
            f"Radon(shape={self.in_shape}, angles={self.theta.numel()}, detector={self.detector})"
        )


def _filter_response(detector: int, name: str, dtype: torch.dtype) -> tuple[Tensor, int]:
    """The frequency response of the discrete ramp filter (Kak & Slaney 1988, Eq. 61: the
    band-limited |ω| sampled in space, h[0] = 1/4, h[±n] = −1/(π n)² for odd n, 0 for even n)
    on a zero-padded length ``N ≥ 2·detector`` (no circular wrap-around), times a Hann window
    ``½(1 + cos(π f / f_max))`` for ``"hann"``."""
    N = 2 ** math.ceil(math.log2(2 * detector))
    n = torch.cat([torch.arange(0, N // 2 + 1), torch.arange(-(N // 2) + 1, 0)]).double()
    h = torch.zeros(N, dtype=torch.float64)
    h[0] = 0.25
    odd = n.remainder(2) == 1
    h[odd] = -1 / (math.pi * n[odd]) ** 2
    response = torch.fft.rfft(h).real
    if name == "hann":
        f = torch.fft.rfftfreq(N, dtype=torch.float64)  # cycles per bin, up to 1/2
        response = response * 0.5 * (1 + torch.cos(2 * math.pi * f))
    return response.to(dtype), N


def fbp(y: Tensor, A: Radon, filter: str = "ramp") -> Tensor:
    """Filtered back-projection, the classical CT reconstruction:

        x ≈ (π / n_θ) · Aᴴ (h ⊛ y),

    each projection convolved along the detector with the ramp filter ``h`` (`FILTERS`: the
    ramp alone, sharp but noisy; windowed by Hann, smoother), then back-projected. For angles
    uniform over [0, π) it inverts `Radon` up to the discretisation (Kak & Slaney 1988, ch. 3).

    Args:
        y: sinograms ``(B, [C,] angles, detector)``.
        A: the `Radon` operator that measured them.
        filter: one of `FILTERS`.

    Returns:
        ``(B, *A.in_shape)``.
    """
    filter = choice(filter, "filter", FILTERS)
    if not isinstance(A, Radon):
        raise TypeError(f"A: expected a unrolled.ops.Radon, got {type(A).__name__}")
    A._check(y, "y", A.out_shape)
    response, N = _filter_response(A.detector, filter, y.dtype)
    spectrum = torch.fft.rfft(y, n=N, dim=-1) * response.to(y.device)
    filtered = torch.fft.irfft(spectrum, n=N, dim=-1)[..., : A.detector]
    return A.adjoint(filtered) * (math.pi / A.theta.numel())


__all__ = ["FILTERS", "Radon", "fbp", "projection_matrix"]
