"""Real MRI anatomy, offline: axial slices of the MNI ICBM152 T1 template (2009a symmetric, 1 mm,
Fonov et al. 2011), the brain volume the nilearn wheel ships, split by slice into training,
validation and test sets that share no anatomy.

The wheel is installed without its dependencies (``pip install --no-deps nilearn``; ``make
test`` does) and only its file is read, with nibabel: nilearn itself is never imported.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from ..core.checks import choice, positive_int
from .packaged import packaged_file

#: The template inside the nilearn package.
MNI_T1 = "datasets/data/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"
SPLITS = ("train", "validation", "test")
#: Slices are dealt in blocks of this many, in this order of splits, and the `GAP` slices at
#: each end of a block are left out: two slices of different splits are at least 2·GAP + 1 mm
#: apart, so no test anatomy is a near copy of a training slice.
BLOCK = 12
PATTERN = ("train", "train", "train", "validation", "test")
GAP = 2


def mni_template_path() -> Path | None:
    """The T1 template the nilearn wheel ships, or None when it is not installed (the package
    is located, not imported)."""
    return packaged_file("nilearn", MNI_T1)


def _volume(path: str | Path | None) -> Tensor:
    """The template as axial slices ``(S, A, R)``, inferior first, anterior at the top of each
    slice, in [0, 1] (scaled by the tissue's 99.5th percentile)."""
    if path is None:
        path = mni_template_path()
        if path is None:
            raise FileNotFoundError(
                "The MNI152 template is not on this machine. It ships inside the nilearn wheel: "
                "pip install --no-deps nilearn (make test does), or pass path= to a copy of "
                f"{Path(MNI_T1).name}"
            )
    return _read(str(path))


@functools.lru_cache(maxsize=2)  # the splits of one problem read the file once
def _read(path: str) -> Tensor:
    try:
        import nibabel
    except ImportError:
        raise ImportError(
            "reading the MNI template needs nibabel: pip install 'unrolled[imaging]'"
        ) from None
    data = torch.from_numpy(nibabel.load(path).get_fdata()).float()  # (R, A, S)
    axial = data.permute(2, 1, 0).flip(1)  # (S, A, R), anterior at the top of each slice
    scale = torch.quantile(axial[axial > 0].flatten()[::7], 0.995)
    return (axial / scale).clamp(0, 1)


def slice_split(count: int) -> dict[str, list[int]]:
    """The slice indices of each split among ``count`` consecutive slices (see `BLOCK`)."""
    out: dict[str, list[int]] = {s: [] for s in SPLITS}
    for start in range(0, count, BLOCK):
        split = PATTERN[(start // BLOCK) % len(PATTERN)]
        out[split] += list(range(start + GAP, min(start + BLOCK - GAP, count)))
    return out


def mni_slices(
    split: str = "train",
    size: int = 128,
    min_brain: float = 0.1,
    path: str | Path | None = None,
) -> Tensor:
    """Axial slices of the MNI152 T1 template for one split.

    Args:
        split: ``"train"``, ``"validation"`` or ``"test"`` (`slice_split`: blocks of
            consecutive slices, disjoint and at least 5 mm apart between splits).
        size: the slices' side: each 233×197 mm slice is zero-padded to a square and resized
            (area averaging).
        min_brain: keep the slices whose share of non-background pixels is at least this (the
            top and bottom of the head have little anatomy).
        path: a copy of the template file (default: the nilearn wheel's).

    Returns:
        ``(N, size, size)`` float32 magnitudes in [0, 1].
    """
    split = choice(split, "split", SPLITS)
    size = positive_int(size, "size")
    if not 0 <= min_brain < 1:
        raise ValueError(f"min_brain: expected a fraction in [0, 1), got {min_brain!r}")
    volume = _volume(path)
    brain = (volume > 0.05).flatten(1).float().mean(1) >= min_brain
    kept = volume[brain]
    picked = kept[slice_split(kept.shape[0])[split]]
    H, W = picked.shape[-2:]
    side = max(H, W)
    top, left = (side - H) // 2, (side - W) // 2
    square = F.pad(picked, (left, side - W - left, top, side - H - top))
    return F.interpolate(square[:, None], size=(size, size), mode="area")[:, 0].clamp(0, 1)


class SliceSampler:
    """Random whole slices of one MNI split, each flipped left-right at random (the brain's
    symmetric template makes either side plausible), from a seeded generator: the training
    stream of `unrolled.data.MRIReconstruction` with ``images="mni"``.

    ``sample(batch)`` returns ``(batch, 1, size, size)`` in [0, 1]; ``generator`` is the stream.
    """

    def __init__(self, split: str = "train", size: int = 128, seed: int = 0) -> None:
        self.slices = mni_slices(split, size)[:, None]
        self.generator = torch.Generator().manual_seed(seed)

    def sample(self, batch: int) -> Tensor:
        batch = positive_int(batch, "batch")
        g = self.generator
        picked = self.slices[torch.randint(len(self.slices), (batch,), generator=g)]
        flip = torch.rand(batch, generator=g) < 0.5
        return torch.where(flip.view(-1, 1, 1, 1), picked.flip(-1), picked)


__all__ = ["MNI_T1", "SPLITS", "SliceSampler", "mni_slices", "mni_template_path", "slice_split"]
