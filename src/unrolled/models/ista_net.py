"""ISTA-Net and ISTA-Net+ (Zhang & Ghanem 2018): ISTA whose shrinkage acts in a learned
nonlinear transform domain, one transform per phase, with a symmetry constraint."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from ..algorithms import ISTA, adjoint_start
from ..algorithms.ista import ISTAState
from ..core import Layer, Param, Slot, register, unroll
from ..core.checks import positive_int
from ..data.images import ImagePatches
from ..nn._common import as_image
from ..ops import BlockCS
from ..priors import soft_threshold
from ._common import annealed_recipe, positive_number
from ._imaging import check_real, image_channels


def _conv(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, padding=1, bias=False)


class ISTANetTransform(nn.Module):
    """One phase's proximal step of ISTA-Net (``plus=False``) or ISTA-Net+ (``plus=True``):

        ISTA-Net:   x = F̃(soft(F(r), θ)),                 symmetry  ‖F̃(F(r)) − r‖²
        ISTA-Net+:  x = r + G(F̃(soft(F(D r), θ))),        symmetry  ‖F̃(F(D r)) − D r‖²

    ``F`` and ``F̃`` are two 3×3 convolutions with a ReLU between (``features`` maps), ``D`` and
    ``G`` single 3×3 convolutions into and out of the feature space (ISTA-Net+'s residual form).
    ISTA-Net+'s G starts at zero, so its untrained phase is the identity; ISTA-Net's transform
    starts at pixel-domain soft thresholding (`_soft_threshold_start`, when ``features ≥ 2C``).
    Called as ``prox(r, θ)``, it returns ``(x, symmetry)`` with ``symmetry`` the mean square of
    the symmetry residual (a scalar).

    Shapes: ``r`` ``(B, C, H, W)`` or ``(B, H, W)`` when C = 1.
    """

    def __init__(self, channels: int = 1, features: int = 32, plus: bool = False) -> None:
        super().__init__()
        self.channels = positive_int(channels, "channels")
        features = positive_int(features, "features")
        self.plus = bool(plus)
        inner = features if plus else channels
        self.D = _conv(channels, features) if plus else None
        self.G = _conv(features, channels) if plus else None
        self.F = nn.Sequential(_conv(inner, features), nn.ReLU(), _conv(features, features))
        self.F_inv = nn.Sequential(_conv(features, features), nn.ReLU(), _conv(features, inner))
        for conv in self.modules():  # the paper's Xavier initialisation
            if isinstance(conv, nn.Conv2d):
                nn.init.xavier_normal_(conv.weight)
        if self.G is not None:  # ISTA-Net+ starts as the identity: its residual branch closed
            nn.init.zeros_(self.G.weight)
        elif features >= 2 * self.channels:
            self._soft_threshold_start()

    @torch.no_grad()
    def _soft_threshold_start(self) -> None:
        """Start plain ISTA-Net's ``F̃ ∘ soft ∘ F`` at pixel-domain soft thresholding: F splits
        each channel c into maps ``2c = relu(r_c)`` and ``2c+1 = relu(−r_c)``, which pass through
        unchanged, and F̃ returns their difference, so ``F̃(soft(F(r), θ)) = soft(r, θ)`` and the
        symmetry residual ``F̃(F(r)) − r`` is zero. The other maps keep a tenth of their Xavier
        weights, and F̃'s last convolution reads them with zero weights (as ISTA-Net+'s G), so
        that they learn from the first step without changing the start."""
        convs = (self.F[0], self.F[2], self.F_inv[0], self.F_inv[2])
        f0, f1, g0, g1 = (conv.weight for conv in convs)
        for w in (f0, f1, g0):
            w.mul_(0.1)
        split = 2 * self.channels
        f0[:split] = 0
        f1[:split], f1[:, :split] = 0, 0
        g0[:split], g0[:, :split] = 0, 0
        g1.zero_()
        for c in range(self.channels):
            pos, neg = 2 * c, 2 * c + 1
            f0[pos, c, 1, 1], f0[neg, c, 1, 1] = 1.0, -1.0
            for w in (f1, g0):
                w[pos, pos, 1, 1], w[neg, neg, 1, 1] = 1.0, 1.0
            g1[c, pos, 1, 1], g1[c, neg, 1, 1] = 1.0, -1.0

    def forward(self, r: Tensor, theta: float | Tensor) -> tuple[Tensor, Tensor]:
        image = as_image(r, self.channels)
        u = self.D(image) if self.D is not None else image
        features = self.F(u)
        x = self.F_inv(soft_threshold(features, theta))
        symmetry = (self.F_inv(features) - u).square().mean()
        if self.G is not None:
            x = image + self.G(x)
        return x.reshape(r.shape), symmetry


class BlockLinearStart(nn.Module):
    """ISTA-Net's initialisation ``x_0 = Q_init y``, block by block, for `unrolled.ops.BlockCS`:
    ``Q`` ``(b², m)`` is the least-squares linear map from measurements to blocks over training
    data, ``Q = X Yᵀ (Y Yᵀ)⁻¹`` (Zhang & Ghanem 2018, Eq. 13), kept fixed.

    Args:
        Q: ``(b², m)``, e.g. from `fit_block_start`.
    """

    def __init__(self, Q: Tensor) -> None:
        super().__init__()
        if not isinstance(Q, Tensor) or Q.ndim != 2:
            raise ValueError(f"Q: expected a (b², m) tensor, got {getattr(Q, 'shape', Q)!r}")
        self.register_buffer("Q", Q)

    def forward(self, y: Tensor, A: Any) -> Tensor:
        if not isinstance(A, BlockCS) or tuple(A.matrix.M.shape[::-1]) != tuple(self.Q.shape):
            raise ValueError(
                f"A: expected a BlockCS with a {tuple(self.Q.shape[::-1])} matrix, got {A!r}"
            )
        blocks = y.reshape(-1, y.shape[-1]) @ self.Q.mT
        return A.image_of_blocks(blocks, (y.shape[0], *A.in_shape[:-2]))


@torch.no_grad()
def fit_block_start(A: BlockCS, samples: int = 20000, seed: int = 0) -> Tensor:
    """``Q_init`` for ``A``'s Φ from blocks of the bundled training images (never the test
    images): the least-squares ``Q = X Yᵀ (Y Yᵀ + εI)⁻¹``, ``(b², m)``, float64 then cast."""
    b = A.block
    patches = ImagePatches("train", b, seed=seed, dtype=torch.float64).sample(samples)
    X = patches.reshape(samples, b * b).T  # (b², N)
    Y = A.matrix.M.to(torch.float64) @ X  # (m, N)
    gram = Y @ Y.T
    gram += 1e-8 * gram.diagonal().mean() * torch.eye(len(gram), dtype=gram.dtype)
    return torch.linalg.solve(gram, Y @ X.T).T.to(A.dtype)


class ISTANetState(NamedTuple):
    ista: ISTAState  # ISTA's state: the iterate x (B, *in_shape) and Aᴴy
    symmetry: Tensor  # () γ times the symmetry residuals summed over the phases so far


class ISTANetIteration(ISTA):
    """ISTA (`unrolled.algorithms.ISTA`) with a transform-domain prox (Zhang & Ghanem 2018,
    Eqs. 4 and 9):

        r_k = x_{k−1} − ρ_k Aᴴ(A x_{k−1} − y)
        x_k = prox_k(r_k, ρ_k λ_k)                  (an `ISTANetTransform`: x_k and its symmetry)
        x_0 = start(y, A)                           (Aᴴy, or ISTA-Net's Q_init y)

    The update is ISTA's; this class only adds to the state the auxiliary training loss
    ``γ Σ_k symmetry_k`` (γ = 0.01 in the paper) that a prox returning ``(x, symmetry)``
    reports. With the default prox (soft thresholding, no symmetry) it is ISTA started at
    ``Aᴴy``.

    Params: ``step`` ρ (default 1/L), ``threshold`` λ; ``gamma`` γ is fixed. Slots: ``prox``,
    ``start(y, A) -> x_0`` (default `adjoint_start`).
    """

    gamma = Param(0.01, positive=True, doc="weight γ of the symmetry loss")
    start = Slot(adjoint_start, doc="start(y, A) -> x_0, the initial estimate")

    def init(self, y: Tensor, A: Any, p: Layer | None = None) -> ISTANetState:
        ista = super().init(y, A, p)
        return ISTANetState(ista, ista.x.real.new_zeros(()))

    def update(self, state: ISTANetState, y: Tensor, A: Any, p: Layer) -> ISTANetState:
        residuals: list[Tensor] = []

        def prox(v: Tensor, tau: float | Tensor) -> Tensor:
            out = p.prox(v, tau)
            if isinstance(out, tuple):  # a transform's (x, symmetry)
                out, residual = out
                residuals.append(residual)
            return out

        ista = super().update(state.ista, y, A, Layer({**vars(p), "prox": prox}, p.layer))
        symmetry = state.symmetry
        for residual in residuals:
            symmetry = symmetry + p.gamma * residual
        return ISTANetState(ista, symmetry)

    def output(self, state: ISTANetState) -> Tensor:
        return state.ista.x

    def auxiliary(self, state: ISTANetState) -> Tensor:
        return state.symmetry


def _ista_net(
    plus: bool,
    name: str,
    operator: Any,
    layers: int,
    features: int,
    gamma: float,
    threshold: float,
    start: str,
    backprop: str,
) -> Any:
    channels, is_complex = image_channels(operator, name)
    check_real(is_complex, name)
    alg = ISTANetIteration(
        gamma=positive_number(gamma, "gamma"), threshold=positive_number(threshold, "threshold")
    )
    replace: dict[str, Any] = {"prox": lambda k: ISTANetTransform(channels, features, plus=plus)}
    if start not in ("fitted", "adjoint"):
        raise ValueError(f"start: expected 'fitted' or 'adjoint', got {start!r}")
    if start == "fitted" and isinstance(operator, BlockCS):
        replace["start"] = BlockLinearStart(fit_block_start(operator))
    return unroll(
        alg,
        layers,
        learn=("step", "threshold"),
        replace=replace,
        operator=operator,
        backprop=backprop,
    )


#: The recipe (`unrolled.Recipe`): Zhang & Ghanem's: end-to-end on the squared error (the model adds its symmetry term) at Adam 1e-3; annealing and no early stop measured here.
RECIPE = annealed_recipe(
    loss="mse",
    lr=0.001,
    batch_size=16,
    notes="Zhang & Ghanem's: end-to-end on the squared error (the model adds its symmetry term) at Adam 1e-3; annealing and no early stop measured here.",
)


@register("ista-net", recipe=RECIPE)
def ista_net(
    operator: Any = None,
    layers: int = 9,
    features: int = 32,
    gamma: float = 0.01,
    threshold: float = 0.01,
    start: str = "fitted",
    backprop: str = "full",
) -> Any:
    """ISTA-Net (Zhang & Ghanem 2018), an `ISTANetIteration` with one learned transform
    ``F̃ ∘ soft ∘ F`` per phase, a learned step ρ_k and threshold θ_k = ρ_k λ_k per phase.

    The paper's setting: block CS (`unrolled.ops.BlockCS`, 33×33), 9 phases, 32 feature maps,
    loss ``MSE + 0.01·Σ symmetry`` (train with ``loss="mse"``).

    Departures from the paper: Q_init is fitted to blocks of the bundled training images (the
    paper: its 91-image training set); the convolutions run over the whole image rather than
    each 33×33 block, so the blocks see their neighbours; the transforms start at pixel-domain
    soft thresholding plus small random maps (the paper: Xavier), so the untrained network is
    ISTA from Q_init·y: from Xavier weights it stays at 18.7 dB after 3 minutes on CPU at 25 %.

    Args:
        operator: the forward model (real images ``(H, W)`` or ``(C, H, W)``); its shape sets the
            channels.
        layers: phases.
        features: feature maps of the transforms.
        gamma: weight of the symmetry loss.
        threshold: initial λ_k (θ_k = ρ_k λ_k).
        start: ``"fitted"``: x_0 = Q_init y (`BlockLinearStart`, fitted by `fit_block_start`;
            for a `BlockCS` operator, otherwise as ``"adjoint"``); ``"adjoint"``: x_0 = Aᴴy.
        backprop: ``"full"`` or ``"checkpoint"``.
    """
    return _ista_net(
        False, "ista-net", operator, layers, features, gamma, threshold, start, backprop
    )


@register("ista-net-plus", recipe=RECIPE)
def ista_net_plus(
    operator: Any = None,
    layers: int = 9,
    features: int = 32,
    gamma: float = 0.01,
    threshold: float = 0.01,
    start: str = "fitted",
    backprop: str = "full",
) -> Any:
    """ISTA-Net+ (Zhang & Ghanem 2018): `ista_net` with the residual transform
    ``x = r + G(F̃(soft(F(D r), θ)))`` in each phase; the paper's best CS model.

    Departures from the paper: as `ista_net` (Q_init from the bundled training images,
    convolutions over the whole image) and G starts at zero, so the untrained network is
    ISTA's projection steps from Q_init·y rather than a random map.

    Args: as `ista_net`.
    """
    return _ista_net(
        True, "ista-net-plus", operator, layers, features, gamma, threshold, start, backprop
    )


__all__ = [
    "BlockLinearStart",
    "ISTANetIteration",
    "ISTANetTransform",
    "adjoint_start",
    "fit_block_start",
    "ista_net",
    "ista_net_plus",
]
