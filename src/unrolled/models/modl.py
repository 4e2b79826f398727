"""MoDL (Aggarwal, Mani & Jacob 2019): a shared CNN denoiser alternating with conjugate-gradient
data consistency."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from ..algorithms import HQS, adjoint_start
from ..algorithms.hqs import HQSState
from ..core import Layer, Param, Slot, register, unroll
from ..nn import ResidualCNN
from ._common import annealed_recipe, positive_number
from ._imaging import image_channels, real_network


def _blind(denoiser: Any) -> Any:
    """``D`` as a prior step ``prox(v, tau) = D(v)``: MoDL's denoiser takes no noise level."""
    return lambda v, tau: denoiser(v)


class MoDLIteration(HQS):
    """Model-based deep learning (Aggarwal et al. 2019, Eq. 11) is half-quadratic splitting
    (`unrolled.algorithms.HQS`) with the prior step first, from ``Aᴴy``:

        z_k     = D(x_k)
        x_{k+1} = (AᴴA + λI)⁻¹ (Aᴴy + λ z_k)          (``cg_iterations`` CG steps, from z_k)
        x_0     = Aᴴy

    This class only gives HQS MoDL's names (the penalty μ is ``lam`` λ; the prior step is
    ``denoiser(x)``, which takes no noise level); the update is HQS's. The data step is
    `unrolled.ops.cg_solve` (``implicit=True``): its backward pass solves one more system
    instead of storing the CG iterates, so memory does not grow with ``cg_iterations``. With
    the default ``D`` (the identity) it is the proximal-point method on ½‖Ax − y‖², which
    converges to a least-squares solution.

    Args:
        cg_iterations: CG steps per data step (MoDL: 10).

    Params: ``lam`` λ > 0. Slots: ``denoiser(x) -> x``, ``start(y, A)`` (default Aᴴy).
    """

    mu = None
    threshold = None
    prox = None
    lam = Param(0.05, positive=True, doc="data-consistency weight λ")
    denoiser = Slot(nn.Identity(), doc="denoiser(x) -> x, the learned regulariser D")

    def __init__(self, cg_iterations: int = 10, **overrides: Any) -> None:
        overrides = {"start": adjoint_start, **overrides}
        super().__init__(1.0, cg_iterations, prior_first=True, implicit=True, **overrides)

    def update(self, state: HQSState, y: Tensor, A: Any, p: Layer) -> HQSState:
        hqs = {"mu": p.lam, "threshold": 0.0, "prox": _blind(p.denoiser)}
        return super().update(state, y, A, Layer({**vars(p), **hqs}, p.layer))


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
    return unroll(
        MoDLIteration(cg_iterations, lam=positive_number(lam, "lam")),
        layers,
        learn="lam",
        tied=True,
        replace={"denoiser": denoiser},
        operator=operator,
        backprop=backprop,
    )


__all__ = ["MoDLIteration", "modl"]
