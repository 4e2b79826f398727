"""`ComplexAsChannels`: a real-valued network applied to complex images."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..core import register


@register("complex-as-channels", kind="block")
class ComplexAsChannels(nn.Module):
    """Runs a real network on complex images by stacking real and imaginary parts as channels,
    the usual way (MoDL, E2E VarNet) of applying CNNs to MRI images.

    ``(B, H, W)`` complex becomes ``(B, 2, H, W)`` real; ``(B, C, H, W)`` complex becomes
    ``(B, 2C, H, W)`` (real parts, then imaginary parts). The wrapped network must map that to
    the same shape; the result goes back to complex. Real input passes straight through.

    Args:
        module: the real network, e.g. ``DnCNN(channels=2)`` for single-channel complex images.
    """

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        if not isinstance(module, nn.Module):
            raise TypeError(f"module: expected an nn.Module, got {type(module).__name__}")
        self.module = module

    def forward(self, x: Tensor) -> Tensor:
        if not x.is_complex():
            return self.module(x)
        if x.ndim not in (3, 4):
            raise ValueError(f"x: expected (B, H, W) or (B, C, H, W), got {tuple(x.shape)}")
        image = x.unsqueeze(1) if x.ndim == 3 else x
        C = image.shape[1]
        out = self.module(torch.cat([image.real, image.imag], dim=1))
        if out.shape[1] != 2 * C:
            raise ValueError(
                f"module: expected {2 * C} output channels (real and imaginary), got {out.shape[1]}"
            )
        z = torch.complex(out[:, :C], out[:, C:])
        return z.squeeze(1) if x.ndim == 3 else z
