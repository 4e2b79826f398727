"""The package's top level: submodules that load on first use."""

from __future__ import annotations

import subprocess
import sys

import pytest

import unrolled as ur


def test_import_unrolled_loads_no_training_code_until_asked():
    code = (
        "import sys, unrolled as ur; assert 'unrolled.train' not in sys.modules; "
        "ur.train.fit, ur.metrics.psnr, ur.data.SparseCoding; "
        "assert 'unrolled.train' in sys.modules; print(sorted(set(dir(ur)) & {'train', 'data'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['data', 'train']"


def test_a_missing_dependency_names_the_extra(monkeypatch):
    def missing(name):
        raise ModuleNotFoundError("No module named 'safetensors'", name="safetensors")

    monkeypatch.delitem(ur.__dict__, "train", raising=False)
    monkeypatch.setattr(ur.importlib, "import_module", missing)
    with pytest.raises(ImportError, match=r"pip install 'unrolled\[train\]'"):
        ur.train  # noqa: B018


def test_an_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'trian'"):
        ur.trian  # noqa: B018
