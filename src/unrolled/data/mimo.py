"""MIMO detection as a training problem: fresh channels, symbols and SNRs in every batch."""

from __future__ import annotations

import torch
from torch import Tensor

from ..algorithms import OAMP
from ..comms import (
    Channel,
    Constellation,
    awgn,
    complex_vector,
    kronecker,
    mmse,
    noise_variance,
    rayleigh,
    real_vector,
)
from ..core import register
from ..core.checks import positive_int
from ..metrics import Metric, error_rate_metric
from .problem import Baseline, DeviceStream, Problem, child_seeds


@register("mimo-detection", kind="problem")
class MIMODetection(DeviceStream, Problem):
    """``y = Hx + n`` with one channel per sample (`unrolled.comms.channel` states the SNR
    convention): i.i.d. Rayleigh, or Kronecker-correlated with ``correlation`` ρ at both ends;
    symbols uniform on ``constellation``; each sample's SNR uniform in ``snr_db`` (a range
    trains one model for all of them).

    Args:
        receive, transmit: antennas m and n.
        constellation: ``"bpsk"`` (a real channel, DetNet's setting), ``"qpsk"`` or ``"16qam"``.
        snr_db: one SNR or a range ``(low, high)`` in dB.
        correlation: ρ of the exponential correlation model at receiver and transmitter (0:
            i.i.d.).
        real: give complex systems as their real-valued equivalent (`Channel.real`): ``x``
            ``(B, 2n)``, ``y`` ``(B, 2m)``, H ``(B, 2m, 2n)`` (DetNet works on it).
        seed: seeds training, validation and test streams (independent children).
        validation_size, test_size: samples in the fixed sets.

    ``sample(batch)``, ``validation`` and ``test`` are ``(x, y, A)``: ``x`` ``(B, n)`` the
    symbols (complex64, or float32 for BPSK), ``y`` ``(B, m)``, ``A`` a `Channel`.
    ``indices(x)`` gives the transmitted symbol indices back for error rates. Training batches
    are drawn on the problem's device (`to`; `unrolled.train.fit` moves it), the fixed sets on
    the CPU.

    Scored by the symbol error rate of hard decisions (`metric`); baselines MMSE detection and
    OAMP (Ma & Ping 2017) with as many iterations as the network has layers, both on the complex
    system the samples were drawn from.
    """

    def __init__(
        self,
        receive: int = 4,
        transmit: int = 4,
        constellation: str = "qpsk",
        snr_db: float | tuple[float, float] = (5.0, 20.0),
        correlation: float = 0.0,
        real: bool = False,
        seed: int = 0,
        validation_size: int = 2000,
        test_size: int = 10000,
    ) -> None:
        self.receive = positive_int(receive, "receive")
        self.transmit = positive_int(transmit, "transmit")
        self.constellation = Constellation(constellation)
        lo, hi = (snr_db, snr_db) if isinstance(snr_db, int | float) else tuple(snr_db)
        if not lo <= hi:
            raise ValueError(
                f"snr_db: expected a number or (low, high) with low ≤ high, got {snr_db!r}"
            )
        self.snr_db = (float(lo), float(hi))
        if not -1 < correlation < 1:
            raise ValueError(f"correlation: expected ρ in (-1, 1), got {correlation!r}")
        self.correlation = float(correlation)
        if not isinstance(real, bool):
            raise TypeError(f"real: expected a bool, got {type(real).__name__}")
        self.real = real and self.constellation.is_complex
        self.dtype = torch.complex64 if self.constellation.is_complex else torch.float32
        train, val, test = child_seeds(seed, 3)
        self._start_stream(train)  # batches drawn on the training device (`to`)
        self.validation = self._draw(positive_int(validation_size, "validation_size"), val)
        self._test_seed = test
        self.test = self._draw(positive_int(test_size, "test_size"), test)

    def _draw(self, batch: int, seed: int) -> tuple[Tensor, Tensor, Channel]:
        return self.measure(batch, torch.Generator().manual_seed(seed))

    def _measure(self, batch: int, g: torch.Generator) -> tuple[Tensor, Tensor, Channel]:
        m, n = self.receive, self.transmit
        if self.correlation:
            rho = self.correlation
            H = kronecker(batch, m, n, rho, rho, g, self.dtype)
        else:
            H = rayleigh(batch, m, n, g, self.dtype)
        x, _ = self.constellation.random((batch, n), g, self.dtype)
        lo, hi = self.snr_db
        snr = lo + (hi - lo) * torch.rand(batch, generator=g, dtype=torch.float64, device=g.device)
        y = awgn((H @ x.unsqueeze(-1)).squeeze(-1), snr, g)
        A = Channel(H, noise_variance(snr))
        if self.real:
            return real_vector(x), real_vector(y), A.real()
        return x, y, A

    def sample(self, batch: int) -> tuple[Tensor, Tensor, Channel]:
        """``batch`` fresh samples: ``(x, y, A)``."""
        return self._measure(positive_int(batch, "batch"), self.generator)

    def with_snr(self, snr_db: float) -> MIMODetection:
        """The same problem at one SNR (an error-rate curve's point); its own sets are kept."""
        other = MIMODetection.__new__(MIMODetection)
        other.__dict__.update(self.__dict__)
        other.snr_db = (float(snr_db), float(snr_db))
        return other

    @property
    def complex_test(self) -> tuple[Tensor, Tensor, Channel]:
        """The test set as the complex system it was drawn from (the same samples as `test`,
        which with ``real=True`` holds their real-valued equivalent)."""
        other = MIMODetection.__new__(MIMODetection)
        other.__dict__.update(self.__dict__)
        other.real = False
        return other._draw(self.test[0].shape[0], self._test_seed)

    def measure(self, batch: int, generator: torch.Generator) -> tuple[Tensor, Tensor, Channel]:
        """``batch`` samples drawn from ``generator`` (not the training stream): ``(x, y, A)``."""
        return self._measure(positive_int(batch, "batch"), generator)

    def indices(self, x: Tensor) -> Tensor:
        """The symbol indices of transmitted (or estimated) symbols ``x``: hard decisions
        (``(B, n)``, from the real-valued equivalent too)."""
        if self.real:
            x = complex_vector(x)
        return self.constellation.nearest(x)

    @property
    def metric(self) -> Metric:  # type: ignore[override]
        """Symbol error rate: the fraction of symbols whose hard decision is wrong."""
        return error_rate_metric(self.indices, "SER")

    def baselines(self) -> dict[str, Baseline]:
        _, y, A = self.complex_test if self.real else self.test
        back = real_vector if self.real else (lambda x: x)  # in the layout of `test`'s x
        oamp = OAMP(self.constellation)
        return {
            "MMSE": lambda iterations: back(mmse(y, A))[None],
            "OAMP": lambda iterations: back(oamp.run(y, A, iterations=iterations, trace=True)[1]),
        }

    def describe(self) -> str:
        lo, hi = self.snr_db
        snr = f"{lo:g} dB" if lo == hi else f"{lo:g} to {hi:g} dB"
        channel = f"Kronecker ρ={self.correlation:g}" if self.correlation else "i.i.d. Rayleigh"
        real = ", as its real equivalent" if self.real else ""
        return (
            f"MIMO detection {self.receive}x{self.transmit} {self.constellation.name}, {channel}, "
            f"SNR {snr}{real}"
        )

    @property
    def operator(self) -> Channel:
        """The validation set's channel: what a model sizes itself from."""
        return self.validation[2]

    def __repr__(self) -> str:
        return (
            f"MIMODetection({self.receive}x{self.transmit}, {self.constellation.name}, "
            f"snr_db={self.snr_db}, correlation={self.correlation}, real={self.real})"
        )
