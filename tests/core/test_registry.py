import pytest

import unrolled as ur
from unrolled.algorithms import ISTA


def test_classical_algorithms_are_registered():
    assert {"gd", "ista", "fista", "admm", "amp"} <= set(ur.list_models("algorithm"))
    assert isinstance(ur.create("ista", threshold=0.05), ISTA)
    assert ur.create("ISTA").params["threshold"].default == 0.1


def test_unknown_name_suggests_close_matches():
    with pytest.raises(ValueError, match=r"did you mean.*ista"):
        ur.create("istaa")


def test_duplicate_name_is_rejected():
    with pytest.raises(ValueError, match="already registered"):
        ur.register("ista")(type("Other", (ur.Algorithm,), {}))


def test_bad_kind():
    with pytest.raises(ValueError, match="kind"):
        ur.list_models("network")
