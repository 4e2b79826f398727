"""A black-box baseline: a multilayer perceptron from measurements to signal, no model inside."""

from __future__ import annotations

import itertools
import math

from torch import Tensor, nn

from ..core.checks import positive_int


class MLP(nn.Module):
    """``y ↦ x̂``: ``hidden_layers`` fully connected ReLU layers of width ``width``, then a linear
    read-out. It knows nothing of ``A``: the baseline that unrolled networks, which build the
    forward model into their layers, are compared against for data efficiency.

    It trains with `unrolled.train.fit` like an unrolled network of one layer (``layers = 1``):
    ``forward(y, A=None, trace=False, depth=None)``.

    Args:
        m: measurement length (input).
        n: signal length (output).
        width: hidden width.
        hidden_layers: number of hidden layers, at least 1.

    Shapes: ``y`` (B, m) -> ``x`` (B, n); with ``trace=True`` also ``(1, B, n)``.
    """

    layers = 1

    def __init__(self, m: int, n: int, width: int = 1024, hidden_layers: int = 3) -> None:
        super().__init__()
        self.m, self.n = positive_int(m, "m"), positive_int(n, "n")
        self.width = positive_int(width, "width")
        self.hidden_layers = positive_int(hidden_layers, "hidden_layers")
        sizes = [self.m] + [self.width] * self.hidden_layers
        blocks: list[nn.Module] = []
        for a, b in itertools.pairwise(sizes):
            blocks += [nn.Linear(a, b), nn.ReLU()]
        self.net = nn.Sequential(*blocks, nn.Linear(self.width, self.n))

    @staticmethod
    def parameter_count(m: int, n: int, width: int, hidden_layers: int) -> int:
        """Weights and biases of ``MLP(m, n, width, hidden_layers)``."""
        return (m + 1) * width + (hidden_layers - 1) * (width + 1) * width + (width + 1) * n

    @classmethod
    def with_at_least(cls, m: int, n: int, parameters: int, hidden_layers: int = 3) -> MLP:
        """The narrowest ``MLP(m, n, width, hidden_layers)`` with at least ``parameters``
        parameters (e.g. as many as the LISTA it is compared with)."""
        m, n = positive_int(m, "m"), positive_int(n, "n")
        parameters = positive_int(parameters, "parameters")
        hidden_layers = positive_int(hidden_layers, "hidden_layers")
        # count = a·w² + b·w + n: solve for w, then correct the rounding either way
        a, b = hidden_layers - 1, m + 1 + (hidden_layers - 1) + n
        need = max(parameters - n, 0)
        root = need / b if a == 0 else (-b + math.sqrt(b * b + 4 * a * need)) / (2 * a)
        width = max(math.ceil(root), 1)
        while cls.parameter_count(m, n, width, hidden_layers) < parameters:
            width += 1
        while width > 1 and cls.parameter_count(m, n, width - 1, hidden_layers) >= parameters:
            width -= 1
        return cls(m, n, width, hidden_layers)

    def forward(
        self, y: Tensor, A: object = None, trace: bool = False, depth: int | None = None
    ) -> Tensor | tuple[Tensor, Tensor]:
        if depth is not None and depth != 1:
            raise ValueError(f"depth: an MLP has one block; expected None or 1, got {depth!r}")
        if y.ndim != 2 or y.shape[1] != self.m:
            raise ValueError(f"y: expected shape (B, {self.m}), got {tuple(y.shape)}")
        weight = self.net[0].weight
        if y.dtype != weight.dtype or y.device != weight.device:
            raise TypeError(
                f"y: expected {weight.dtype} on {weight.device} like the network's weights, got "
                f"{y.dtype} on {y.device}; convert one of them (net.to(...) or y.to(...))"
            )
        x = self.net(y)
        return (x, x.unsqueeze(0)) if trace else x

    def extra_repr(self) -> str:
        return f"m={self.m}, n={self.n}, width={self.width}, hidden_layers={self.hidden_layers}"


__all__ = ["MLP"]
