"""The GPU mode of the imaging benchmark (`benchmarks/imaging.py --gpu`), dry-run on the CPU on
a tiny stand-in config: it scores the baselines once, trains, measures, ships the weights and
merges the result under "gpu"."""

from __future__ import annotations

import json

import pytest

from tests.benchmarks._load import load

pytest.importorskip("safetensors")

CONFIG = """
model: {name: learned-primal-dual, layers: 2, width: 4}
problem: {name: ct-reconstruction, size: 24, angles: 6, validation_size: 2, test_size: 3}
train: {schedule: end-to-end, batch_size: 2, eval_every: 1}
"""


def test_the_gpu_mode_trains_measures_and_ships_each_pair(tmp_path, monkeypatch, capsys):
    from unrolled import pretrained

    bench = load("imaging")
    import imaging_gpu as gpu  # the module imaging.py imports (load() put benchmarks/ on the path)

    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "learned-primal-dual-ct.yaml").write_text(CONFIG)
    monkeypatch.setattr(gpu, "GPU_CONFIGS", configs)
    monkeypatch.setattr(gpu, "RUN_ROOT", tmp_path / "runs")
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path / "weights")
    out = tmp_path / "imaging.json"
    pairs = ["--pairs", "learned-primal-dual-ct", "--out", str(out)]
    bench.main(["--gpu", "--baselines-only", *pairs])
    (key,) = json.loads(out.read_text())["baselines"]
    assert key.startswith("CTReconstruction(size=24")
    args = ["--gpu", "--device", "cpu", "--gpu-seconds", "30", "--steps", "2", *pairs]
    result = bench.main(args)["learned-primal-dual-ct"]
    assert set(result["baselines"]) == {"FBP (ramp)", "FBP (Hann)", "TV-FISTA (tuned)"}
    assert result["trained"]["steps"] == 2 and result["trained"]["device"] == "cpu"
    data = json.loads(out.read_text())
    assert data["gpu"]["learned-primal-dual/ct-30-angles-gpu"]["margin"] == result["margin"]
    shipped = pretrained.info("learned-primal-dual", "ct-30-angles-gpu")
    assert shipped.check["value"] == pytest.approx(result["model"]["psnr_db"], abs=1e-3)
    with pytest.raises(ValueError, match="pairs: expected some of"):
        gpu.run(1, "cpu", ["nonesuch"])
