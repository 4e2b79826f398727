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


def test_a_model_registers_its_recipe_and_its_networks_carry_it():
    recipe = ur.Recipe({"schedule": "end-to-end", "lr": 1e-2}, notes="measured in this test")

    def tiny(*, operator=None, layers=2):
        """A test model."""
        return ur.unroll(ISTA, layers, learn=["step"], operator=operator)

    try:
        factory = ur.register("test-recipe-model", recipe=recipe)(tiny)
        assert factory.__wrapped__ is tiny and factory.__doc__ == tiny.__doc__
        assert ur.recipe_of("test-recipe-model") is recipe
        assert ur.create("test-recipe-model").recipe is recipe
        assert factory(layers=3).recipe is recipe
        assert recipe.summary() == "schedule end-to-end; lr 0.01"
        assert recipe.resolve(None, None) == {"schedule": "end-to-end", "lr": 1e-2}
    finally:
        from unrolled.core import registry

        registry._REGISTRY.pop("test-recipe-model", None)
        registry._RECIPES.pop("test-recipe-model", None)
    assert ur.recipe_of("ista") is None


def test_recipes_are_checked():
    with pytest.raises(ValueError, match="recipe: only a model factory"):
        ur.register("test-recipe-algorithm", recipe=ur.Recipe())(type("X", (ur.Algorithm,), {}))
    with pytest.raises(TypeError, match=r"recipe: expected an unrolled\.Recipe"):
        ur.register("x", recipe={"lr": 1.0})
    with pytest.raises(TypeError, match="settings: expected a mapping"):
        ur.Recipe(["lr"])
    with pytest.raises(TypeError, match="derive: expected a callable"):
        ur.Recipe(derive=3)
