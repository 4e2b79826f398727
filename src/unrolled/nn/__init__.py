"""Generic learnable blocks for unrolled networks: denoisers and regularisers that fill a slot
(`unrolled.priors.Denoiser` wraps one as a prox), registered as kind ``"block"``.

`DnCNN` (Zhang et al. 2017), `UNet` (the small U-Net of E2E VarNet, Sriram et al. 2020),
`ResidualCNN` (MoDL's regulariser, Aggarwal et al. 2019); `ComplexAsChannels` runs any of them
on complex images as two real channels.
"""

from .complex import ComplexAsChannels
from .dncnn import DnCNN
from .resnet import ResidualCNN
from .unet import UNet

__all__ = ["ComplexAsChannels", "DnCNN", "ResidualCNN", "UNet"]
