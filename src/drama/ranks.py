"""Scores of different configurations on one scale: ranks within the training scores.

Distances of very different size cannot be averaged; their ranks can. New objects are
placed on the training ranks (:func:`cdf`), so a training object scored again lands on
its training rank.
"""

from __future__ import annotations

import numpy as np

from drama._numeric import TINY

__all__ = ["TIE_TOLERANCE", "cdf", "rank_correlation", "rank_normalise", "sorted_and_ranks"]

# Scores this close (relative) count as tied: the same object scored alone or in a batch can
# differ in its last bits, and must land on the same rank.
TIE_TOLERANCE = 1e-10


def rank_normalise(scores: np.ndarray) -> np.ndarray:
    """Column-wise mid-ranks divided by n: every configuration on one (0, 1] scale, so that
    distances of very different size can be averaged without one dominating. Computed as
    :func:`cdf` of each column within itself, so new objects land on the same ranks."""
    scores = np.asarray(scores, dtype=np.float64)
    if len(scores) == 0:
        return scores.copy()
    columns = scores.reshape(len(scores), -1)
    out = np.empty_like(columns)
    for j in range(columns.shape[1]):
        out[:, j] = sorted_and_ranks(columns[:, j])[1]
    return out.reshape(scores.shape)


def sorted_and_ranks(column: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One column's sorted values and its ranks (as :func:`rank_normalise`), from one sort."""
    order = np.argsort(column, kind="stable")
    ordered = column[order]
    ranks = np.empty_like(ordered)
    ranks[order] = cdf(ordered, ordered)  # sorted queries: numpy's fast path
    return ordered, ranks


def cdf(sorted_train: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Mid-rank of ``values`` within the training scores, / n, scores within
    ``TIE_TOLERANCE`` counting as tied; beyond the training maximum the excess still orders
    objects, by less than 1e-3 of a rank however large it is, instead of tying them at 1."""
    values = np.asarray(values, dtype=np.float64)
    n = len(sorted_train)
    tol = np.where(np.isfinite(values), TIE_TOLERANCE * np.abs(values), 0.0)
    left = np.searchsorted(sorted_train, values - tol, side="left")
    right = np.searchsorted(sorted_train, values + tol, side="right")
    out = (left + right + 1) / (2.0 * n)
    top, span = sorted_train[-1], max(sorted_train[-1] - sorted_train[0], TINY)
    with np.errstate(over="ignore", invalid="ignore"):
        excess = np.where(values > top, values - top, 0.0)  # never inf - inf
        beyond = np.where(np.isinf(excess), 1.0, excess / (excess + span))
    return out + 1e-3 * beyond


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two rank vectors (Spearman's rho of the scores). Equal
    varying vectors give exactly 1 (rounding would give 0.9999999999999999); a constant
    vector carries no ranking, so it gives 0, even against itself."""
    da, db = a - a.mean(), b - b.mean()
    norm = float(np.linalg.norm(da) * np.linalg.norm(db))
    if norm == 0.0:
        return 0.0
    if np.array_equal(a, b):
        return 1.0
    return float(np.clip(float(da @ db) / norm, -1.0, 1.0))
