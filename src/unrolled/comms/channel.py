"""MIMO channels: i.i.d. Rayleigh and Kronecker-correlated, AWGN, the real-valued equivalent.

**SNR convention**, used everywhere in `unrolled.comms`: ``y = Hx + n`` with ``m`` receive and
``n`` transmit antennas, symbols of unit average energy (Es = 1) and channel entries of
variance ``1/n``, so the signal power at each receive antenna is E|(Hx)ᵢ|² = Es = 1. The noise
is circular Gaussian of variance ``N0`` per receive antenna (``N0/2`` per real dimension when
complex), and

    SNR = Es / N0  (per receive antenna)  =  E‖Hx‖² / E‖n‖²,   N0 = 10^(−SNR_dB/10).

A real-valued system (DetNet's BPSK over a real channel) uses real Gaussian noise of variance
``N0`` per antenna, so the same SNR means the same received signal-to-noise ratio.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..core import register
from ..ops import Matrix


def noise_variance(snr_db: float | Tensor) -> Tensor:
    """``N0 = 10^(−SNR_dB/10)`` (Es = 1), a float64 tensor of ``snr_db``'s shape."""
    return 10 ** (-torch.as_tensor(snr_db, dtype=torch.float64) / 10)


def _check_dims(**dims: int) -> None:
    for name, v in dims.items():
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name}: expected a positive int, got {v!r}")


def correlation_matrix(size: int, rho: float) -> Tensor:
    """The exponential correlation model ``R_ij = ρ^|i−j|`` (Loyka 2001), ``(size, size)``
    float64, unit diagonal, so correlation keeps the average channel power."""
    _check_dims(size=size)
    if not -1 < rho < 1:
        raise ValueError(f"rho: expected a correlation in (-1, 1), got {rho!r}")
    i = torch.arange(size, dtype=torch.float64)
    return rho ** (i[:, None] - i[None, :]).abs()


def _sqrtm(R: Tensor) -> Tensor:
    w, V = torch.linalg.eigh(R)
    return (V * w.clamp_min(0).sqrt()) @ V.mT


def _device_of(generator: torch.Generator | None) -> torch.device | None:
    """Where a generator draws (None: torch's default generator, the default device)."""
    return None if generator is None else generator.device


def rayleigh(
    batch: int,
    receive: int,
    transmit: int,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.complex64,
) -> Tensor:
    """One i.i.d. Rayleigh channel per sample, ``(batch, receive, transmit)``: entries
    CN(0, 1/transmit) (N(0, 1/transmit) for a real ``dtype``)."""
    _check_dims(batch=batch, receive=receive, transmit=transmit)
    shape = (batch, receive, transmit)
    kw = {"generator": generator, "dtype": torch.float64, "device": _device_of(generator)}
    if dtype.is_complex:
        re, im = (torch.randn(shape, **kw) for _ in "ri")
        H = torch.complex(re, im) / math.sqrt(2 * transmit)
    else:
        H = torch.randn(shape, **kw) / math.sqrt(transmit)
    return H.to(dtype)


def kronecker(
    batch: int,
    receive: int,
    transmit: int,
    rho_rx: float = 0.5,
    rho_tx: float = 0.5,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.complex64,
) -> Tensor:
    """Kronecker-correlated channels ``H = R_r^{1/2} H_w R_t^{1/2}``, ``H_w`` i.i.d. Rayleigh
    (`rayleigh`), ``R`` the exponential model (`correlation_matrix`) with ``rho_rx`` at the
    receiver and ``rho_tx`` at the transmitter. ``(batch, receive, transmit)``."""
    Hw = rayleigh(
        batch, receive, transmit, generator, torch.complex128 if dtype.is_complex else torch.float64
    )
    Rr = _sqrtm(correlation_matrix(receive, rho_rx)).to(Hw.device, Hw.dtype)
    Rt = _sqrtm(correlation_matrix(transmit, rho_tx)).to(Hw.device, Hw.dtype)
    return (Rr @ Hw @ Rt).to(dtype)


