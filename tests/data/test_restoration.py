"""Imaging problems with an operator per batch, and `fit` on them (exact resume included)."""

from __future__ import annotations

import pytest
import torch

import unrolled as ur
from tests.train.test_fit import Kill, kill_at
from unrolled.data import CompressiveImaging, Deblurring, MRIReconstruction, SuperResolution
from unrolled.data.images import TEST_IMAGES
from unrolled.nn import DnCNN
from unrolled.ops import SENSE, Blur
from unrolled.priors import Denoiser
from unrolled.train import fit

pytest.importorskip("skimage")


def test_deblurring_samples_carry_their_own_kernels():
    p = Deblurring(size=32, kernel_size=9, noise=(0.01, 0.02), validation_size=4)
    x, y, A = p.sample(3)
    assert x.shape == y.shape == (3, 1, 32, 32) and isinstance(A, Blur) and A.batch_size == 3
    assert 0.005 < float((y - A(x)).std()) < 0.03
    xv, _, Av = p.validation
    assert xv.shape[0] == 4 and Av.batch_size == 4
    xt, _, _ = p.test
    assert xt.shape[0] == len(TEST_IMAGES)
    again = Deblurring(size=32, kernel_size=9, noise=(0.01, 0.02), validation_size=4)
    torch.testing.assert_close(again.sample(3)[1], y)  # seeded
    with pytest.raises(ValueError, match="kernel_size"):
        Deblurring(size=16, kernel_size=25)
    with pytest.raises(ValueError, match="noise"):
        Deblurring(noise=(0.1, 0.0))


def test_mri_samples_are_complex_with_a_mask_each():
    p = MRIReconstruction(size=32, acceleration=4, coils=4, validation_size=2)
    x, y, A = p.sample(2)
    assert x.is_complex() and isinstance(A, SENSE) and y.shape == (2, 4, 32, 32)
    assert not torch.equal(A.mask[0], A.mask[1])
    assert (y[:, :, ~A.mask[0].bool()][:1] == 0).all()


def test_mri_on_mni_slices_trains_validates_and_tests_on_disjoint_slices():
    pytest.importorskip("nibabel")
    from unrolled.data import mni

    if mni.mni_template_path() is None:
        pytest.skip("the nilearn wheel (MNI152 template) is absent")
    p = MRIReconstruction(size=32, coils=2, images="mni", validation_size=3)
    slices = {s: mni.mni_slices(s, 32) for s in mni.SPLITS}
    x, y, _ = p.sample(4)
    assert x.shape == (4, 32, 32) and y.shape == (4, 2, 32, 32)
    magnitudes = x.abs()[:, None]
    for row in magnitudes:  # a training slice, flipped or not
        assert any(
            torch.allclose(row, t) or torch.allclose(row, t.flip(-1))
            for t in slices["train"][:, None]
        )
    torch.testing.assert_close(p.validation[0].abs(), slices["validation"][:3])
    torch.testing.assert_close(p.test[0].abs(), slices["test"])
    assert "MNI152" in p.describe() and "images='mni'" in repr(p)
    with pytest.raises(ValueError, match="images: expected one of"):
        MRIReconstruction(size=32, images="knee")


def test_mri_baselines_tune_on_validation_and_beat_zero_filling(monkeypatch):
    from unrolled.data import classical, restoration

    monkeypatch.setattr(classical, "TV_PDHG_ITERATIONS", 30)
    p = MRIReconstruction(size=32, coils=4, validation_size=2)
    weights = p.tuned_weights()
    assert weights["TV-PDHG (tuned)"] in restoration.MRI_TV_GRID
    assert weights["CG-SENSE (tuned)"] in restoration.CG_GRID
    x = p.test[0]
    scores = {k: p.metric(run(1)[-1], x) for k, run in p.baselines().items()}
    assert list(scores) == ["zero-filled", "CG-SENSE (tuned)", "TV-PDHG (tuned)"]
    assert scores["TV-PDHG (tuned)"] > scores["zero-filled"] + 1
    single = MRIReconstruction(size=32, coils=1, validation_size=2).baselines()
    assert "CG-SENSE (tuned)" not in single


