"""Every registered block: shapes kept, identity before training where documented, gradients,
complex images through `ComplexAsChannels`, clear errors."""

from __future__ import annotations

import pytest
import torch

import unrolled as ur
from unrolled.nn import ComplexAsChannels, DnCNN, ResidualCNN, UNet

BUILDERS = {
    "dncnn": lambda: DnCNN(channels=1, depth=4, width=8),
    "residual-cnn": lambda: ResidualCNN(channels=1, depth=3, width=8),
    "unet": lambda: UNet(channels=1, width=4, pools=2),
    "complex-as-channels": lambda: ComplexAsChannels(DnCNN(channels=2, depth=3, width=8)),
}
BLOCKS = ur.list_models("block")


def test_every_registered_block_has_a_builder():
    assert set(BLOCKS) == set(BUILDERS)


@pytest.mark.parametrize("name", BLOCKS)
def test_block_keeps_the_shape_and_learns(name):
    torch.manual_seed(0)
    block = BUILDERS[name]()
    complex_input = name == "complex-as-channels"
    x = torch.randn(2, 13, 10, dtype=torch.complex64 if complex_input else torch.float32)
    out = block(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    (out.abs().square().sum()).backward()
    for pname, p in block.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname


@pytest.mark.parametrize("cls", [DnCNN, ResidualCNN])
def test_untrained_residual_blocks_are_the_identity(cls):
    block = cls(channels=3, depth=3, width=8)
    x = torch.randn(2, 3, 9, 9)
    torch.testing.assert_close(block(x), x)


def test_unet_pads_odd_sizes_and_keeps_channels():
    net = UNet(channels=2, width=4, pools=3)
    assert net(torch.randn(1, 2, 17, 23)).shape == (1, 2, 17, 23)


def test_unet_pads_small_images_so_the_bottom_has_more_than_one_pixel():
    net = UNet(channels=1, width=4, pools=4).train()
    assert net(torch.randn(2, 1, 12, 16)).shape == (2, 1, 12, 16)  # 12 < 2^5: padded to 32


def test_complex_as_channels_splits_real_and_imaginary_parts():
    class Swap(torch.nn.Module):  # (re, im) -> (im, re): multiplication by i, conjugated
        def forward(self, x):
            return x.flip(1)

    x = torch.randn(2, 5, 5, dtype=torch.complex64)
    torch.testing.assert_close(ComplexAsChannels(Swap())(x), torch.complex(x.imag, x.real))
    with pytest.raises(ValueError, match="output channels"):
        ComplexAsChannels(torch.nn.Conv2d(2, 3, 1))(x)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"x: expected \(B, 3, H, W\)"):
        DnCNN(channels=3, depth=3, width=4)(torch.randn(1, 8, 8))
    with pytest.raises(TypeError, match="ComplexAsChannels"):
        DnCNN(channels=1, depth=3, width=4)(torch.randn(1, 8, 8, dtype=torch.complex64))
    with pytest.raises(ValueError, match="depth"):
        DnCNN(depth=1)
    with pytest.raises(ValueError, match="pools"):
        UNet(pools=0)
