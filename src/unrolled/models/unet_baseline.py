"""A black-box imaging baseline: a U-Net after a fixed linear reconstruction, nothing unrolled."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor, nn

from ..core.checks import check_operator, check_tensor
from ..nn import UNet
from ._common import positive_number
from ._imaging import image_channels, real_network


class UNetBaseline(nn.Module):
    """``x̂ = x₀ + UNet(x₀)`` with ``x₀ = (AᴴA + ρI)⁻¹ Aᴴy`` (Tikhonov: zero-filling for MRI, the
    minimum-norm solution for CS with orthonormal rows, a Wiener filter for deblurring): the
    post-processing network of Jin et al. 2017 ("Deep convolutional neural network for inverse
    problems in imaging"), the black box that unrolled networks are measured against. The
    operator enters only through ``x₀``. A ``start`` map replaces the Tikhonov ``x₀`` (for block
    CS, ISTA-Net's fitted Q_init, `unrolled.models.ista_net.BlockLinearStart`, so both networks
    start from the same linear estimate).

    Trains with `unrolled.train.fit` like a one-layer network: ``forward(y, A=None, trace=False,
    depth=None)``.

    Args:
        operator: a forward model of the task (sets the channels; the default ``A``).
        width, pools: the `unrolled.nn.UNet`'s.
        rho: the Tikhonov weight ρ of ``x₀``.
        start: ``start(y, A) -> x₀`` in place of the Tikhonov solution (an `nn.Module` is
            registered, so its weights travel with the state dict).

    Shapes: ``y`` ``(B, *A.out_shape)`` -> ``x`` ``(B, *A.in_shape)``.
    """

    layers = 1

    def __init__(
        self,
        operator: Any,
        width: int = 32,
        pools: int = 3,
        rho: float = 0.01,
        start: Callable[[Tensor, Any], Tensor] | None = None,
    ) -> None:
        super().__init__()
        channels, is_complex = image_channels(operator, "UNetBaseline")
        self.operator = operator
        self.rho = positive_number(rho, "rho")
        if start is not None and not callable(start):
            raise TypeError(
                f"start: expected a callable start(y, A) -> x0, got {type(start).__name__}"
            )
        self.start = start
        self.net = real_network(UNet(channels, width, pools), is_complex)
        if operator.dtype is not None:  # a float64 operator, a float64 network
            self.to(operator.dtype.to_real())

    def forward(
        self, y: Tensor, A: Any = None, trace: bool = False, depth: int | None = None
    ) -> Tensor | tuple[Tensor, Tensor]:
        if depth is not None and depth != 1:
            raise ValueError(
                f"depth: the baseline has one block; expected None or 1, got {depth!r}"
            )
        check_tensor(y, "y")
        A = self.operator if A is None else check_operator(A, "A")
        x0 = A.solve_gram(A.H(y), self.rho) if self.start is None else self.start(y, A)
        x = x0 + self.net(x0)
        return (x, x.unsqueeze(0)) if trace else x


__all__ = ["UNetBaseline"]
