"""The label-free blend of score families: trees, the whole set, the nearest objects.

A search's configurations fall into *families*: the tree configurations chosen by the
consensus (one family, their mean rank) and each whole-set member (its own family). Each
family's training scores are turned into ranks r in (0, 1], and the families are combined
by Fisher's method, the weighted mean of -log(1 - r): an object that one family puts at
the very top keeps a high score even when another family ranks it middling, where a plain
mean of ranks would pull it back (docs/search.md, "The blend"). Each family's weight is its
base weight times its rank correlation with the base-weighted mean of all families, to a
power: a family that disagrees with the rest loses its say. The result is placed on the
training blend's ranks, so it lies in (0, 1] like every other score of a search.
"""

from __future__ import annotations

import numpy as np

from drama.ranks import cdf, rank_correlation, sorted_and_ranks

__all__ = ["Blend", "fisher"]


def fisher(ranks: np.ndarray, n_train: int) -> np.ndarray:
    """-log(1 - r), with r capped at the largest training mid-rank 1 - 1/(2n) (ranks of new
    objects beyond the training maximum reach 1 + 1e-3); the part above the cap is added
    as it is, so those objects stay ordered."""
    top = 1.0 - 0.5 / n_train
    capped = np.minimum(ranks, top)
    return -np.log1p(-capped) + (ranks - capped)


class Blend:
    """Families (rows of ``members``: weights over configurations, each row summing to 1)
    with ``base`` weights, combined as the module describes. :meth:`fit` takes the training
    ranks of every configuration; :meth:`score` the ranks of new objects."""

    def __init__(self, members: np.ndarray, base: np.ndarray, power: float):
        self.members = np.atleast_2d(np.asarray(members, dtype=np.float64))
        self.base = np.asarray(base, dtype=np.float64)
        self.power = float(power)

    def fit(self, train_ranks: np.ndarray) -> np.ndarray:
        """Family weights from the training ranks; returns the training blend, in (0, 1]."""
        family = train_ranks @ self.members.T
        self._n = len(family)
        self._sorted, ranked = [], []
        for column in family.T:
            ordered, ranks = sorted_and_ranks(column)
            self._sorted.append(ordered)
            ranked.append(ranks)
        R = np.column_stack(ranked)
        centre = R @ (self.base / self.base.sum())
        self.agreement_ = np.array([rank_correlation(r, centre) for r in R.T])
        weights = self.base * np.maximum(self.agreement_, 0.0) ** self.power
        if not weights.sum() > 0:  # every family against the rest: keep the base weights
            weights = self.base.copy()
        self.weights_ = weights / weights.sum()
        blend = fisher(R, self._n) @ self.weights_
        self._sorted_blend, placed = sorted_and_ranks(blend)
        return placed

    def score(self, ranks: np.ndarray) -> np.ndarray:
        """The blend of objects whose configuration ranks are ``ranks`` (columns as at fit)."""
        family = ranks @ self.members.T
        R = np.column_stack([cdf(ordered, column)
                             for ordered, column in zip(self._sorted, family.T, strict=True)])
        return cdf(self._sorted_blend, fisher(R, self._n) @ self.weights_)

    @property
    def config_weights(self) -> np.ndarray:
        """Each configuration's share of the blend (its family's weight times its share in
        the family): what ``results_["weight"]`` reports."""
        return self.weights_ @ self.members
