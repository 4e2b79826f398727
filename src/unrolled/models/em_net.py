"""EM-Net: unrolled MLEM or OSEM with a learned prior between EM steps, in the form of FBSEM-Net
(Mehranian & Reader 2021)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ..algorithms import MLEM, log_quadratic_argmax
from ..algorithms.mlem import ml_step
from ..core import Param, register, unroll
from ..core.checks import positive_int, positive_number
from ..nn import DnCNN
from ._common import annealed_recipe
from ._imaging import check_real, image_channels

#: γ's constraint: the core's positive reparametrisation (softplus), as for a learned `Param`.
_GAMMA = Param(1.0, positive=True).with_default(1.0, "gamma")


class FBSEMStep(nn.Module):
    """The M-step of FBSEM-Net: the EM image is fused with a learned regularised image, pixel
    by pixel, as the maximiser of the EM surrogate with a quadratic pull towards it:

        x̂ = n / s,   z = R(x̂),   x_new = argmax_x n log x − s x − (γ/2)(x − z)²
            = positive root of γ x² + (s − γ z) x − n = 0          (`log_quadratic_argmax`)

    ``R`` is the regulariser (a CNN, shared by the layers), ``γ > 0`` this layer's weight
    (learned through softplus). With ``R`` at the identity, ``z = x̂`` and the root is ``x̂``:
    the EM step itself, whatever γ. The estimate stays ≥ 0 by construction.

    Called as MLEM's ``mstep(counts, sens, x)``; shapes ``(B, C, H, W)``.
    """

    def __init__(self, regulariser: nn.Module, gamma: float) -> None:
        super().__init__()
        self.regulariser = regulariser
        start = torch.tensor(positive_number(gamma, "gamma"))
        self.raw_gamma = nn.Parameter(_GAMMA.to_raw(start))

    @property
    def gamma(self) -> Tensor:
        return _GAMMA.from_raw(self.raw_gamma)

    def forward(self, counts: Tensor, sens: Tensor, x: Tensor) -> Tensor:
        x_em = ml_step(counts, sens, x)
        z = self.regulariser(x_em)
        gamma = self.gamma.to(x_em.dtype)
        return log_quadratic_argmax(counts, sens - gamma * z, gamma)


#: The recipe (`unrolled.Recipe`): Mehranian & Reader's MSE loss and Adam at 1e-3, annealed over the budget, batches of 8.
RECIPE = annealed_recipe(
    loss="mse",
    lr=0.001,
    batch_size=8,
    notes="Mehranian & Reader's MSE loss and Adam at 1e-3 (their code), annealed over the budget; batches of 8 images.",
)


@register("em-net", recipe=RECIPE)
def em_net(
    operator: Any = None,
    layers: int = 10,
    subsets: int = 1,
    depth: int = 6,
    width: int = 32,
    backprop: str = "full",
) -> Any:
    """EM-Net in the form of FBSEM-Net (Mehranian & Reader 2021, "Model-based deep learning PET
    image reconstruction using forward–backward splitting expectation–maximization"):
    `unrolled.algorithms.MLEM` (OSEM with ``subsets > 1``) unrolled, each EM image fused with a
    learned regularised one (`FBSEMStep`):

        x̂_k = x_k / s · Aᵀ(y / (A x_k + b)),   z_k = R(x̂_k),
        x_{k+1} = argmax_x  s x̂_k log x − s x − (γ_k/2)(x − z_k)²,      x_0 = 1

    one shared CNN ``R`` (a `unrolled.nn.DnCNN`, residual, its last layer starting at zero) and
    a weight ``γ_k`` per layer. Untrained, ``R`` is the identity and the network is MLEM (OSEM)
    exactly.

    Departures from the paper: ``R`` acts on the EM image ``x̂_k`` rather than on ``x_k`` (so
    that the untrained network is EM itself, where FBSEM-Net's start is a proximal EM step); one
    γ per layer where the authors learn one for all; a DnCNN without batch normalisation where
    they use a residual CNN with it; a layer is one (sub-)iteration.

    Args:
        operator: the emission system model (`unrolled.data.EmissionTomography`'s), real images
            ``(C, H, W)`` or ``(H, W)``; its background ``operator.background`` if it carries one.
        layers: EM (sub-)iterations.
        subsets: OSEM's subsets (1: MLEM).
        depth, width: the regulariser DnCNN's.
        backprop: ``"full"`` or ``"checkpoint"``.
    """
    channels, is_complex = image_channels(operator, "em-net")
    check_real(is_complex, "em-net")
    regulariser = DnCNN(channels, positive_int(depth, "depth"), positive_int(width, "width"), False)
    # γ starts where the pull towards z weighs as much as the data at a typical pixel
    batch = operator.batch_size or 1  # a per-sample operator takes its own batch
    ones = torch.ones(batch, *operator.out_shape, dtype=operator.dtype or torch.get_default_dtype())
    gamma = float(operator.H(ones).mean())
    return unroll(
        MLEM(subsets=subsets),
        layers,
        replace={"mstep": lambda k: FBSEMStep(regulariser, gamma)},
        operator=operator,
        backprop=backprop,
    )


__all__ = ["FBSEMStep", "em_net"]
