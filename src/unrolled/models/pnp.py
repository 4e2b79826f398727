"""Unrolled plug-and-play: proximal gradient or half-quadratic splitting with a learned DnCNN in
place of the proximal map."""

from __future__ import annotations

from typing import Any

from ..algorithms import HQS, ISTA
from ..core import register, unroll
from ..nn import DnCNN
from ..priors import Denoiser
from ._common import annealed_recipe
from ._imaging import image_channels, real_network


def _pnp(
    algorithm: Any,
    learn: str,
    name: str,
    operator: Any,
    layers: int,
    tied: bool,
    depth: int,
    width: int,
    backprop: str,
) -> Any:
    if not isinstance(tied, bool):
        raise TypeError(
            f"tied: expected True (one denoiser) or False (one per layer), got {tied!r}"
        )
    channels, is_complex = image_channels(operator, name)

    def prior(k: int) -> Denoiser:
        # batch normalisation off: unrolled training runs small batches of patches
        return Denoiser(real_network(DnCNN(channels, depth, width, False), is_complex), False)

    return unroll(
        algorithm,
        layers,
        learn=learn,
        tied=tied,
        replace={"prox": prior(0) if tied else prior},
        operator=operator,
        backprop=backprop,
    )


#: The recipe (`unrolled.Recipe`): end-to-end at Adam 1e-3 annealed over the budget, batches of 8, the linear NMSE: measured here (benchmarks/imaging.py).
RECIPE = annealed_recipe(
    loss="nmse",
    lr=0.001,
    batch_size=8,
    notes="end-to-end at Adam 1e-3 annealed over the budget, batches of 8, the linear NMSE: measured here (benchmarks/imaging.py).",
)


@register("pnp-pgd", recipe=RECIPE)
def pnp_pgd(
    operator: Any = None,
    layers: int = 8,
    tied: bool = True,
    depth: int = 8,
    width: int = 32,
    backprop: str = "full",
) -> Any:
    """Unrolled plug-and-play proximal gradient (PnP-PGD; Venkatakrishnan et al. 2013, unrolled
    and trained end to end as in Gilton, Ongie & Willett 2021):

        x_{k+1} = D_k(x_k − α_k Aᴴ(A x_k − y)),       x_0 = 0

    `unrolled.algorithms.ISTA` with its prox replaced by a blind `unrolled.nn.DnCNN`, one shared
    by all layers (``tied=True``) or one per layer; the steps α_k are learned (tied with the
    denoiser).

    Departures from the paper: the DnCNN is trained inside the unrolled network, not
    pre-trained as a Gaussian denoiser; no batch normalisation.

    Args:
        operator: the forward model, real or complex images.
        layers: iterations.
        tied: one denoiser and one step for all layers, or one each.
        depth, width: the DnCNN's.
        backprop: ``"full"`` or ``"checkpoint"``.
    """
    return _pnp(ISTA(), "step", "pnp-pgd", operator, layers, tied, depth, width, backprop)


@register("pnp-hqs", recipe=RECIPE)
def pnp_hqs(
    operator: Any = None,
    layers: int = 8,
    tied: bool = True,
    depth: int = 8,
    width: int = 32,
    mu: float = 0.1,
    backprop: str = "full",
) -> Any:
    """Unrolled plug-and-play half-quadratic splitting (Zhang et al. 2017, "Learning deep CNN
    denoiser prior for image restoration"; trained end to end):

        x_{k+1} = (AᴴA + μ_k I)⁻¹ (Aᴴy + μ_k z_k),     z_{k+1} = D_k(x_{k+1}),     z_0 = 0

    `unrolled.algorithms.HQS` with its prox replaced by a blind `unrolled.nn.DnCNN`, tied or one
    per layer; the penalties μ_k are learned. The data step is the operator's closed form
    (deblurring, super-resolution, single-coil MRI, CS) or CG.

    Departures from the paper: the denoiser is trained inside the unrolled network rather than
    pre-trained at a schedule of noise levels; no batch normalisation.

    Args: as `pnp_pgd`, and ``mu``: the initial μ_k.
    """
    return _pnp(HQS(mu=mu), "mu", "pnp-hqs", operator, layers, tied, depth, width, backprop)


__all__ = ["pnp_hqs", "pnp_pgd"]
