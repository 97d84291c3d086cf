"""Members of a search that see the whole training set rather than a tree's leaves.

A tree's prototypes are the means of a few big leaves. Two limits of that idea are scored
here, on the same min-max-scaled features as the trees (docs/search.md, "Members beyond
the tree"):

- **level 0, the whole set as one prototype**: ``none|l2|0|input`` is the distance to the
  training mean, ``none|mahalanobis|0|input`` the Mahalanobis distance with the set's
  Ledoit-Wolf covariance (a covariance of hundreds of dimensions is only usable shrunk).
- **every training object a prototype** (``space="neighbours"``, level = k):
  ``none|l2|k|neighbours`` is the distance to the k-th nearest training object,
  ``none|mahalanobis|k|neighbours`` the same in the whitened coordinates of that covariance.
  A training object does not count as its own neighbour, and neither does a training
  object at distance exactly 0 from a new object (that object *is* one of the training
  objects), so the training objects scored again get their training scores.

At most ``max_prototypes`` training objects (an evenly spaced sample) serve as
neighbours: the cost of a query grows with their number. Above ``MAHALANOBIS_MAX_FEATURES``
values per object the Mahalanobis members are not scored (a d x d covariance of a wide
table would not fit in memory); :meth:`WholeSetMembers.fit` leaves them out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.neighbors import NearestNeighbors

from drama.distances import whitening
from drama.scaling import Scaler

__all__ = ["WHOLE_SET_METRICS", "WholeSetMembers", "check_members", "is_whole_set"]

WHOLE_SET_METRICS = ("l2", "mahalanobis")
# A d x d covariance is estimated well from a few thousand objects; more only costs time.
COVARIANCE_SAMPLES = 4000
# Widest objects whose covariance is estimated (8 MiB, an eigendecomposition of a second).
MAHALANOBIS_MAX_FEATURES = 1024
# Differences held at once when neighbours are measured again (32 MiB of float64).
_CHUNK_VALUES = 1 << 22


def is_whole_set(config: Mapping[str, Any]) -> bool:
    """Whether a parsed configuration is scored here (level 0, or the neighbours space)."""
    return config["space"] == "neighbours" or int(config["level"]) == 0


def check_members(configs: list[dict[str, Any]]) -> None:
    """Raise a ValueError for a parsed configuration that is no whole-set member."""
    for cfg in configs:
        if cfg["reducer"] != "none" or cfg["metric"] not in WHOLE_SET_METRICS or \
                cfg["space"] not in ("input", "neighbours"):
            raise ValueError(
                f"Unknown whole-set member {cfg}: use reducer 'none', a metric of "
                f"{WHOLE_SET_METRICS} and level 0 in space 'input' or level k >= 1 in "
                "space 'neighbours', e.g. 'none|mahalanobis|0|input' or "
                "'none|l2|1|neighbours'.")


def _scored_at_width(configs: list[dict[str, Any]], width: int) -> list[dict[str, Any]]:
    """The members scored for objects of ``width`` values: no Mahalanobis member above
    ``MAHALANOBIS_MAX_FEATURES``."""
    if width <= MAHALANOBIS_MAX_FEATURES:
        return configs
    return [c for c in configs if c["metric"] != "mahalanobis"]


def _evenly_spaced(n: int, limit: int) -> np.ndarray:
    return np.linspace(0, n - 1, min(n, limit)).astype(np.intp)


class WholeSetMembers:
    """Fit once, then score the configurations named in ``configs`` (parsed dicts of
    :func:`drama.search.parse_config`) for any objects."""

    def __init__(self, configs: list[dict[str, Any]], max_prototypes: int):
        check_members(configs)
        self.configs = configs
        self.max_prototypes = int(max_prototypes)

    @property
    def _needs_whitening(self) -> bool:
        return any(c["metric"] == "mahalanobis" for c in self.configs)

    def _spaces(self) -> dict[str, int]:
        """Largest k per metric among the neighbour configurations."""
        out: dict[str, int] = {}
        for c in self.configs:
            if c["space"] == "neighbours":
                out[c["metric"]] = max(out.get(c["metric"], 0), int(c["level"]))
        return out

    def fit(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Fit on the training objects and return their scores by configuration name (the
        Mahalanobis members only up to ``MAHALANOBIS_MAX_FEATURES`` values per object)."""
        flat = X.reshape(len(X), -1).astype(np.float64, copy=False)
        self.configs = _scored_at_width(self.configs, flat.shape[1])
        self.scaler_ = Scaler("minmax").fit(flat)
        U = self.scaler_.transform(flat)
        self.mean_ = U.mean(axis=0)
        self.whiten_ = None
        if self._needs_whitening:
            rows = _evenly_spaced(len(U), COVARIANCE_SAMPLES)
            floor = max(1e-12, 1e-4 * float(U.var(axis=0).mean()))
            self.whiten_ = whitening(U[rows], floor)
        self.prototypes_ = U[_evenly_spaced(len(U), self.max_prototypes)]
        self._index()
        return self._score_scaled(U)

    def _index(self) -> None:
        """One neighbour index per metric, over the prototypes' coordinates."""
        self._neighbours = {metric: NearestNeighbors().fit(self._coords(self.prototypes_, metric))
                            for metric in self._spaces()}

    def _coords(self, U: np.ndarray, metric: str) -> np.ndarray:
        if metric == "mahalanobis":
            assert self.whiten_ is not None
            return (U - self.mean_) @ self.whiten_
        return U

    def score(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Scores of (new) objects by configuration name; higher = more anomalous."""
        flat = X.reshape(len(X), -1).astype(np.float64, copy=False)
        return self._score_scaled(self.scaler_.transform(flat))

    def _score_scaled(self, U: np.ndarray) -> dict[str, np.ndarray]:
        from drama.search import config_name

        out: dict[str, np.ndarray] = {}
        kth = {metric: self._kth_distances(U, metric, k) for metric, k in self._spaces().items()}
        for c in self.configs:
            name = config_name(c["reducer"], c["metric"], c["level"], c["space"])
            if c["space"] == "neighbours":
                out[name] = kth[c["metric"]][:, int(c["level"]) - 1]
            else:  # level 0: the distance to the set's mean
                centred = self._coords(U, "mahalanobis") if c["metric"] == "mahalanobis" \
                    else U - self.mean_
                out[name] = np.linalg.norm(centred, axis=1)
        return out

    def _kth_distances(self, U: np.ndarray, metric: str, k: int) -> np.ndarray:
        """(m, k) distances to the 1st..k-th nearest prototype, not counting one prototype
        equal to the object (the object itself). The index proposes k + 1 candidates; their
        distances are computed again from the differences of the scaled features, which
        are exactly 0 for an equal object however it was batched."""
        index = self._neighbours[metric]
        n_candidates = min(k + 1, len(self.prototypes_))  # >= 2: a search needs 2 objects
        out = np.empty((len(U), k))
        rows = max(1, _CHUNK_VALUES // (n_candidates * U.shape[1]))
        for start in range(0, len(U), rows):
            block = U[start:start + rows]
            _, idx = index.kneighbors(self._coords(block, metric), n_neighbors=n_candidates)
            diff = block[:, None, :] - self.prototypes_[idx]
            if metric == "mahalanobis":  # one 2-D product: BLAS, not a loop of small ones
                assert self.whiten_ is not None
                diff = (diff.reshape(-1, diff.shape[2]) @ self.whiten_).reshape(diff.shape)
            dist = np.linalg.norm(diff, axis=2)
            equal = (block[:, None, :] == self.prototypes_[idx]).all(axis=2)
            itself = np.where(equal.any(axis=1), equal.argmax(axis=1), n_candidates - 1)
            dist[np.arange(len(block)), itself] = np.inf  # itself, else the farthest
            kept = np.sort(dist, axis=1)[:, :-1]
            # fewer than k other prototypes (a tiny set): the farthest one stands in
            out[start:start + len(block)] = np.pad(kept, ((0, 0), (0, k - kept.shape[1])),
                                                   mode="edge")
        return out

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays = {"offset": self.scaler_.offset_, "scale": self.scaler_.scale_,
                  "mean": self.mean_, "prototypes": self.prototypes_}
        if self.whiten_ is not None:
            arrays["whiten"] = self.whiten_
        return {"max_prototypes": self.max_prototypes}, arrays

    @classmethod
    def from_state(cls, configs: list[dict[str, Any]], meta: Mapping[str, Any],
                   arrays: Mapping[str, np.ndarray]) -> WholeSetMembers:
        members = cls(configs, int(meta["max_prototypes"]))
        members.scaler_ = Scaler.from_state({"method": "minmax"},
                                            {"offset": arrays["offset"],
                                             "scale": arrays["scale"]})
        members.mean_ = np.asarray(arrays["mean"], dtype=np.float64)
        members.prototypes_ = np.asarray(arrays["prototypes"], dtype=np.float64)
        members.whiten_ = arrays.get("whiten")
        d = len(members.mean_)
        members.configs = _scored_at_width(configs, d)  # as fit left them
        if members.prototypes_.ndim != 2 or members.prototypes_.shape[1] != d or (
                members._needs_whitening and (members.whiten_ is None
                                              or np.shape(members.whiten_) != (d, d))):
            raise ValueError("the whole-set members' arrays do not fit together")
        members._index()
        return members
