"""The MNI152 T1 slices: splits by slice with no shared anatomy, shapes, normalisation."""

from __future__ import annotations

import pytest
import torch

from unrolled.data import mni


def test_the_splits_are_disjoint_blocks_apart():
    split = mni.slice_split(150)
    owner = {i: name for name, idx in split.items() for i in idx}
    assert sum(len(v) for v in split.values()) == len(owner)  # no slice in two splits
    assert all(split.values())
    for i in owner:  # slices of another split are more than 2·GAP mm away
        for j in range(i - 2 * mni.GAP, i + 2 * mni.GAP + 1):
            assert owner.get(j, owner[i]) == owner[i], (i, j)
    assert len(split["train"]) > 2 * len(split["test"]) > 0


needs_template = pytest.mark.skipif(
    mni.mni_template_path() is None, reason="the nilearn wheel (MNI152 template) is absent"
)


@needs_template
def test_slices_are_normalised_square_and_held_out():
    pytest.importorskip("nibabel")
    sets = {s: mni.mni_slices(s, 64) for s in mni.SPLITS}
    for x in sets.values():
        assert x.ndim == 3 and x.shape[1:] == (64, 64) and x.dtype == torch.float32
        assert float(x.min()) == 0.0 and 0.95 < float(x.max()) <= 1.0
        assert ((x > 0.05).flatten(1).float().mean(1) > 0.05).all()  # every slice has anatomy
    assert sets["train"].shape[0] > 2 * sets["test"].shape[0]
    for a in sets["test"]:  # no test slice is a training slice
        assert all((a - b).abs().mean() > 1e-3 for b in sets["train"])


def test_a_missing_template_says_how_to_get_it(monkeypatch):
    monkeypatch.setattr(mni, "mni_template_path", lambda: None)
    with pytest.raises(FileNotFoundError, match="pip install --no-deps nilearn"):
        mni.mni_slices("test")
    with pytest.raises(ValueError, match="split: expected one of"):
        mni.mni_slices("holdout")
