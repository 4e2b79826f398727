"""The reliability probes (issue 22), a few per category: every one ends in a clear error or a
recovered read, none in a traceback, a silent wrong result, an unnamed error or a hang."""

from __future__ import annotations

import json

from tests.benchmarks._load import load


def test_quick_probes_find_no_defect(tmp_path, capsys):
    bench = load("reliability")
    out = tmp_path / "reliability.json"
    data = bench.main(["--quick", "--out", str(out)])
    assert json.loads(out.read_text())["reliability"]["summary"] == data["summary"]
    assert len(data["summary"]) == 5
    for category, row in data["summary"].items():
        assert row["tried"] > 0, category
        bad = [p for p in data["probes"][category] if p["outcome"] not in ("clear", "ok")]
        assert not bad, (category, bad)
    assert "| bad configs (unrolled train) |" in capsys.readouterr().out
