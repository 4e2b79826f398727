"""HQS, PDHG and CG solve the problems their docstrings state, on imaging operators."""

from __future__ import annotations

import pytest
import torch

from unrolled.algorithms import CG, FISTA, HQS, PDHG
from unrolled.ops import MRI, Blur, Identity, gaussian_kernel, masks
from unrolled.priors import TV


def _image(seed=0, size=16):
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(2, size, size, dtype=torch.float64)
    x[:, 4:12, 3:9] = 1.0
    return x + 0.05 * torch.randn(x.shape, generator=g, dtype=torch.float64)


def test_pdhg_with_the_identity_is_the_tv_prox():
    v = _image()
    kept = v.clone()
    out = PDHG(threshold=0.1).run(v, Identity((16, 16)), iterations=3000)
    torch.testing.assert_close(v, kept)  # the measurements are not touched
    assert out.abs().max() > 0.5
    torch.testing.assert_close(out, TV(iterations=2000)(v, 0.1), atol=1e-4, rtol=0)


@pytest.fixture(scope="module")
def deblurring():
    """A blurred image and its TV-regularised solution (PDHG run to convergence)."""
    x = _image()
    A = Blur(gaussian_kernel(5, 1.0, dtype=torch.float64), (16, 16))
    y = A(x)
    return A, y, PDHG(threshold=0.01).run(y, A, iterations=1000)


def test_pdhg_and_fista_tv_agree_on_deblurring(deblurring):
    A, y, pdhg = deblurring
    fista = FISTA(threshold=0.01, prox=TV(iterations=30)).run(y, A, iterations=150)
    assert (fista - pdhg).norm() < 0.01 * pdhg.norm()


def test_hqs_with_growing_penalty_reaches_the_tv_solution(deblurring):
    A, y, reference = deblurring
    hqs = HQS(growth=1.3, mu=0.05, threshold=0.01, prox=TV(iterations=30)).run(y, A, iterations=30)
    assert (hqs - reference).norm() < 0.05 * reference.norm()


def test_cg_solves_the_damped_normal_equations():
    x = _image().to(torch.complex128)
    A = MRI(
        masks.random_lines((16, 16), 2, 0.25, generator=torch.Generator().manual_seed(0)),
        dtype=torch.complex128,
    )
    y = A(x)
    out = CG(damping=0.1).run(y, A, iterations=40)
    torch.testing.assert_close(out, A.solve_gram(A.H(y), 0.1))


def test_cg_refuses_a_negative_damping():
    with pytest.raises(ValueError, match="damping"):
        CG(damping=-0.1)
