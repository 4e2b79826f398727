"""`unrolled demo --task mimo`: OAMP-Net2 trains, then its SER is printed next to MMSE, OAMP and
ML on the same samples."""

from __future__ import annotations

from unrolled.cli import main
from unrolled.demos.mimo import run_mimo_demo


def test_the_demo_measures_every_detector_at_every_snr(tmp_path):
    lines = []
    demo = run_mimo_demo(1, tmp_path, layers=3, snrs=(5.0, 15.0), symbols=4000, log=lines.append)
    assert set(demo.ser) == {"MMSE", "OAMP (3 it.)", "OAMP-Net2", "ML"}
    for name, rates in demo.ser.items():
        assert len(rates) == 2 and rates[0] > rates[1], name  # fewer errors at higher SNR
        for rate, (lo, hi) in zip(rates, demo.interval[name], strict=True):
            assert lo <= rate <= hi
    assert demo.ser["ML"][1] <= demo.ser["MMSE"][1]
    assert "Symbol error rate" in "\n".join(lines) and (tmp_path / "weights.safetensors").exists()


def test_cli_runs_the_mimo_demo(tmp_path, capsys):
    assert main(["demo", "--task", "mimo", "--seconds", "1", "--run-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "OAMP-Net2" in out and "ML" in out and "20.0" in out
