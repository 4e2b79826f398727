"""`UNet`: the small U-Net regulariser of E2E VarNet (after fastMRI's reference model)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core import register
from ..core.checks import positive_int
from ._common import as_image, depth_at_least


def _conv_block(cin: int, cout: int) -> nn.Sequential:
    """Two [3×3 conv, instance norm, LeakyReLU(0.2)] (fastMRI's ``ConvBlock`` without dropout)."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.InstanceNorm2d(cout, eps=1e-3),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.InstanceNorm2d(cout, eps=1e-3),
        nn.LeakyReLU(0.2, inplace=True),
    )


def _up_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(cin, cout, 2, stride=2, bias=False),
        nn.InstanceNorm2d(cout, eps=1e-3),
        nn.LeakyReLU(0.2, inplace=True),
    )


@register("unet", kind="block")
class UNet(nn.Module):
    """A U-Net (Ronneberger et al. 2015) in the form E2E VarNet uses as its cascade regulariser
    (Sriram et al. 2020; fastMRI's ``Unet``): ``pools`` levels of [two 3×3 conv + instance norm
    + LeakyReLU(0.2), 2×2 average pooling], features doubling from ``width``; transposed
    convolutions up, skip connections by concatenation, a final 1×1 convolution. E2E VarNet:
    width 18, 4 pools, 12 cascades; it also normalises each input by its mean and standard
    deviation (fastMRI's ``NormUnet``), which belongs to the model using the block.

    Images whose sides are not multiples of ``2^pools`` (or are shorter than ``2^(pools+1)``)
    are zero-padded and cropped back.

    One departure from fastMRI: instance norm with ε = 10⁻³ (theirs 10⁻⁵). On a constant input
    (an all-zero measurement) every feature map is constant and each instance norm multiplies
    the gradient by 1/√ε; through the 13 of a 4-level U-Net, 10⁻⁵ overflows float32 into NaN
    gradients, 10⁻³ does not. Feature maps of real images have variances far above either.

    Args:
        channels: input and output channels (2 for complex images as channels).
        width: features of the first level.
        pools: down-sampling levels ≥ 1.

    Shapes: ``(B, C, H, W) -> (B, C, H, W)``; ``(B, H, W)`` when C = 1.
    """

    def __init__(self, channels: int = 2, width: int = 18, pools: int = 4) -> None:
        super().__init__()
        channels, width = positive_int(channels, "channels"), positive_int(width, "width")
        self.pools = depth_at_least(pools, 1, "pools")
        self.channels = channels
        self.down = nn.ModuleList([_conv_block(channels, width)])
        c = width
        for _ in range(pools - 1):
            self.down.append(_conv_block(c, 2 * c))
            c *= 2
        self.bottom = _conv_block(c, 2 * c)
        self.up_conv = nn.ModuleList()
        self.up = nn.ModuleList()
        for _ in range(pools):
            self.up_conv.append(_up_block(2 * c, c))
            self.up.append(_conv_block(2 * c, c))
            c //= 2
        self.out = nn.Conv2d(width, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        image = as_image(x, self.channels)
        H, W = image.shape[-2:]
        m = 2**self.pools
        # up to multiples of 2^pools, and at least two pixels a side at the bottom, where
        # instance norm needs more than one value
        pad_h, pad_w = max(-H % m, 2 * m - H), max(-W % m, 2 * m - W)
        h = F.pad(image, (0, pad_w, 0, pad_h)) if pad_h or pad_w else image
        skips = []
        for block in self.down:
            h = block(h)
            skips.append(h)
            h = F.avg_pool2d(h, 2)
        h = self.bottom(h)
        for up, block in zip(self.up_conv, self.up, strict=True):
            h = block(torch.cat([up(h), skips.pop()], dim=1))
        return self.out(h)[..., :H, :W].reshape(x.shape)
