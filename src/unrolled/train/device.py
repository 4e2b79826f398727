"""Where and in what precision training runs: `resolve_device`, `Precision`.

``device``: ``"auto"`` (the local CUDA GPU when one is present, else the CPU), ``"cpu"``,
``"cuda"`` or ``"cuda:N"``; under torchrun, ``"auto"`` and ``"cuda"`` mean the GPU of the
process's ``LOCAL_RANK``.

``precision``: ``"fp32"`` (default), ``"bf16"`` or ``"fp16"``: the model's forward runs under
`torch.autocast` in that dtype where PyTorch's autocast allows (matrix products, convolutions);
what autocast keeps in fp32 stays there (reductions, norms), complex arithmetic (FFTs of MRI
data) is untouched by autocast, and the loss is computed in fp32 from the outputs cast back.
``"fp16"`` adds a gradient scaler (`torch.amp.GradScaler`) so that small gradients survive its
narrow range; ``"bf16"`` has fp32's range and needs none, and runs on the CPU too.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import torch

PRECISIONS = ("fp32", "bf16", "fp16")
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(value: Any) -> torch.device:
    """The ``torch.device`` that ``device`` names; a clear error when it is not usable here.

    Raises:
        TypeError: ``device`` is not a string or a ``torch.device``.
        ValueError: it names no device, or a CUDA device this machine does not have.
    """
    if isinstance(value, torch.device):
        device = value
    elif isinstance(value, str):
        if value == "auto":
            if not torch.cuda.is_available():
                return torch.device("cpu")
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        try:
            device = torch.device(value)
        except RuntimeError:
            raise ValueError(
                f"device: expected 'auto', 'cpu', 'cuda' or 'cuda:N', got {value!r}"
            ) from None
    else:
        raise TypeError(
            f"device: expected 'auto', 'cpu', 'cuda' or 'cuda:N' (or a torch.device), got "
            f"{type(value).__name__}"
        )
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device: {str(device)!r} asked for, but no CUDA GPU is present on this machine "
                f"(torch.cuda.is_available() is False); use 'cpu' or 'auto'"
            )
        count = torch.cuda.device_count()
        if device.index is None:  # under torchrun, each process its own GPU
            local = os.environ.get("LOCAL_RANK")
            index = int(local) if local is not None else torch.cuda.current_device()
            device = torch.device("cuda", index)
        elif device.index >= count:
            raise ValueError(
                f"device: {str(device)!r} asked for, but this machine has {count} CUDA "
                f"device(s) (cuda:0 to cuda:{count - 1})"
            )
    elif device.type != "cpu":
        raise ValueError(f"device: expected 'auto', 'cpu', 'cuda' or 'cuda:N', got {value!r}")
    return device


def move(obj: Any, device: torch.device, non_blocking: bool = False) -> Any:
    """``obj`` on ``device``: a tensor or an operator (anything with ``.to`` and a
    ``.device``) moves, a tuple, list or dict moves entry by entry, anything else stays."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=non_blocking)
    if isinstance(obj, tuple | list):
        return type(obj)(move(o, device, non_blocking) for o in obj)
    if isinstance(obj, dict):
        return {k: move(v, device, non_blocking) for k, v in obj.items()}
    to = getattr(obj, "to", None)
    if callable(to) and getattr(obj, "device", None) not in (None, device):
        return to(device)
    return obj


class OnDevice:
    """``model`` on ``device``, called with inputs anywhere: they move there (tensors,
    operators), the outputs come back to the CPU. Other attributes are the model's.
    What `unrolled eval --device` measures with."""

    def __init__(self, model: Any, device: torch.device) -> None:
        self.model = model.to(device)
        self.device = device

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        out = self.model(*move(args, self.device), **move(kwargs, self.device))
        return move(out, torch.device("cpu"))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)


def place(model: Any, problem: Any, device: torch.device) -> None:
    """Move ``model`` (its operator with it) to ``device``, and ``problem`` too where it can
    draw there (``problem.to(device)``); other problems' batches are copied per step."""
    model.to(device)
    to = getattr(problem, "to", None)
    if callable(to):
        to(device)


def compile_model(model: Any, layers: int, device: torch.device, complex_data: bool) -> Any:
    """``model`` through `torch.compile`. Real data: inductor, on CUDA with CUDA graphs
    (``"reduce-overhead"``) for the many small kernels of an unrolled network. Complex data
    (MRI, MIMO): inductor generates no code for complex operators, and measured here (torch
    2.13, CPU) it miscompiled PnP-HQS on multi-coil MRI (outputs of 1e11 where eager gives 1),
    so the graph is captured (forward and backward, AOTAutograd) and run as captured, replayed
    as CUDA graphs on a GPU. Each depth a schedule trains is one graph, so the
    recompilation limit is raised to hold all of them."""
    import torch._dynamo

    limit = 2 * layers + 8
    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, limit)
    if complex_data:
        backend = "cudagraphs" if device.type == "cuda" else "aot_eager"
        return torch.compile(model, backend=backend)
    mode = "reduce-overhead" if device.type == "cuda" else None
    return torch.compile(model, mode=mode)


class Precision:
    """The autocast context and gradient scaler of a ``precision`` on a ``device``."""

    def __init__(self, precision: str, device: torch.device) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision: expected one of {list(PRECISIONS)}, got {precision!r}")
        if precision == "fp16" and device.type == "cpu":
            raise ValueError(
                "precision: 'fp16' needs a GPU (its gradient scaler and fast kernels are CUDA's); "
                "on the CPU use 'bf16' or 'fp32'"
            )
        self.name = precision
        self.device = device
        self.dtype = _DTYPES.get(precision)
        self.scaler = torch.amp.GradScaler(device.type) if precision == "fp16" else None

    def autocast(self) -> Any:
        """The context the forward runs in: autocast to ``dtype``, or nothing for fp32."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)


__all__ = [
    "PRECISIONS",
    "OnDevice",
    "Precision",
    "compile_model",
    "move",
    "place",
    "resolve_device",
]
