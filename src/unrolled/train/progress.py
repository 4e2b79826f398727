"""The progress bar of `fit` (tqdm): budget used, ETA, loss, validation NMSE, stage.

The bar measures the budget: with ``max_steps`` and/or ``max_seconds`` it runs to 100% when the
first of the two is spent, and tqdm's ETA is the time left at the current pace; without a budget
(training ends by early stopping alone) it counts steps. ``enabled=None`` shows it only when
stderr is a terminal; ``False`` never; ``True`` always.
"""

from __future__ import annotations

import sys
from typing import Any

_TICKS = 1000  # bar resolution when measuring a budget


class Progress:
    """A tqdm bar over the training budget; a no-op when disabled."""

    def __init__(
        self,
        enabled: bool | None,
        max_steps: int | None,
        max_seconds: float | None,
        step: int,
        seconds: float,
    ) -> None:
        self._bar: Any = None
        if enabled is False or (enabled is None and not sys.stderr.isatty()):
            return
        from tqdm.auto import tqdm

        self._max_steps = max_steps
        self._max_seconds = max_seconds
        self._budget = max_steps is not None or max_seconds is not None
        if self._budget:
            self._bar = tqdm(
                total=_TICKS,
                initial=self._ticks(step, seconds),
                bar_format="{l_bar}{bar}| {elapsed}<{remaining}{postfix}",
                dynamic_ncols=True,
                file=sys.stderr,
            )
        else:
            self._bar = tqdm(initial=step, unit="step", dynamic_ncols=True, file=sys.stderr)
        self._postfix: dict[str, str] = {}

    def _ticks(self, step: int, seconds: float) -> int:
        used = 0.0
        if self._max_steps is not None:
            used = step / self._max_steps
        if self._max_seconds is not None:
            used = max(used, seconds / self._max_seconds)
        return min(_TICKS, int(used * _TICKS))

    def update(self, step: int, seconds: float, **postfix: Any) -> None:
        """Advance to ``step`` steps and ``seconds`` of training; ``postfix`` updates the labels
        (``None`` values are dropped)."""
        if self._bar is None:
            return
        if postfix:
            for key, value in postfix.items():
                if value is None:
                    self._postfix.pop(key, None)
                else:
                    self._postfix[key] = f"{value:.2f}" if isinstance(value, float) else str(value)
            self._postfix["step"] = str(step)
            order = ("loss", "stage", "step")  # the validation score (``val_…``) after the loss
            first = [k for k in order[:1] if k in self._postfix]
            first += [k for k in self._postfix if k.startswith("val_")]
            first += [k for k in order[1:] if k in self._postfix]
            shown = {k: self._postfix[k] for k in first}
            shown.update({k: v for k, v in self._postfix.items() if k not in shown})
            self._bar.set_postfix(shown, refresh=False)
        if self._budget:
            self._bar.update(self._ticks(step, seconds) - self._bar.n)
        else:
            self._bar.update(step - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


__all__ = ["Progress"]
