"""`unrolled.analysis` scores and draws; it trains nothing (the demos do)."""

import subprocess
import sys


def test_analysis_imports_no_training_code():
    code = (
        "import sys, unrolled.analysis, unrolled.analysis.recsys, unrolled.analysis.report; "
        "print(sorted(m for m in sys.modules if m.startswith(('unrolled.train', 'unrolled.demos'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
