"""The EM benchmark trains em-net for a few steps, scores it per layer beside MLEM and OSEM and
the tuned baselines, finds MLEM's iterations to match, and prints its table."""

from __future__ import annotations

import itertools
import json

import unrolled as ur
from tests.benchmarks._load import load

TINY = """model: {name: em-net, layers: 3, depth: 3, width: 8}
problem: {name: emission-tomography, size: 24, angles: 12, subsets: 3, validation_size: 4, test_size: 4}
run_dir: runs/em-tiny
"""


def test_a_short_run_writes_its_json_and_table(tmp_path, monkeypatch, capsys):
    bench = load("em")
    monkeypatch.setattr(ur.data.emission, "MAX_ITERATIONS", 20)
    monkeypatch.setattr(ur.data.emission, "MAP_GRID", (0.1, 1.0))
    monkeypatch.setattr(ur.data.emission, "MAP_ITERATIONS", 20)
    config = tmp_path / "em.yaml"
    config.write_text(TINY)
    out = tmp_path / "em.json"
    argv = ["--config", str(config), "--steps", "4", "--max-iterations", "30", "--out", str(out),
            "--run-dir", str(tmp_path / "run"), "--phantoms", "2", "--realisations", "3",
            "--bias-iterations", "5"]  # fmt: skip
    result = bench.main(argv)
    saved = json.loads(out.read_text())
    assert saved == json.loads(json.dumps(result))
    assert [len(v) for v in saved["per_layer"].values()] == [3, 3, 3]
    assert set(saved["baselines"]) == {
        "FBP (Hann)", "MLEM (tuned stop)", "OSEM (3 subsets, tuned stop)", "MAP-EM (tuned)"
    }  # fmt: skip
    reach = saved["mlem_iterations_to_reach_network"]
    assert reach is None or 1 <= reach <= 30
    assert "**em-net**, 3 layers" in capsys.readouterr().out
    assert (tmp_path / "run" / "weights.safetensors").is_file()
    assert ur.runs.load_config(tmp_path / "run" / "config.yaml").model == "em-net"  # shippable
    assert len(saved["mlem_per_iteration"]) == 30
    assert (tmp_path / "em.png").stat().st_size > 10_000
    assert [len(v) for v in saved["log_likelihood"].values()] == [3, 30]
    likelihood = saved["log_likelihood"]["MLEM"]  # MLEM's is monotone
    assert all(b >= a - 1e-6 * abs(a) for a, b in itertools.pairwise(likelihood))
    spread = saved["bias_std"]
    assert (spread["phantoms"], spread["realisations"]) == (2, 3)
    assert len(spread["em-net"]) == 3 and len(spread["MLEM"]) == 5
    again = bench.main([*argv[:-8], "--from-run", str(tmp_path / "run"), "--phantoms", "2",
                        "--realisations", "3", "--bias-iterations", "5"])  # fmt: skip
    assert again["network"] == saved["network"] and again["training"]["steps"] == 4
    assert bench.first_reaching([5.0, 4.0, 3.0], 4.5) == 2
    assert bench.first_reaching([5.0, 4.0], 1.0) is None
