"""MoDL (Aggarwal, Mani & Jacob 2019): a shared CNN denoiser alternating with conjugate-gradient
data consistency."""

from __future__ import annotations

from typing import Any, NamedTuple

from torch import Tensor, nn

from ..core import Algorithm, Layer, Param, Slot, register, unroll
from ..core.checks import positive_int
from ..nn import ResidualCNN
from ..ops.cg import cg_solve
from ._common import annealed_recipe, positive_number
from ._imaging import image_channels, on_operator_dtype, real_network


class MoDLState(NamedTuple):
    x: Tensor  # (B, *in_shape) the estimate
    Aty: Tensor  # (B, *in_shape) Aᴴy, computed once


class MoDLIteration(Algorithm):
    """Model-based deep learning (Aggarwal et al. 2019, Eq. 11):

        z_k     = D(x_k)
        x_{k+1} = (AᴴA + λI)⁻¹ (Aᴴy + λ z_k)          (``cg_iterations`` CG steps, from z_k)
        x_0     = Aᴴy

    The data step is `unrolled.ops.cg_solve`: its backward pass solves one more system instead
    of storing the CG iterates, so memory does not grow with ``cg_iterations``. With the default
    ``D`` (the identity) it is the proximal-point method on ½‖Ax − y‖², which converges to a
    least-squares solution.

    Args:
        cg_iterations: CG steps per data step (MoDL: 10).

    Params: ``lam`` λ > 0. Slot: ``denoiser(x) -> x``.
    """

    lam = Param(0.05, positive=True, doc="data-consistency weight λ")
    denoiser = Slot(nn.Identity(), doc="denoiser(x) -> x, the learned regulariser D")

    def __init__(self, cg_iterations: int = 10, **overrides: Any) -> None:
        self.cg_iterations = positive_int(cg_iterations, "cg_iterations")
        super().__init__(**overrides)

    def init(self, y: Tensor, A: Any) -> MoDLState:
        Aty = A.H(y)
        return MoDLState(Aty, Aty)

    def update(self, state: MoDLState, y: Tensor, A: Any, p: Layer) -> MoDLState:
        x, Aty = state
        z = p.denoiser(x)
        lam = p.lam
        x = cg_solve(lambda v: A.gram(v) + lam * v, Aty + lam * z, self.cg_iterations, x0=z)
        return MoDLState(x, Aty)


#: The recipe (`unrolled.Recipe`): Aggarwal et al.'s rate 1e-3, end-to-end; annealing, batches of 4 and the linear NMSE measured here.
RECIPE = annealed_recipe(
    loss="nmse",
    lr=0.001,
    batch_size=4,
    notes="Aggarwal et al.'s rate 1e-3, end-to-end; annealing, batches of 4 and the linear NMSE measured here.",
)


@register("modl", recipe=RECIPE)
def modl(
    operator: Any = None,
    layers: int = 10,
    depth: int = 5,
    width: int = 64,
    lam: float = 0.05,
    cg_iterations: int = 10,
    batch_norm: bool = True,
    backprop: str = "full",
) -> Any:
    """MoDL (Aggarwal, Mani & Jacob 2019, "MoDL: model-based deep learning architecture for
    inverse problems"): a `MoDLIteration` with one `unrolled.nn.ResidualCNN` shared by all
    iterations and one learned λ. The paper: 10 iterations, a 5-layer CNN of 64 features with
    batch normalisation, 10 CG steps, multi-coil brain MRI (real and imaginary parts as
    channels).

    Departures from the paper: the CG of the data step starts from ``z_k`` (a warm start; the
    paper starts from zero) and its gradient is computed implicitly (`cg_solve`), which is exact
    at convergence; the paper back-propagates through the CG steps.

    Args:
        operator: the forward model, real or complex images.
        layers: iterations K.
        depth, width, batch_norm: the `ResidualCNN`.
        lam: initial λ.
        cg_iterations: CG steps per data step.
        backprop: ``"full"`` or ``"checkpoint"``.
    """
    channels, is_complex = image_channels(operator, "modl")
    denoiser = real_network(ResidualCNN(channels, depth, width, batch_norm), is_complex)
    net = unroll(
        MoDLIteration(cg_iterations, lam=positive_number(lam, "lam")),
        layers,
        learn="lam",
        tied=True,
        replace={"denoiser": denoiser},
        operator=operator,
        backprop=backprop,
    )
    return on_operator_dtype(net, operator)


__all__ = ["MoDLIteration", "modl"]
