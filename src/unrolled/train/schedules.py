"""Training schedules: a schedule is a list of `Stage`s, each trained with its own Adam.

With K layers and base learning rate ``lr``:

``"end-to-end"``
    One stage: all K layers, the loss on the last layer's output.
``"deep-supervision"``
    One stage: all K layers, the loss a weighted sum of every layer's loss. Default weights:
    uniform, ``1/K`` each (the mean over layers), so that every layer is trained to be good on
    its own; pass ``layer_weights`` (K non-negative numbers, normalised to sum 1) otherwise.
``"layerwise"`` (Borgerding, Schniter & Rangan 2017)
    For k = 1..K: train layer k alone on the depth-k output at ``lr`` (layers 1..k-1 frozen),
    then refine layers 1..k together at ``lr × r`` for each r in ``refine`` (default ``(0.1,)``;
    Borgerding's code uses ``(0.5, 0.1, 0.01)``).
``"stagewise"`` (Chen et al. 2018; LISTA-CPSS ``utils/train.py``)
    As layer-wise, with ``refine = (0.2, 0.02)``, and earlier layers slowed down: in the
    refinements of stage k, layer j ≤ k learns at ``lr × r × decay^(k−j)`` (``decay = 0.3``).

Parameters shared by all layers (tied params, shared modules) train in every stage at the
stage's learning rate. Each stage ends by early stopping (``patience``) or when its share of the
budget is spent (see `unrolled.train.fit`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any

SCHEDULES = ("end-to-end", "deep-supervision", "layerwise", "stagewise")

#: Per-schedule defaults of ``refine`` and ``decay``.
REFINE = {"layerwise": (0.1,), "stagewise": (0.2, 0.02)}
DECAY = {"layerwise": 1.0, "stagewise": 0.3}


@dataclass(frozen=True)
class Stage:
    """One stage of a schedule. It is described by a few numbers, its per-layer factors derived
    when asked, so that a schedule of K layers costs O(K) to plan and to record (a deep network
    planned layer by layer would otherwise take O(K²)).

    Attributes:
        label: a readable name, e.g. ``"layer 3: new"`` or ``"layer 3: refine x0.2"``.
        depth: the number of layers run (``model(y, depth=depth)``), 1..K.
        lr_factor: the stage's learning rate is ``lr × lr_factor``.
        layers: K, the network's depth.
        trains: ``"all"`` (every layer at 1), ``"new"`` (layer ``depth`` alone) or ``"refine"``
            (layer j ≤ depth at ``decay^(depth − j)``).
        decay: see ``trains``.
        supervision: deep supervision's ``depth`` per-layer loss weights (sum 1), or ``None``:
            the loss on layer ``depth`` alone.
        shared_factor: relative learning rate of the parameters shared by all layers.
        grows: the stage trains a layer for the first time (a refinement does not): past the
            time budget it still takes one step, and refinements are skipped.
    """

    label: str
    depth: int
    lr_factor: float
    layers: int
    trains: str = "all"
    decay: float = 1.0
    supervision: tuple[float, ...] | None = None
    shared_factor: float = 1.0
    grows: bool = True

    @cached_property
    def layer_factors(self) -> tuple[float, ...]:
        """K relative learning rates, one per layer (0: frozen)."""
        k, K = self.depth, self.layers
        if self.trains == "all":
            return (1.0,) * K
        if self.trains == "new":
            return (0.0,) * (k - 1) + (1.0,) + (0.0,) * (K - k)
        return tuple(self.decay ** (k - j) for j in range(1, k + 1)) + (0.0,) * (K - k)

    @cached_property
    def loss_weights(self) -> tuple[float, ...]:
        """``depth`` weights of the per-layer losses (sum 1)."""
        return self.supervision or (0.0,) * (self.depth - 1) + (1.0,)

    @property
    def last_layer_only(self) -> bool:
        """True when the loss is on the output of layer ``depth`` alone (no trace needed)."""
        return self.supervision is None or all(w == 0 for w in self.supervision[:-1])

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def build_stages(
    schedule: str,
    layers: int,
    *,
    refine: tuple[float, ...] | None = None,
    decay: float | None = None,
    layer_weights: tuple[float, ...] | None = None,
) -> list[Stage]:
    """The stages of ``schedule`` for a network of ``layers`` layers (arguments checked by fit)."""
    K = layers
    if schedule == "end-to-end":
        return [Stage("all layers", K, 1.0, K)]
    if schedule == "deep-supervision":
        weights = layer_weights or (1.0,) * K
        total = float(sum(weights))
        supervision = tuple(w / total for w in weights)
        return [Stage("all layers, every layer supervised", K, 1.0, K, supervision=supervision)]
    refine = REFINE[schedule] if refine is None else refine
    decay = DECAY[schedule] if decay is None else decay
    stages = []
    for k in range(1, K + 1):
        stages.append(Stage(f"layer {k}: new", k, 1.0, K, "new"))
        for r in refine:
            label = f"layer {k}: refine x{r:g}"
            stages.append(Stage(label, k, r, K, "refine", decay, grows=False))
    return stages


__all__ = ["SCHEDULES", "Stage", "build_stages"]
