"""DetNet (Samuel, Diskin & Wiesel 2017/2019, "Learning to detect"): projected gradient descent
for MIMO detection whose projection is a learned network per layer."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from ..algorithms.oamp import constellation_of
from ..comms import Channel, Constellation
from ..core import Algorithm, Layer, Param, Recipe, Slot, register, unroll
from ..core.checks import positive_int
from ._common import positive_number


class DetNetState(NamedTuple):
    x: Tensor  # (B, n) the estimate
    v: Tensor  # (B, v) DetNet's auxiliary vector (empty for the classical iteration)
    Hty: Tensor  # (B, n) Hᵀy, computed once


def box_projection(level: float) -> Any:
    """The classical projection of `DetNetIteration`: clip each entry to ``[−level, level]``,
    the convex hull of a binary alphabet; the auxiliary vector passes through."""

    def project(q: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        return q.clamp(-level, level), v

    return project


class DetNetIteration(Algorithm):
    """Projected gradient descent for ``min ‖y − Hx‖²`` over a binary alphabet ``{±a}`` per real
    dimension, with an auxiliary vector ``v`` a learned projection may carry:

        q_t         = x_t + δ₁ Hᵀy − δ₂ HᵀH x_t               (a gradient step: δ₁ = δ₂ = 1/L)
        (x̃, ṽ)      = lift(q_t, v_t)                         (classically: clip to [−a, a])
        x_{t+1}     = α x̃ + (1 − α) x_t,   v_{t+1} = α ṽ + (1 − α) v_t,   x_0 = 0, v_0 = 0

    DetNet learns δ₁, δ₂ per layer and replaces ``lift`` by `DetNetLift`; α = 0.9 is its fixed
    residual mixing (1 classically).

    Args:
        constellation: ``"bpsk"`` or ``"qpsk"`` (on the real-valued equivalent: ``a = 1/√2``).
        aux: the size of ``v`` (0 for the classical iteration; DetNet: 2n).

    Shapes: ``y`` ``(B, m)``, ``H`` ``(B, m, n)`` real, ``x`` ``(B, n)``.
    """

    delta_y = Param("1/L", doc="δ₁, the step on Hᵀy")
    delta_x = Param("1/L", doc="δ₂, the step on HᵀHx")
    mix = Param(1.0, between=(0.0, 1.0), doc="α, the residual mixing of new and old estimates")
    lift = Slot(box_projection(1.0), doc="lift(q, v) -> (x, v), the projection")

    def __init__(
        self, constellation: Constellation | str = "bpsk", aux: int = 0, **overrides: Any
    ) -> None:
        self.constellation = binary_constellation(constellation)
        self.level = float(self.constellation.pam.max())
        self.aux = int(aux)
        overrides.setdefault("lift", box_projection(self.level))
        super().__init__(**overrides)

    def init(self, y: Tensor, A: Any) -> DetNetState:
        Hty = A.H(y)
        x = torch.zeros_like(Hty)
        return DetNetState(x, x.new_zeros(x.shape[0], self.aux), Hty)

    def update(self, state: DetNetState, y: Tensor, A: Any, p: Layer) -> DetNetState:
        x, v, Hty = state
        q = x + p.delta_y * Hty - p.delta_x * A.gram(x)
        x_new, v_new = p.lift(q, v)
        return DetNetState(p.mix * x_new + (1 - p.mix) * x, p.mix * v_new + (1 - p.mix) * v, Hty)


def binary_constellation(constellation: Constellation | str) -> Constellation:
    c = constellation_of(constellation)
    if c.pam.numel() != 2:
        raise ValueError(
            f"constellation: DetNet's soft sign needs two levels per real dimension (bpsk or "
            f"qpsk), got {c.name}"
        )
    return c


class DetNetLift(nn.Module):
    """DetNet's learned projection of one layer:

        z = ReLU(W₁ [q; v] + b₁),   x = a·ψ_t((W₂ z + b₂)/a),   v' = W₃ z + b₃
        ψ_t(u) = −1 + ReLU(u + t)/|t| − ReLU(u − t)/|t|      (a soft sign, linear on [−t, t])

    with ``t`` learned (initially 0.5) and ``a`` the alphabet's level. The last layer's ``v'``
    reaches no output, so it has no W₃ (``emit_aux=False``) and passes ``v`` on.

    Shapes: ``q`` ``(B, n)``, ``v`` ``(B, aux)`` -> ``(B, n)``, ``(B, aux)``.
    """

    def __init__(self, n: int, hidden: int, aux: int, level: float, emit_aux: bool = True) -> None:
        super().__init__()
        self.W1 = nn.Linear(n + aux, hidden)
        self.W2 = nn.Linear(hidden, n)
        self.W3 = nn.Linear(hidden, aux) if emit_aux else None
        self.t = nn.Parameter(torch.tensor(0.5))
        self.level = level

    def forward(self, q: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        z = torch.relu(self.W1(torch.cat([q, v], dim=-1)))
        u = self.W2(z) / self.level
        t = self.t.abs() + 1e-6  # |t| as the paper writes it, kept off zero
        x = -1 + torch.relu(u + t) / t - torch.relu(u - t) / t
        return self.level * x, (self.W3(z) if self.W3 is not None else v)


#: The recipe (`unrolled.Recipe`): Samuel et al.'s code: every layer's loss weighted by log(k), Adam 1e-3; annealing and batches of 256 measured here.
RECIPE = Recipe(
    {
        "schedule": "deep-supervision",
        "layer_weights": "log",
        "loss": "nmse",
        "lr": 1e-3,
        "lr_schedule": "cosine",
        "batch_size": 256,
        "patience": None,
    },
    notes="Samuel et al.'s code: every layer's loss weighted by log(k), Adam 1e-3; annealing and batches of 256 measured here.",
)


@register("detnet", recipe=RECIPE)
def detnet(
    operator: Any = None,
    layers: int = 30,
    constellation: str = "bpsk",
    hidden: int | None = None,
    aux: int | None = None,
    mix: float = 0.9,
    backprop: str = "full",
) -> Any:
    """DetNet (Samuel, Diskin & Wiesel 2019): `DetNetIteration` with δ₁, δ₂ learned per layer
    and a `DetNetLift` per layer. Train with ``schedule="deep-supervision"`` and
    ``layer_weights="log"`` (log(k) for layer k), the paper's per-layer weighted loss.

    The paper: real BPSK, 30 receive × 20 transmit antennas (and 60 × 30), 3n layers, hidden
    size 8n, ``v`` of size 2n, α = 0.9, trained at SNR uniform in 7–14 dB.

    Departures from the paper: each layer's loss is normalised by ‖x‖² (train with
    ``loss="nmse"``) rather than by the ZF estimate's error; QPSK runs on the real-valued
    equivalent (`unrolled.data.MIMODetection` with ``real=True``) with levels ±1/√2.

    Args:
        operator: a real `unrolled.comms.Channel` ``(B, m, n)``; ``n`` sizes the network.
        layers: the number of layers.
        constellation: ``"bpsk"`` or ``"qpsk"``.
        hidden: the hidden size of each lift (default 8n).
        aux: the size of the auxiliary vector (default 2n).
        mix: α, the residual mixing.
        backprop: ``"full"`` or ``"checkpoint"``.
    """
    if not isinstance(operator, Channel) or operator.M.is_complex():
        raise TypeError(
            "operator: detnet detects over a real unrolled.comms.Channel (the real-valued "
            f"equivalent of a complex one), got {operator!r}"
        )
    n = operator.in_shape[0]
    hidden = positive_int(8 * n if hidden is None else hidden, "hidden")
    aux = positive_int(2 * n if aux is None else aux, "aux")
    mix = positive_number(mix, "mix")
    if mix > 1:
        raise ValueError(f"mix: expected α in (0, 1], got {mix!r}")
    alg = DetNetIteration(constellation, aux=aux, mix=mix)
    net = unroll(
        alg,
        layers,
        learn=("delta_y", "delta_x"),
        replace={"lift": lambda k: DetNetLift(n, hidden, aux, alg.level, k < layers - 1)},
        operator=operator,
        backprop=backprop,
    )
    return net.to(operator.dtype)


__all__ = ["DetNetIteration", "DetNetLift", "box_projection", "detnet"]
