"""Run configurations: the one config model (`RunConfig`), read with ``yaml.safe_load`` and
checked once, each error naming its dotted key::

    model:                 # unrolled.create(name, operator=problem.operator, **rest)
      name: alista
      layers: 16
    problem:               # a registered problem, e.g. unrolled.data.SparseCoding(**rest)
      name: sparse-coding
      m: 250
      n: 500
    train:                 # unrolled.train.fit(model, problem, **train): FitConfig's fields
      schedule: stagewise
      max_seconds: 150
    run_dir: runs/alista   # optional; the CLI's --run-dir wins

``model`` and ``problem`` keys are checked against the signature of what they call (unknown
key, wrong type); ``train`` keys against `unrolled.train.FitConfig`'s fields, whose values
FitConfig checks when the run is built (they depend on the model's recipe and the problem).
"""

from __future__ import annotations

import functools
import inspect
import numbers
import os
import types
import typing
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import data as _problems  # noqa: F401  (registers the problems a config names)
from .core import get, list_models
from .core.checks import short_repr
from .train.config import DEFAULTS

SECTIONS = ("model", "problem", "train", "run_dir")


class ConfigError(ValueError):
    """A config key is unknown, missing or of the wrong type; the message names the key."""


@functools.cache
def _safe_loader() -> type:
    """``yaml.SafeLoader`` (no object construction) that refuses a key given twice in one
    mapping, which YAML would silently resolve to the last."""
    import yaml  # the cli extra

    class Loader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if isinstance(key, Hashable) and key in seen:
                    raise ConfigError(
                        f"config.{key}: the key is given twice in one mapping "
                        f"(line {key_node.start_mark.line + 1}); keep one"
                    )
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return Loader


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping safely (no object construction, no key given twice)."""
    import yaml  # the cli extra

    path = Path(path)
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "no such file"
        raise ConfigError(f"config: {what}: {str(path)!r}")
    try:
        data = yaml.load(path.read_text(), Loader=_safe_loader())  # a SafeLoader
    except UnicodeDecodeError as e:
        raise ConfigError(f"config: {path} is not text: {e}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"config: {path} is not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"config: expected a mapping at the top of {path}, got {type(data).__name__}"
        )
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ConfigError(
            f"config.{unknown[0]}: unknown section; expected some of {list(SECTIONS)}"
        )
    for section in ("model", "problem", "train"):
        value = data.get(section, {})
        if not isinstance(value, dict):
            raise ConfigError(f"{section}: expected a mapping, got {type(value).__name__}")
    if "run_dir" in data and not (isinstance(data["run_dir"], str) and data["run_dir"].strip()):
        got = data["run_dir"]
        got = repr(got) if isinstance(got, str) else type(got).__name__
        raise ConfigError(f"run_dir: expected a non-empty path (str), got {got}")
    return data


def _accepts(annotation: Any, value: Any) -> bool:
    """Whether ``value`` (from YAML: None, bool, int, float, str, list, dict) fits ``annotation``."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(a, value) for a in typing.get_args(annotation))
    if origin is typing.Literal:
        return value in typing.get_args(annotation)
    if annotation is type(None) or annotation is None:
        return value is None
    if origin in (tuple, list) or annotation in (tuple, list):
        return isinstance(value, list | tuple)
    if origin is dict or annotation is dict or origin is Mapping:
        return isinstance(value, dict)
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    if annotation is str:
        return isinstance(value, str)
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True  # an annotation this checker does not understand: let the callee decide


