"""Compressed sensing of images: a dense Gaussian matrix (`GaussianCS`), one matrix for every
B×B block (`BlockCS`, as ISTA-Net's 33×33 blocks), and a fast structured operator (`StructuredCS`:
random signs, an orthonormal DCT or FFT, row subsampling)."""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch
from torch import Tensor

from ..core import register
from ..core.checks import positive_int
from ._image import check_rho, floating, image_dtype, image_shape
from .base import LinearOperator, Shape
from .fft import dct, idct
from .matrix import Matrix


def measurements(ratio: Any, n: int) -> int:
    """``m = round(ratio·n)`` measurements of an ``n``-pixel signal, ``ratio`` in (0, 1]."""
    if not isinstance(ratio, numbers.Real) or isinstance(ratio, bool) or not 0 < ratio <= 1:
        raise ValueError(f"ratio: expected a sampling ratio in (0, 1], got {ratio!r}")
    return max(1, round(ratio * n))


def gaussian_matrix(
    m: int,
    n: int,
    *,
    orthonormal_rows: bool = False,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """An ``(m, n)`` matrix of i.i.d. ``N(0, 1/m)`` entries, or with ``orthonormal_rows`` its
    rows orthonormalised (QR; ISTA-Net's sampling matrices), so that ``ΦΦᵀ = I``."""
    phi = torch.randn(m, n, generator=generator, dtype=torch.float64) / math.sqrt(m)
    if orthonormal_rows:
        if m > n:
            raise ValueError(f"orthonormal_rows: needs m <= n, got m={m}, n={n}")
        q, r = torch.linalg.qr(phi.mT)
        phi = (q * torch.sign(torch.diagonal(r))).mT  # a unique, sign-fixed factor
    return phi.to(dtype)


def _given_or_drawn(
    matrix: Tensor | None,
    ratio: float | None,
    n: int,
    orthonormal_rows: bool,
    generator: torch.Generator | None,
    dtype: torch.dtype,
) -> Tensor:
    """The measurement matrix given, or one drawn with ``ratio·n`` rows: exactly one of them."""
    if (matrix is None) == (ratio is None):
        given = "a tensor" if matrix is not None else None
        raise ValueError(f"matrix, ratio: give exactly one, got matrix={given} and ratio={ratio!r}")
    if matrix is None:
        m = measurements(ratio, n)
        return gaussian_matrix(
            m, n, orthonormal_rows=orthonormal_rows, generator=generator, dtype=dtype
        )
    return floating(matrix, "matrix")


@register("gaussian-cs", kind="operator")
class GaussianCS(LinearOperator):
    """``y = Φ vec(x)``: a dense ``(m, C·H·W)`` matrix applied to the whole (vectorised) image.

    The reference compressed-sensing operator: ``O(m n)`` per image, which limits it to small
    images (see `BlockCS` and `StructuredCS` for large ones). ``solve_gram`` and ``lipschitz``
    are the exact ones of `unrolled.ops.Matrix`.

    Args:
        shape: one image, ``(H, W)`` or ``(C, H, W)``.
        matrix: ``(m, C·H·W)``, or ``(B, m, C·H·W)``, one per sample; or give ``ratio`` to draw
            `gaussian_matrix` (m = ratio·n).
        ratio, orthonormal_rows, generator, dtype: for the drawn matrix.

    Shapes: ``x`` ``(B, *shape)``, ``y`` ``(B, m)``.
    """

    def __init__(
        self,
        shape: Shape,
        matrix: Tensor | None = None,
        *,
        ratio: float | None = None,
        orthonormal_rows: bool = False,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.in_shape = image_shape(shape)
        n = math.prod(self.in_shape)
        matrix = _given_or_drawn(matrix, ratio, n, orthonormal_rows, generator, dtype)
        if matrix.ndim not in (2, 3) or matrix.shape[-1] != n:
            raise ValueError(
                f"matrix: expected (m, {n}) or (B, m, {n}) for images {self.in_shape}, got "
                f"{tuple(matrix.shape)}"
            )
        self.matrix = Matrix(matrix)
        self.out_shape = (matrix.shape[-2],)
        self.dtype, self.device = matrix.dtype, matrix.device

    batch_size = property(lambda self: self.matrix.batch_size)  # type: ignore[assignment]

    def forward(self, x: Tensor) -> Tensor:
        return self.matrix.forward(x.flatten(1))

    def adjoint(self, y: Tensor) -> Tensor:
        return self.matrix.adjoint(y).view(-1, *self.in_shape)

    def gram(self, x: Tensor) -> Tensor:
        self._check(x, "x", self.in_shape)
        return self.matrix.gram(x.flatten(1)).view_as(x)

    def solve_gram(self, b: Tensor, rho: float | Tensor, iterations: int = 50) -> Tensor:
        self._check(b, "b", self.in_shape)
        return self.matrix.solve_gram(b.flatten(1), rho).view_as(b)

    def lipschitz(self, iterations: int = 500, tol: float = 1e-7) -> float:
        return self.matrix.lipschitz()

    def __repr__(self) -> str:
        m, n = self.matrix.M.shape[-2:]
        per = f"{self.batch_size} matrices, " if self.batch_size else ""
        return f"GaussianCS({per}{m}/{n} = {m / n:.0%}, shape={self.in_shape})"


@register("block-cs", kind="operator")
class BlockCS(LinearOperator):
    """Block-based compressed sensing (Gan 2007; ISTA-Net's setting, 33×33 blocks): the image is
    cut into non-overlapping ``b×b`` blocks and each block (of each channel) is measured by the
    same ``(m, b²)`` matrix, ``y_k = Φ vec(x_k)``.

    Cost ``O(m·H·W)`` per image; ``solve_gram`` solves the ``b²``-sized system once for all blocks
    (exact, by `unrolled.ops.Matrix`).

    Args:
        shape: one image, ``(H, W)`` or ``(C, H, W)``, with ``H`` and ``W`` multiples of ``block``
            (crop or pad images to fit, as ISTA-Net pads).
        block: the block side b (default 33).
        matrix: ``(m, b²)``; or give ``ratio`` to draw `gaussian_matrix` with orthonormal rows.
        ratio, generator, dtype: for the drawn matrix.

    Shapes: ``x`` ``(B, *shape)``; ``y`` ``(B, [C,] blocks, m)``, blocks in row-major order and
    each block vectorised row by row.
    """

    def __init__(
        self,
        shape: Shape,
        block: int = 33,
        matrix: Tensor | None = None,
        *,
        ratio: float | None = None,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.in_shape = image_shape(shape)
        block = positive_int(block, "block")
        H, W = self.in_shape[-2:]
        if H % block or W % block:
            raise ValueError(
                f"shape: expected H and W to be multiples of block {block}, got {(H, W)}"
            )
        matrix = _given_or_drawn(matrix, ratio, block**2, True, generator, dtype)
        if matrix.ndim != 2 or matrix.shape[1] != block**2:
            raise ValueError(f"matrix: expected (m, {block**2}), got {tuple(matrix.shape)}")
        self.block, self.matrix = block, Matrix(matrix)
        self.grid = (H // block, W // block)
        self.out_shape = (*self.in_shape[:-2], self.grid[0] * self.grid[1], matrix.shape[0])
        self.dtype, self.device = matrix.dtype, matrix.device

    def _blocks(self, x: Tensor) -> Tensor:
        """``(B, *lead, H, W) -> (B·lead·blocks, b²)``."""
        b, (gh, gw) = self.block, self.grid
        lead = x.shape[:-2]
        x = x.reshape(*lead, gh, b, gw, b).movedim(-3, -2)  # (..., gh, gw, b, b)
        return x.reshape(-1, b * b)

    def image_of_blocks(self, blocks: Tensor, lead: tuple[int, ...]) -> Tensor:
        """``(N·blocks, b²)`` vectorised blocks -> images ``(*lead, H, W)`` (the inverse of the
        cutting ``A`` does; e.g. for a learned per-block map)."""
        return self._image(blocks, lead)

    def _image(self, blocks: Tensor, lead: tuple[int, ...]) -> Tensor:
        b, (gh, gw) = self.block, self.grid
        x = blocks.reshape(*lead, gh, gw, b, b).movedim(-2, -3)  # (..., gh, b, gw, b)
        return x.reshape(*lead, gh * b, gw * b)

    def forward(self, x: Tensor) -> Tensor:
        return self.matrix.forward(self._blocks(x)).reshape(x.shape[0], *self.out_shape)

    def adjoint(self, y: Tensor) -> Tensor:
        blocks = self.matrix.adjoint(y.reshape(-1, y.shape[-1]))
        return self._image(blocks, (y.shape[0], *self.in_shape[:-2]))

    def solve_gram(self, b: Tensor, rho: float | Tensor, iterations: int = 50) -> Tensor:
        self._check(b, "b", self.in_shape)
        return self._image(self.matrix.solve_gram(self._blocks(b), rho), tuple(b.shape[:-2]))

    def lipschitz(self, iterations: int = 500, tol: float = 1e-7) -> float:
        return self.matrix.lipschitz()

    def __repr__(self) -> str:
        m, n = self.matrix.M.shape
        return f"BlockCS({self.block}×{self.block} blocks, {m}/{n} = {m / n:.0%}, shape={self.in_shape})"


@register("structured-cs", kind="operator")
class StructuredCS(LinearOperator):
    """A fast structured compressed-sensing operator, ``y = P T D vec(x)``: random signs ``D``,
    an orthonormal transform ``T`` (DCT-II for real images, FFT for complex ones) and ``P``, a
    random choice of ``m`` of its ``n`` outputs (Do et al. 2012, "structurally random
    matrices"). ``O(n log n)`` per image, against ``O(m n)`` for a dense matrix.

    One draw serves every sample (per-sample measurement matrices: `GaussianCS` with a
    ``(B, m, n)`` matrix). Its rows are orthonormal (``AAᴴ = I``), so ``‖A‖² = 1`` and
    ``(AᴴA + ρI)⁻¹ = (I − AᴴA/(1 + ρ))/ρ`` (``solve_gram``, exact).

    Args:
        shape: one image, ``(H, W)`` or ``(C, H, W)``.
        ratio: m/n in (0, 1].
        transform: ``"dct"`` (real images) or ``"fft"`` (complex images; ``dtype`` complex).
        generator: draws the signs and the rows.
        dtype: the images' dtype (default float32 for ``"dct"``, complex64 for ``"fft"``).

    Shapes: ``x`` ``(B, *shape)``, ``y`` ``(B, m)``.
    """

    _real_tensors = ("signs",)

    def __init__(
        self,
        shape: Shape,
        ratio: float,
        transform: str = "dct",
        *,
        generator: torch.Generator | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        self.in_shape = image_shape(shape)
        n = math.prod(self.in_shape)
        if transform not in ("dct", "fft"):
            raise ValueError(f"transform: expected 'dct' or 'fft', got {transform!r}")
        dtype = image_dtype(dtype or (torch.float32 if transform == "dct" else torch.complex64))
        if transform == "fft" and not dtype.is_complex:
            raise TypeError(f"dtype: transform 'fft' needs complex images, got {dtype}")
        if transform == "dct" and dtype.is_complex:
            raise TypeError(f"dtype: transform 'dct' is for real images, got {dtype}")
        m = measurements(ratio, n)
        real = dtype.to_real() if dtype.is_complex else dtype  # (dtype checked above)
        self.signs = (torch.randint(2, (n,), generator=generator) * 2 - 1).to(real)
        self.rows = torch.randperm(n, generator=generator)[:m].sort().values
        self.transform, self.dtype, self.device = transform, dtype, self.signs.device
        self.out_shape = (m,)

    def forward(self, x: Tensor) -> Tensor:
        v = x.flatten(1) * self.signs
        t = dct(v) if self.transform == "dct" else torch.fft.fft(v, norm="ortho")
        return t[:, self.rows]

    def adjoint(self, y: Tensor) -> Tensor:
        n = self.signs.shape[0]
        t = y.new_zeros((y.shape[0], n))
        t[:, self.rows] = y
        v = idct(t) if self.transform == "dct" else torch.fft.ifft(t, norm="ortho")
        return (v * self.signs).view(-1, *self.in_shape)

    def solve_gram(self, b: Tensor, rho: float | Tensor, iterations: int = 50) -> Tensor:
        self._check(b, "b", self.in_shape)
        check_rho(rho, b.ndim, self)
        return (b - self.gram(b) / (1 + rho)) / rho

    def lipschitz(self, iterations: int = 500, tol: float = 1e-7) -> float:
        return 1.0

    def __repr__(self) -> str:
        m, n = self.out_shape[0], self.signs.shape[0]
        return f"StructuredCS({self.transform}, {m}/{n} = {m / n:.0%}, shape={self.in_shape})"


__all__ = ["BlockCS", "GaussianCS", "StructuredCS", "gaussian_matrix", "measurements"]
