"""`unroll`: an `Algorithm` becomes a fixed-depth network, one layer per iteration.

Layer k computes ``state_{k+1} = algorithm.update(state_k, y, A, p_k)`` where ``p_k`` holds
layer k's params and slots. With nothing learned or replaced, the network computes exactly
``algorithm.run(y, A, iterations=K)``.

Learned params live in one stacked raw tensor of shape ``(K, *shape)`` per param (``(*shape)``
when tied); the constraint map is applied once per forward to the whole stack, never inside a
layer. Fixed rule defaults such as ``1/L`` are resolved once per forward (the operator caches
its Lipschitz constant).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from .algorithm import Algorithm, Layer
from .checks import check_finite, check_operator, check_tensor, positive_int
from .param import PER_FEATURE

BACKPROP = ("full", "checkpoint")
#: The deepest network `unroll` builds: far beyond any published unrolled network (tens of
#: layers), and a bound that keeps a typo such as ``layers: 100000`` from exhausting memory.
MAX_LAYERS = 10_000


def _names(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Iterable):
        raise TypeError(f"{name}: expected a name or a list of names, got {type(value).__name__}")
    names = tuple(value)
    for n in names:
        if not isinstance(n, str):
            raise TypeError(f"{name}: expected names (str), got {n!r}")
    return names


def _real_dtype(A: Any) -> torch.dtype:
    dtype = getattr(A, "dtype", None)
    if dtype is None:
        return torch.get_default_dtype()
    return dtype.to_real() if dtype.is_complex else dtype


class Unrolled(nn.Module):
    """An algorithm unrolled into ``layers`` layers; build it with `unroll`.

    Call: ``net(y, A=None, trace=False, depth=None)`` with ``y`` of shape ``(B, *A.out_shape)``
    returns ``x`` of shape ``(B, *A.in_shape)``, or ``(x, trace)`` with ``trace`` of shape
    ``(K, B, *A.in_shape)``, every layer's output. ``A`` defaults to the operator bound with
    ``operator=``; ``depth=k`` runs only the first k layers (trace ``(k, B, ...)``).

    Attributes:
        algorithm: the `Algorithm` whose ``update`` each layer runs.
        layers: K, the depth.
        params: raw (unconstrained) learned tensors, ``(K, *shape)`` or ``(*shape)`` if tied.
        slots: learned replacements: one module (shared) or a `nn.ModuleList` of K.
    """

    def __init__(
        self,
        algorithm: Algorithm | type[Algorithm],
        layers: int,
        *,
        learn: str | Iterable[str] = (),
        tied: bool | Iterable[str] = False,
        replace: Mapping[str, nn.Module | Callable[[int], nn.Module]] | None = None,
        operator: Any = None,
        backprop: str = "full",
    ) -> None:
        super().__init__()
        if isinstance(algorithm, type) and issubclass(algorithm, Algorithm):
            algorithm = algorithm()
        if not isinstance(algorithm, Algorithm):
            raise TypeError(
                f"algorithm: expected an unrolled.Algorithm (class or instance), got "
                f"{type(algorithm).__name__}"
            )
        positive_int(layers, "layers")
        if layers > MAX_LAYERS:
            raise ValueError(
                f"layers: expected at most {MAX_LAYERS} (each layer is an iteration run in "
                f"sequence, with its own learned values and activations kept for the backward "
                f"pass), got {layers}"
            )
        if backprop not in BACKPROP:
            raise ValueError(f"backprop: expected one of {BACKPROP}, got {backprop!r}")
        if operator is not None:
            check_operator(operator, "operator")
        alg_name = type(algorithm).__name__

        learn = (
            tuple(algorithm.params)
            if learn == "all"
            else tuple(dict.fromkeys(_names(learn, "learn")))
        )
        for name in learn:
            if name not in algorithm.params:
                hint = " (a slot: pass it in replace=)" if name in algorithm.slots else ""
                raise ValueError(
                    f"learn: {alg_name} has no param {name!r}{hint}; its params are "
                    f"{sorted(algorithm.params)}"
                )
        if isinstance(tied, bool):
            tied_names = set(learn) if tied else set()
        else:
            tied_names = set(_names(tied, "tied"))
            for name in tied_names - set(learn):
                raise ValueError(
                    f"tied: {name!r} is not among the learned params {sorted(learn)}; "
                    f"only a learned param can be tied"
                )

        self.algorithm = algorithm
        self.layers = layers
        self.backprop = backprop
        self.operator = operator
        self.learned = learn
        self.tied = frozenset(tied_names)
        self.params = nn.ParameterDict()
        self.slots = nn.ModuleDict()
        self._fixed = tuple(n for n in algorithm.params if n not in learn)
        self._pending = set(learn)  # learned params waiting for an operator to initialise them
        self._defaults: dict[str, Tensor] = {}  # learned params' initial values, float64
        #: Check ``y`` for NaN/Inf at the first call (one host synchronisation, once); set it
        #: False for data already trusted.
        self.check_inputs = True
        self._inputs_checked = False

        if replace is not None and not isinstance(replace, Mapping):
            raise TypeError(
                f"replace: expected a dict slot name -> module or factory, got {type(replace).__name__}"
            )
        for name, value in (replace or {}).items():
            if name not in algorithm.slots:
                hint = " (a param: pass it in learn=)" if name in algorithm.params else ""
                raise ValueError(
                    f"replace: {alg_name} has no slot {name!r}{hint}; its slots are "
                    f"{sorted(algorithm.slots)}"
                )
            self.slots[name] = self._replacement(name, value)
            if getattr(operator, "dtype", None) is not None:  # a float64 operator, a float64 module
                self.slots[name].to(_real_dtype(operator))
        for name, spec in algorithm.slots.items():  # so .to(), .eval() and state_dict reach them
            if name not in self.slots and isinstance(spec.default, nn.Module):
                self.slots[name] = spec.default

        for name in learn:
            spec = algorithm.params[name]
            if spec.sized_by_operator and operator is None:
                raise ValueError(
                    f"learn: {name!r} has a shape that depends on the operator "
                    f"(shape={spec.shape!r}); pass operator= so its shape is known"
                )
            shape = spec.resolved_shape(operator)
            full = shape if name in self.tied else (layers, *shape)
            self.params[name] = nn.Parameter(torch.zeros(full, dtype=_real_dtype(operator)))
        #: learned params sized by the operator: name -> the shape of one layer's value
        self._sized = {
            name: algorithm.params[name].resolved_shape(operator)
            for name in learn
            if algorithm.params[name].sized_by_operator
        }
        self._initialise(operator)

    def _replacement(self, name: str, value: Any) -> nn.Module:
        if isinstance(value, nn.Module):
            return value
        if isinstance(value, type):
            raise TypeError(
                f"replace[{name!r}]: got the class {value.__name__}, expected a module or a "
                f"factory; pass {value.__name__}() to share one module, or "
                f"lambda k: {value.__name__}() for one per layer"
            )
        if not callable(value):
            raise TypeError(
                f"replace[{name!r}]: expected an nn.Module (shared by all layers) or a factory "
                f"k -> nn.Module (one per layer), got {type(value).__name__}"
            )
        modules = []
        for k in range(self.layers):
            module = value(k)
            if not isinstance(module, nn.Module):
                raise TypeError(
                    f"replace[{name!r}]: the factory must return an nn.Module for each layer k, "
                    f"got {type(module).__name__} for k={k}"
                )
            modules.append(module)
        return nn.ModuleList(modules)

    @torch.no_grad()
    def _initialise(self, A: Any) -> None:
        """Set each pending learned param to its classical default at ``A``.

        Without an operator (``A is None``) only defaults that need none are set; rules such as
        ``1/L`` wait for the first call. Defaults are kept in float64 so that a later
        ``.double()`` restores an untrained param at full precision. With an operator, the fixed
        params' rules are evaluated too, so that ``A`` caches what they need (its Lipschitz
        constant) before any ``torch.compile`` trace.
        """
        if A is not None:
            for name in self._fixed:
                self.algorithm.params[name].resolve(A)
        for name in sorted(self._pending):
            spec = self.algorithm.params[name]
            if A is None and (isinstance(spec.default, str) or callable(spec.default)):
                continue
            value = spec.resolve(A)
            if isinstance(value, Tensor):
                value = value.detach().to("cpu", torch.float64)
            else:
                value = torch.tensor(value, dtype=torch.float64)
            self._defaults[name] = value
            self.params[name].copy_(self._initial_raw(name))
            self._pending.discard(name)

    def _initial_raw(self, name: str) -> Tensor:
        raw = self.params[name]
        value = self._defaults[name].to(raw.device)
        try:
            value = value.expand(raw.shape)
        except RuntimeError:
            raise ValueError(
                f"{name}: default of shape {tuple(value.shape)} does not fit the learned "
                f"shape {tuple(raw.shape)}"
            ) from None
        return self.algorithm.params[name].to_raw(value.clone()).to(raw.dtype)

    def _load_from_state_dict(self, state_dict: Mapping[str, Any], prefix: str, *args: Any) -> None:
        super()._load_from_state_dict(state_dict, prefix, *args)
        for name in list(self._pending):  # loaded values supersede the defaults
            if f"{prefix}params.{name}" in state_dict:
                self._pending.discard(name)

    def _apply(self, fn: Callable[[Tensor], Tensor], *args: Any, **kwargs: Any) -> Unrolled:
        untrained = [
            name
            for name in self._defaults
            if name not in self._pending and torch.equal(self.params[name], self._initial_raw(name))
        ]
        super()._apply(fn, *args, **kwargs)
        if self.operator is not None and hasattr(self.operator, "_apply"):
            self.operator = self.operator._apply(fn)
        with torch.no_grad():
            for name in untrained:  # re-derive in the new dtype rather than round the old one
                self.params[name].copy_(self._initial_raw(name))
        return self

    def param_values(self) -> dict[str, Tensor]:
        """The learned params' constrained values: ``(K, *shape)``, or ``(*shape)`` if tied."""
        return {
            name: self.algorithm.params[name].from_raw(raw) for name, raw in self.params.items()
        }

    def layer_parameters(self) -> list[tuple[str, nn.Parameter, int | None, bool]]:
        """Which layer owns each learned tensor: for per-layer learning rates and freezing.

        Returns one ``(name, parameter, layer, sliced)`` per owner, ``name`` as in
        ``named_parameters()`` and in that order:

        - an untied param ``params.<name>``, shape ``(K, *shape)``: K entries, ``layer = k`` and
          ``sliced = True``: layer k owns the slice ``parameter[k]``;
        - a parameter of a per-layer slot module (``slots.<name>``, an `nn.ModuleList` of K):
          ``layer = k`` and ``sliced = False``: layer k owns the whole tensor;
        - a tied param, a parameter of a module shared by all layers, or one that several
          layers' modules share: ``layer = None`` (``sliced = False``).
        """
        per_layer: dict[int, set[int]] = {}  # id(parameter) -> the layers whose module holds it
        for module in self.slots.values():
            if isinstance(module, nn.ModuleList):
                for k, layer_module in enumerate(module):
                    for p in layer_module.parameters():
                        per_layer.setdefault(id(p), set()).add(k)
        owners: list[tuple[str, nn.Parameter, int | None, bool]] = []
        for name, p in self.named_parameters():
            param = name.removeprefix("params.")
            if param != name and param in self.params and param not in self.tied:
                owners.extend((name, p, k, True) for k in range(self.layers))
                continue
            layers = per_layer.get(id(p), set())
            owners.append((name, p, next(iter(layers)) if len(layers) == 1 else None, False))
        return owners

    def is_untrained(self, name: str) -> bool:
        """Whether the learned param ``name`` still holds its initial value (every layer)."""
        if name not in self.params:
            raise ValueError(f"name: {name!r} is not a learned param; learned: {list(self.params)}")
        if name in self._pending:
            return True
        return torch.equal(self.params[name], self._initial_raw(name))

    @torch.no_grad()
    def set_initial(self, name: str, value: Any) -> None:
        """Start the learned param ``name`` from ``value`` (a number or a tensor broadcasting to
        its shape, within its constraint) instead of its classical default; only while it is
        untrained (`is_untrained`), since it would otherwise discard what was learned. A
        recipe's ``prepare`` uses it to derive a start from the problem (e.g. a threshold from
        the noise level)."""
        if not self.is_untrained(name):
            raise ValueError(
                f"{name}: has been trained or loaded; its initial value can no longer change"
            )
        tensor = torch.as_tensor(value, dtype=torch.float64).detach().to("cpu", torch.float64)
        old = self._defaults.get(name)
        self._defaults[name] = tensor
        try:
            self.params[name].copy_(self._initial_raw(name))
        except (ValueError, RuntimeError):
            if old is not None:
                self._defaults[name] = old
            raise
        self._pending.discard(name)

    @torch.no_grad()
    def copy_layer(self, source: int, target: int) -> None:
        """Give layer ``target`` (0-based) layer ``source``'s learned values: its slices of the
        untied params and the state of its per-layer slot modules. Tied params and shared
        modules are every layer's already. Layer-wise training starts a new layer so
        (``fit(..., warm_start=True)``)."""
        for index, name in ((source, "source"), (target, "target")):
            if (
                isinstance(index, bool)
                or not isinstance(index, int)
                or not 0 <= index < self.layers
            ):
                raise ValueError(f"{name}: expected a layer in [0, {self.layers}), got {index!r}")
        for name, raw in self.params.items():
            if name not in self.tied:
                raw[target].copy_(raw[source])
        for module in self.slots.values():
            if isinstance(module, nn.ModuleList):
                module[target].load_state_dict(module[source].state_dict())

    def layer_params(self, A: Any) -> list[Layer]:
        """The K layers' params and slots (learned values constrained, fixed ones resolved)."""
        alg = self.algorithm
        shared: dict[str, Any] = {name: alg.params[name].resolve(A) for name in self._fixed}
        for name, spec in alg.slots.items():
            if name not in self.slots:
                shared[name] = spec.default
        varying: list[tuple[str, Any]] = []
        for name, value in self.param_values().items():
            if name in self.tied:
                shared[name] = value
            else:
                varying.append((name, value.unbind(0)))
        for name, module in self.slots.items():
            if isinstance(module, nn.ModuleList):
                varying.append((name, module))
            else:
                shared[name] = module
        layers = []
        for k in range(self.layers):
            layer = Layer(shared, k)
            for name, values in varying:
                setattr(layer, name, values[k])
            layers.append(layer)
        return layers

    @property
    def has_auxiliary(self) -> bool:
        """Whether the algorithm adds a training loss of its own (`Algorithm.auxiliary`)."""
        return type(self.algorithm).auxiliary is not Algorithm.auxiliary

    def forward(
        self,
        y: Tensor,
        A: Any = None,
        trace: bool = False,
        depth: int | None = None,
        auxiliary: bool = False,
    ) -> Tensor | tuple[Tensor, ...]:
        """Run the network; ``depth`` runs only the first layers (layer-wise training);
        ``auxiliary=True`` appends the algorithm's extra training loss (a scalar, zero if it has
        none) to what is returned: ``(x, aux)`` or ``(x, trace, aux)``."""
        check_tensor(y, "y")
        if depth is None:
            depth = self.layers
        elif isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= self.layers:
            raise ValueError(f"depth: expected an int in [1, {self.layers}], got {depth!r}")
        if A is None:
            A = self.operator
            if A is None:
                raise ValueError(
                    "A: no operator given and none bound; call net(y, A) or unroll(..., operator=A)"
                )
        else:
            check_operator(A, "A")
        if self._pending:
            self._initialise(A)
        self._check_call(y, A)
        if self.check_inputs and not self._inputs_checked and not torch.compiler.is_compiling():
            check_finite(y, "y")
            self._inputs_checked = True
        alg = self.algorithm
        update = alg.update
        if self.backprop == "checkpoint" and torch.is_grad_enabled():
            update = _checkpointed(alg.update)
        layers = self.layer_params(A)[:depth]
        state = alg.initial_state(y, A, layers[0])
        outputs = []
        for p in layers:
            state = update(state, y, A, p)
            if trace:
                outputs.append(alg.output(state))
        x = alg.output(state)
        out: tuple[Tensor, ...] = (x, torch.stack(outputs)) if trace else (x,)
        if auxiliary:
            extra = alg.auxiliary(state)
            out += (x.real.new_zeros(()) if extra is None else extra,)
        return out if len(out) > 1 else x

    def _check_call(self, y: Tensor, A: Any) -> None:
        """Metadata checks only (no host sync): the data's dtype and shape suit the learned params."""
        for raw in self.params.values():
            real = y.real.dtype  # not dtype.to_real(): torch.compile cannot trace it
            if real != raw.dtype:
                raise TypeError(
                    f"y: dtype {y.dtype} does not match the network's learned params ({raw.dtype}); "
                    f"convert one of them, e.g. net.to({real}) or y.to({raw.dtype})"
                )
            break
        for name, shape in self._sized.items():
            spec = self.algorithm.params[name]
            if spec.shape == PER_FEATURE and tuple(A.in_shape or ()) != shape:
                raise ValueError(
                    f"A: the learned per-feature param {name!r} has shape {shape}, but A's "
                    f"in_shape is {A.in_shape}"
                )
            if spec.shape != PER_FEATURE and spec.resolved_shape(A) != shape:
                raise ValueError(
                    f"A: the learned param {name!r} has shape {shape}, sized by the operator the "
                    f"network was built with; for this A it would be {spec.resolved_shape(A)}"
                )

    def extra_repr(self) -> str:
        parts = [f"algorithm={self.algorithm!r}", f"layers={self.layers}"]
        if self.learned:
            parts.append(f"learn={list(self.learned)}")
        if self.tied:
            parts.append(f"tied={sorted(self.tied)}")
        if self.backprop != "full":
            parts.append(f"backprop={self.backprop!r}")
        return ", ".join(parts)


