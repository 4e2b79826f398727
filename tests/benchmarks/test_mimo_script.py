"""The MIMO benchmark runs a system end to end (a second of training, a few hundred symbols per
point), interpolates the SNR at SER 10⁻³, and prints its table and figure."""

from __future__ import annotations

import dataclasses
import json

import pytest

from tests.benchmarks._load import load


@pytest.fixture(scope="module")
def bench():
    return load("mimo")


def _point(snr, rate):
    return {"snr_db": snr, "ser": {"rate": rate}}


def test_snr_at_interpolates_log_linearly(bench):
    curve = [_point(0, 1e-1), _point(10, 1e-2), _point(20, 1e-4)]
    assert bench.snr_at(curve, 1e-3) == pytest.approx(15.0)
    assert bench.snr_at(curve, 1e-2) == pytest.approx(10.0)
    assert bench.snr_at(curve[:2], 1e-3) is None  # never reached on the grid
    assert bench.snr_at([_point(0, 1e-2), _point(2, 0.0)], 1e-3) == 2


def test_a_system_and_its_per_snr_variant_run_and_merge(bench, tmp_path, monkeypatch, capsys):
    small = dataclasses.replace(
        bench.SYSTEMS["4x4-qpsk"], snrs=(10.0, 30.0), layers={"oamp-net2": 2, "ep-net": 2}
    )
    monkeypatch.setitem(bench.SYSTEMS, "4x4-qpsk", small)
    out = tmp_path / "mimo.json"
    argv = ["--system", "4x4-qpsk", "--seconds", "1", "--errors", "5", "--symbols", "400",
            "--batch", "100", "--out", str(out)]  # fmt: skip
    result = bench.main(argv)
    assert set(result["curves"]) == {"zf", "mmse", "oamp", "ep", "oamp-net2", "ep-net", "ml"}
    for curve in result["curves"].values():
        assert curve[0]["ser"]["trials"] >= 400 or curve[0]["ser"]["errors"] >= 5
        lo, hi = curve[0]["ser"]["ci95"]
        assert lo <= curve[0]["ser"]["rate"] <= hi
    assert result["training"]["oamp-net2"]["layers"] == result["training"]["ep-net"]["layers"] == 2
    assert json.loads(out.read_text())["4x4-qpsk"]["summary"]["ml"]["gap_to_ml_db"] in (0.0, None)

    # the authors' protocol: one network trained at each grid SNR alone, measured there
    per_snr = bench.main([*argv, "--per-snr", "--snrs", "10", "20"])
    assert set(per_snr["curves"]) == {"oamp", "oamp-net2 (one per SNR)", "ml"}
    assert [p["snr_db"] for p in per_snr["curves"]["oamp"]] == [10.0, 20.0]
    trained = per_snr["training"]
    assert trained["oamp-net2 at 10 dB"]["train_snr_db"] == [10.0, 10.0]
    assert trained["oamp-net2 at 20 dB"]["train_snr_db"] == [20.0, 20.0]
    assert set(json.loads(out.read_text())) >= {"4x4-qpsk", "4x4-qpsk per-snr"}

    bench.main(["--table", "--plot", str(tmp_path / "mimo.png"), "--out", str(out)])
    printed = capsys.readouterr().out
    assert "| 4x4-qpsk | oamp-net2 |" in printed and (tmp_path / "mimo.png").exists()
    assert "| 4x4-qpsk per-snr | oamp-net2 (one per SNR) |" in printed
