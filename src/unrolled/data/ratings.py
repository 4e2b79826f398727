"""`Ratings`: explicit feedback (user, item, rating, time) with ids remapped to indices, and the
readers of the MovieLens file formats.

Formats (`read_ratings` picks one from the file name, or ``format=``):

``"udata"``
    MovieLens-100K's ``u.data``: ``user item rating timestamp``, tab or space separated.
``"dat"``
    MovieLens-1M/10M's ``ratings.dat``: ``user::item::rating::timestamp``.
``"inter"``
    RecBole's atomic ``.inter`` file: a header of ``name:type`` fields (``user_id:token
    item_id:token rating:float timestamp:float``), then tab-separated rows in that order.

MovieLens-100K itself is not downloaded (nothing is at run time): `movielens_100k` reads the
copy the ``recbole`` 1.2.1 wheel carries, which ``pip install --no-deps recbole==1.2.1`` (or
``make movielens``) puts on disk without recbole's dependencies; recbole is never imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .packaged import packaged_file

FORMATS = ("udata", "dat", "inter")

#: Where the recbole wheel keeps MovieLens-100K, relative to its package directory.
RECBOLE_ML100K = Path("dataset_example") / "ml-100k" / "ml-100k.inter"


@dataclass(frozen=True)
class Ratings:
    """Ratings as parallel arrays, users and items as indices ``0..n−1``.

    ``user_ids[u]`` and ``item_ids[i]`` are the raw ids (strings, as in the file) of index
    ``u`` and ``i``. A subset (`subset`, the splits) keeps the id maps of the whole set, so the
    same user has the same index in every split.

    Attributes:
        users, items: ``(N,)`` int64 indices.
        values: ``(N,)`` float32 ratings.
        timestamps: ``(N,)`` int64 (seconds), or None when the file has none.
        user_ids, item_ids: ``(n_users,)`` and ``(n_items,)`` raw ids.
    """

    users: np.ndarray
    items: np.ndarray
    values: np.ndarray
    timestamps: np.ndarray | None
    user_ids: np.ndarray
    item_ids: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.users)
        for name in ("items", "values") + (("timestamps",) if self.timestamps is not None else ()):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"{name}: expected {n} entries (one per rating), got {len(getattr(self, name))}"
                )
        for name, ids in (("users", self.user_ids), ("items", self.item_ids)):
            index = getattr(self, name)
            if n and (index.min() < 0 or index.max() >= len(ids)):
                raise ValueError(
                    f"{name}: expected indices in [0, {len(ids)}), got out-of-range ones"
                )

    @classmethod
    def from_ids(
        cls,
        users: np.ndarray | list,
        items: np.ndarray | list,
        values: np.ndarray | list,
        timestamps: np.ndarray | list | None = None,
    ) -> Ratings:
        """Ratings from raw ids (anything ``str`` turns into an id), remapped to indices in the
        sorted order of the ids (numeric order when every id is an integer, as MovieLens')."""
        user_ids, u = _remap(users)
        item_ids, i = _remap(items)
        values = np.asarray(values, dtype=np.float32)
        if not np.isfinite(values).all():
            raise ValueError("values: expected finite ratings, got NaN or infinite ones")
        t = None if timestamps is None else np.asarray(timestamps, dtype=np.int64)
        return cls(u.astype(np.int64), i.astype(np.int64), values, t, user_ids, item_ids)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_users, self.n_items)

    def __len__(self) -> int:
        return len(self.values)

    def subset(self, index: np.ndarray) -> Ratings:
        """The ratings at ``index`` (positions or a boolean mask), with the same id maps."""
        t = None if self.timestamps is None else self.timestamps[index]
        return Ratings(
            self.users[index],
            self.items[index],
            self.values[index],
            t,
            self.user_ids,
            self.item_ids,
        )

    def matrix(self, dtype: torch.dtype = torch.float32) -> tuple[Tensor, Tensor]:
        """The dense ``(n_users, n_items)`` rating matrix (0 where unrated) and its boolean mask.
        A (user, item) pair rated twice keeps the later row."""
        values = torch.zeros(self.shape, dtype=dtype)
        mask = torch.zeros(self.shape, dtype=torch.bool)
        u, i = torch.from_numpy(self.users), torch.from_numpy(self.items)
        values[u, i] = torch.from_numpy(self.values).to(dtype)
        mask[u, i] = True
        return values, mask

    def __repr__(self) -> str:
        return f"Ratings({len(self)} ratings, {self.n_users} users × {self.n_items} items)"


