"""`benchmarks/weights.py` packages a finished run as shipped weights, with its margin over the
best baseline in the direction of the problem's metric: an NRMSE run (lower is better) here."""

from __future__ import annotations

import json

import pytest

import unrolled as ur
from tests.benchmarks._load import load
from unrolled.cli import main

pytest.importorskip("safetensors")

TINY = """model: {name: em-net, layers: 2, depth: 2, width: 4}
problem: {name: emission-tomography, size: 16, angles: 8, subsets: 2, validation_size: 2, test_size: 3}
train: {max_steps: 2, batch_size: 2, progress: false}
"""


def test_an_nrmse_run_ships_with_its_margin_and_table(tmp_path, monkeypatch, capsys):
    from unrolled import pretrained

    bench = load("weights")
    monkeypatch.setattr(ur.data.emission, "MAX_ITERATIONS", 10)
    monkeypatch.setattr(ur.data.emission, "MAP_GRID", (0.1, 1.0))
    monkeypatch.setattr(ur.data.emission, "MAP_ITERATIONS", 10)
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path / "weights")
    config = tmp_path / "em.yaml"
    config.write_text(TINY)
    run = tmp_path / "run"
    assert main(["train", str(config), "--run-dir", str(run)]) == 0
    out = tmp_path / "results.json"
    summary = bench.package(run, "tiny", str(config), results=out)
    assert summary["metric"] == "nrmse"
    best = min(b["nrmse"] for b in summary["baselines"].values())
    assert summary["margin"] == pytest.approx(best - summary["model"]["nrmse"], abs=1e-3)
    entry = pretrained.info("em-net", "tiny")
    assert entry.check["metric"] == "nrmse" and entry.results["margin"] == summary["margin"]
    assert json.loads(out.read_text())["shipped"]["em-net/tiny"]["margin"] == summary["margin"]
    table = bench.table(out)
    assert "| weights, test NRMSE (%) |" in table and " points |" in table
    assert bench.margin(ur.metrics.psnr_metric(), 30.0, {"a": {"psnr_db": 29.0}}) == 1.0
