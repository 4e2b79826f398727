"""Problem generators and data: seeded, reproducible on every machine, nothing downloaded.

`SparseCoding` (synthetic sparse recovery); `CompressiveImaging`, `Deblurring`,
`SuperResolution` and `MRIReconstruction` (image patches measured on the fly, an operator per
batch); `MIMODetection` (fresh channels per batch); bundled images split by image into train and test
(`unrolled.data.images`), phantoms (`unrolled.data.phantoms`), and measurement helpers
(`unrolled.data.measurements`).
"""

from . import images, measurements, phantoms
from .images import ImagePatches, load_image, mri_slice, test_images
from .measurements import add_noise, estimate_noise_level, noise_levels, random_kernels
from .mimo import MIMODetection
from .phantoms import random_ellipses, shepp_logan, smooth_phase
from .restoration import CompressiveImaging, Deblurring, MRIReconstruction, SuperResolution
from .sparse import SparseCoding

#: Problems by the name a run config gives them (``problem: {name: sparse_coding, ...}``).
PROBLEMS = {
    "sparse_coding": SparseCoding,
    "compressive_imaging": CompressiveImaging,
    "deblurring": Deblurring,
    "mri": MRIReconstruction,
    "super_resolution": SuperResolution,
    "mimo": MIMODetection,
}

__all__ = [
    "PROBLEMS",
    "CompressiveImaging",
    "Deblurring",
    "ImagePatches",
    "MIMODetection",
    "MRIReconstruction",
    "SparseCoding",
    "SuperResolution",
    "add_noise",
    "estimate_noise_level",
    "images",
    "load_image",
    "measurements",
    "mri_slice",
    "noise_levels",
    "phantoms",
    "random_ellipses",
    "random_kernels",
    "shepp_logan",
    "smooth_phase",
    "test_images",
]
