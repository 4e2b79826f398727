"""A black-box imaging baseline: a U-Net after a fixed linear reconstruction, nothing unrolled."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from ..core.checks import check_operator, check_tensor
from ..nn import UNet
from ._common import positive_number
from ._imaging import image_channels, on_operator_dtype, real_network


class UNetBaseline(nn.Module):
    """``x̂ = x₀ + UNet(x₀)`` with ``x₀ = (AᴴA + ρI)⁻¹ Aᴴy`` (Tikhonov: zero-filling for MRI, the
    minimum-norm solution for CS with orthonormal rows, a Wiener filter for deblurring): the
    post-processing network of Jin et al. 2017 ("Deep convolutional neural network for inverse
    problems in imaging"), the black box that unrolled networks are measured against. The
    operator enters only through ``x₀``.

    Trains with `unrolled.train.fit` like a one-layer network: ``forward(y, A=None, trace=False,
    depth=None)``.

    Args:
        operator: a forward model of the task (sets the channels; the default ``A``).
        width, pools: the `unrolled.nn.UNet`'s.
        rho: the Tikhonov weight ρ of ``x₀``.

    Shapes: ``y`` ``(B, *A.out_shape)`` -> ``x`` ``(B, *A.in_shape)``.
    """

    layers = 1

    def __init__(self, operator: Any, width: int = 32, pools: int = 3, rho: float = 0.01) -> None:
        super().__init__()
        channels, is_complex = image_channels(operator, "UNetBaseline")
        self.operator = operator
        self.rho = positive_number(rho, "rho")
        self.net = real_network(UNet(channels, width, pools), is_complex)
        on_operator_dtype(self, operator)

    def forward(
        self, y: Tensor, A: Any = None, trace: bool = False, depth: int | None = None
    ) -> Tensor | tuple[Tensor, Tensor]:
        if depth is not None and depth != 1:
            raise ValueError(
                f"depth: the baseline has one block; expected None or 1, got {depth!r}"
            )
        check_tensor(y, "y")
        A = self.operator if A is None else check_operator(A, "A")
        x0 = A.solve_gram(A.H(y), self.rho)
        x = x0 + self.net(x0)
        return (x, x.unsqueeze(0)) if trace else x


__all__ = ["UNetBaseline"]
