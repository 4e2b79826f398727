import math

import numpy as np
import pytest
import torch

from unrolled.algorithms import FISTA, SBL
from unrolled.data import SparseCoding
from unrolled.data.sparse import _seed
from unrolled.ops import Matrix


def small(**kwargs):
    options = {"m": 20, "n": 40, "validation_size": 30, "test_size": 50} | kwargs
    return SparseCoding(**options)


def test_shapes_and_operator():
    p = small()
    x, y = p.sample(8)
    assert x.shape == (8, 40) and y.shape == (8, 20)
    assert x.dtype == y.dtype == torch.float32
    assert p.matrix.shape == (20, 40)
    assert isinstance(p.operator, Matrix)
    assert p.operator.in_shape == (40,) and p.operator.out_shape == (20,)
    torch.testing.assert_close(y, x @ p.matrix.T)  # noiseless by default
    assert p.noise_std == 0.0
    xv, yv = p.validation
    xt, yt = p.test
    assert xv.shape == (30, 40) and yv.shape == (30, 20)
    assert xt.shape == (50, 40) and yt.shape == (50, 20)


def test_defaults_are_the_lista_benchmark():
    p = SparseCoding()
    assert (p.m, p.n, p.sparsity, p.snr_db) == (250, 500, 0.1, None)
    assert (p.validation_size, p.test_size) == (1000, 1000)


def test_float64():
    p = small(dtype=torch.float64)
    x, y = p.sample(2)
    assert p.matrix.dtype == x.dtype == y.dtype == torch.float64


def test_same_seed_same_data():
    a, b = small(seed=3, snr_db=10), small(seed=3, snr_db=10)
    assert torch.equal(a.matrix, b.matrix)
    for _ in range(2):
        for ta, tb in zip(a.sample(5), b.sample(5), strict=True):
            assert torch.equal(ta, tb)
    for ta, tb in zip(a.validation + a.test, b.validation + b.test, strict=True):
        assert torch.equal(ta, tb)


def test_stream_advances():
    p = small()
    x1, _ = p.sample(5)
    x2, _ = p.sample(5)
    assert not torch.equal(x1, x2)


def test_different_seeds_differ():
    a, b = small(seed=0), small(seed=1)
    assert not torch.equal(a.matrix, b.matrix)
    assert not torch.equal(a.sample(5)[0], b.sample(5)[0])
    assert not torch.equal(a.test[0], b.test[0])


def test_column_norms():
    p = small(m=30, n=60)
    norms = torch.linalg.vector_norm(p.matrix, dim=0)
    torch.testing.assert_close(norms, torch.ones(60))
    raw = small(m=200, n=60, normalize_columns=False).matrix
    norms = torch.linalg.vector_norm(raw, dim=0)
    assert not torch.allclose(norms, torch.ones(60))
    assert abs(float(norms.square().mean()) - 1.0) < 0.1  # entries N(0, 1/m)


def test_sparsity_rate():
    p = SparseCoding(m=10, n=500, sparsity=0.1, test_size=1, validation_size=1)
    x, _ = p.sample(200)
    rate = float((x != 0).float().mean())
    assert abs(rate - 0.1) < 0.01
    x, _ = SparseCoding(m=10, n=100, sparsity=1.0).sample(10)
    assert bool((x != 0).all())


def test_snr():
    p = SparseCoding(m=100, n=200, sparsity=0.1, snr_db=20, test_size=1, validation_size=1)
    x, y = p.sample(2000)
    clean = p.operator(x)
    noise = y - clean
    snr = 10 * math.log10(float(clean.square().sum()) / float(noise.square().sum()))
    assert abs(snr - 20) < 0.5
    assert abs(float(noise.std()) - p.noise_std) < 0.05 * p.noise_std


def test_validation_and_test_are_fixed_and_separate_from_training():
    a, b = small(), small()
    _ = a.validation, a.test  # drawing the held-out sets must not move the training stream
    xa, _ = a.sample(30)
    xb, _ = b.sample(30)
    assert torch.equal(xa, xb)
    assert a.validation is a.validation  # cached: the same set every time
    xv, _ = b.validation
    xt, _ = b.test
    assert not torch.equal(xv, xa)
    assert not torch.equal(xt[:30], xv)
    assert torch.equal(b.validation[0], a.validation[0])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"m": 0}, ValueError, "m: expected a positive int, got 0"),
        ({"m": 2.5}, ValueError, "m: expected a positive int"),
        ({"n": True}, ValueError, "n: expected a positive int"),
        ({"sparsity": 0.0}, ValueError, r"sparsity: expected a number in \(0, 1\]"),
        ({"sparsity": 1.5}, ValueError, "sparsity"),
        ({"snr_db": math.inf}, ValueError, "snr_db"),
        ({"snr_db": "20"}, ValueError, "snr_db"),
        ({"seed": -1}, ValueError, "seed: expected a non-negative int"),
        ({"seed": 1.0}, ValueError, "seed"),
        ({"normalize_columns": 1}, TypeError, "normalize_columns"),
        ({"dtype": torch.int64}, TypeError, "dtype: expected a real floating"),
        ({"dtype": torch.complex64}, TypeError, "dtype"),
        ({"test_size": 0}, ValueError, "test_size"),
        ({"validation_size": -3}, ValueError, "validation_size"),
        ({"train_size": 0}, ValueError, "train_size: expected a positive int, got 0"),
    ],
)
def test_argument_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        small(**kwargs)


