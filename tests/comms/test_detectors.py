"""Classical detectors: the sphere decoder is exact ML; ZF and MMSE follow their closed-form error
rates over Rayleigh fading; the error-rate loop and its confidence intervals."""

from __future__ import annotations

import math

import pytest
import torch

from unrolled.comms import (
    Channel,
    Constellation,
    ErrorRate,
    awgn,
    error_rates,
    maximum_likelihood,
    mmse,
    noise_variance,
    rayleigh,
    sphere_decoder,
    wilson_interval,
    zero_forcing,
)


def sampler(constellation, m, n, snr, seed=0, dtype=None):
    g = torch.Generator().manual_seed(seed)
    dtype = dtype or (torch.complex128 if constellation.is_complex else torch.float64)

    def sample(batch):
        H = rayleigh(batch, m, n, g, dtype)
        s, idx = constellation.random((batch, n), g, dtype)
        y = awgn((H @ s.unsqueeze(-1)).squeeze(-1), snr, g)
        return idx, y, Channel(H, noise_variance(snr).to(H.real.dtype))

    return sample


@pytest.mark.parametrize(
    ("name", "m", "n", "snr"),
    [("qpsk", 4, 4, 4.0), ("qpsk", 4, 4, 12.0), ("16qam", 3, 2, 10.0), ("bpsk", 6, 4, 0.0)],
)
def test_sphere_decoder_agrees_with_exhaustive_ml_on_every_sample(name, m, n, snr):
    c = Constellation(name)
    _, y, A = sampler(c, m, n, snr)(300)
    assert torch.equal(sphere_decoder(y, A, c), maximum_likelihood(y, A, c))


def test_ml_is_the_minimum_distance_candidate():
    c = Constellation("qpsk")
    idx, y, A = sampler(c, 3, 2, 5.0, seed=1)(50)
    found = maximum_likelihood(y, A, c)
    best = (y - A(c.symbols(found, y.dtype))).abs().square().sum(-1)
    sent = (y - A(c.symbols(idx, y.dtype))).abs().square().sum(-1)
    assert (best <= sent + 1e-12).all()
    for _ in range(20):  # no random candidate does better
        other = torch.randint(4, found.shape)
        d = (y - A(c.symbols(other, y.dtype))).abs().square().sum(-1)
        assert (best <= d + 1e-12).all()


def _rayleigh_qpsk_ber(mean_snr: float, diversity: int) -> float:
    """E[Q(√γ)] for γ ~ Gamma(L, γ̄/L·L) = a sum of L exponentials of mean γ̄ (Proakis 14.4-15
    with γ̄/2 per bit for QPSK's Q(√γ))."""
    mu = math.sqrt(mean_snr / (2 + mean_snr))
    L = diversity
    return ((1 - mu) / 2) ** L * sum(
        math.comb(L - 1 + k, k) * ((1 + mu) / 2) ** k for k in range(L)
    )


def _within(rate: ErrorRate, expected: float) -> bool:
    lo, hi = rate.interval(0.999)
    return lo <= expected <= hi


@pytest.mark.parametrize(("m", "n", "snr"), [(4, 4, 10.0), (6, 4, 6.0)])
def test_zero_forcing_ber_is_the_closed_form(m, n, snr):
    """Post-ZF SNR of each stream is (Es/N0)/n · Gamma(m − n + 1) over i.i.d. Rayleigh with our
    1/n channel variance: QPSK's BER is Rayleigh with diversity m − n + 1."""
    c = Constellation("qpsk")
    rates = error_rates(
        lambda y, A: c.nearest(zero_forcing(y, A)), sampler(c, m, n, snr), c, min_errors=3000
    )
    expected = _rayleigh_qpsk_ber(10 ** (snr / 10) / n, m - n + 1)
    assert _within(rates["ber"], expected), (rates["ber"].rate, expected)


@pytest.mark.parametrize(("m", "snr"), [(1, 10.0), (3, 3.0)])
def test_mmse_single_stream_is_maximum_ratio_combining(m, snr):
    """With one stream MMSE is a positive multiple of MRC, whose QPSK BER is Rayleigh with
    diversity m."""
    c = Constellation("qpsk")
    rates = error_rates(
        lambda y, A: c.nearest(mmse(y, A)), sampler(c, m, 1, snr), c, min_errors=3000
    )
    expected = _rayleigh_qpsk_ber(10 ** (snr / 10), m)
    assert _within(rates["ber"], expected), (rates["ber"].rate, expected)


def test_error_rates_order_ml_mmse_zf():
    c = Constellation("qpsk")
    ser = {}
    for name, detect in {
        "zf": lambda y, A: c.nearest(zero_forcing(y, A)),
        "mmse": lambda y, A: c.nearest(mmse(y, A)),
        "ml": lambda y, A: maximum_likelihood(y, A, c),
    }.items():
        ser[name] = error_rates(
            detect, sampler(c, 4, 4, 10.0, seed=5), c, min_errors=10**9, max_symbols=80000
        )["ser"]
    assert ser["ml"].interval()[1] < ser["mmse"].interval()[0]
    assert ser["mmse"].interval()[1] < ser["zf"].interval()[0]


def test_error_rates_stop_after_enough_errors_or_symbols():
    c = Constellation("qpsk")
    rates = error_rates(
        lambda y, A: c.nearest(zero_forcing(y, A)),
        sampler(c, 2, 2, 0.0),
        c,
        min_errors=50,
        batch=64,
    )
    assert 50 <= rates["ser"].errors and rates["ser"].trials == 128  # the first batch sufficed
    assert rates["ber"].trials == 2 * rates["ser"].trials
    rates = error_rates(
        lambda y, A: c.nearest(zero_forcing(y, A)),
        sampler(c, 2, 2, 60.0),
        c,
        max_symbols=1000,
        batch=100,
    )
    assert rates["ser"].trials == 1000 and rates["ser"].errors == 0
    lo, hi = rates["ser"].interval()
    assert lo == 0 and 0 < hi < 0.01


def test_wilson_interval():
    lo, hi = wilson_interval(10, 100)  # a textbook value: (0.0552, 0.1744)
    assert abs(lo - 0.0552) < 1e-3 and abs(hi - 0.1744) < 1e-3
    with pytest.raises(ValueError, match="errors, trials"):
        wilson_interval(5, 3)
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 3, 1.5)


def test_detectors_name_bad_arguments():
    c = Constellation("qpsk")
    _, y, A = sampler(c, 3, 2, 10.0)(4)
    with pytest.raises(TypeError, match=r"A: expected a unrolled\.comms\.Channel"):
        mmse(y, A.M)
    with pytest.raises(ValueError, match="y must have shape"):
        zero_forcing(y[:, :2], A)
    big = Channel(rayleigh(1, 12, 12), 0.1)
    with pytest.raises(ValueError, match="too many; use sphere_decoder"):
        maximum_likelihood(torch.zeros(1, 12, dtype=torch.complex64), big, c)
    wide = Channel(rayleigh(1, 1, 3, dtype=torch.float64), 0.1)
    with pytest.raises(ValueError, match="the sphere decoder needs m ≥ n"):
        sphere_decoder(torch.zeros(1, 1, dtype=torch.float64), wide, Constellation("bpsk"))
    with pytest.raises(ValueError, match="min_errors: expected a positive int"):
        error_rates(lambda y, A: None, lambda b: None, c, min_errors=0)
