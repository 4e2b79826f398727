"""`Problem`: the one protocol every training problem follows, whatever its domain.

`unrolled.train.fit`, ``unrolled train`` / ``eval`` / ``list``, the reports and the demos handle
every domain through it alone: adding a domain means adding a registered `Problem` (and its
models), nothing in ``runs``, ``cli`` or ``train``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..core.checks import device_memory, positive_int
from ..metrics import SSIM_WINDOW, Metric

#: A classical method with its tuned settings, run on the problem's test set: called with a
#: number of iterations, it returns its estimates after each, ``(T, B, *x_shape)`` (``T = 1``
#: for a method that does not iterate, e.g. MMSE detection or a linear reconstruction).
Baseline = Callable[[int], Tensor]


class Problem:
    """A training problem. Subclasses register with ``@register(name, kind="problem")`` and
    give:

    - ``sample(batch)``: fresh training samples, ``(x, y)`` or ``(x, y, A)`` when each sample
      has its own operator (a channel, a mask, a kernel); ``x`` ``(B, *x_shape)``.
    - ``validation`` and ``test``: fixed sets of the same layout (the test set is never seen in
      training or validation).
    - ``operator``: an operator of the task, which a model sizes itself from.
    - ``metric``: the score the field uses (`unrolled.metrics.Metric`: NMSE in dB, PSNR, symbol
      error rate, RMSE); `fit` validates and early-stops on it.

    and may override ``extra_metrics`` (reported beside ``metric``), `baselines` and `describe`.
    """

    metric: Metric
    validation: tuple[Any, ...]
    test: tuple[Any, ...]
    operator: Any

    #: Scores ``unrolled eval`` reports beside `metric` (SSIM beside PSNR, MAE beside RMSE).
    extra_metrics: tuple[Metric, ...] = ()

    def sample(self, batch: int) -> tuple[Any, ...]:
        raise NotImplementedError

    def to(self, device: str | torch.device) -> Problem:
        """Draw training samples on ``device`` from then on, where the problem can (see
        `DeviceStream`); a problem that cannot stays as it is and `unrolled.train.fit` copies
        its batches to the training device. Returns ``self``."""
        return self

    def baselines(self) -> dict[str, Baseline]:
        """The classical methods of the field, with their tuned settings, by name (see
        `Baseline`); ``unrolled eval`` compares a network with each, layer by layer."""
        return {}

    def describe(self) -> str:
        """One line: what the problem is (sizes, noise, data)."""
        return repr(self)


def final_baselines(problem: Problem) -> dict[str, Tensor]:
    """The test-set estimates ``(B, *x_shape)`` of ``problem``'s baselines that give one final
    estimate (`Baseline` with ``T = 1``: tuned or closed-form methods), by name. Those that give
    one per iteration (MLEM or OSEM per iteration, compared layer by layer as ``unrolled eval``
    does) are left out: their last iterate is no tuned result."""
    out = {}
    for name, run in problem.baselines().items():
        estimates = run(2)  # two iterations tell the kinds apart
        if len(estimates) == 1:
            out[name] = estimates[0]
    return out


def child_seeds(seed: int, count: int) -> list[int]:
    """``count`` independent seeds from ``seed`` (children of ``numpy.random.SeedSequence``): one
    per stream of a problem (training, validation, test), so that each stays as it is when
    another changes."""
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(count)]


def tuned_weight(
    method: Callable[[float], Tensor], x: Tensor, grid: Sequence[float], metric: Metric
) -> float:
    """The weight of ``grid`` whose estimate ``method(weight)`` scores best against ``x`` by
    ``metric``: how a problem sets a classical method's regularisation on its validation set
    (never on the test set). The first of equal scores wins."""
    scores = [metric(method(w), x) for w in grid]
    order = [-s if metric.higher_is_better else s for s in scores]
    return grid[min(range(len(grid)), key=lambda i: (order[i] != order[i], order[i]))]


class DeviceStream:
    """A training stream that draws on the training device: one ``torch.Generator`` per device,
    each seeded with the same seed, so that CPU runs stay bit-reproducible and a GPU run draws
    its batches where it trains (nothing crosses the bus per step). A CUDA generator draws
    other numbers than the CPU's from the same seed; moving back continues a device's stream
    where it was. Fixed sets are drawn on the CPU whatever the device, so validation and test
    numbers do not depend on it.

    A problem mixes it in before `Problem`, calls ``_start_stream(seed)`` in ``__init__``,
    draws its training samples from `generator` on ``generator.device``, and may override
    ``_moved(device)`` to move what else its samples need (its operator, cached sets).
    """

    device: torch.device

    def _start_stream(self, seed: int) -> None:
        self._stream_seed = seed
        self.device = torch.device("cpu")
        self._generators = {self.device: torch.Generator(device="cpu").manual_seed(seed)}

    @property
    def generator(self) -> torch.Generator:
        """The training stream's generator on the problem's device (`to`)."""
        return self._generators[self.device]

    def to(self, device: str | torch.device) -> Any:
        """Draw training batches on ``device`` from then on (in place; returns ``self``)."""
        device = torch.device(device)
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
        if device == self.device:
            return self
        if device not in self._generators:
            seeded = torch.Generator(device=device).manual_seed(self._stream_seed)
            self._generators[device] = seeded
        self.device = device
        self._moved(device)
        return self

    def _moved(self, device: torch.device) -> None:
        """What else moves with the stream (nothing by default)."""


def fits_in_memory(elements: int, dtype: torch.dtype, names: str, what: str) -> None:
    """Refuse, before allocating, a problem whose fixed tensors (``elements`` of ``dtype``)
    exceed the machine's memory; the error names the arguments that size them."""
    need = elements * torch.empty((), dtype=dtype).element_size()
    total = device_memory("cpu")
    if total is not None and need > total:
        raise ValueError(
            f"{names}: {what} needs {need / 2**30:.3g} GiB, more than this machine's "
            f"{total / 2**30:.3g} GiB"
        )


#: The largest image side an imaging problem takes (fastMRI's knee images are 640×368): a
#: bound checked before the fixed sets are drawn, so a typo cannot exhaust the memory.
MAX_IMAGE_SIDE = 4096


def image_side(value: Any, name: str) -> int:
    """An imaging problem's image side: a positive int of at least the SSIM window (11), so
    that a problem that trains can also be scored (``unrolled eval`` reports SSIM), and at
    most `MAX_IMAGE_SIDE`."""
    side = positive_int(value, name)
    if not SSIM_WINDOW <= side <= MAX_IMAGE_SIDE:
        raise ValueError(
            f"{name}: expected {SSIM_WINDOW} to {MAX_IMAGE_SIDE} pixels a side (at least the "
            f"SSIM window that scores the test images), got {side}"
        )
    return side


__all__ = [
    "Baseline",
    "DeviceStream",
    "Problem",
    "child_seeds",
    "final_baselines",
    "fits_in_memory",
    "image_side",
    "tuned_weight",
]