@pytest.mark.parametrize(
    ("problem", "names"),
    [
        (
            lambda: Deblurring(size=24, kernel_size=5, validation_size=2),
            ["Wiener (tuned)", "TV-ADMM (tuned)"],
        ),
        (lambda: CompressiveImaging(size=33, validation_size=2), ["TV-FISTA (tuned)"]),
        (lambda: SuperResolution(size=24, validation_size=2), ["HQS-TV (tuned)"]),
    ],
)
def test_restoration_baselines_are_the_linear_start_and_tuned_classical_methods(problem, names):
    p = problem()
    baselines = p.baselines()
    assert list(baselines) == ["linear (ridge 0.01)", *names]
    x = p.test[0]
    linear = p.metric(baselines["linear (ridge 0.01)"](1)[-1], x)
    best = max(p.metric(baselines[n](1)[-1], x) for n in names)
    assert best > linear  # tuned on validation patches, better on the held-out images
    assert set(p.tuned_weights()) == set(names)


def _net():
    torch.manual_seed(0)
    return ur.unroll(
        ur.algorithms.HQS(),
        3,
        learn=["mu", "threshold"],
        replace={"prox": lambda k: Denoiser(DnCNN(depth=3, width=4, batch_norm=False))},
    )


def test_fit_trains_on_per_batch_operators_and_resumes_exactly(tmp_path):
    kwargs = dict(
        schedule="end-to-end",
        max_steps=12,
        lr=1e-3,
        batch_size=2,
        checkpoint_every=3,
        eval_every=4,
        progress=False,
    )
    problem = lambda: Deblurring(size=16, kernel_size=5, validation_size=2)  # noqa: E731
    whole = _net()
    fit(whole, problem(), run_dir=tmp_path / "whole", **kwargs)
    killed = _net()
    with pytest.raises(Kill):
        fit(killed, problem(), run_dir=tmp_path / "cut", callback=kill_at(8), **kwargs)
    resumed = _net()
    fit(resumed, problem(), resume=tmp_path / "cut", **kwargs)
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    with pytest.raises(ValueError, match="validation_size"):
        fit(_net(), problem(), validation_size=1, max_steps=1, progress=False)


def test_compressive_imaging_measures_with_one_fixed_block_matrix():
    from unrolled.data import CompressiveImaging

    p = CompressiveImaging(size=66, ratio=0.25, validation_size=2)
    x, y, A = p.sample(3)
    assert x.shape == (3, 1, 66, 66) and y.shape == (3, 1, 4, 272)
    torch.testing.assert_close(y, A(x))
    big = p.blocks((1, 132, 132))
    torch.testing.assert_close(big.matrix.M, A.matrix.M)  # the same Φ at any size
    assert p.operator is p.validation[2]
    with pytest.raises(ValueError, match="shape"):
        CompressiveImaging(size=64)


def test_super_resolution_draws_a_kernel_per_sample_and_checks_its_arguments():
    from unrolled.data import SuperResolution

    p = SuperResolution(size=32, scale=4, validation_size=2, noise=0.0)
    x, y, A = p.sample(2)
    assert x.shape == (2, 1, 32, 32) and y.shape == (2, 1, 8, 8) and A.batch_size == 2
    torch.testing.assert_close(y, A(x))
    with pytest.raises(ValueError, match="size"):
        SuperResolution(size=30, scale=4)
    with pytest.raises(ValueError, match="kernel_sigma"):
        SuperResolution(kernel_sigma=(0.5, 0.1))
    with pytest.raises(ValueError, match="noise"):
        SuperResolution(noise=(0.1, 0.0))


@pytest.mark.parametrize(
    "make, bad, message",
    [
        (lambda t: CompressiveImaging(size=33, validation_size=2, test_size=t), 50, "block"),
        (lambda t: SuperResolution(size=32, validation_size=2, test_size=t), 47, "scale"),
        (lambda t: Deblurring(size=32, kernel_size=25, validation_size=2, test_size=t), 20, "most"),
        (lambda t: MRIReconstruction(size=32, coils=4, validation_size=2, test_size=t), 0, "test"),
    ],
)
def test_a_model_trained_on_patches_is_tested_on_larger_images(make, bad, message):
    p = make(66)
    x, y, A = p.test
    assert x.shape[0] == len(TEST_IMAGES) and x.shape[-2:] == (66, 66)
    assert A(x).shape == y.shape  # measured by an operator of the test images' size
    assert p.validation[0].shape[-1] == p.sample(1)[0].shape[-1] == p.size  # patches
    assert "test_size=66" in repr(p) and "test_size" not in repr(make(None))
    with pytest.raises(ValueError, match=message):
        make(bad)
