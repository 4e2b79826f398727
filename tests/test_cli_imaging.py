"""`unrolled train` / `eval` on an imaging problem and `unrolled demo --task mri|deblur`."""

from __future__ import annotations

import pytest

from unrolled.cli import main

pytest.importorskip("matplotlib")

CONFIG = """
model: {name: ista-net, layers: 2, features: 4}
problem: {name: compressive-imaging, size: 66, ratio: 0.25, validation_size: 4}
train: {schedule: end-to-end, loss: mse, batch_size: 2, max_steps: 3, eval_every: 2, progress: false}
"""


def train_and_eval(tmp_path, capsys, text: str) -> str:
    """``unrolled train`` then ``unrolled eval`` on the config ``text``; what eval printed."""
    config = tmp_path / "config.yaml"
    config.write_text(text)
    run = tmp_path / "run"
    assert main(["train", str(config), "--run-dir", str(run)]) == 0
    assert main(["eval", str(run)]) == 0
    return capsys.readouterr().out


def test_train_and_eval_an_imaging_run(tmp_path, capsys):
    out = train_and_eval(tmp_path, capsys, CONFIG)
    assert "Test PSNR (dB) of ista-net on CompressiveImaging" in out
    assert "SSIM at the output" in out and "linear (ridge 0.01)" in out
    assert out.count("\n    1  ") + out.count("\n    2  ") >= 2  # a row per layer


def test_deblur_demo_draws_the_before_after_figure(tmp_path, capsys):
    assert main(["demo", "--task", "deblur", "--seconds", "1", "--run-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Wiener" in out and "dB" in out
    figure = tmp_path / "deblur.png"
    assert figure.is_file() and figure.stat().st_size > 10_000


def test_mri_demo_shows_shipped_weights_against_the_tuned_baselines(tmp_path, capsys, monkeypatch):
    """The demo's path, on a small stand-in for the shipped MoDL (the real one is checked in
    tests/test_pretrained.py), optionally fine-tuned."""
    pytest.importorskip("nibabel")
    pytest.importorskip("safetensors")
    import torch

    import unrolled as ur
    from unrolled import pretrained
    from unrolled.data import classical

    if ur.data.mni_template_path() is None:
        pytest.skip("the nilearn wheel (MNI152 template) is absent")
    problem = {"name": "mri-reconstruction", "size": 32, "coils": 2, "images": "mni"}
    model = {"layers": 2, "depth": 2, "width": 4, "cg_iterations": 2, "batch_norm": False}
    torch.manual_seed(0)
    net = ur.create("modl", operator=ur.create(**problem).operator, **model)
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path / "weights")
    monkeypatch.setattr(classical, "TV_PDHG_ITERATIONS", 20)  # the path, not TV's convergence
    pretrained.save(
        net, "modl", "mri-8coil-4x", model_kwargs=model, problem=problem,
        trained={"steps": 3, "seconds": 60.0, "device": "cpu"}, results={}, check={},
    )  # fmt: skip
    run = tmp_path / "run"
    assert main(["demo", "--task", "mri", "--seconds", "2", "--run-dir", str(run)]) == 0
    out = capsys.readouterr().out
    assert "shipped weights 'mri-8coil-4x'" in out and "fine-tuning for 2 s" in out
    for name in ("zero-filled", "CG-SENSE (tuned)", "TV-PDHG (tuned)", "modl (2 layers)"):
        assert name in out
    assert "16 held-out test slices" in out
    figure = run / "mri.png"
    assert figure.is_file() and figure.stat().st_size > 10_000


def test_ct_demo_shows_the_shipped_learned_primal_dual_on_shepp_logan_and_phantoms(
    tmp_path, capsys, monkeypatch
):
    pytest.importorskip("safetensors")
    import unrolled as ur

    monkeypatch.setattr(ur.data.ct, "TV_GRID", (10.0,))  # the path, not TV's tuning
    monkeypatch.setattr(ur.data.ct, "TV_ITERATIONS", 5)
    assert main(["demo", "--task", "ct", "--run-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "shipped weights 'ct-30-angles'" in out and "fine-tuning" not in out
    for name in ("FBP (ramp)", "FBP (Hann)", "TV-FISTA (tuned)", "learned-primal-dual (10 layers)"):
        assert name in out
    assert "16 test phantoms (Shepp-Logan first)" in out and "test samples 0, 1" in out
    assert (tmp_path / "ct.png").stat().st_size > 10_000


def test_pet_demo_shows_the_shipped_em_net_by_nrmse(tmp_path, capsys, monkeypatch):
    pytest.importorskip("safetensors")
    import unrolled as ur

    monkeypatch.setattr(ur.data.emission, "MAX_ITERATIONS", 20)  # the path, not the tuning
    monkeypatch.setattr(ur.data.emission, "MAP_GRID", (0.1,))
    monkeypatch.setattr(ur.data.emission, "MAP_ITERATIONS", 10)
    assert main(["demo", "--task", "pet", "--run-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "shipped weights 'pet-60-angles'" in out and "Mean NRMSE (%)" in out
    for name in ("FBP (Hann)", "MLEM (tuned stop)", "MAP-EM (tuned)", "em-net (10 layers)"):
        assert name in out
    assert "16 held-out test phantoms" in out and "test samples 0, 1" in out
    assert (tmp_path / "pet.png").stat().st_size > 10_000


def test_demo_refuses_no_training_where_the_task_needs_it(capsys):
    assert main(["demo", "--task", "deblur", "--seconds", "0"]) == 2
    assert "--seconds: expected > 0 for --task deblur" in capsys.readouterr().err


CT_CONFIG = """
model: {name: learned-primal-dual, layers: 2, width: 4}
problem: {name: ct-reconstruction, size: 24, angles: 6, validation_size: 2, test_size: 3}
train: {schedule: end-to-end, loss: mse, batch_size: 2, max_steps: 3, eval_every: 2, progress: false}
"""


def test_train_and_eval_a_ct_run(tmp_path, capsys):
    out = train_and_eval(tmp_path, capsys, CT_CONFIG)
    assert "Test PSNR (dB) of learned-primal-dual on parallel-beam CT 24x24, 6 angles" in out
    assert "FBP (ramp)" in out and "FBP (Hann)" in out and "TV-FISTA (tuned)" in out
    assert "SSIM at the output" in out
