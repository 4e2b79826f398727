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
from typing import Any

SCHEDULES = ("end-to-end", "deep-supervision", "layerwise", "stagewise")

#: Per-schedule defaults of ``refine`` and ``decay``.
REFINE = {"layerwise": (0.1,), "stagewise": (0.2, 0.02)}
DECAY = {"layerwise": 1.0, "stagewise": 0.3}


@dataclass(frozen=True)
class Stage:
    """One stage of a schedule.

    Attributes:
        label: a readable name, e.g. ``"layer 3: new"`` or ``"layer 3: refine x0.2"``.
        depth: the number of layers run (``model(y, depth=depth)``), 1..K.
        lr_factor: the stage's learning rate is ``lr × lr_factor``.
        layer_factors: K relative learning rates, one per layer (0: frozen).
        shared_factor: relative learning rate of the parameters shared by all layers.
        loss_weights: ``depth`` weights of the per-layer losses (sum 1); only the last is
            non-zero unless the schedule supervises every layer.
        grows: the stage trains a layer for the first time (a refinement does not): past the
            time budget it still takes one step, and refinements are skipped.
    """

    label: str
    depth: int
    lr_factor: float
    layer_factors: tuple[float, ...]
    shared_factor: float
    loss_weights: tuple[float, ...]
    grows: bool = True

    @property
    def last_layer_only(self) -> bool:
        """True when the loss is on the output of layer ``depth`` alone (no trace needed)."""
        return all(w == 0 for w in self.loss_weights[:-1])

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _one_hot(depth: int) -> tuple[float, ...]:
    return (0.0,) * (depth - 1) + (1.0,)


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
        return [Stage("all layers", K, 1.0, (1.0,) * K, 1.0, _one_hot(K))]
    if schedule == "deep-supervision":
        weights = layer_weights or (1.0,) * K
        total = float(sum(weights))
        return [
            Stage(
                "all layers, every layer supervised",
                K,
                1.0,
                (1.0,) * K,
                1.0,
                tuple(w / total for w in weights),
            )
        ]
    refine = REFINE[schedule] if refine is None else refine
    decay = DECAY[schedule] if decay is None else decay
    stages = []
    for k in range(1, K + 1):
        new = tuple(1.0 if j == k else 0.0 for j in range(1, K + 1))
        stages.append(Stage(f"layer {k}: new", k, 1.0, new, 1.0, _one_hot(k)))
        for r in refine:
            factors = tuple(decay ** (k - j) if j <= k else 0.0 for j in range(1, K + 1))
            stages.append(
                Stage(f"layer {k}: refine x{r:g}", k, r, factors, 1.0, _one_hot(k), grows=False)
            )
    return stages


__all__ = ["SCHEDULES", "Stage", "build_stages"]
