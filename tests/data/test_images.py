"""Bundled images, the train/test split by image, patches, phantoms and measurement helpers."""

from __future__ import annotations

import pytest
import torch

from unrolled.data import (
    ImagePatches,
    add_noise,
    load_image,
    mri_slice,
    noise_levels,
    random_ellipses,
    random_kernels,
    shepp_logan,
    smooth_phase,
    test_images,
)
from unrolled.data.images import CATALOGUE, TEST_IMAGES, TRAIN_IMAGES, dihedral, split_images

pytest.importorskip("skimage")


def test_split_is_by_image_and_disjoint():
    assert not set(TEST_IMAGES) & set(TRAIN_IMAGES)
    assert set(TEST_IMAGES) | set(TRAIN_IMAGES) == set(CATALOGUE)
    for grey in (True, False):
        assert not set(split_images("train", grey)) & set(split_images("test", grey))
    assert split_images("test", grayscale=False) == ("astronaut", "coffee")


def test_every_image_loads_offline_in_range():
    for name in CATALOGUE:
        im = load_image(name)
        assert im.ndim == 3 and im.shape[0] == 1 and im.dtype == torch.float32
        assert 0 <= float(im.min()) and float(im.max()) <= 1
    assert load_image("astronaut", grayscale=False).shape == (3, 512, 512)
    with pytest.raises(ValueError, match="grey image"):
        load_image("camera", grayscale=False)
    with pytest.raises(ValueError, match="expected one of"):
        load_image("lena")


def test_patches_are_seeded_augmented_and_from_their_split():
    a = ImagePatches("train", size=32, seed=3).sample(6)
    b = ImagePatches("train", size=32, seed=3).sample(6)
    assert a.shape == (6, 1, 32, 32)
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, ImagePatches("train", size=32, seed=4).sample(6))
    colour = ImagePatches("train", size=16, grayscale=False).sample(2)
    assert colour.shape == (2, 3, 16, 16)
    with pytest.raises(ValueError, match="size"):
        ImagePatches(size=10_000)


def test_dihedral_group():
    x = torch.arange(6.0).view(1, 2, 3)
    images = {(*dihedral(x, k).flatten().tolist(), *dihedral(x, k).shape) for k in range(8)}
    assert len(images) == 8


def test_test_images_are_centre_crops():
    names, x = test_images(128)
    assert names == TEST_IMAGES and x.shape == (6, 1, 128, 128)
    torch.testing.assert_close(x[0, 0], load_image("camera")[0, 192:320, 192:320])


def test_mri_slice_and_phantoms():
    s = mri_slice()
    assert s.shape == (256, 256) and float(s.max()) == 1.0 and float(s.mean()) > 0.05
    p = shepp_logan(64)
    assert p.shape == (64, 64) and float(p.max()) == 1.0 and float(p.min()) == 0.0
    e = random_ellipses(32, generator=torch.Generator().manual_seed(0), batch=3)
    assert e.shape == (3, 32, 32) and not torch.equal(e[0], e[1])
    phase = smooth_phase((8, 8), generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(phase.abs(), torch.ones(8, 8))


def test_noise_and_kernels():
    g = torch.Generator().manual_seed(0)
    y = torch.zeros(4, 1000, dtype=torch.float64)
    sigma = torch.tensor([0.0, 0.1, 0.2, 0.3])
    n = add_noise(y, sigma, g)
    torch.testing.assert_close(n.std(1), sigma.double(), atol=0.03, rtol=0)
    z = add_noise(torch.zeros(1, 4000, dtype=torch.complex128), 0.5, g)
    assert float(z.abs().square().mean()) == pytest.approx(0.25, rel=0.1)
    with pytest.raises(ValueError, match="one level per sample"):
        add_noise(y, torch.ones(3), g)
    levels = noise_levels(100, 0.01, 0.05, g)
    assert float(levels.min()) >= 0.01 and float(levels.max()) <= 0.05
    k = random_kernels(3, 15, "gaussian", generator=g)
    assert k.shape == (3, 15, 15)
    torch.testing.assert_close(k.sum((1, 2)), torch.ones(3))
    with pytest.raises(ValueError, match="kind"):
        random_kernels(2, kind="box")
