"""Constellations: BPSK, QPSK and 16-QAM with Gray labels and unit average energy."""

from __future__ import annotations

import math

import torch
from torch import Tensor

#: Gray-labelled PAM levels per real dimension, by bits per dimension: index i of the level
#: list carries the bits of ``_GRAY[bits][i]`` (neighbouring levels differ in one bit).
_GRAY = {1: (1, 0), 2: (0b10, 0b11, 0b01, 0b00)}
_SPECS = {  # name: (bits per real dimension, complex?)
    "bpsk": (1, False),
    "qpsk": (1, True),
    "16qam": (2, True),
}


class Constellation:
    """A square constellation with Gray labels and unit average energy, E|s|² = 1.

    Each real dimension carries a Gray-labelled PAM alphabet: BPSK is real ``±1``; QPSK is
    ``(±1 ± 1j)/√2``; 16-QAM is ``({±1, ±3} + 1j{±1, ±3})/√10``. A symbol's bits are its
    in-phase bits followed by its quadrature bits; bit 0 maps to the positive level for one bit
    per dimension (3GPP's convention).

    Args:
        name: ``"bpsk"``, ``"qpsk"`` or ``"16qam"``.

    Attributes:
        points: ``(M,)`` the symbols: float64 for BPSK, complex128 otherwise (cast with
            ``.to``).
        labels: ``(M, k)`` int64 bits of each symbol, ``k = log2 M``.
        pam: ``(L,)`` float64, the levels of one real dimension (the alphabet of the
            real-valued equivalent model, `unrolled.comms.real_equivalent`).
        is_complex: False for BPSK.
    """

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or name.lower() not in _SPECS:
            raise ValueError(f"name: expected one of {sorted(_SPECS)}, got {name!r}")
        self.name = name.lower()
        per_dim, self.is_complex = _SPECS[self.name]
        dims = 2 if self.is_complex else 1
        levels = 2**per_dim
        scale = math.sqrt(dims * (levels**2 - 1) / 3)  # mean of (2i − L + 1)² over i is (L²−1)/3
        self.pam = torch.arange(-(levels - 1), levels, 2, dtype=torch.float64) / scale
        # per-dimension bits of level i, MSB first
        gray = torch.tensor(
            [
                [(_GRAY[per_dim][i] >> b) & 1 for b in reversed(range(per_dim))]
                for i in range(levels)
            ]
        )
        if self.is_complex:
            i_idx, q_idx = torch.meshgrid(torch.arange(levels), torch.arange(levels), indexing="ij")
            i_idx, q_idx = i_idx.flatten(), q_idx.flatten()
            self.points = torch.complex(self.pam[i_idx], self.pam[q_idx])
            self.labels = torch.cat([gray[i_idx], gray[q_idx]], dim=1)
        else:
            self.points = self.pam.clone()
            self.labels = gray.clone()
        self.bits_per_symbol = self.labels.shape[1]
        self.size = self.points.numel()
        # bits -> symbol index, reading the bits as a binary number
        weights = 2 ** torch.arange(self.bits_per_symbol - 1, -1, -1)
        self._index_of_code = torch.empty(self.size, dtype=torch.int64)
        self._index_of_code[(self.labels * weights).sum(1)] = torch.arange(self.size)
        self._weights = weights

    def symbols(self, indices: Tensor, dtype: torch.dtype | None = None) -> Tensor:
        """The symbols of ``indices`` (int64, any shape), as ``dtype`` (default: complex64, or
        float32 for BPSK)."""
        if indices.dtype != torch.int64:
            raise TypeError(f"indices: expected int64, got {indices.dtype}")
        default = torch.complex64 if self.is_complex else torch.float32
        return self.points.to(indices.device, dtype or default)[indices]

    def random(
        self,
        shape: tuple[int, ...],
        generator: torch.Generator | None = None,
        dtype: torch.dtype | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Uniform random symbols: ``(symbols, indices)``, both of ``shape``."""
        device = None if generator is None else generator.device
        indices = torch.randint(self.size, shape, generator=generator, device=device)
        return self.symbols(indices, dtype), indices

    def bits(self, indices: Tensor) -> Tensor:
        """The Gray bits of symbol ``indices`` ``(...)``: ``(..., k)`` int64."""
        return self.labels.to(indices.device)[indices]

    def indices_of_bits(self, bits: Tensor) -> Tensor:
        """The symbol indices of ``bits`` ``(..., k)`` (0/1): ``(...)``."""
        if bits.shape[-1:] != (self.bits_per_symbol,):
            raise ValueError(
                f"bits: expected a last dimension of {self.bits_per_symbol} for {self.name}, "
                f"got shape {tuple(bits.shape)}"
            )
        code = (bits.long() * self._weights.to(bits.device)).sum(-1)
        return self._index_of_code.to(bits.device)[code]

    def modulate(self, bits: Tensor, dtype: torch.dtype | None = None) -> Tensor:
        """Bits ``(..., k)`` to symbols ``(...)``."""
        return self.symbols(self.indices_of_bits(bits), dtype)

    def nearest(self, x: Tensor) -> Tensor:
        """Hard decisions: the index of the nearest symbol to each entry of ``x`` (real for BPSK,
        complex otherwise; a real ``x`` against a complex constellation is refused).

        For a square constellation the nearest point is found per real dimension, so this is
        O(L) per entry, not O(M).
        """
        if x.is_complex() != self.is_complex:
            kind = "complex" if self.is_complex else "real"
            raise TypeError(f"x: expected {kind} estimates for {self.name}, got {x.dtype}")
        levels = self.pam.numel()
        if self.is_complex:
            i, q = self.slice(x.real), self.slice(x.imag)
            return i * levels + q
        return self.slice(x)

    def slice(self, v: Tensor) -> Tensor:
        """Per-dimension hard decision: the index of the nearest PAM level to each real entry."""
        pam = self.pam.to(v.device, v.dtype)
        step = pam[1] - pam[0] if pam.numel() > 1 else 1.0
        i = torch.round((v - pam[0]) / step)
        return i.clamp(0, pam.numel() - 1).long()

    def demodulate(self, x: Tensor) -> Tensor:
        """Hard-decision bits of estimates ``x`` ``(...)``: ``(..., k)``."""
        return self.bits(self.nearest(x))

    def __repr__(self) -> str:
        return f"Constellation({self.name!r})"