def _describe(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty:
        return "any value"
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", None)
    return str(text or annotation).replace("typing.", "")


def check_kwargs(
    fn: Callable[..., Any], values: Mapping[str, Any], section: str, skip: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Check ``values`` against ``fn``'s keyword parameters; return them as a dict.

    Raises:
        ConfigError: naming ``section.key`` for an unknown key, a missing required key, or a
            value whose type does not fit the parameter's annotation.
    """
    signature = inspect.signature(fn)
    hints = (
        typing.get_type_hints(fn)
        if not isinstance(fn, type)
        else typing.get_type_hints(fn.__init__)
    )
    params = {
        name: p
        for name, p in signature.parameters.items()
        if name not in skip and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
    open_ended = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    for key, value in values.items():
        if key not in params:
            if open_ended:
                continue
            raise ConfigError(f"{section}.{key}: unknown key; expected one of {sorted(params)}")
        annotation = hints.get(key, params[key].annotation)
        if not _accepts(annotation, value):
            raise ConfigError(
                f"{section}.{key}: expected {_describe(annotation)}, got {type(value).__name__} "
                f"{short_repr(value)}"
            )
    for name, p in params.items():
        if p.default is inspect.Parameter.empty and name not in values:
            raise ConfigError(f"{section}.{name}: required key is missing")
    return dict(values)


#: The keys of a config's ``train`` section: the training settings (`FitConfig`'s fields), and
#: the progress bar.
TRAIN_KEYS = (*DEFAULTS, "progress")
#: Keys of ``model`` when it names a classical algorithm: `unroll`'s, with their defaults.
UNROLL_KEYS = {"layers": 16, "learn": "all", "tied": False, "backprop": "full"}


@dataclass(frozen=True)
class RunConfig:
    """A checked run config: the sections' keyword arguments, ``name`` taken out."""

    model: str
    model_kwargs: dict[str, Any]
    problem: str
    problem_kwargs: dict[str, Any]
    train: dict[str, Any]
    run_dir: str | None
    text: str  # the YAML as read


def _name(section: str, values: Mapping[str, Any], choices: list[str]) -> str:
    """The section's registered ``name`` (``sparse_coding`` reads as ``sparse-coding``)."""
    if "name" not in values:
        raise ConfigError(f"{section}.name: required key is missing; expected one of {choices}")
    name = values["name"]
    key = name.lower().replace("_", "-") if isinstance(name, str) else None
    if key not in choices:
        raise ConfigError(f"{section}.name: unknown {section} {name!r}; expected one of {choices}")
    return key


def _algorithm_signature(cls: type) -> Any:
    """A stand-in for ``unroll(cls(**params), layers, learn=, tied=, backprop=)`` to check keys."""
    P = inspect.Parameter
    params = [
        P("layers", P.KEYWORD_ONLY, default=16, annotation=int),
        P("learn", P.KEYWORD_ONLY, default="all", annotation=str | list),
        P("tied", P.KEYWORD_ONLY, default=False, annotation=bool | list),
        P("backprop", P.KEYWORD_ONLY, default="full", annotation=str),
    ]
    params += [
        P(name, P.KEYWORD_ONLY, default=None, annotation=float | str)
        for name in cls.param_specs  # type: ignore[attr-defined]
        if name not in UNROLL_KEYS
    ]

    def unrolled_algorithm(**kwargs: Any) -> None:  # pragma: no cover - never called
        pass

    unrolled_algorithm.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    unrolled_algorithm.__annotations__ = {p.name: p.annotation for p in params}
    return unrolled_algorithm


def check_config(data: Mapping[str, Any], text: str = "") -> RunConfig:
    """Check a config read by `unrolled.config.load_yaml`, section by section.

    Raises:
        ConfigError: naming the key (``model.layrs``, ``problem.name``, …).
    """
    model = dict(data.get("model") or {})
    model_name = _name("model", model, sorted(list_models("model") + list_models("algorithm")))
    del model["name"]
    if model_name in list_models("algorithm"):
        check_kwargs(_algorithm_signature(get(model_name)), model, "model")
    else:
        check_kwargs(get(model_name), model, "model", skip=("operator",))
    problem = dict(data.get("problem") or {})
    problem_name = _name("problem", problem, list_models("problem"))
    del problem["name"]
    check_kwargs(get(problem_name), problem, "problem")
    train = dict(data.get("train") or {})
    for key in train:  # the values are checked once, by FitConfig, when the run is built
        if key not in TRAIN_KEYS:
            raise ConfigError(f"train.{key}: unknown key; expected one of {sorted(TRAIN_KEYS)}")
    return RunConfig(model_name, model, problem_name, problem, train, data.get("run_dir"), text)


def load_config(path: str | os.PathLike[str]) -> RunConfig:
    """Read and check the run config at ``path``."""
    data = load_yaml(path)
    return check_config(data, Path(path).read_text())


def in_section(section: str, kwargs: Mapping[str, Any], error: Exception) -> ConfigError:
    """An error a constructor raised, as a `ConfigError` naming the section (and the key)."""
    message = str(error)
    key = message.split(":", 1)[0]
    if key in kwargs:
        return ConfigError(f"{section}.{message}")
    return ConfigError(f"{section}: {message}")


__all__ = [
    "UNROLL_KEYS",
    "ConfigError",
    "RunConfig",
    "check_config",
    "check_kwargs",
    "in_section",
    "load_config",
    "load_yaml",
]
