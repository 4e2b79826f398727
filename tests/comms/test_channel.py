"""Channels, noise and the SNR convention: E‖Hx‖²/E‖n‖² = Es/N0 per receive antenna."""

from __future__ import annotations

import pytest
import torch

from unrolled.comms import (
    Channel,
    Constellation,
    awgn,
    complex_vector,
    correlation_matrix,
    kronecker,
    noise_variance,
    rayleigh,
    real_equivalent,
    real_vector,
)


@pytest.mark.parametrize("dtype", [torch.complex64, torch.float64])
@pytest.mark.parametrize("correlated", [False, True])
def test_snr_convention_holds_empirically(dtype, correlated):
    g = torch.Generator().manual_seed(0)
    B, m, n, snr = 4000, 6, 4, 7.0
    H = kronecker(B, m, n, 0.5, 0.5, g, dtype) if correlated else rayleigh(B, m, n, g, dtype)
    c = Constellation("qpsk" if dtype.is_complex else "bpsk")
    x, _ = c.random((B, n), g, dtype)
    signal = (H @ x.unsqueeze(-1)).squeeze(-1)
    noise = awgn(signal, snr, g) - signal
    torch.testing.assert_close(signal.abs().square().mean().item(), 1.0, rtol=0.04, atol=0)
    N0 = noise_variance(snr).item()
    torch.testing.assert_close(noise.abs().square().mean().item(), N0, rtol=0.03, atol=0)
    if dtype.is_complex:  # circular: half the variance in each part
        torch.testing.assert_close(noise.real.var().item(), N0 / 2, rtol=0.04, atol=0)


def test_kronecker_channel_has_the_requested_correlation():
    g = torch.Generator().manual_seed(1)
    H = kronecker(20000, 3, 3, 0.5, 0.0, g, torch.complex128)
    R = torch.einsum("bik,bjk->ij", H, H.conj()).real / (20000 * 1.0)  # E[H Hᴴ] = tr(R_t)/n R_r
    torch.testing.assert_close(R, correlation_matrix(3, 0.5), atol=0.03, rtol=0)


def test_real_equivalent_matches_the_complex_product():
    g = torch.Generator().manual_seed(2)
    H = rayleigh(5, 3, 2, g, torch.complex128)
    x = torch.randn(5, 2, dtype=torch.complex128, generator=g)
    Hr = real_equivalent(H)
    y = (H @ x.unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close((Hr @ real_vector(x).unsqueeze(-1)).squeeze(-1), real_vector(y))
    torch.testing.assert_close(complex_vector(real_vector(x)), x)
    A = Channel(H, 0.1)
    Ar = A.real()
    torch.testing.assert_close(Ar.M, Hr)
    torch.testing.assert_close(Ar.noise_var, torch.full((5,), 0.05, dtype=torch.float64))
    assert Ar.real() is Ar


def test_per_sample_snr():
    signal = torch.zeros(3, 20000, dtype=torch.complex128)
    noisy = awgn(signal, torch.tensor([0.0, 10.0, 20.0]), torch.Generator().manual_seed(3))
    power = noisy.abs().square().mean(-1)
    torch.testing.assert_close(
        power, torch.tensor([1.0, 0.1, 0.01], dtype=torch.float64), rtol=0.05, atol=0
    )


def test_channel_is_a_batched_operator_with_its_noise_variance():
    H = rayleigh(4, 3, 2, torch.Generator().manual_seed(4))
    A = Channel(H, torch.tensor([0.1, 0.2, 0.3, 0.4]))
    assert A.batch_size == 4 and A.in_shape == (2,) and A.out_shape == (3,)
    assert A.noise_var.dtype == torch.float32
    B = A.to(torch.complex128)
    assert B.M.dtype == torch.complex128 and B.noise_var.dtype == torch.float64


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="H: expected a \\(B, m, n\\) tensor"):
        Channel(torch.zeros(3, 2), 0.1)
    with pytest.raises(ValueError, match="noise_var: expected a number or shape \\(2,\\)"):
        Channel(torch.zeros(2, 3, 2), torch.ones(3))
    with pytest.raises(ValueError, match="noise_var: expected positive"):
        Channel(torch.zeros(2, 3, 2), 0.0)
    with pytest.raises(ValueError, match="rho: expected a correlation"):
        correlation_matrix(3, 1.0)
    with pytest.raises(ValueError, match="receive: expected a positive int"):
        rayleigh(2, 0, 2)
    with pytest.raises(ValueError, match="snr_db: expected a number or one per sample"):
        awgn(torch.zeros(3, 2), torch.zeros(4))
    with pytest.raises(TypeError, match="H: expected a complex channel"):
        real_equivalent(torch.zeros(2, 2))
