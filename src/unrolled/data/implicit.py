"""`ImplicitRanking`: top-N recommendation from implicit feedback (who interacted with what),
split so that no validation or test interaction reaches training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..algorithms import GraphFilter, PPRPropagation
from ..core import register
from ..core.checks import choice, positive_int
from ..metrics import Metric, ndcg_metric, recall_metric
from ..recsys import ItemGraph, item_graph
from .completion import load_dataset
from .problem import Baseline, DeviceStream, Problem
from .rating_splits import from_end, kfold, rank_from_latest, temporal_holdout
from .ratings import Ratings

IMPLICIT_SPLITS = ("temporal", "random")
#: How a training sample hides a user's interactions: the latest ones, or a random subset.
HIDE = ("auto", "latest", "random")


@register("implicit-ranking", kind="problem")
class ImplicitRanking(DeviceStream, Problem):
    """Ranking the items a user will take next, from the interactions of every user.

    Interactions are the ratings of at least ``positive`` (MovieLens: 4 of 5, the usual
    implicit-feedback reading; ``None``: every rating). The ``"temporal"`` split holds out each
    user's latest interaction for testing and the one before it for validation (the "long-term"
    test: what a user does next, from their past); ``"random"`` holds out a random fifth of the
    interactions for testing (fold ``seed`` of 5) and a tenth of the rest for validation. Users
    with too few interactions keep them all in training, so every held-out user has a history;
    `counts` says how many users and items each part has, and how many held-out items were never
    seen in training (no propagation can rank them).

    The operator is the item graph of the training interactions alone
    (`unrolled.recsys.item_graph`). A training sample hides some of a user's training
    interactions: the model sees the rest and is scored on the hidden ones. ``hide="latest"``
    hides the user's ``j`` latest (by timestamp), ``j`` drawn uniformly from 1 to
    ``⌈holdout·n⌉`` (n the user's training interactions): the task the temporal split tests,
    what comes next after a history, asked of the training data (on MovieLens-100K, ratings ≥ 4
    and every rating, graph-filter-net ranked the next items better trained so than on random
    hiding). ``hide="random"`` hides a fresh random ``holdout`` fraction, the task of the
    random split. ``"auto"`` (the default) matches the split.

    The hidden interactions are still in the problem's operator, which every user's training
    interactions built. ``hide_from_graph=True`` gives each training batch its own item graph
    instead, of the training interactions less the batch's hidden ones (samples ``(x, y, A)``),
    so the targets reach neither the model's input nor its operator. A model that fits the
    interactions themselves needs it (`implicit-als-net`: probed on MovieLens-100K, the leak
    lifted implicit ALS's Recall@20 on training samples far above its leak-free value and
    rewarded a higher confidence α, which validation penalises, so training drove α up and
    validation down); the graph models were benchmarked without it.

    Samples: ``sample(batch)``, ``validation`` and ``test`` are ``(x, y)``: ``y`` ``(B, I)`` the
    interactions a model sees (0/1), ``x`` ``(B, I)`` 1 at the held-out items, NaN at the items
    seen (never ranked) and 0 elsewhere. Validation users see their training interactions; test
    users those and their validation item. ``R`` ``(U, I)`` holds the training interactions,
    ``seen`` those and the validation ones (what a baseline refits on before the test), and
    ``held_out_users`` each validation and test sample's user.

    Scored by Recall@``top_k`` (`unrolled.metrics.recall_metric`), NDCG@``top_k`` beside it;
    baselines popularity, GF-CF's linear filter and personalised PageRank.

    Args:
        ratings: `Ratings`, ``"movielens-100k"`` (the default), ``"synthetic"`` or a ratings file.
        positive: the smallest rating that counts as an interaction, or None for all.
        split: ``"temporal"`` or ``"random"``.
        holdout: the fraction of a user's training interactions each sample hides, in (0, 1)
            (with ``hide="latest"``, the most it hides).
        hide: ``"latest"``, ``"random"`` or ``"auto"`` (``"latest"`` on the temporal split,
            ``"random"`` on the random one); ``"latest"`` needs timestamps.
        top_k: the list length scored.
        seed: the random split and the sample stream.
        hide_from_graph: give each training batch the item graph without its hidden
            interactions (above).
    """

    def __init__(
        self,
        ratings: Ratings | str | Path = "movielens-100k",
        positive: float | None = 4.0,
        split: str = "temporal",
        holdout: float = 0.2,
        top_k: int = 20,
        seed: int = 0,
        hide: str = "auto",
        hide_from_graph: bool = False,
    ) -> None:
        data = load_dataset(ratings)
        self.split = choice(split, "split", IMPLICIT_SPLITS)
        hide = choice(hide, "hide", HIDE)
        self.hide = ("latest" if self.split == "temporal" else "random") if hide == "auto" else hide
        if hide == "latest" and data.timestamps is None:  # the temporal split says so itself
            raise ValueError(
                "hide: 'latest' hides each user's latest interactions and needs timestamps, "
                "got ratings without them"
            )
        if not isinstance(hide_from_graph, bool):
            raise TypeError(f"hide_from_graph: expected True or False, got {hide_from_graph!r}")
        self.hide_from_graph = hide_from_graph
        if not 0 < holdout < 1:
            raise ValueError(f"holdout: expected a fraction in (0, 1), got {holdout!r}")
        self.holdout, self.top_k, self.seed = float(holdout), positive_int(top_k, "top_k"), seed
        self.positive = None if positive is None else float(positive)
        keep = np.ones(len(data), bool) if positive is None else data.values >= positive
        self.interactions = data.subset(np.flatnonzero(keep))
        rest, test = self._hold_out(self.interactions, seed)
        inner = self.interactions.subset(rest)
        train, validation = self._hold_out(inner, seed + 1, fraction=0.1)
        self.parts = {
            "train": inner.subset(train),
            "validation": inner.subset(validation),
            "test": self.interactions.subset(test),
        }
        self.R = self._matrix(self.parts["train"])  # (U, I) the training interactions
        self.operator = item_graph(self.R)
        self.users = torch.from_numpy(np.flatnonzero(self.R.sum(1).numpy() >= 2))  # samplable
        recency = _recency(self.parts["train"], self.R.shape) if self.hide == "latest" else None
        self._on = {torch.device("cpu"): (self.R, self.users, recency)}
        self._start_stream(seed + 2)
        #: ``(B,)`` the user (row of ``R``) of each validation and test sample, for the models
        #: that score users rather than histories (matrix factorisation).
        self.held_out_users: dict[str, Tensor] = {}
        self.validation = self._held_out(self.R, "validation")
        self.seen = torch.clamp(self.R + self._matrix(self.parts["validation"]), max=1)
        self.test = self._held_out(self.seen, "test")
        self._popularity = self.R.sum(0)

    def _hold_out(
        self, ratings: Ratings, seed: int, fraction: float = 0.2
    ) -> tuple[np.ndarray, np.ndarray]:
        if self.split == "temporal":
            return temporal_holdout(ratings, 1)
        folds = round(1 / fraction)
        return kfold(ratings, folds, seed)[0]

    @staticmethod
    def _matrix(part: Ratings) -> Tensor:
        """The 0/1 ``(U, I)`` interactions of a part (its mask: subsets keep the whole id maps)."""
        return part.matrix()[1].float()

    def _held_out(self, seen: Tensor, part: str) -> tuple[Tensor, Tensor]:
        """``(x, y)`` of the users with a held-out interaction in ``part``."""
        target = self._matrix(self.parts[part])
        users = target.sum(1) > 0
        self.held_out_users[part] = users.nonzero()[:, 0]
        y, target = seen[users], target[users]
        x = torch.where(y > 0, torch.full((), torch.nan), target)
        return x, y

    def counts(self) -> dict[str, int]:
        """Users and interactions per part, and held-out items never seen in training."""
        trained = self.R.sum(0) > 0
        out = {"users": self.interactions.n_users, "items": self.interactions.n_items}
        for name, part in self.parts.items():
            out[f"{name}_interactions"] = len(part)
            out[f"{name}_users"] = len(np.unique(part.users))
            if name != "train":
                out[f"{name}_items_unseen_in_training"] = int((~trained[part.items]).sum())
        return out

    def _moved(self, device: torch.device) -> None:
        if device not in self._on:
            cpu = self._on[torch.device("cpu")]
            self._on[device] = tuple(None if t is None else t.to(device) for t in cpu)

    def sample(self, batch: int) -> tuple[Tensor, ...]:
        """``batch`` users (with at least two training interactions), some of each one's
        interactions hidden (``hide``; at least one, never all); with ``hide_from_graph`` the
        batch's own item graph third."""
        g = self.generator
        R, users, recency = self._on[g.device]
        chosen = users[torch.randint(len(users), (batch,), generator=g, device=g.device)]
        rows = R[chosen]
        if recency is not None:
            n = rows.sum(1, keepdim=True)
            # at most ⌈holdout·n⌉ (less a tolerance for float rounding), never all
            most = torch.minimum(torch.ceil(self.holdout * n - 1e-4), n - 1)
            j = torch.floor(torch.rand(n.shape, generator=g, device=g.device) * most) + 1
            hide = (rows > 0) & (recency[chosen] < j.clamp_max(most))
        else:
            hide = (torch.rand(rows.shape, generator=g, device=g.device) < self.holdout) & (
                rows > 0
            )
        # at least one interaction hidden and one shown (the users have two or more)
        first = torch.zeros_like(hide).scatter_(1, rows.argmax(1, keepdim=True), True)
        hide = hide | (first & ~hide.any(1, keepdim=True))
        every = hide.sum(1, keepdim=True) == rows.sum(1, keepdim=True)
        hide = hide & ~(first & every)
        y = rows * ~hide
        x = torch.where(y > 0, torch.full((), torch.nan, device=g.device), hide.to(rows.dtype))
        if not self.hide_from_graph:
            return x, y
        # a user drawn twice loses both draws' hidden interactions
        hidden = torch.zeros_like(R).index_add_(0, chosen, hide.to(R.dtype)) > 0
        return x, y, ItemGraph(R * ~hidden)

    @property
    def metric(self) -> Metric:  # type: ignore[override]
        return recall_metric(self.top_k)

    @property
    def extra_metrics(self) -> tuple[Metric, ...]:  # type: ignore[override]
        return (ndcg_metric(self.top_k),)

    def baselines(self) -> dict[str, Baseline]:
        """Popularity (the training interactions per item), GF-CF's linear filter ``y P̃`` and
        personalised PageRank (α = 0.1), per iteration."""
        _, y = self.test
        A = self.operator

        def trace(algorithm: GraphFilter | PPRPropagation, iterations: int) -> Tensor:
            return algorithm.run(y, A, iterations=iterations, trace=True)[1]

        return {
            "popularity": lambda iterations: self._popularity.expand_as(y)[None],
            "GF-CF (linear filter)": lambda iterations: A(y)[None],
            "personalised PageRank": lambda iterations: trace(PPRPropagation(), iterations),
        }

    def describe(self) -> str:
        what = "every rating" if self.positive is None else f"ratings >= {self.positive:g}"
        c = self.counts()
        return (
            f"implicit feedback ({what}) of {c['users']} users and {c['items']} items, "
            f"{self.split} split: {c['train_interactions']} training, "
            f"{c['validation_interactions']} validation and {c['test_interactions']} test "
            f"interactions"
        )

    def __repr__(self) -> str:
        return (
            f"ImplicitRanking(positive={self.positive}, split={self.split!r}, "
            f"holdout={self.holdout}, hide={self.hide!r}, top_k={self.top_k}, seed={self.seed}"
            + (", hide_from_graph=True)" if self.hide_from_graph else ")")
        )


def _recency(part: Ratings, shape: torch.Size) -> Tensor:
    """``(U, I)``: 0 at each user's latest item in ``part``, 1 at the one before, …, and
    ``inf`` where the user has none (never hidden as "latest"). A user's repeated item counts
    once, at its latest time."""
    order, _ = rank_from_latest(part)
    users, items = part.users[order], part.items[order]
    # the latest row of each (user, item): the last in `order`, the first of the reversal
    _, last = np.unique((users * shape[1] + items)[::-1], return_index=True)
    keep = np.sort(len(order) - 1 - last)
    users, items = users[keep], items[keep]
    ranks = from_end(users, shape[0]).astype(np.float32)
    out = torch.full(tuple(shape), torch.inf, dtype=torch.float32)  # whatever the default
    out[torch.from_numpy(users), torch.from_numpy(items)] = torch.from_numpy(ranks)
    return out


__all__ = ["ImplicitRanking"]
