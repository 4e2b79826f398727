"""The imaging operators against reference implementations (SciPy, PyWavelets) and their
documented properties; the registry contract (adjoints, solves) is in test_registry_contract."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unrolled.ops import (
    MRI,
    SENSE,
    BlockCS,
    Blur,
    Downsample,
    GaussianCS,
    Gradient,
    Inpainting,
    StructuredCS,
    Wavelet,
    coil_maps,
    dct,
    fft2c,
    gaussian_kernel,
    idct,
    ifft2c,
    masks,
    motion_kernel,
    random_motion_kernel,
    uniform_kernel,
)

scipy = pytest.importorskip("scipy")


def _g(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("n", [1, 2, 7, 8, 33])
def test_dct_matches_scipy_and_inverts(n):
    x = torch.randn(3, n, generator=_g(), dtype=torch.float64)
    expected = scipy.fft.dct(x.numpy(), norm="ortho", axis=-1)
    np.testing.assert_allclose(dct(x).numpy(), expected, atol=1e-12)
    torch.testing.assert_close(idct(dct(x)), x)


def test_centred_fft_is_unitary_and_centred():
    x = torch.randn(2, 6, 5, generator=_g(), dtype=torch.complex128)
    torch.testing.assert_close(ifft2c(fft2c(x)), x)
    assert torch.linalg.vector_norm(fft2c(x)) == pytest.approx(float(torch.linalg.vector_norm(x)))
    ones = torch.ones(1, 6, 5, dtype=torch.complex128)
    k = fft2c(ones)
    assert abs(k[0, 3, 2]) == pytest.approx(30**0.5)  # DC at (H // 2, W // 2)


def test_blur_is_circular_convolution():
    from scipy.ndimage import convolve

    x = torch.randn(2, 3, 10, 9, generator=_g(), dtype=torch.float64)
    k = torch.rand(5, 3, generator=_g(1), dtype=torch.float64)
    out = Blur(k, (3, 10, 9))(x)
    # scipy's convolve centres the kernel at (kh // 2, kw // 2), as documented for Blur
    expected = np.stack(
        [[convolve(c.numpy(), k.numpy(), mode="wrap") for c in image] for image in x]
    )
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-12)


def test_per_sample_blur_uses_each_kernel():
    x = torch.randn(2, 8, 8, generator=_g(), dtype=torch.float64)
    ks = torch.rand(2, 3, 3, generator=_g(1), dtype=torch.float64)
    out = Blur(ks, (8, 8))(x)
    for i in range(2):
        torch.testing.assert_close(out[i], Blur(ks[i], (8, 8))(x[i : i + 1])[0])


def test_blur_of_a_complex_image_blurs_both_parts():
    x = torch.randn(1, 8, 8, generator=_g(), dtype=torch.complex128)
    k = gaussian_kernel(5, 1.0, dtype=torch.float64)
    out = Blur(k, (8, 8), dtype=torch.complex128)(x)
    real = Blur(k, (8, 8))
    torch.testing.assert_close(out, torch.complex(real(x.real), real(x.imag)))


def test_blur_rejects_bad_input():
    with pytest.raises(ValueError, match="kernel: expected at most the image size"):
        Blur(torch.ones(9, 9), (8, 8))
    with pytest.raises(ValueError, match="shape"):
        Blur(torch.ones(3, 3), (8,))
    with pytest.raises(TypeError, match="complex kernel needs complex images"):
        Blur(torch.ones(3, 3, dtype=torch.complex64), (8, 8), dtype=torch.float32)
    with pytest.raises(ValueError, match=r"x must have shape \(B, 8, 8\)"):
        Blur(torch.ones(3, 3), (8, 8))(torch.ones(1, 8, 9))


def test_kernels_sum_to_one_and_are_centred():
    for k in (
        gaussian_kernel(7, 1.5),
        uniform_kernel(5),
        motion_kernel(9, 7, 30),
        random_motion_kernel(15, _g()),
    ):
        assert float(k.sum()) == pytest.approx(1.0, abs=1e-6)
        assert (k >= 0).all()
    k = gaussian_kernel(7, 1.5)
    assert k.argmax() == 3 * 7 + 3
    horizontal = motion_kernel(9, 5, 0)
    assert horizontal[4].sum() == pytest.approx(1.0, abs=1e-6)  # all mass on the centre row
    with pytest.raises(ValueError, match="length"):
        motion_kernel(5, 9)
    assert not torch.equal(random_motion_kernel(15, _g(0)), random_motion_kernel(15, _g(1)))
    torch.testing.assert_close(random_motion_kernel(15, _g(3)), random_motion_kernel(15, _g(3)))


def test_downsample_keeps_every_s_th_pixel_of_the_blurred_image():
    x = torch.randn(2, 12, 8, generator=_g(), dtype=torch.float64)
    k = gaussian_kernel(5, 1.0, dtype=torch.float64)
    A = Downsample(k, 4, (12, 8))
    torch.testing.assert_close(A(x), Blur(k, (12, 8))(x)[..., ::4, ::4])
    assert A.out_shape == (3, 2)
    with pytest.raises(ValueError, match="multiples of factor 4"):
        Downsample(k, 4, (10, 8))


def test_downsample_per_sample_rho():
    x = torch.randn(2, 8, 8, generator=_g(), dtype=torch.float64)
    A = Downsample(gaussian_kernel(3, 0.8, dtype=torch.float64), 2, (8, 8))
    rho = torch.tensor([0.1, 2.0], dtype=torch.float64).view(2, 1, 1)
    out = A.solve_gram(A.gram(x) + rho * x, rho)
    torch.testing.assert_close(out, x)


def test_inpainting_keeps_masked_pixels():
    mask = torch.tensor([[1, 0], [0, 1]], dtype=torch.bool)
    x = torch.arange(8.0).view(1, 2, 2, 2)
    y = Inpainting(mask, (2, 2, 2))(x)
    torch.testing.assert_close(y, x * mask)
    with pytest.raises(ValueError, match="0/1 mask"):
        Inpainting(torch.full((2, 2), 0.5), (2, 2))
    with pytest.raises(ValueError, match="image size"):
        Inpainting(mask, (3, 3))


def test_mri_samples_kspace_and_zero_fills():
    mask = masks.equispaced_lines((8, 8), 2, 0.25, offset=0)
    A = MRI(mask, dtype=torch.complex128)
    x = torch.randn(1, 8, 8, generator=_g(), dtype=torch.complex128)
    y = A(x)
    assert (y[..., ~mask] == 0).all()
    torch.testing.assert_close(y[..., mask], fft2c(x)[..., mask])
    full = MRI(torch.ones(8, 8, dtype=torch.bool), dtype=torch.complex128)
    torch.testing.assert_close(full.H(full(x)), x)
    with pytest.raises(TypeError, match="complex"):
        MRI(mask, dtype=torch.float32)


def test_sense_of_fully_sampled_data_returns_the_image():
    maps = coil_maps(6, (10, 8), dtype=torch.complex128)
    torch.testing.assert_close(maps.abs().square().sum(0), torch.ones(10, 8, dtype=torch.float64))
    A = SENSE(torch.ones(10, 8, dtype=torch.bool), maps)
    x = torch.randn(2, 10, 8, generator=_g(), dtype=torch.complex128)
    assert A(x).shape == (2, 6, 10, 8)
    torch.testing.assert_close(A.H(A(x)), x)
    with pytest.raises(ValueError, match="same image size"):
        SENSE(torch.ones(10, 9, dtype=torch.bool), maps)
    with pytest.raises(TypeError, match="complex coil"):
        SENSE(torch.ones(10, 8, dtype=torch.bool), maps.real)


@pytest.mark.parametrize("acceleration", [4, 8])
def test_random_lines_hit_the_acceleration_with_a_full_centre(acceleration):
    m = masks.random_lines((64, 256), acceleration, 0.04, generator=_g(), batch=50)
    assert m.shape == (50, 64, 256)
    assert (m == m[:, :1]).all()  # whole lines
    assert m[:, :, 123:133].all()  # round(0.04 * 256) = 10 central columns
    assert masks.acceleration_of(m) == pytest.approx(acceleration, rel=0.1)
    assert not torch.equal(m[0], m[1])  # one mask per sample


def test_equispaced_lines():
    m = masks.equispaced_lines((4, 32), 4, 0.125, offset=1)
    cols = m[0].nonzero().flatten().tolist()
    assert {1, 5, 9, 13, 17, 21, 25, 29} <= set(cols)
    assert set(range(14, 18)) <= set(cols)  # the 4 central (ACS) lines
    with pytest.raises(ValueError, match="offset"):
        masks.equispaced_lines((4, 32), 4, offset=4)


def test_gaussian_density_and_radial():
    m = masks.gaussian_density((64, 64), 5, 0.05, generator=_g(), batch=20)
    assert masks.acceleration_of(m) == pytest.approx(5, rel=0.05)
    assert m[:, 32, 32].all()
    # denser at the centre than at the edge
    assert m[:, 24:40, 24:40].float().mean() > 2 * m[:, :8, :8].float().mean()
    r = masks.radial((64, 64), 8)
    assert r[32, 32] and 4 < masks.acceleration_of(r) < 16
    with pytest.raises(ValueError, match="acceleration"):
        masks.gaussian_density((8, 8), 0.5)
    narrow = masks.gaussian_density((64, 64), 4, 0.05, sigma=0.01, generator=_g())
    assert masks.acceleration_of(narrow) == pytest.approx(4, rel=0.1)  # no division by zero


def test_cs_operators():
    g = _g()
    A = GaussianCS((2, 4, 4), ratio=0.25, generator=g, dtype=torch.float64)
    assert A.out_shape == (8,)
    x = torch.randn(3, 2, 4, 4, generator=g, dtype=torch.float64)
    torch.testing.assert_close(A(x), x.flatten(1) @ A.matrix.M.T)
    B = BlockCS((8, 12), block=4, ratio=0.5, generator=g, dtype=torch.float64)
    assert B.out_shape == (6, 8)
    phi = B.matrix.M
    torch.testing.assert_close(phi @ phi.T, torch.eye(8, dtype=torch.float64))  # orthonormal rows
    img = torch.randn(1, 8, 12, generator=g, dtype=torch.float64)
    block = img[0, 4:8, 8:12].reshape(-1)  # block row 1, column 2: index 1 * 3 + 2
    torch.testing.assert_close(B(img)[0, 5], phi @ block)
    S = StructuredCS((8, 8), 0.5, generator=g, dtype=torch.float64)
    v = torch.randn(4, 32, generator=g, dtype=torch.float64)
    torch.testing.assert_close(S(S.H(v)), v)  # orthonormal rows
    with pytest.raises(ValueError, match="ratio"):
        StructuredCS((8, 8), 1.5)
    with pytest.raises(ValueError, match="multiples of block"):
        BlockCS((10, 12), block=4, ratio=0.5)
    with pytest.raises(TypeError, match="'fft' needs complex"):
        StructuredCS((8, 8), 0.5, "fft", dtype=torch.float32)


@pytest.mark.parametrize("wavelet", ["haar", "db2", "db4", "sym4"])
def test_wavelet_is_orthonormal(wavelet):
    W = Wavelet((2, 16, 32), wavelet, 2, dtype=torch.float64)
    x = torch.randn(3, 2, 16, 32, generator=_g(), dtype=torch.float64)
    c = W(x)
    assert torch.linalg.vector_norm(c) == pytest.approx(float(torch.linalg.vector_norm(x)))
    torch.testing.assert_close(W.H(c), x)
    torch.testing.assert_close(W(W.H(x)), x)


def test_haar_matches_pywavelets():
    pywt = pytest.importorskip("pywt")
    x = torch.randn(1, 8, 8, generator=_g(), dtype=torch.float64)
    c = Wavelet((8, 8), "haar", 1, dtype=torch.float64)(x)[0].numpy()
    cA, (cH, cV, cD) = pywt.dwt2(x[0].numpy(), "haar", mode="periodization")
    np.testing.assert_allclose(c[:4, :4], cA, atol=1e-12)
    np.testing.assert_allclose(c[4:, :4], cH, atol=1e-12)  # high-pass along rows (H)
    np.testing.assert_allclose(c[:4, 4:], cV, atol=1e-12)
    np.testing.assert_allclose(c[4:, 4:], cD, atol=1e-12)


def test_wavelet_rejects_bad_input():
    with pytest.raises(ValueError, match="multiples of 2"):
        Wavelet((12, 12), levels=3)
    with pytest.raises(ValueError, match="unknown wavelet"):
        Wavelet((16, 16), "nope")
    with pytest.raises(ValueError, match="orthogonal"):
        Wavelet((16, 16), "bior2.2")


def test_gradient_is_forward_differences_with_neumann_boundary():
    x = torch.tensor([[[0.0, 1.0, 3.0], [2.0, 2.0, 2.0]]])
    g = Gradient((2, 3))(x)
    torch.testing.assert_close(g[0, 0], torch.tensor([[2.0, 1.0, -1.0], [0.0, 0.0, 0.0]]))
    torch.testing.assert_close(g[0, 1], torch.tensor([[1.0, 2.0, 0.0], [0.0, 0.0, 0.0]]))
