"""`SparseCoding`: compressed sensing of Bernoulli-Gaussian sparse vectors (the LISTA benchmark).

    y = A x + e,    A ∈ ℝ^{m×n} Gaussian,   x_j = b_j·g_j with b_j ~ Bernoulli(p), g_j ~ N(0, 1)

as in Gregor & LeCun (2010) and Chen et al. (2018), whose default sizes (m = 250, n = 500,
p = 0.1) this follows.
"""

from __future__ import annotations

import math
import numbers
from functools import cached_property

import numpy as np
import torch
from torch import Tensor

from ..algorithms import FISTA, ISTA
from ..core import register
from ..core.checks import choice, non_negative_int, positive_int
from ..metrics import nmse_db_metric
from ..ops import Matrix
from .problem import Baseline, DeviceStream, Problem, fits_in_memory

#: The ℓ1 weight the baselines (and comparisons) give ISTA and FISTA on sparse coding: small, so
#: that their lasso solution lies near the truth and they can, given iterations, approach a
#: learned network (at ISTA's default 0.1 they settle near -17 dB).
CLASSICAL_LAMBDA = 1e-4


def _seed(seq: np.random.SeedSequence) -> int:
    return int(seq.generate_state(1, dtype=np.uint64)[0])


#: The dictionaries `SparseCoding` draws ``A`` from.
DICTIONARIES = ("gaussian", "correlated")


