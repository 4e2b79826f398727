"""`Algorithm`: a classical iterative method as data, and `iteration`, its one-function form.

An algorithm declares its `Param`s and `Slot`s as class attributes and defines three small
functions (in the style of optax):

    init(y, A)              -> state      # or init(y, A, p): p is the first layer's params
    update(state, y, A, p)  -> state      # one iteration; p.<name> is this layer's param or slot
    output(state)           -> x

An ``init`` that declares a third argument receives the first layer's params and slots (a
`Layer` with ``p.layer == 0``), so the start may be a slot (``p.start(y, A)``, the estimate at
which layer 1 starts, replaceable by a learned module) or use layer 0's learned params.

``run`` applies ``update`` a given number of times with every param at its classical default;
`unrolled.unroll` turns the same three functions into a network, one layer per iteration.
"""

from __future__ import annotations

import inspect
import itertools
import numbers
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

import torch
from torch import Tensor

from .checks import check_operator, check_tensor, positive_int
from .param import Param, Slot

#: Attribute names a layer's `p` always has; no param or slot may take them.
RESERVED = frozenset({"layer"})


class Layer:
    """One layer's params and slots as attributes: ``p.step``, ``p.prox``; ``p.layer`` is its index.

    A param arrives as a Python number (fixed) or a tensor (learned, or a tensor default); an
    algorithm's ``update`` must work with either.
    """

    layer: int

    def __init__(self, values: Mapping[str, Any], layer: int) -> None:
        self.__dict__.update(values)
        self.layer = layer

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"layer has no param or slot {name!r}; it has {sorted(self.__dict__)}")


def _collect(cls: type, kind: type) -> dict[str, Any]:
    """The ``kind`` declarations of ``cls`` and its bases; a subclass setting an inherited one's
    name to ``None`` drops it (e.g. a learned denoiser with its own params replacing a threshold)."""
    found: dict[str, Any] = {}
    for base in reversed(cls.__mro__):
        for name, value in vars(base).items():
            if isinstance(value, kind):
                found[name] = value
            elif value is None:
                found.pop(name, None)
    return found


def _named_slot(slot: Slot, name: str) -> Slot:
    named = Slot(slot.default, doc=slot.doc)
    named.name = name
    return named


