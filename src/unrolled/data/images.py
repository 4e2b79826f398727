"""Images bundled with installed packages, split by image into train and test, and seeded
random patches with the dihedral augmentations.

Nothing is downloaded: the images come from scikit-image (``skimage.data``), PyWavelets
(``pywt.data``) and matplotlib's sample data (an MRI slice). A test image is never a training
image, in either colour mode (a colour image's grey version belongs to the same split).
"""

from __future__ import annotations

import gzip
import numbers

import numpy as np
import torch
from torch import Tensor

#: Every bundled image: name -> (package, loader attribute, colour?).
CATALOGUE: dict[str, tuple[str, str, bool]] = {
    # held out for testing
    "camera": ("skimage", "camera", False),
    "astronaut": ("skimage", "astronaut", True),
    "coffee": ("skimage", "coffee", True),
    "coins": ("skimage", "coins", False),
    "clock": ("skimage", "clock", False),
    "aero": ("pywt", "aero", False),
    # for training
    "moon": ("skimage", "moon", False),
    "brick": ("skimage", "brick", False),
    "grass": ("skimage", "grass", False),
    "gravel": ("skimage", "gravel", False),
    "page": ("skimage", "page", False),
    "text": ("skimage", "text", False),
    "cell": ("skimage", "cell", False),
    "ascent": ("pywt", "ascent", False),
    "chelsea": ("skimage", "chelsea", True),
    "rocket": ("skimage", "rocket", True),
    "hubble_deep_field": ("skimage", "hubble_deep_field", True),
    "immunohistochemistry": ("skimage", "immunohistochemistry", True),
    "retina": ("skimage", "retina", True),
}
TEST_IMAGES = ("camera", "astronaut", "coffee", "coins", "clock", "aero")
TRAIN_IMAGES = tuple(n for n in CATALOGUE if n not in TEST_IMAGES)
SPLITS = {"train": TRAIN_IMAGES, "test": TEST_IMAGES}

_CACHE: dict[tuple[str, bool], Tensor] = {}


def _read(package: str, attribute: str) -> np.ndarray:
    try:
        if package == "skimage":
            import skimage.data as source
        else:
            import pywt.data as source
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"the bundled images need scikit-image and PyWavelets: pip install unrolled[imaging] "
            f"({error})"
        ) from error
    return np.asarray(getattr(source, attribute)())


def load_image(name: str, grayscale: bool = True, dtype: torch.dtype = torch.float32) -> Tensor:
    """A bundled image as ``(C, H, W)`` in [0, 1] (C = 1 grey, 3 colour).

    ``grayscale=True`` converts colour images by ITU-R 601 luma (0.299 R + 0.587 G + 0.114 B);
    ``grayscale=False`` needs a colour image (see `CATALOGUE`).
    """
    if name not in CATALOGUE:
        raise ValueError(f"name: expected one of {sorted(CATALOGUE)}, got {name!r}")
    package, attribute, colour = CATALOGUE[name]
    if not grayscale and not colour:
        raise ValueError(f"name: {name!r} is a grey image; ask for grayscale=True")
    key = (name, grayscale)
    if key not in _CACHE:
        a = _read(package, attribute).astype(np.float64)
        a = a / 255.0 if a.max() > 1 else a
        if a.ndim == 3:
            a = a[..., :3]
            if grayscale:
                a = a @ np.array([0.299, 0.587, 0.114])
        t = torch.from_numpy(np.ascontiguousarray(a))
        _CACHE[key] = t.unsqueeze(0) if t.ndim == 2 else t.permute(2, 0, 1).contiguous()
    return _CACHE[key].to(dtype, copy=True)  # the caller may edit it; the cache stays


def split_images(split: str, grayscale: bool = True) -> tuple[str, ...]:
    """The names of ``split`` (``"train"`` or ``"test"``) usable in the colour mode asked."""
    if split not in SPLITS:
        raise ValueError(f"split: expected 'train' or 'test', got {split!r}")
    return tuple(n for n in SPLITS[split] if grayscale or CATALOGUE[n][2])


