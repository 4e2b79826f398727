"""`Problem`: the one protocol every training problem follows, whatever its domain.

`unrolled.train.fit`, ``unrolled train`` / ``eval`` / ``list``, the reports and the demos handle
every domain through it alone: adding a domain means adding a registered `Problem` (and its
models), nothing in ``runs``, ``cli`` or ``train``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor

from ..metrics import Metric

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

    def baselines(self) -> dict[str, Baseline]:
        """The classical methods of the field, with their tuned settings, by name (see
        `Baseline`); ``unrolled eval`` compares a network with each, layer by layer."""
        return {}

    def describe(self) -> str:
        """One line: what the problem is (sizes, noise, data)."""
        return repr(self)


__all__ = ["Baseline", "Problem"]