def awgn(
    signal: Tensor, snr_db: float | Tensor, generator: torch.Generator | None = None
) -> Tensor:
    """``signal + n`` at ``snr_db`` (a number, or one per sample ``(B,)``), under this module's
    convention: variance N0 per entry, split evenly between real and imaginary parts when
    complex. ``signal`` is ``(B, m)``."""
    N0 = noise_variance(snr_db)
    if N0.ndim == 1:
        if N0.shape[0] != signal.shape[0]:
            raise ValueError(
                f"snr_db: expected a number or one per sample ({signal.shape[0]},), "
                f"got shape {tuple(N0.shape)}"
            )
        N0 = N0[:, None]
    elif N0.ndim != 0:
        raise ValueError(f"snr_db: expected a number or shape (B,), got {tuple(N0.shape)}")
    real = signal.real.dtype
    kw = {"generator": generator, "dtype": real, "device": _device_of(generator)}
    if signal.is_complex():
        re, im = (torch.randn(signal.shape, **kw) for _ in "ri")
        n = torch.complex(re, im) * (N0 / 2).sqrt().to(re.device, real)
    else:
        n = torch.randn(signal.shape, **kw)
        n = n * N0.sqrt().to(n.device, real)
    return signal + n.to(signal.device)


def real_vector(v: Tensor) -> Tensor:
    """``[Re v, Im v]`` along the last dimension: ``(..., n)`` complex -> ``(..., 2n)`` real."""
    return torch.cat([v.real, v.imag], dim=-1)


def complex_vector(v: Tensor) -> Tensor:
    """The inverse of `real_vector`: ``(..., 2n)`` real -> ``(..., n)`` complex."""
    if v.is_complex() or v.shape[-1] % 2:
        raise ValueError(f"v: expected a real (..., 2n) tensor, got {v.dtype} {tuple(v.shape)}")
    n = v.shape[-1] // 2
    if v.dtype == torch.bfloat16:  # no complex bfloat16 (mixed precision): the parts go to fp32
        v = v.float()
    return torch.complex(v[..., :n], v[..., n:])


def real_equivalent(H: Tensor) -> Tensor:
    """The real-valued equivalent ``[[Re H, −Im H], [Im H, Re H]]`` of complex channels
    ``(..., m, n)``: ``(..., 2m, 2n)``, with ``real_vector(Hx) = real_equivalent(H) @
    real_vector(x)``. The noise per real dimension is then N0/2."""
    if not H.is_complex():
        raise TypeError(f"H: expected a complex channel, got {H.dtype}")
    top = torch.cat([H.real, -H.imag], dim=-1)
    bottom = torch.cat([H.imag, H.real], dim=-1)
    return torch.cat([top, bottom], dim=-2)


@register("channel", kind="operator")
class Channel(Matrix):
    """A batch of MIMO channels with the noise variance each sample was received at: the
    operator ``x -> Hx`` (a `Matrix` with one ``(m, n)`` matrix per sample) that detectors
    take as ``A``; MMSE, OAMP and the learned detectors read ``noise_var``.

    Args:
        H: ``(B, m, n)`` channels, real or complex.
        noise_var: ``(B,)`` or a number: N0 per receive antenna (the variance of each noise
            entry; for a real-equivalent system built from a complex one, pass N0/2).
    """

    _real_tensors = ("noise_var",)

    def __init__(self, H: Tensor, noise_var: float | Tensor) -> None:
        if not isinstance(H, Tensor) or H.ndim != 3:
            shape = tuple(H.shape) if isinstance(H, Tensor) else type(H).__name__
            raise ValueError(f"H: expected a (B, m, n) tensor, one channel per sample, got {shape}")
        super().__init__(H)
        nv = torch.as_tensor(noise_var, dtype=H.real.dtype, device=H.device)
        if nv.ndim == 0:
            nv = nv.expand(H.shape[0]).clone()
        if nv.shape != (H.shape[0],):
            raise ValueError(
                f"noise_var: expected a number or shape ({H.shape[0]},), got {tuple(nv.shape)}"
            )
        if not bool((nv > 0).all()):
            raise ValueError("noise_var: expected positive variances")
        self.noise_var = nv

    def real(self) -> Channel:
        """The real-valued equivalent (`real_equivalent`), noise N0/2 per real dimension; a
        real channel is returned as it is."""
        if not self.M.is_complex():
            return self
        return Channel(real_equivalent(self.M), self.noise_var / 2)

    def __repr__(self) -> str:
        B, m, n = self.M.shape
        return f"Channel({B}×{m}×{n}, {str(self.M.dtype).removeprefix('torch.')})"
