"""Run configurations: YAML read with ``safe_load`` and checked against the code they configure.

A config has three sections, each checked against the signature of what it calls, so a key
that does not exist or a value of the wrong type is rejected with its dotted name::

    model:                 # unrolled.create(name, operator=problem.operator, **rest)
      name: alista
      layers: 16
    problem:               # a registered problem, e.g. unrolled.data.SparseCoding(**rest)
      name: sparse-coding
      m: 250
      n: 500
    train:                 # unrolled.train.fit(model, problem, **train)
      schedule: stagewise
      max_seconds: 150
    run_dir: runs/alista   # optional; the CLI's --run-dir wins
"""

from __future__ import annotations

import inspect
import numbers
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

SECTIONS = ("model", "problem", "train", "run_dir")


class ConfigError(ValueError):
    """A config key is unknown, missing or of the wrong type; the message names the key."""


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping with ``yaml.safe_load`` (no object construction)."""
    import yaml  # the cli extra

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config: no such file {str(path)!r}")
    try:
        data = yaml.safe_load(path.read_text())
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
    if "run_dir" in data and not isinstance(data["run_dir"], str):
        raise ConfigError(f"run_dir: expected a path (str), got {type(data['run_dir']).__name__}")
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
                f"{value!r}"
            )
    for name, p in params.items():
        if p.default is inspect.Parameter.empty and name not in values:
            raise ConfigError(f"{section}.{name}: required key is missing")
    return dict(values)
