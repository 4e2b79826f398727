"""The SBL benchmark trains sbl-net, ALISTA and LISTA-CPSS on the correlated dictionary for a
few seconds each, runs SBL-EM over its noise grid, counts its iterations to match sbl-net, and
prints its table."""

from __future__ import annotations

import json

from tests.benchmarks._load import load


def test_a_short_run_writes_its_json_and_table(tmp_path, capsys):
    bench = load("sbl")
    out = tmp_path / "sbl.json"
    argv = ["--m", "10", "--n", "30", "--sparsity", "0.1", "--layers", "3", "--seconds", "1",
            "--max-iterations", "25", "--out", str(out)]  # fmt: skip
    result = bench.main(argv)
    saved = json.loads(out.read_text())
    assert saved == json.loads(json.dumps(result))
    assert set(saved["networks"]) == {"sbl-net", "alista", "lista-cpss"}
    assert all(len(v["nmse_db_per_layer"]) == 3 for v in saved["networks"].values())
    s = saved["sbl_em"]
    assert len(s["nmse_db_per_iteration"]) == 25 and s["noise_long"] in bench.NOISE_GRID
    reach = [r for r in s["iterations_to_reach_sbl_net"].values() if r is not None]
    assert saved["sbl_em_fewest_iterations_to_reach_sbl_net"] == (min(reach) if reach else None)
    assert set(saved["checks"]) == {
        "sbl_net_beats_alista_and_lista_cpss", "sbl_em_needs_10x_layers_or_never"
    }  # fmt: skip
    assert "| sbl-net (1 s" in capsys.readouterr().out
    assert bench.first_reaching([-1.0, -5.0, -9.0], -4.0) == 2
    assert bench.first_reaching([-1.0], -4.0) is None