def test_sample_batch_error():
    with pytest.raises(ValueError, match="batch: expected a positive int, got 0"):
        small().sample(0)


def test_a_fixed_training_set_is_reused_and_the_same_everywhere():
    p = small(train_size=10, seed=2)
    x_set, y_set = p.train
    assert x_set.shape == (10, 40) and y_set.shape == (10, 20)
    rows = {tuple(r.tolist()) for r in x_set}
    seen = set()
    for _ in range(20):
        x, y = p.sample(4)
        assert x.shape == (4, 40)
        batch = [tuple(r.tolist()) for r in x]
        assert len(set(batch)) == 4 and set(batch) <= rows  # distinct samples of the set
        torch.testing.assert_close(y, x @ p.matrix.T)
        seen |= set(batch)
    assert seen == rows  # every sample gets used
    whole, _ = p.sample(64)  # a batch larger than the set: the whole set, shuffled
    assert whole.shape == (10, 40) and {tuple(r.tolist()) for r in whole} == rows
    # the set does not depend on how much was drawn before
    q = small(train_size=10, seed=2)
    assert torch.equal(q.train[0], x_set)
    assert not torch.equal(small(train_size=10, seed=3).train[0], x_set)
    # the matrix, stream, validation and test seeds are the four children they were before the
    # fixed set took a fifth: the same seed still gives the same data as earlier releases
    before = [_seed(c) for c in np.random.SeedSequence(2).spawn(4)]
    assert [q._matrix_seed, q._validation_seed, q._test_seed] == [before[0], *before[2:]]
    # batches depend on the generator's state alone (what fit saves and restores on resume)
    state = q.generator.get_state()
    first = q.sample(4)
    q.generator.set_state(state)
    assert all(torch.equal(a, b) for a, b in zip(first, q.sample(4), strict=True))


def test_a_streaming_problem_has_no_fixed_set():
    with pytest.raises(AttributeError, match="train_size=N"):
        _ = small().train


def test_to_the_cpu_keeps_the_stream_and_the_sets():
    p, q = SparseCoding(20, 40, seed=4), SparseCoding(20, 40, seed=4)
    assert p.to("cpu") is p and p.device == torch.device("cpu")
    for a, b in zip(p.sample(8), q.sample(8), strict=True):
        assert torch.equal(a, b)
    assert all(torch.equal(a, b) for a, b in zip(p.validation, q.validation, strict=True))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_to_a_gpu_draws_there_and_keeps_the_fixed_sets():
    p, q = SparseCoding(20, 40, seed=4, train_size=16), SparseCoding(20, 40, seed=4)
    assert p.validation[0].device.type == "cpu"  # cached on the CPU, then moved
    p.to("cuda")
    x, y = p.sample(8)
    assert x.is_cuda and y.is_cuda and p.generator.device.type == "cuda"
    assert torch.equal(p.validation[0].cpu(), q.validation[0])
    torch.testing.assert_close(p.operator(x), y)
    p.to("cpu")  # the CPU stream goes on where it was
    torch.testing.assert_close(
        p.sample(4)[0], SparseCoding(20, 40, seed=4, train_size=16).sample(4)[0]
    )


def test_the_correlated_dictionary_defeats_l1_but_not_sbl():
    """Xin et al.'s Σ i⁻² u_i vᵢᵀ: coherent columns; noiseless, SBL-EM recovers x, FISTA cannot."""
    p = SparseCoding(50, 100, snr_db=None, dictionary="correlated", validation_size=4, test_size=20)
    M = p.matrix
    gram = (M.T @ M).abs().fill_diagonal_(0)
    assert gram.max() > 0.95 and torch.allclose(M.norm(dim=0), torch.ones(100))
    x, y = p.test
    sbl = SBL(noise=1e-8).run(y.double(), Matrix(M.double()), iterations=200)
    fista = FISTA(threshold=1e-3).run(y, p.operator, iterations=1000)
    assert p.metric(sbl.float(), x) < -30 and p.metric(fista, x) > -10
    assert "dictionary='correlated'" in repr(p) and "correlated" in p.describe()
    with pytest.raises(ValueError, match="dictionary: expected one of"):
        SparseCoding(10, 20, dictionary="dft")
