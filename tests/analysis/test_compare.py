import torch

import unrolled as ur
from tests.conftest import sparse_problem
from unrolled.algorithms import FISTA, ISTA
from unrolled.analysis import compare_with_classical, iterations_to_reach, plot_nmse, write_report
from unrolled.analysis.report import reach_text
from unrolled.metrics import nmse_db


def test_iterations_to_reach_is_the_first_iteration_at_the_target():
    A, x, y = sparse_problem()
    _, trace = ISTA().run(y, A, iterations=30, trace=True)
    levels = [float(nmse_db(t, x)) for t in trace]
    target = levels[19]
    reached, best = iterations_to_reach(ISTA(), y, A, x, target, 100)
    assert reached == next(t + 1 for t, v in enumerate(levels) if v <= target)
    assert best <= target
    assert iterations_to_reach(ISTA(), y, A, x, -500.0, 5) == (None, min(levels[:5]))


def test_comparison_plot_and_report(tmp_path):
    A, x, y = sparse_problem()
    net = ur.unroll(ISTA, 5, learn="all", operator=A)
    result = compare_with_classical(
        net, {"ISTA": ISTA(), "FISTA": FISTA()}, y, A, x, max_iterations=50
    )
    assert len(result.network) == 5 and len(result.classical["FISTA"]) == 5
    torch.testing.assert_close(torch.tensor(result.network), torch.tensor(result.classical["ISTA"]))
    assert result.to_reach["ISTA"][0] == 5  # the untrained network is ISTA
    png = plot_nmse(result, tmp_path / "nmse.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    report = write_report(
        result, tmp_path / "report.md", title="t", label="net", details=["d"], plot="nmse.png"
    )
    text = report.read_text()
    assert "| layer | net (mean) | net (median) | ISTA | FISTA |" in text
    assert "ISTA needs 5 iterations: 1.0x" in text
    assert not list(tmp_path.glob("*.tmp"))


def test_reach_text_for_a_miss():
    assert "more than 100x" in reach_text("ISTA", (None, -7.5), 1600, 16)


def test_search_curve_is_recorded():
    A, x, y = sparse_problem()
    curve: list[float] = []
    reached, _ = iterations_to_reach(FISTA(), y, A, x, -500.0, 40, curve)
    assert reached is None and len(curve) == 40
