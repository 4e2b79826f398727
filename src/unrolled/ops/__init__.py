"""Linear operators (forward models): one file per family.

General: `Matrix`, `Diagonal`, `Identity` and the algebra of `LinearOperator` (``A @ B``,
``c * A``, ``A + B``, ``A.H``). Imaging: compressed sensing (`GaussianCS`, `BlockCS`,
`StructuredCS`), `Blur`, `Downsample`, `Inpainting`, MRI (`MRI`, `SENSE`; masks in
`unrolled.ops.masks`), CT (`Radon`, with filtered back-projection `fbp`), and the transforms of
the priors (`Gradient`, `Wavelet`).
"""

from . import masks
from .base import Adjoint, Composition, LinearOperator, Scaled, Sum
from .blur import Blur, gaussian_kernel, motion_kernel, random_motion_kernel, uniform_kernel
from .cg import cg_solve, conjugate_gradient
from .check import AdjointMismatchError, check_adjoint
from .cs import BlockCS, GaussianCS, StructuredCS, gaussian_matrix
from .diagonal import Diagonal, Identity
from .downsample import Downsample
from .fft import dct, fft2c, idct, ifft2c
from .gradient import Gradient
from .inpainting import Inpainting
from .matrix import Matrix, as_dense
from .mri import MRI, SENSE, coil_maps
from .radon import FILTERS, Radon, fbp
from .wavelet import Wavelet

__all__ = [
    "FILTERS",
    "MRI",
    "SENSE",
    "Adjoint",
    "AdjointMismatchError",
    "BlockCS",
    "Blur",
    "Composition",
    "Diagonal",
    "Downsample",
    "GaussianCS",
    "Gradient",
    "Identity",
    "Inpainting",
    "LinearOperator",
    "Matrix",
    "Radon",
    "Scaled",
    "StructuredCS",
    "Sum",
    "Wavelet",
    "as_dense",
    "cg_solve",
    "check_adjoint",
    "coil_maps",
    "conjugate_gradient",
    "dct",
    "fbp",
    "fft2c",
    "gaussian_kernel",
    "gaussian_matrix",
    "idct",
    "ifft2c",
    "masks",
    "motion_kernel",
    "random_motion_kernel",
    "uniform_kernel",
]
