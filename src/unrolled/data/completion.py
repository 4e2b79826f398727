"""`RatingCompletion`: a rating set as a training problem for the matrix-completion models, with
an evaluation split whose test ratings never reach training."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from ..core import register
from ..core.checks import choice, is_real, positive_int
from ..metrics import Metric, ndcg_metric, rating_metric, recall_metric
from ..ops import Inpainting
from ..recsys import rating_biases
from .problem import Baseline, DeviceStream, Problem
from .rating_splits import kfold, temporal_holdout
from .ratings import Ratings, movielens_100k, read_ratings
from .synthetic_ratings import synthetic_ratings

SPLITS = ("kfold", "temporal")
TARGETS = ("ratings", "ranking")


def load_dataset(ratings: Ratings | str | Path) -> Ratings:
    """``"movielens-100k"`` (`movielens_100k`), ``"synthetic"`` (`synthetic_ratings` with its
    defaults), a path to a ratings file (`read_ratings`), or `Ratings` as they are."""
    if isinstance(ratings, Ratings):
        return ratings
    if ratings == "movielens-100k":
        return movielens_100k()
    if ratings == "synthetic":
        return synthetic_ratings()
    if isinstance(ratings, str | Path) and Path(ratings).is_file():
        return read_ratings(ratings)
    raise ValueError(
        f"ratings: expected Ratings, 'movielens-100k', 'synthetic' or a ratings file, got "
        f"{ratings!r}"
    )


@register("rating-completion", kind="problem")
class RatingCompletion(DeviceStream, Problem):
    """Matrix completion on one evaluation split of a rating set.

    The split (k-fold or per-user temporal, `unrolled.data.rating_splits`) sets the test
    ratings aside; everything this problem hands to training comes from the training ratings
    alone. Training samples hide a fresh random ``holdout`` fraction of them: the model sees the
    rest and is scored on the hidden ones (the inner train/validation split of the observed
    ratings), so the learned parameters are those that predict unseen ratings. The validation
    set is one such split, fixed by ``seed``.

    Two targets. ``"ratings"`` (the default) asks for the hidden ratings themselves, scored by
    RMSE. ``"ranking"`` asks for a top-N list: the truth is which of the entries a user did not
    show the model it rated at least ``liked`` (1; 0 for the rest, rated lower or unrated), the
    visible ratings are never ranked, and the score is Recall@``top_k`` (NDCG beside it): train
    with ``loss="softmax"`` (`unrolled.train.losses`), a ranking loss over every unseen item. A
    fit to the observed ratings alone leaves the lists to chance, for ratings are not missing at
    random (people rate what they chose to watch); this target is how a rating model learns to
    rank.

    Args:
        ratings: `Ratings`, ``"movielens-100k"`` (the default; `movielens_100k` says how to get
            it), ``"synthetic"`` or a ratings file.
        split: ``"kfold"`` (``folds`` folds, test fold ``fold``) or ``"temporal"`` (each user's
            ``per_user`` latest ratings).
        fold, folds, per_user: as above.
        holdout: the fraction of training ratings each sample hides, in (0, 1).
        seed: the k-fold shuffle and the hold-out draws.
        target: ``"ratings"`` or ``"ranking"``.
        liked: with ``"ranking"``, the smallest rating that makes an item relevant.
        top_k: with ``"ranking"``, the list length scored.

    Samples: ``sample(batch)`` and ``validation`` are ``(x, y, A)``: ``y`` ``(B, U, I)`` the
    visible ratings (0 elsewhere), ``A`` the `Inpainting` of their masks, ``x`` ``(B, U, I)`` the
    hidden ratings and NaN everywhere else (the losses count the observed entries only,
    `unrolled.train.losses`), or with ``target="ranking"`` the relevance above. ``inputs()`` is
    ``(y, A)`` with every training rating, for predicting the test ratings: `test` is
    ``(x, y, A)`` with ``x`` ``(1, U, I)`` the test ratings (NaN elsewhere; or their relevance,
    NaN at the training ratings) and ``(y, A)`` these inputs. ``train_ratings`` and
    ``test_ratings`` are the split's `Ratings`.

    Scored by RMSE over the held-out ratings, predictions clipped to the training ratings' scale
    (as Surprise does), MAE beside it; the baseline is the regularised user and item biases
    (`unrolled.recsys.rating_biases`, Surprise's ``BaselineOnly``).
    """

    def __init__(
        self,
        ratings: Ratings | str | Path = "movielens-100k",
        split: str = "kfold",
        fold: int = 0,
        folds: int = 5,
        per_user: int = 1,
        holdout: float = 0.1,
        seed: int = 0,
        target: str = "ratings",
        liked: float = 4.0,
        top_k: int = 10,
    ) -> None:
        self.ratings = load_dataset(ratings)
        self.target = choice(target, "target", TARGETS)
        if not is_real(liked):
            raise ValueError(f"liked: expected a finite rating, got {liked!r}")
        self.liked, self.top_k = float(liked), positive_int(top_k, "top_k")
        if split not in SPLITS:
            raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")
        if split == "kfold":
            splits = kfold(self.ratings, folds, seed)
            if not 0 <= fold < folds:
                raise ValueError(f"fold: expected 0 to {folds - 1}, got {fold}")
            self.train_index, self.test_index = splits[fold]
        else:
            self.train_index, self.test_index = temporal_holdout(self.ratings, per_user)
        if not 0 < holdout < 1:
            raise ValueError(f"holdout: expected a fraction in (0, 1), got {holdout}")
        self.split, self.holdout, self.seed = split, float(holdout), seed
        self.fold, self.folds, self.per_user = fold, folds, per_user
        self.train_ratings = self.ratings.subset(self.train_index)
        self.test_ratings = self.ratings.subset(self.test_index)
        self.values, self.mask = self.train_ratings.matrix()
        self._on = {torch.device("cpu"): (self.values, self.mask)}  # the ratings, by device
        self.operator = Inpainting(self.mask, self.ratings.shape)
        self._start_stream(seed + 1)  # batches drawn on the training device (`to`)
        self.validation = self._draw(1, torch.Generator().manual_seed(seed))
        held_out, where = self.test_ratings.matrix()
        self.test = (self._truth(held_out, where, self.mask)[None], *self.inputs())
        values = self.train_ratings.values
        self.scale = (float(values.min()), float(values.max()))  # where predictions are clipped

    def with_target(self, target: str) -> RatingCompletion:
        """The same split of the same ratings with another ``target``: the rating model and the
        ranking model of one evaluation see the same training and test ratings."""
        return RatingCompletion(
            self.ratings, split=self.split, fold=self.fold, folds=self.folds,
            per_user=self.per_user, holdout=self.holdout, seed=self.seed, target=target,
            liked=self.liked, top_k=self.top_k,
        )  # fmt: skip

    def _draw(self, batch: int, generator: torch.Generator) -> tuple[Tensor, Tensor, Inpainting]:
        device = generator.device
        values, mask = self._on[device]
        shape = (batch, *mask.shape)
        hide = torch.rand(shape, generator=generator, device=device) < self.holdout
        hidden = mask & hide
        visible = mask & ~hide
        y = torch.where(visible, values, torch.zeros((), device=device))
        return self._truth(values, hidden, visible), y, Inpainting(visible, self.ratings.shape)

    def _truth(self, values: Tensor, hidden: Tensor, visible: Tensor) -> Tensor:
        """The truth of a split, the ``values`` at the ``hidden`` entries: those values, NaN
        elsewhere; or with ``target="ranking"``, 1 where a hidden value is liked, NaN at the
        ``visible`` entries (never ranked), 0 elsewhere."""
        nan = torch.full((), torch.nan, device=values.device)
        if self.target == "ratings":
            return torch.where(hidden, values, nan)
        liked = (hidden & (values >= self.liked)).to(values.dtype)
        return torch.where(visible, nan, liked)

    def _moved(self, device: torch.device) -> None:
        """The training ratings follow the stream (`DeviceStream`), once per device."""
        if device not in self._on:
            self._on[device] = (self.values.to(device), self.mask.to(device))

    def sample(self, batch: int) -> tuple[Tensor, Tensor, Inpainting]:
        """``batch`` fresh inner splits of the training ratings, ``(x, y, A)``."""
        return self._draw(batch, self.generator)

    def inputs(self) -> tuple[Tensor, Inpainting]:
        """``(y, A)`` with every training rating: ``y`` ``(1, U, I)``."""
        return self.values[None], Inpainting(self.mask[None], self.ratings.shape)

    @property
    def metric(self) -> Metric:  # type: ignore[override]
        """RMSE over the held-out ratings, predictions clipped to the training ratings' scale;
        with ``target="ranking"``, Recall@``top_k``."""
        if self.target == "ranking":
            return recall_metric(self.top_k)
        return rating_metric("RMSE", self.scale)

    @property
    def extra_metrics(self) -> tuple[Metric, ...]:  # type: ignore[override]
        if self.target == "ranking":
            return (ndcg_metric(self.top_k),)
        return (rating_metric("MAE", self.scale),)

    def baselines(self) -> dict[str, Baseline]:
        def biases(iterations: int) -> Tensor:
            mu, b, c = rating_biases(self.values[None], self.mask[None].to(self.values.dtype))
            return (mu[:, None, None] + b[:, :, None] + c[:, None, :])[None]

        return {"baseline biases": biases}

    def describe(self) -> str:
        what = (
            "matrix completion" if self.target == "ratings"
            else f"top-{self.top_k} ranking (liked: rated >= {self.liked:g})"
        )  # fmt: skip
        return (
            f"{what} of {self.ratings!r}, {self.split} split: "
            f"{len(self.train_ratings)} training / {len(self.test_ratings)} test ratings"
        )

    def __repr__(self) -> str:
        target = "" if self.target == "ratings" else f", target={self.target!r}"
        return (
            f"RatingCompletion({self.ratings!r}, split={self.split!r}{target}, "
            f"{len(self.train_ratings)} training / {len(self.test_ratings)} test ratings)"
        )


__all__ = ["SPLITS", "RatingCompletion", "load_dataset"]
