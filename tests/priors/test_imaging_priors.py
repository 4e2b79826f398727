"""TV, wavelet-L1 and plug-and-play priors: their proxes solve their problems."""

from __future__ import annotations

import pytest
import torch

import unrolled as ur
from unrolled.nn import DnCNN
from unrolled.ops import Wavelet
from unrolled.priors import TV, Denoiser, WaveletL1, soft_threshold


def _g(seed=0):
    return torch.Generator().manual_seed(seed)


def _objective(prior, x, v, tau):
    return 0.5 * (x - v).abs().square().flatten(1).sum(1) + tau * prior.value(x)


def test_tv_prox_beats_skimage_chambolle_on_the_objective():
    restoration = pytest.importorskip("skimage.restoration")
    v = torch.rand(1, 32, 24, generator=_g(), dtype=torch.float64)
    tau = 0.1
    prior = TV(iterations=300)
    ours = prior(v, tau)
    ref = torch.from_numpy(
        restoration.denoise_tv_chambolle(v[0].numpy(), weight=tau, eps=1e-8, max_num_iter=5000)
    )[None]
    assert float(_objective(prior, ours, v, tau)) <= float(_objective(prior, ref, v, tau)) + 1e-6


def test_tv_prox_is_optimal_against_perturbations():
    v = torch.rand(2, 2, 12, 12, generator=_g(), dtype=torch.float64)
    prior = TV(iterations=500)
    tau = torch.tensor([0.05, 0.2], dtype=torch.float64).view(2, 1, 1, 1)
    x = prior(v, tau)
    best = _objective(prior, x, v, tau.flatten())
    for seed in range(5):
        d = 1e-3 * torch.randn(x.shape, generator=_g(seed), dtype=torch.float64)
        assert (_objective(prior, x + d, v, tau.flatten()) >= best - 1e-9).all()


def test_tv_prox_of_complex_and_one_dimensional_signals():
    prior = TV(iterations=200)
    z = torch.randn(1, 10, 10, generator=_g(), dtype=torch.complex128)
    out = prior(z, 0.3)
    assert out.dtype == z.dtype and float(prior.value(out)) < float(prior.value(z))
    s = torch.tensor([[0.0, 0.0, 1.0, 1.0]], dtype=torch.float64)
    assert float(prior.value(s)) == 1.0
    torch.testing.assert_close(prior(s, 0.0), s)


def test_tv_prox_is_differentiable():
    v = torch.rand(1, 6, 6, generator=_g(), dtype=torch.float64, requires_grad=True)
    tau = torch.tensor(0.1, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: TV(iterations=10)(a, tau.detach()), (v,))
    TV(iterations=10)(v, tau).square().sum().backward()  # the projection's kinks aside
    assert torch.isfinite(tau.grad) and tau.grad != 0


def test_wavelet_l1_prox_soft_thresholds_the_details_only():
    shape = (16, 16)
    v = torch.randn(2, *shape, generator=_g(), dtype=torch.float64)
    prior = WaveletL1(shape, "db2", 2, dtype=torch.float64)
    W = Wavelet(shape, "db2", 2, dtype=torch.float64)
    c = W(prior(v, 0.5))
    expected = soft_threshold(W(v), 0.5)
    coarse = W.approximation_mask()
    torch.testing.assert_close(c[:, ~coarse], expected[:, ~coarse])
    torch.testing.assert_close(c[:, coarse], W(v)[:, coarse])
    assert float(prior.value(v)[0]) == pytest.approx(float(W(v)[0][~coarse].abs().sum()))
    full = WaveletL1(shape, "haar", 1, approximation=True, dtype=torch.float64)
    assert full.state_dict() == {}  # nothing to save
    assert full.to(torch.float32)(v.float(), 0.1).dtype == torch.float32


def test_denoiser_calls_blind_and_conditioned_networks():
    blind = Denoiser(DnCNN(channels=1, depth=3, width=4))
    v = torch.randn(2, 1, 8, 8)
    torch.testing.assert_close(blind(v, 0.04), v)  # untrained DnCNN is the identity

    class Conditioned(torch.nn.Module):
        def forward(self, x, sigma):
            return x * sigma

    torch.testing.assert_close(Denoiser(Conditioned())(v, 0.04), 0.2 * v)

    class WithOption(torch.nn.Module):  # a second argument with a default is not σ
        def forward(self, x, scale=3.0):
            return x * scale

    torch.testing.assert_close(Denoiser(WithOption())(v, 0.04), 3 * v)
    torch.testing.assert_close(Denoiser(WithOption(), conditioned=True)(v, 0.04), 0.2 * v)
    with pytest.raises(NotImplementedError):
        blind.value(v)
    with pytest.raises(TypeError, match=r"nn\.Module"):
        Denoiser(lambda x: x)


def test_priors_are_registered():
    assert {"l1", "l2", "tv", "wavelet-l1", "denoiser", "box", "nonnegative"} <= set(
        ur.list_models("prior")
    )


def test_tv_takes_per_feature_and_per_sample_weights():
    v = torch.rand(2, 2, 6, 6, generator=_g(), dtype=torch.float64)
    prior = TV(iterations=50)
    per_channel = torch.tensor([0.05, 0.2], dtype=torch.float64).view(2, 1, 1)
    out = prior(v, per_channel)
    for c in range(2):
        torch.testing.assert_close(out[:, c], prior(v[:, c], float(per_channel[c])))
