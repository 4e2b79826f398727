"""Training problems and data: seeded, reproducible on every machine, nothing downloaded.

Every problem is a registered `Problem` (``unrolled list --kind problem``; a run config names
it, ``problem: {name: sparse-coding, ...}``): samples, fixed validation and test sets, the
metric of its field, its classical baselines.

`SparseCoding` (synthetic sparse recovery); `CompressiveImaging`, `Deblurring`,
`SuperResolution` and `MRIReconstruction` (image patches measured on the fly, an operator per
batch); `MIMODetection` (fresh channels per batch); `RatingCompletion` (a rating set's
training ratings with a fresh inner hold-out per batch; `Ratings`, the MovieLens readers and
the splits); bundled images split by image into train and test
(`unrolled.data.images`), phantoms (`unrolled.data.phantoms`), and measurement helpers
(`unrolled.data.measurements`).
"""

from . import classical, images, measurements, mni, phantoms
from .completion import RatingCompletion
from .ct import CTReconstruction
from .emission import EmissionTomography
from .images import ImagePatches, load_image, mri_slice, test_images
from .implicit import ImplicitRanking
from .measurements import add_noise, estimate_noise_level, noise_levels, random_kernels
from .mimo import MIMODetection
from .mni import mni_slices, mni_template_path
from .phantoms import random_ellipses, shepp_logan, smooth_phase
from .problem import Baseline, Problem
from .rating_splits import kfold, temporal_holdout
from .ratings import (
    Ratings,
    movielens_100k,
    movielens_100k_path,
    movielens_100k_titles,
    read_ratings,
)
from .restoration import CompressiveImaging, Deblurring, MRIReconstruction, SuperResolution
from .sparse import SparseCoding
from .synthetic_ratings import synthetic_ratings

__all__ = [
    "Baseline",
    "CTReconstruction",
    "CompressiveImaging",
    "Deblurring",
    "EmissionTomography",
    "ImagePatches",
    "ImplicitRanking",
    "MIMODetection",
    "MRIReconstruction",
    "Problem",
    "RatingCompletion",
    "Ratings",
    "SparseCoding",
    "SuperResolution",
    "add_noise",
    "classical",
    "estimate_noise_level",
    "images",
    "kfold",
    "load_image",
    "measurements",
    "mni",
    "mni_slices",
    "mni_template_path",
    "movielens_100k",
    "movielens_100k_path",
    "movielens_100k_titles",
    "mri_slice",
    "noise_levels",
    "phantoms",
    "random_ellipses",
    "random_kernels",
    "read_ratings",
    "shepp_logan",
    "smooth_phase",
    "synthetic_ratings",
    "temporal_holdout",
    "test_images",
]