def dihedral(x: Tensor, k: int) -> Tensor:
    """The k-th of the 8 flips and right-angle rotations (k in 0..7) of ``(..., H, W)``."""
    if k >= 4:
        x = x.flip(-1)
    return torch.rot90(x, k % 4, dims=(-2, -1))


def center_crop(x: Tensor, size: int | tuple[int, int]) -> Tensor:
    """The central ``size`` (an int for a square) of ``(..., H, W)``."""
    h, w = (size, size) if isinstance(size, int) else size
    H, W = x.shape[-2:]
    if h > H or w > W:
        raise ValueError(f"size: expected at most the image size {(H, W)}, got {(h, w)}")
    top, left = (H - h) // 2, (W - w) // 2
    return x[..., top : top + h, left : left + w]


class ImagePatches:
    """Random ``size × size`` patches of one split's images, with random flips and right-angle
    rotations, from a seeded generator (the same seed, the same patches on every machine).

    Args:
        split: ``"train"`` or ``"test"`` (test patches are for evaluation only).
        size: patch side in pixels.
        grayscale: grey patches (every image) or colour ones (the colour images).
        augment: apply a random one of the 8 dihedral transforms to each patch.
        seed: the generator's seed.
        dtype: patches' dtype.

    ``sample(batch)`` returns ``(batch, C, size, size)`` in [0, 1].
    """

    def __init__(
        self,
        split: str = "train",
        size: int = 64,
        grayscale: bool = True,
        augment: bool = True,
        seed: int = 0,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.names = split_images(split, grayscale)
        self.images = [load_image(n, grayscale, dtype) for n in self.names]
        smallest = min(min(im.shape[-2:]) for im in self.images)
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= smallest:
            raise ValueError(f"size: expected an int in [1, {smallest}], got {size!r}")
        self.size, self.augment = size, augment
        self.generator = torch.Generator().manual_seed(seed)

    def sample(self, batch: int) -> Tensor:
        if not isinstance(batch, numbers.Integral) or batch < 1:
            raise ValueError(f"batch: expected a positive int, got {batch!r}")
        g, s = self.generator, self.size
        out = []
        for _ in range(batch):
            im = self.images[int(torch.randint(len(self.images), (), generator=g))]
            H, W = im.shape[-2:]
            top = int(torch.randint(H - s + 1, (), generator=g))
            left = int(torch.randint(W - s + 1, (), generator=g))
            patch = im[:, top : top + s, left : left + s]
            if self.augment:
                patch = dihedral(patch, int(torch.randint(8, (), generator=g)))
            out.append(patch)
        return torch.stack(out)


def test_images(
    size: int = 256, grayscale: bool = True, dtype: torch.dtype = torch.float32
) -> tuple[tuple[str, ...], Tensor]:
    """The held-out test images, each centre-cropped to ``size × size``: ``(names, (N, C, size,
    size))``."""
    names = split_images("test", grayscale)
    return names, torch.stack([center_crop(load_image(n, grayscale, dtype), size) for n in names])


test_images.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def mri_slice(dtype: torch.dtype = torch.float32) -> Tensor:
    """matplotlib's sample MRI slice (a 256×256 head, ``s1045.ima``), ``(256, 256)`` in [0, 1].
    A magnitude image: for complex MRI experiments, give it a smooth phase (see
    `unrolled.data.phantoms.smooth_phase`)."""
    import matplotlib.cbook as cbook

    with cbook.get_sample_data("s1045.ima.gz", asfileobj=True) as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":  # some matplotlib versions hand back the compressed bytes
        raw = gzip.decompress(raw)
    a = np.frombuffer(raw, dtype=np.uint16).reshape(256, 256).astype(np.float64)
    return torch.from_numpy(a / a.max()).to(dtype)


__all__ = [
    "CATALOGUE",
    "TEST_IMAGES",
    "TRAIN_IMAGES",
    "ImagePatches",
    "center_crop",
    "dihedral",
    "load_image",
    "mri_slice",
    "split_images",
    "test_images",
]
