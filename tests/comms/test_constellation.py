"""Constellations: unit energy, Gray labels, bits ↔ symbols, nearest-point decisions."""

from __future__ import annotations

import pytest
import torch

from unrolled.comms import Constellation

NAMES = ["bpsk", "qpsk", "16qam"]


@pytest.mark.parametrize("name", NAMES)
def test_unit_energy_and_distinct_labels(name):
    c = Constellation(name)
    assert c.size == 2**c.bits_per_symbol == {"bpsk": 2, "qpsk": 4, "16qam": 16}[name]
    torch.testing.assert_close(c.points.abs().square().mean().item(), 1.0)
    assert len({tuple(b.tolist()) for b in c.labels}) == c.size
    assert c.is_complex == (name != "bpsk")


@pytest.mark.parametrize("name", NAMES)
def test_gray_labels_nearest_neighbours_differ_in_one_bit(name):
    c = Constellation(name)
    d = (c.points[:, None] - c.points[None, :]).abs()
    d.fill_diagonal_(float("inf"))
    nearest = d.min(dim=1).values
    for i in range(c.size):
        for j in range(c.size):
            if abs(d[i, j] - nearest[i]) < 1e-9:
                assert int((c.labels[i] != c.labels[j]).sum()) == 1, (i, j)


@pytest.mark.parametrize("name", NAMES)
def test_bits_round_trip_and_nearest_recovers_noisy_symbols(name):
    c = Constellation(name)
    g = torch.Generator().manual_seed(0)
    s, idx = c.random((50, 3), g)
    assert s.dtype == (torch.complex64 if c.is_complex else torch.float32)
    bits = c.bits(idx)
    assert bits.shape == (50, 3, c.bits_per_symbol)
    assert torch.equal(c.indices_of_bits(bits), idx)
    torch.testing.assert_close(c.modulate(bits), s)
    noise = 0.05 * (torch.randn(s.shape, generator=g, dtype=s.dtype))
    assert torch.equal(c.nearest(s + noise), idx)
    assert torch.equal(c.demodulate(s + noise), bits)


def test_nearest_is_the_exhaustive_nearest_point():
    c = Constellation("16qam")
    x = torch.randn(2000, dtype=torch.complex128) * 1.5
    brute = (x[:, None] - c.points[None, :]).abs().argmin(dim=1)
    assert torch.equal(c.nearest(x), brute)


def test_qpsk_follows_the_3gpp_sign_convention():
    c = Constellation("qpsk")
    s = c.modulate(torch.tensor([[0, 0], [1, 1], [0, 1]]))
    r = 2**-0.5
    torch.testing.assert_close(s, torch.tensor([r + r * 1j, -r - r * 1j, r - r * 1j]))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="name: expected one of"):
        Constellation("8psk")
    c = Constellation("qpsk")
    with pytest.raises(ValueError, match="bits: expected a last dimension of 2"):
        c.indices_of_bits(torch.zeros(3, 4, dtype=torch.int64))
    with pytest.raises(TypeError, match="x: expected complex estimates"):
        c.nearest(torch.zeros(3))
    with pytest.raises(TypeError, match="indices: expected int64"):
        c.symbols(torch.zeros(3))
