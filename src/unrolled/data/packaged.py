"""Data files that installed wheels ship (MovieLens-100K in recbole's, the MNI152 template in
nilearn's): found where the package is installed, without importing it."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def packaged_file(package: str, relative: str | Path) -> Path | None:
    """``relative`` inside the installed ``package``, or None when either is absent. The
    package is located (``importlib.util.find_spec``), never imported: its own dependencies
    need not be installed."""
    spec = importlib.util.find_spec(package)
    for root in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(root) / relative
        if candidate.is_file():
            return candidate
    return None


__all__ = ["packaged_file"]