def _remap(ids: np.ndarray | list) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ids in order and each entry's index among them."""
    ids = np.asarray(ids).astype(str)
    distinct, index = np.unique(ids, return_inverse=True)
    if len(distinct) and all(d.isdigit() for d in distinct):
        order = np.argsort(distinct.astype(np.int64), kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        distinct, index = distinct[order], rank[index]
    return distinct, index.reshape(-1)


def _format_of(path: Path) -> str:
    if path.suffix == ".inter":
        return "inter"
    if path.suffix == ".dat":
        return "dat"
    if path.name == "u.data" or (path.name.startswith("u") and path.suffix in (".base", ".test")):
        return "udata"
    raise ValueError(
        f"format: cannot tell the format of {str(path)!r} from its name; pass format= one of "
        f"{FORMATS}"
    )


def _columns(path: Path, fmt: str) -> tuple[list[str], list[list[str]]]:
    """The column names and the rows of fields (strings)."""
    lines = path.read_text(encoding="latin-1").splitlines()
    if fmt == "inter":
        if not lines:
            raise ValueError(
                f"{str(path)!r}: an .inter file needs a header line, got an empty file"
            )
        names = [field.split(":")[0] for field in lines[0].split("\t")]
        rows = [line.split("\t") for line in lines[1:] if line.strip()]
    else:
        names = ["user_id", "item_id", "rating", "timestamp"]
        rows = [
            line.split("::") if fmt == "dat" else line.split() for line in lines if line.strip()
        ]
    for number, row in enumerate(rows, start=2 if fmt == "inter" else 1):
        if len(row) != len(names):
            raise ValueError(
                f"{str(path)!r} line {number}: expected {len(names)} fields "
                f"({', '.join(names)}), got {len(row)}: {row!r}"
            )
    return names, rows


def read_ratings(path: str | Path, format: str | None = None) -> Ratings:
    """Read a MovieLens ratings file (module docstring: ``udata``, ``dat``, ``inter``).

    Args:
        path: the file.
        format: one of `FORMATS`; by default from the name (``u.data``, ``*.dat``, ``*.inter``).

    Raises:
        FileNotFoundError: no such file.
        ValueError: an unknown format, a malformed line (its number is named), a missing column.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: no ratings file at {str(path)!r}")
    fmt = _format_of(path) if format is None else format
    if fmt not in FORMATS:
        raise ValueError(f"format: expected one of {FORMATS}, got {fmt!r}")
    names, rows = _columns(path, fmt)
    for needed in ("user_id", "item_id", "rating"):
        if needed not in names:
            raise ValueError(f"{str(path)!r}: expected a {needed!r} column, got {names}")
    table = np.array(rows, dtype=str).reshape(len(rows), len(names))
    column = {name: table[:, k] for k, name in enumerate(names)}
    try:
        values = column["rating"].astype(np.float32)
        t = column.get("timestamp")
        timestamps = None if t is None else t.astype(np.float64).astype(np.int64)
    except ValueError as err:
        raise ValueError(f"{str(path)!r}: a rating or timestamp is not a number ({err})") from None
    return Ratings.from_ids(column["user_id"], column["item_id"], values, timestamps)


def movielens_100k_path() -> Path | None:
    """The MovieLens-100K file the recbole wheel ships, or None when it is not installed. The
    package is located, not imported."""
    return packaged_file("recbole", RECBOLE_ML100K)


def movielens_100k_titles() -> dict[str, str]:
    """MovieLens-100K's movie titles by item id (``"Toy Story (1995)"``), from the recbole
    wheel's item file; empty when it is not installed."""
    path = packaged_file("recbole", RECBOLE_ML100K.with_suffix(".item"))
    if path is None:
        return {}
    titles = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        next(f)  # the header: item_id, movie_title, release_year, class
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if len(fields) >= 3:
                titles[fields[0]] = f"{fields[1]} ({fields[2]})" if fields[2] else fields[1]
    return titles


def movielens_100k(path: str | Path | None = None) -> Ratings:
    """MovieLens-100K (943 users, 1682 items, 100 000 ratings from 1 to 5, GroupLens 1998).

    Args:
        path: a ``u.data``, ``ratings.dat`` or ``.inter`` copy; by default the one in the
            recbole wheel (`movielens_100k_path`).

    Raises:
        FileNotFoundError: saying how to get it, when no copy is found.
    """
    if path is None:
        path = movielens_100k_path()
        if path is None:
            raise FileNotFoundError(
                "MovieLens-100K is not on this machine. It ships inside the recbole 1.2.1 wheel: "
                "run `pip install --no-deps recbole==1.2.1` (or `make movielens`), or pass "
                "path= to your own u.data, ratings.dat or .inter file."
            )
    return read_ratings(path)


__all__ = [
    "FORMATS",
    "Ratings",
    "movielens_100k",
    "movielens_100k_path",
    "movielens_100k_titles",
    "read_ratings",
]
