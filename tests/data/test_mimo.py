"""The MIMO detection problem: shapes, seeds, SNR ranges, and clear errors."""

from __future__ import annotations

import pytest
import torch

import unrolled as ur
from unrolled.comms import Channel
from unrolled.data import MIMODetection


@pytest.mark.parametrize(
    ("constellation", "dtype"), [("qpsk", torch.complex64), ("bpsk", torch.float32)]
)
def test_batches_are_symbols_measurements_and_channels(constellation, dtype):
    p = MIMODetection(6, 4, constellation, snr_db=(0, 10), validation_size=16, test_size=32)
    x, y, A = p.sample(8)
    assert x.shape == (8, 4) and y.shape == (8, 6) and x.dtype == y.dtype == dtype
    assert isinstance(A, Channel) and A.M.shape == (8, 6, 4)
    N0 = A.noise_var
    assert ((N0 >= 0.1 - 1e-6) & (N0 <= 1 + 1e-6)).all()  # SNR in [0, 10] dB
    assert p.validation[0].shape == (16, 4) and p.test[0].shape == (32, 4)
    assert torch.equal(p.indices(x), p.constellation.nearest(x))
    assert ur.kind_of("mimo-detection") == "problem"
    assert ur.core.get("mimo-detection") is MIMODetection


def test_seeded_and_fresh_per_batch():
    a, b = (
        MIMODetection(seed=3, validation_size=4, test_size=4),
        MIMODetection(seed=3, validation_size=4, test_size=4),
    )
    assert torch.equal(a.sample(5)[1], b.sample(5)[1])
    assert not torch.equal(a.sample(5)[1], a.sample(5)[1])
    assert not torch.equal(a.validation[1], a.test[1][:4])


def test_fixed_snr_sets():
    p = MIMODetection(snr_db=(0, 30), validation_size=4, test_size=4)
    _, _, A = p.with_snr(20.0).measure(10, torch.Generator().manual_seed(1))
    torch.testing.assert_close(A.noise_var, torch.full((10,), 0.01))
    assert p.snr_db == (0.0, 30.0)  # the problem itself is unchanged
    one, two = (p.measure(3, torch.Generator().manual_seed(2))[1] for _ in range(2))
    assert torch.equal(one, two)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="snr_db: expected a number or"):
        MIMODetection(snr_db=(10, 5))
    with pytest.raises(ValueError, match="correlation: expected"):
        MIMODetection(correlation=1.0)
    with pytest.raises(ValueError, match="receive: expected a positive int"):
        MIMODetection(receive=0)
    with pytest.raises(ValueError, match="name: expected one of"):
        MIMODetection(constellation="8psk")


def test_to_the_cpu_keeps_the_stream_and_sets():
    p, q = (MIMODetection(seed=2, validation_size=4, test_size=4) for _ in range(2))
    assert p.to("cpu") is p and p.device == torch.device("cpu")
    for a, b in zip(p.sample(8)[:2], q.sample(8)[:2], strict=True):
        assert torch.equal(a, b)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
@pytest.mark.parametrize("correlation", [0.0, 0.5])
def test_to_a_gpu_draws_there(correlation):
    p = MIMODetection(seed=2, correlation=correlation, validation_size=4, test_size=4)
    p.to("cuda")
    x, y, A = p.sample(8)
    assert x.is_cuda and y.is_cuda and A.M.is_cuda and p.generator.device.type == "cuda"
    assert p.validation[0].device.type == "cpu"  # fixed sets are the CPU's
