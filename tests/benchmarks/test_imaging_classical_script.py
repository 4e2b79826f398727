"""The imaging benchmark's parts run end to end (tiny sizes) and write what the README reads."""

from __future__ import annotations

import json

import pytest

from tests.benchmarks._load import load

pytest.importorskip("skimage")


@pytest.fixture(scope="module")
def bench():
    return load("imaging_classical")


def test_every_part_writes_its_results_and_the_tables(bench, tmp_path, capsys):
    out = tmp_path / "ic.json"
    common = ["--size", "48", "--iterations", "6", "--reps", "2", "--out", str(out)]
    for part in ("cs", "mri", "deblur", "sr", "speed", "cg-memory"):
        bench.main(["--part", part, *common])
    data = json.loads(out.read_text())
    assert data["cs"]["25%"]["tv-fista"]["weight"] is not None
    assert set(data["mri"]["multi-coil 8x"]) >= {
        "zero-filled",
        "cg-sense",
        "tv-pdhg",
        "wavelet-fista",
    }
    assert data["deblur"]["gaussian (25×25, σ 1.6), noise 2.55/255"]["wiener"]["psnr"] > 0
    assert data["sr"]["x2 (Gaussian blur σ 0.8)"]["bicubic"]["ssim"] <= 1
    assert data["speed"]["blur 25×25"]["speedup"] > 0
    assert data["cg_memory"]["cg_solve_constant"]
    bench.main(["--table", "--out", str(out)])
    table = capsys.readouterr().out
    assert "| Block CS 33×33" in table and "`cg_solve`" in table


def test_bicubic_is_aligned_with_downsample(bench):
    import torch

    x = torch.arange(16.0).view(1, 1, 4, 4)  # linear ramps: cubic interpolation is exact inside
    up = bench.bicubic(x[..., ::2, ::2], 2)
    torch.testing.assert_close(up[..., :3, :3], x[..., :3, :3])


def test_the_mri_part_on_mni_slices(bench, tmp_path, monkeypatch, capsys):
    pytest.importorskip("nibabel")
    from unrolled.data import mni_template_path

    if mni_template_path() is None:
        pytest.skip("the nilearn wheel (MNI152 template) is absent")
    monkeypatch.setattr(bench, "MNI_SIZE", 32)
    out = tmp_path / "ic.json"
    bench.main(["--part", "mri-mni", "--iterations", "4", "--out", str(out)])
    data = json.loads(out.read_text())["mri_mni"]
    assert data["image_size"] == 32 and "MNI152" in data["images"]
    assert len(data["multi-coil 4x"]["tv-pdhg"]["psnr_per_image"]) == 16  # the test slices
    bench.main(["--table", "--out", str(out)])
    assert "| MRI, MNI152 brain slices (32²" in capsys.readouterr().out
