"""PSNR and SSIM against scikit-image."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unrolled.metrics import psnr, ssim

skimage_metrics = pytest.importorskip("skimage.metrics")


def _pair(seed=0, shape=(2, 3, 40, 33)):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=g, dtype=torch.float64)
    return (x + 0.1 * torch.randn(shape, generator=g, dtype=torch.float64)).clamp(0, 1), x


def test_psnr_matches_skimage():
    x_hat, x = _pair()
    ours = psnr(x_hat, x, data_range=1.0, reduction="none")
    for i in range(2):
        ref = skimage_metrics.peak_signal_noise_ratio(
            x[i].numpy(), x_hat[i].numpy(), data_range=1.0
        )
        assert float(ours[i]) == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize("shape", [(2, 3, 40, 33), (3, 24, 24)])
def test_ssim_matches_skimage(shape):
    x_hat, x = _pair(1, shape)
    ours = ssim(x_hat, x, data_range=1.0, reduction="none")
    for i in range(shape[0]):
        kwargs = {"channel_axis": 0} if len(shape) == 4 else {}
        ref = skimage_metrics.structural_similarity(
            x[i].numpy(),
            x_hat[i].numpy(),
            data_range=1.0,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            **kwargs,
        )
        assert float(ours[i]) == pytest.approx(ref, abs=1e-10)


def test_identical_images_and_complex_magnitude():
    _, x = _pair()
    assert float(ssim(x, x)) == pytest.approx(1.0)
    assert torch.isinf(psnr(x, x))
    z = x.to(torch.complex128) * np.exp(0.7j)
    torch.testing.assert_close(ssim(z, x.to(torch.complex128)), ssim(x, x))


def test_data_range_default_none_uses_the_reference():
    x_hat, x = _pair()
    r = x.flatten(1).amax(1) - x.flatten(1).amin(1)
    torch.testing.assert_close(psnr(x_hat, x, None, "none"), psnr(x_hat * 1, x, None, "none"))
    torch.testing.assert_close(
        psnr(x_hat, x, None, "none"),
        10 * torch.log10(r**2 / (x_hat - x).square().flatten(1).mean(1)),
    )


def test_bad_input():
    with pytest.raises(ValueError, match="images"):
        psnr(torch.rand(4, 5), torch.rand(4, 5))
    with pytest.raises(ValueError, match="at least 11 pixels"):
        ssim(torch.rand(1, 8, 8), torch.rand(1, 8, 8))
    with pytest.raises(ValueError, match="data_range"):
        psnr(torch.rand(1, 8, 8), torch.rand(1, 8, 8), data_range=-1)
