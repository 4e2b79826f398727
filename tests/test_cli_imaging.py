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


@pytest.mark.parametrize(("task", "classical"), [("deblur", "Wiener"), ("mri", "TV (PDHG")])
def test_imaging_demo_draws_the_before_after_figure(task, classical, tmp_path, capsys):
    assert main(["demo", "--task", task, "--seconds", "1", "--run-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert classical in out and "dB" in out
    figure = tmp_path / f"{task}.png"
    assert figure.is_file() and figure.stat().st_size > 10_000


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