def _checkpointed(update: Callable[..., Any]) -> Callable[..., Any]:
    def run(state: Any, y: Tensor, A: Any, p: Layer) -> Any:
        return checkpoint(update, state, y, A, p, use_reentrant=False)

    return run


def unroll(
    algorithm: Algorithm | type[Algorithm],
    layers: int,
    *,
    learn: str | Iterable[str] = (),
    tied: bool | Iterable[str] = False,
    replace: Mapping[str, nn.Module | Callable[[int], nn.Module]] | None = None,
    operator: Any = None,
    backprop: str = "full",
) -> Unrolled:
    """Unroll ``algorithm`` into a network of ``layers`` layers, one per iteration.

    Args:
        algorithm: an `Algorithm` instance or class (instantiated with its defaults).
        layers: K, the number of layers (iterations).
        learn: names of params to learn, or ``"all"``. The others stay at their classical
            default. A learned param starts exactly at its default.
        tied: ``False``: one value per layer (a stacked ``(K, *shape)`` parameter); ``True``: one
            value shared by all layers; or a set of learned names to tie only those.
        replace: slot name -> an `nn.Module` (one instance shared by all layers) or a factory
            ``k -> nn.Module`` (one module per layer). The module is called like the slot. With
            ``operator=``, the modules are cast to the operator's real dtype (a float64 or
            complex128 operator gives float64 modules).
        operator: a default forward model ``A``; it also resolves rule defaults (``1/L``) now
            rather than on the first call.
        backprop: ``"full"``, or ``"checkpoint"`` to recompute each layer in the backward pass
            (`torch.utils.checkpoint`): only each layer's input state is kept, not its
            intermediate activations, so memory grows far more slowly with depth.

    Bind ``operator=`` (or call the network once) before ``torch.compile`` or DDP: rule
    defaults such as ``1/L`` are resolved eagerly on the operator, never inside a trace, and
    every rank starts from the same values.
    """
    return Unrolled(
        algorithm,
        layers,
        learn=learn,
        tied=tied,
        replace=replace,
        operator=operator,
        backprop=backprop,
    )