@register("sparse-coding", kind="problem")
class SparseCoding(DeviceStream, Problem):
    """A sparse linear inverse problem with a fixed random matrix and seeded sample streams.

    Scored by NMSE in dB (`unrolled.metrics.nmse_db_metric`); baselines ISTA and FISTA with
    step 1/L and ℓ1 weight `CLASSICAL_LAMBDA`.

    Args:
        m: number of measurements (rows of ``A``).
        n: signal length (columns of ``A``).
        sparsity: ``p``, the probability that an entry of ``x`` is non-zero, in (0, 1].
        snr_db: signal-to-noise ratio of ``y`` in dB, or ``None`` for noiseless measurements.
            Convention: the noise ``e`` is white Gaussian with a fixed standard deviation σ
            (`noise_std`, the same for every sample, independent of ``x``) chosen so that
            ``E‖Ax‖² / E‖e‖² = 10^(snr_db/10)``, the expectation taken over ``x`` and ``e``;
            since ``E[x xᵀ] = p·I``, ``σ² = p·‖A‖_F² / (m·10^(snr_db/10))``.
        normalize_columns: scale every column of ``A`` to unit Euclidean norm (after drawing it).
        seed: a non-negative int. It fixes ``A``, the training stream of `sample`, and the
            `validation` and `test` sets, each from its own independent generator (children of
            ``numpy.random.SeedSequence(seed)``). Everything is drawn on the CPU (the training
            stream on the problem's device after `to`), so a seed gives the same draws on every
            machine (``y = A x`` is a matrix product, equal up to the rounding of the machine's
            BLAS).
        dtype: a real floating dtype for ``A``, ``x`` and ``y``.
        validation_size: number of samples in `validation`.
        test_size: number of samples in `test`.
        train_size: ``None`` (default) for a fresh sample at every draw, an endless stream; or
            the number of distinct training samples, a fixed set (`train`) drawn once that
            `sample` then reuses, for studies of how much data a model needs.
        dictionary: ``"gaussian"``, entries i.i.d. N(0, 1/m) (the LISTA benchmark); or
            ``"correlated"``, ``Σ_{i≤m} i⁻² u_i v_iᵀ`` with Gaussian ``u_i``, ``v_i`` (Xin, Wang,
            Gao, Wipf & Wang 2016; He et al. 2017): singular values decaying as ``i⁻²`` and
            highly coherent columns, where ℓ1 methods and LISTA-type networks struggle and
            sparse Bayesian learning does not.

    Attributes:
        matrix: ``A``, ``(m, n)``.
        operator: ``A`` as a `unrolled.ops.Matrix`.
        noise_std: σ, the noise standard deviation per entry of ``y`` (0 when noiseless).
        generator: the ``torch.Generator`` of the training stream (`sample`) on the problem's
            device: the samples themselves, or with ``train_size`` which samples of the fixed
            set make each batch.
        device: where `sample` draws and the sets live: the CPU, or where `to` moved them
            (`unrolled.train.fit` moves a problem to its training device).

    Shapes: ``x`` is ``(B, n)``, ``y`` is ``(B, m)``.
    """

    def __init__(
        self,
        m: int = 250,
        n: int = 500,
        sparsity: float = 0.1,
        snr_db: float | None = None,
        normalize_columns: bool = True,
        seed: int = 0,
        dtype: torch.dtype = torch.float32,
        *,
        validation_size: int = 1000,
        test_size: int = 1000,
        train_size: int | None = None,
        dictionary: str = "gaussian",
    ) -> None:
        self.m = positive_int(m, "m")
        self.n = positive_int(n, "n")
        if (
            isinstance(sparsity, bool)
            or not isinstance(sparsity, numbers.Real)
            or not 0 < sparsity <= 1
        ):
            raise ValueError(f"sparsity: expected a number in (0, 1], got {sparsity!r}")
        if snr_db is not None and (
            isinstance(snr_db, bool)
            or not isinstance(snr_db, numbers.Real)
            or not math.isfinite(snr_db)
        ):
            raise ValueError(f"snr_db: expected a finite number (dB) or None, got {snr_db!r}")
        if not isinstance(normalize_columns, bool):
            raise TypeError(
                f"normalize_columns: expected a bool, got {type(normalize_columns).__name__}"
            )
        non_negative_int(seed, "seed")
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise TypeError(f"dtype: expected a real floating torch.dtype, got {dtype!r}")
        self.sparsity = float(sparsity)
        self.snr_db = None if snr_db is None else float(snr_db)
        self.normalize_columns = normalize_columns
        self.seed = int(seed)
        self.dtype = dtype
        self.dictionary = choice(dictionary, "dictionary", DICTIONARIES)
        self.validation_size = positive_int(validation_size, "validation_size")
        self.test_size = positive_int(test_size, "test_size")
        self.train_size = None if train_size is None else positive_int(train_size, "train_size")
        samples = self.validation_size + self.test_size + (self.train_size or 0)
        fits_in_memory(
            self.m * self.n + samples * (self.m + self.n),
            dtype,
            "m, n, validation_size, test_size, train_size",
            f"SparseCoding(m={self.m}, n={self.n}) with {samples} fixed samples",
        )

        # Children by index: adding the fifth (the fixed training set) left the others as they were.
        seeds = [_seed(s) for s in np.random.SeedSequence(self.seed).spawn(5)]
        self._matrix_seed, train_seed, self._validation_seed, self._test_seed = seeds[:4]
        self._train_set_seed = seeds[4]
        g = torch.Generator(device="cpu").manual_seed(self._matrix_seed)
        if self.dictionary == "gaussian":
            A = torch.randn(self.m, self.n, generator=g, dtype=dtype) / math.sqrt(self.m)
        else:  # Σ_i i⁻² u_i v_iᵀ: singular values decaying as i⁻², highly coherent columns
            U = torch.randn(self.m, self.m, generator=g, dtype=torch.float64)
            V = torch.randn(self.n, self.m, generator=g, dtype=torch.float64)
            decay = torch.arange(1, self.m + 1, dtype=torch.float64) ** -2.0
            A = ((U * decay) @ V.T / math.sqrt(self.m)).to(dtype)
        if normalize_columns:
            A = A / torch.linalg.vector_norm(A, dim=0, keepdim=True)
        self.matrix: Tensor = A
        self.operator = Matrix(A)
        if self.snr_db is None:
            self.noise_std = 0.0
        else:
            signal = self.sparsity * float(torch.linalg.matrix_norm(A.double())) ** 2
            self.noise_std = math.sqrt(signal / (self.m * 10 ** (self.snr_db / 10)))
        self._cpu_operator = self.operator
        self._start_stream(train_seed)

    def _moved(self, device: torch.device) -> None:
        """``operator`` and the fixed sets follow the stream (`DeviceStream`)."""
        self.operator = self._cpu_operator.to(device)
        for name in ("train", "validation", "test"):  # cached sets follow
            cached = self.__dict__.pop(name, None)
            if cached is not None:
                self.__dict__[name] = tuple(t.to(device) for t in cached)

    def _draw(
        self, batch: int, generator: torch.Generator, operator: Matrix | None = None
    ) -> tuple[Tensor, Tensor]:
        kw = {"generator": generator, "dtype": self.dtype, "device": generator.device}
        support = torch.rand(batch, self.n, **kw) < self.sparsity
        x = support * torch.randn(batch, self.n, **kw)
        y = (operator or self.operator)(x)
        if self.snr_db is not None:
            y = y + self.noise_std * torch.randn(batch, self.m, **kw)
        return x, y

    def _fixed(self, batch: int, seed: int) -> tuple[Tensor, Tensor]:
        """A fixed set, drawn on the CPU (device-independent numbers), on the problem's device."""
        g = torch.Generator(device="cpu").manual_seed(seed)
        x, y = self._draw(batch, g, self._cpu_operator)
        return x.to(self.device), y.to(self.device)

    def sample(self, batch: int) -> tuple[Tensor, Tensor]:
        """Draw ``batch`` training samples: fresh ones from the training stream, or with
        ``train_size`` distinct samples of the fixed set `train` chosen at random (the whole set,
        shuffled, when ``batch`` is at least ``train_size``).

        Returns:
            ``(x, y)``: ``x`` of shape ``(batch, n)``, ``y`` of shape ``(batch, m)`` (at most
            ``train_size`` rows with a fixed set).
        """
        batch = positive_int(batch, "batch")
        if self.train_size is None:
            return self._draw(batch, self.generator)
        x, y = self.train
        pick = torch.randperm(self.train_size, generator=self.generator, device=self.device)
        return x[pick[:batch]], y[pick[:batch]]

    @cached_property
    def train(self) -> tuple[Tensor, Tensor]:
        """The fixed training set ``(x, y)`` of ``train_size`` samples (only with ``train_size``)."""
        if self.train_size is None:
            raise AttributeError(
                "train: this problem streams fresh samples; pass train_size=N for a fixed set"
            )
        return self._fixed(self.train_size, self._train_set_seed)

    @cached_property
    def validation(self) -> tuple[Tensor, Tensor]:
        """The fixed validation set ``(x, y)``: ``(validation_size, n)``, ``(validation_size, m)``."""
        return self._fixed(self.validation_size, self._validation_seed)

    @cached_property
    def test(self) -> tuple[Tensor, Tensor]:
        """The fixed test set ``(x, y)``: ``(test_size, n)``, ``(test_size, m)``."""
        return self._fixed(self.test_size, self._test_seed)

    metric = nmse_db_metric()

    def baselines(self) -> dict[str, Baseline]:
        _, y = self.test

        def run(algorithm: ISTA) -> Baseline:
            return lambda iterations: algorithm.run(
                y, self.operator, iterations=iterations, trace=True
            )[1]

        return {
            "ISTA": run(ISTA(threshold=CLASSICAL_LAMBDA)),
            "FISTA": run(FISTA(threshold=CLASSICAL_LAMBDA)),
        }

    def describe(self) -> str:
        noise = "noiseless" if self.snr_db is None else f"{self.snr_db:g} dB SNR"
        columns = ", unit columns" if self.normalize_columns else ""
        kind = "Gaussian" if self.dictionary == "gaussian" else "correlated (Σ i⁻² u_i v_iᵀ)"
        return (
            f"sparse coding y = Ax: A {self.m}x{self.n} {kind}{columns}, x Bernoulli({self.sparsity:g})"
            f"-Gaussian, {noise}"
        )

    def __repr__(self) -> str:
        snr = "noiseless" if self.snr_db is None else f"snr_db={self.snr_db:g}"
        train = "" if self.train_size is None else f", train_size={self.train_size}"
        kind = "" if self.dictionary == "gaussian" else f", dictionary={self.dictionary!r}"
        return (
            f"SparseCoding(m={self.m}, n={self.n}, sparsity={self.sparsity:g}, {snr}, "
            f"seed={self.seed}{train}{kind})"
        )


__all__ = ["CLASSICAL_LAMBDA", "DICTIONARIES", "SparseCoding"]
