"""EP is Céspedes et al.'s detector: an iteration is their site update (checked against a
per-stream transcription of the paper's equations), a site whose precision would turn negative
is kept, a complex channel is its real equivalent, and it detects better than OAMP."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import unrolled as ur
from unrolled.algorithms import EP, OAMP
from unrolled.comms import Channel, Constellation
from unrolled.comms.channel import complex_vector, real_vector
from unrolled.data import MIMODetection


def reference_ep(H, y, sigma2, levels, iterations, beta=0.2, eps=5e-7):
    """The paper's Algorithm 1 for one real system, stream by stream, in numpy."""
    n = H.shape[1]
    lam = np.full(n, 1 / np.mean(levels**2))
    gam = np.zeros(n)
    for _ in range(iterations):
        cov = np.linalg.inv(H.T @ H / sigma2 + np.diag(lam))
        mu = cov @ (H.T @ y / sigma2 + gam)
        means = np.zeros(n)
        for i in range(n):
            h2 = cov[i, i] / (1 - cov[i, i] * lam[i])
            t = h2 * (mu[i] / cov[i, i] - gam[i])
            w = np.exp(-((t - levels) ** 2) / (2 * h2) - np.max(-((t - levels) ** 2) / (2 * h2)))
            w /= w.sum()
            m = w @ levels
            v = max(w @ levels**2 - m**2, eps)
            new_lam, new_gam = 1 / v - 1 / h2, m / v - t / h2
            means[i] = m
            if new_lam >= 0:
                lam[i] = beta * new_lam + (1 - beta) * lam[i]
                gam[i] = beta * new_gam + (1 - beta) * gam[i]
    return means


@pytest.fixture
def system():
    g = torch.Generator().manual_seed(0)
    H = torch.randn(3, 6, 4, generator=g, dtype=torch.complex128) / 2
    c = Constellation("16qam")
    x = c.symbols(torch.randint(16, (3, 4), generator=g)).to(torch.complex128)
    A = Channel(H, torch.tensor([0.05, 0.1, 0.2]).double())
    return A, A(x) + 0.1 * torch.randn(3, 6, generator=g, dtype=torch.complex128), c


def test_an_iteration_is_the_papers_site_update(system):
    A, y, c = system
    R, yr = A.real(), real_vector(y)
    levels = c.pam.numpy()
    for iterations in (1, 4):
        x = EP("16qam").run(yr, R, iterations=iterations)
        for b in range(3):
            H, sigma2 = R.M[b].numpy(), float(R.noise_var[b])
            expected = reference_ep(H, yr[b].numpy(), sigma2, levels, iterations)
            np.testing.assert_allclose(x[b].numpy(), expected, rtol=1e-8, atol=1e-10)


def test_a_complex_channel_is_its_real_equivalent(system):
    A, y, _ = system
    native = EP("16qam").run(y, A, iterations=5)
    real = EP("16qam").run(real_vector(y), A.real(), iterations=5)
    assert native.is_complex()
    torch.testing.assert_close(native, complex_vector(real))


def test_a_site_whose_precision_would_turn_negative_is_kept():
    """BPSK, a cavity at 0 with variance ½: the posterior variance is 1, the new precision
    1 − 2 < 0, so the site stays (precision and γ 0), as the paper says."""
    A = Channel(torch.eye(2, dtype=torch.float64)[None], 1.0)
    y = torch.zeros(1, 2, dtype=torch.float64)
    ep = EP("bpsk")
    state = ep.init(y, A)
    zero = torch.zeros(1, 2, dtype=torch.float64)
    state = state._replace(mean=zero, variance=zero + 0.5, precision=zero, gamma=zero)
    new = ep.update(state, y, A, ur.Layer(ep.defaults(A), 0))
    assert torch.equal(new.precision, zero) and torch.equal(new.gamma, zero)


def test_it_detects_a_small_square_system_better_than_oamp():
    p = MIMODetection(4, 4, "qpsk", snr_db=18.0, test_size=3000, validation_size=8, seed=2)
    x, y, A = p.test
    truth = p.constellation.nearest(x)

    def errors(algorithm):
        return int((p.constellation.nearest(algorithm.run(y, A, iterations=10)) != truth).sum())

    assert errors(EP()) * 5 < errors(OAMP())


def test_it_needs_the_noise_variance_and_a_positive_floor():
    with pytest.raises(TypeError, match="noise variance"):
        EP().run(torch.zeros(1, 2), ur.Matrix(torch.eye(2)[None]), iterations=1)
    with pytest.raises(ValueError, match="min_variance"):
        EP(min_variance=0.0)