class Algorithm:
    """Base class of every classical algorithm (see the module docstring for the contract).

    Constructor keywords set a param's default (a number, a rule, or a whole `Param`) or a
    slot's map (any callable with the slot's signature), e.g. ``ISTA(threshold=0.05, prox=Box(0, 1))``.

    Attributes:
        params: name -> `Param`, this instance's hyperparameters.
        slots: name -> `Slot`, this instance's replaceable sub-maps.
    """

    param_specs: ClassVar[dict[str, Param]] = {}
    slot_specs: ClassVar[dict[str, Slot]] = {}
    _init_takes_layer: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        specs = {**_collect(cls, Param), **_collect(cls, Slot)}
        for name in specs:
            if name in RESERVED or name.startswith("_"):
                raise TypeError(
                    f"{cls.__name__}: {name!r} is reserved and cannot name a param or slot"
                )
        # named copies: one Param object declared in two algorithms keeps both names apart
        cls.param_specs = {
            n: s.with_default(s.default, n) for n, s in specs.items() if isinstance(s, Param)
        }
        cls.slot_specs = {n: _named_slot(s, n) for n, s in specs.items() if isinstance(s, Slot)}
        cls._init_takes_layer = len(inspect.signature(cls.init).parameters) >= 4  # self, y, A, p

    def __init__(self, **overrides: Any) -> None:
        self.params: dict[str, Param] = dict(self.param_specs)
        self.slots: dict[str, Slot] = dict(self.slot_specs)
        for name, value in overrides.items():
            if name in self.params:
                if isinstance(value, Param):
                    value = value.with_default(value.default, name)
                else:
                    value = self.params[name].with_default(value)
                self.params[name] = value
            elif name in self.slots:
                if not isinstance(value, Slot):
                    if not callable(value):
                        raise TypeError(
                            f"{type(self).__name__}: slot {name!r} expects a callable "
                            f"({self.slots[name].doc or 'the slot signature'}), got {type(value).__name__}"
                        )
                    value = Slot(value, doc=self.slots[name].doc)
                self.slots[name] = _named_slot(value, name)
            else:
                raise TypeError(
                    f"{type(self).__name__}() got an unexpected keyword {name!r}; its params are "
                    f"{sorted(self.params)} and its slots are {sorted(self.slots)}"
                )

    # -- the three functions ----------------------------------------------------------------
    def init(self, y: Tensor, A: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define init(y, A) -> state")

    def initial_state(self, y: Tensor, A: Any, p: Layer) -> Any:
        """``init(y, A, p)`` with the first layer's params and slots ``p`` when ``init`` takes
        them, else ``init(y, A)``: what the classical run and the network start from."""
        return self.init(y, A, p) if self._init_takes_layer else self.init(y, A)

    def update(self, state: Any, y: Tensor, A: Any, p: Layer) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define update(state, y, A, p)")

    def output(self, state: Any) -> Tensor:
        """The estimate ``x`` held by a state; the default takes a tensor state or its field ``x``."""
        return state if isinstance(state, Tensor) else state.x

    def auxiliary(self, state: Any) -> Tensor | None:
        """An extra training loss a state carries (a scalar), added to the supervised loss by
        `unrolled.train.fit`; ``None`` (the default) when the algorithm has none. ISTA-Net's
        symmetry constraint is one."""
        return None

    # -- classical use ----------------------------------------------------------------------
    def defaults(self, A: Any) -> dict[str, Any]:
        """Every param at its classical default for operator ``A``, and every slot's default map."""
        values: dict[str, Any] = {name: spec.resolve(A) for name, spec in self.params.items()}
        values.update({name: spec.default for name, spec in self.slots.items()})
        return values

    def iterate(self, y: Tensor, A: Any) -> Iterator[Tensor]:
        """Yield ``x`` (B, *A.in_shape) after each classical iteration, without end.

        Nothing is kept, so thousands of iterations on a large test set cost one state's memory.
        """
        check_tensor(y, "y")
        check_operator(A, "A")
        values = self.defaults(A)
        state = self.initial_state(y, A, Layer(values, 0))
        for t in itertools.count():
            state = self.update(state, y, A, Layer(values, t))
            yield self.output(state)

    def run(
        self,
        y: Tensor,
        A: Any,
        iterations: int = 100,
        tol: float | None = None,
        trace: bool = False,
    ) -> Tensor | tuple[Tensor, Tensor]:
        """Run the classical algorithm.

        Args:
            y: measurements, ``(B, *A.out_shape)``.
            A: the forward operator.
            iterations: the number of iterations (the maximum when ``tol`` is given).
            tol: stop once ‖x_{t+1} − x_t‖ ≤ tol·‖x_{t+1}‖ for every sample (checked on the host
                from the second iteration on: this is the classical loop, not the network).
            trace: also return every iteration's output.

        Returns:
            ``x`` of shape ``(B, *A.in_shape)``, or ``(x, trace)`` with ``trace`` of shape
            ``(T, B, *A.in_shape)``, T the number of iterations run.
        """
        positive_int(iterations, "iterations")
        if tol is not None and not (isinstance(tol, numbers.Real) and tol > 0):
            raise ValueError(f"tol: expected a positive number or None, got {tol!r}")
        outputs = []
        x_prev = None
        for x in itertools.islice(self.iterate(y, A), iterations):
            if trace:
                outputs.append(x)
            if tol is not None and x_prev is not None and _converged(x, x_prev, tol):
                break
            x_prev = x
        if trace:
            return x, torch.stack(outputs)
        return x

    def __repr__(self) -> str:
        changed = [
            f"{n}={s.default!r}" for n, s in self.params.items() if s is not self.param_specs.get(n)
        ] + [f"{n}={s.default!r}" for n, s in self.slots.items() if s is not self.slot_specs.get(n)]
        return f"{type(self).__name__}({', '.join(changed)})"


def _converged(x: Tensor, x_prev: Tensor, tol: float) -> bool:
    change = torch.linalg.vector_norm((x - x_prev).flatten(1), dim=1)
    size = torch.linalg.vector_norm(x.flatten(1), dim=1)
    return bool((change <= tol * size.clamp_min(torch.finfo(size.dtype).tiny)).all())


class _Iteration(Algorithm):
    """An algorithm made by `iteration`: state ``x``, initial ``x = 0`` shaped like ``Aᴴy``."""

    _fn: ClassVar[Callable[..., Tensor]]

    def init(self, y: Tensor, A: Any) -> Tensor:
        return torch.zeros_like(A.H(y))

    def update(self, state: Tensor, y: Tensor, A: Any, p: Layer) -> Tensor:
        kwargs = {name: getattr(p, name) for name in self._names}
        return type(self)._fn(state, y, A, **kwargs)

    def output(self, state: Tensor) -> Tensor:
        return state


def iteration(**specs: Param | Slot) -> Callable[[Callable[..., Tensor]], Algorithm]:
    """Turn ``def f(x, y, A, **params) -> x`` into an `Algorithm` instance whose state is ``x``.

    Keywords declare the function's params (`Param`) and slots (`Slot`)::

        @ur.iteration(step=ur.Param(0.5, positive=True))
        def landweber(x, y, A, step):
            return x - step * A.H(A(x) - y)

    The initial iterate is ``x = 0`` of the shape of ``Aᴴy``.
    """
    for name, spec in specs.items():
        if not isinstance(spec, Param | Slot):
            raise TypeError(
                f"iteration: {name!r} must be a Param or a Slot, got {type(spec).__name__}"
            )

    def wrap(fn: Callable[..., Tensor]) -> Algorithm:
        if not callable(fn):
            raise TypeError(f"iteration: expected a function, got {type(fn).__name__}")
        namespace = {
            **specs,
            "_fn": staticmethod(fn),
            "_names": tuple(specs),
            "__doc__": fn.__doc__,
            "__module__": getattr(fn, "__module__", __name__),
            "__qualname__": getattr(fn, "__qualname__", fn.__name__),
        }
        cls = type(fn.__name__, (_Iteration,), namespace)
        return cls()

    return wrap
