"""The documentation site builds strictly (what `make docs` runs), and its gallery shows every
example; tests/test_examples.py runs them."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_docs_build_strictly(tmp_path):
    """`mkdocs build --strict`: a broken link or anchor, a page missing from the nav, a
    reference that mkdocstrings cannot resolve or a missing snippet fails the build."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # mkdocs-material's banner, not ours
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    log = done.stdout + done.stderr
    warnings = [line for line in log.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert done.returncode == 0 and not warnings, log
    assert (tmp_path / "index.html").exists()
    assert (tmp_path / "api" / "train" / "index.html").exists()


def test_gallery_shows_every_example():
    gallery = (ROOT / "docs" / "examples.md").read_text()
    shown = set(re.findall(r'--8<-- "(examples/[\w.]+\.py)"', gallery))
    examples = {f"examples/{p.name}" for p in (ROOT / "examples").glob("*.py")}
    assert shown == examples
