"""`train_steps`: a small training loop capped by wall-clock time and/or a number of steps.

Each step draws a batch with ``sample()``, computes ``loss_fn(model, batch)``, checks that the
loss is finite, backpropagates, optionally clips the gradient norm, and takes one Adam step. It
is the building block of the fuller ``fit`` (schedules, checkpoints) to come.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

#: ``log(step, loss, seconds)``: called every ``log_every`` steps with the 1-based step count,
#: that step's loss and the seconds elapsed since training started.
LogFn = Callable[[int, float, float], None]


def _print_log(step: int, loss: float, seconds: float) -> None:
    print(f"step {step:>6d}  loss {loss:.4e}  ({seconds:.1f} s)", flush=True)


def _check_limit(value: Any, name: str, kind: type) -> None:
    if value is None:
        return
    ok = not isinstance(value, bool) and isinstance(value, kind) and value > 0
    if ok and isinstance(value, numbers.Real):
        ok = math.isfinite(value)
    if not ok:
        what = "a positive int" if kind is numbers.Integral else "a positive finite number"
        raise ValueError(f"{name}: expected {what} or None, got {value!r}")


def train_steps(
    model: nn.Module,
    sample: Callable[[], Any],
    loss_fn: Callable[[nn.Module, Any], Tensor],
    *,
    max_seconds: float | None,
    lr: float = 1e-3,
    max_steps: int | None = None,
    clip: float | None = None,
    log_every: int | None = None,
    log: LogFn | None = None,
) -> dict[str, Any]:
    """Train ``model`` with Adam until ``max_seconds`` have passed or ``max_steps`` steps are done.

    Args:
        model: the network; its parameters with ``requires_grad`` are trained in place.
        sample: ``sample() -> batch``, a fresh training batch each call (any object, e.g. a tuple
            ``(x, y)`` of tensors ``(B, ...)``), already on the model's device.
        loss_fn: ``loss_fn(model, batch) -> loss``, a scalar tensor (``()``); the loss may use
            any of the model's outputs (a trace, for deep supervision).
        max_seconds: wall-clock budget in seconds, or ``None`` for no time limit. The step that
            crosses the budget is finished, so training may overrun by one step.
        lr: Adam's learning rate.
        max_steps: the largest number of steps, or ``None`` for no step limit. At least one of
            ``max_seconds`` and ``max_steps`` must be given.
        clip: clip the gradients' global norm to this value (`torch.nn.utils.clip_grad_norm_`),
            or ``None`` not to clip.
        log_every: call ``log`` every this many steps, or ``None`` never to log.
        log: ``log(step, loss, seconds)``; default prints one line.

    Returns:
        ``{"steps": int, "seconds": float, "first_loss": float, "final_loss": float,
        "stopped": "time" | "steps"}``.

    Raises:
        FloatingPointError: the loss is NaN or Inf; the message names the (1-based) step. The
            model keeps the parameters of the last finite step (the optimiser step is skipped).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    if not callable(sample):
        raise TypeError(
            f"sample: expected a callable sample() -> batch, got {type(sample).__name__}"
        )
    if not callable(loss_fn):
        raise TypeError(
            f"loss_fn: expected a callable loss_fn(model, batch) -> loss, got {type(loss_fn).__name__}"
        )
    _check_limit(max_seconds, "max_seconds", numbers.Real)
    _check_limit(max_steps, "max_steps", numbers.Integral)
    if max_seconds is None and max_steps is None:
        raise ValueError("max_seconds, max_steps: expected at least one limit, got both None")
    _check_limit(lr, "lr", numbers.Real)
    _check_limit(clip, "clip", numbers.Real)
    _check_limit(log_every, "log_every", numbers.Integral)
    if log is not None and not callable(log):
        raise TypeError(f"log: expected a callable log(step, loss, seconds), got {log!r}")
    log = log or _print_log

    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model: expected at least one parameter with requires_grad, got none")
    optimizer = torch.optim.Adam(params, lr=lr)
    model.train()

    start = time.perf_counter()
    step = 0
    first_loss = final_loss = math.nan
    stopped = "steps"
    while max_steps is None or step < max_steps:
        if max_seconds is not None and time.perf_counter() - start >= max_seconds:
            stopped = "time"
            break
        step += 1
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model, sample())
        if not isinstance(loss, Tensor) or loss.numel() != 1:
            raise TypeError(
                f"loss_fn: expected a scalar tensor loss, got "
                f"{tuple(loss.shape) if isinstance(loss, Tensor) else type(loss).__name__} "
                f"at step {step}"
            )
        value = float(loss.detach())  # one host sync per step: the finite check names the step
        if not math.isfinite(value):
            raise FloatingPointError(
                f"loss is {value} at step {step}; stopped before updating the parameters "
                f"(the model keeps the parameters of step {step - 1})"
            )
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(params, clip)
        optimizer.step()
        if step == 1:
            first_loss = value
        final_loss = value
        if log_every is not None and step % log_every == 0:
            log(step, value, time.perf_counter() - start)
    return {
        "steps": step,
        "seconds": time.perf_counter() - start,
        "first_loss": first_loss,
        "final_loss": final_loss,
        "stopped": stopped,
    }


__all__ = ["LogFn", "train_steps"]
