"""Evaluation measures for anomaly rankings: AUC, MCC, RWS and more (docs/algorithm.md#evaluation).

Every function takes the true labels (1 = anomaly, 0 = normal) and the anomaly
scores (higher = more anomalous) of the same objects. Where a measure needs a
ranking, objects are sorted by decreasing score and **ties keep the order in which
the objects were given** (a stable sort): of two objects with the same score, the
one that comes first in ``scores`` is ranked higher. This makes every measure a
deterministic function of its inputs. ``ties="expected"`` (MCC at a rank cut, RWS,
precision@k) gives instead the exact mean over every order of the tied objects: each
rank held by a group of tied objects counts the group's share of anomalies.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, matthews_corrcoef, roc_auc_score

__all__ = [
    "auc_score",
    "average_precision",
    "discovery_curve",
    "evaluate",
    "mcc_score",
    "precision_at_k",
    "ranking",
    "rws_score",
]


def _check_labels_scores(
    y_true: Any, scores: Any, *, need_anomaly: bool = False, need_both: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(y, s)`` as an int 0/1 vector and a finite float vector of equal length."""
    y = np.asarray(y_true)
    s = np.asarray(scores)
    if y.ndim != 1:
        raise ValueError(
            f"y_true must be a 1-D vector of 0/1 labels; got shape {y.shape}. "
            "Pass one label per object."
        )
    if s.ndim != 1:
        raise ValueError(
            f"scores must be a 1-D vector with one score per object; got shape {s.shape}. "
            "Use decision_function(X) (not predict_proba) or take one column."
        )
    if len(y) != len(s):
        raise ValueError(
            f"y_true has {len(y)} labels but scores has {len(s)} values; "
            "pass one label and one score for every object."
        )
    if len(y) == 0:
        raise ValueError("y_true and scores are empty; pass at least one object.")
    if y.dtype.kind not in "biuf":
        raise TypeError(
            f"y_true must hold 0/1 (or boolean) labels; it has dtype {y.dtype}. "
            "Map your labels to 1 = anomaly, 0 = normal first."
        )
    if s.dtype.kind not in "biuf":
        raise TypeError(
            f"scores must be numbers; they have dtype {s.dtype}. Convert them to floats first."
        )
    s = s.astype(np.float64)
    yf = y.astype(np.float64)
    bad = ~np.isin(yf, (0.0, 1.0))
    if bad.any():
        found = np.unique(yf[bad])[:5].tolist()
        raise ValueError(
            f"y_true must contain only 0 (normal) and 1 (anomaly); found {found}. "
            "Map your labels to 0/1 first."
        )
    if not np.isfinite(s).all():
        first = int(np.flatnonzero(~np.isfinite(s))[0])
        raise ValueError(
            f"scores contain NaN or infinite values (first at object {first}); "
            "drop those objects or fix the detector before evaluating."
        )
    y = yf.astype(np.int64)
    n_anom = int(y.sum())
    if need_both and (n_anom == 0 or n_anom == len(y)):
        only = "anomalies" if n_anom else "normal objects"
        raise ValueError(
            f"y_true holds only {only}; this measure needs at least one anomaly (1) and one "
            "normal object (0)."
        )
    if need_anomaly and n_anom == 0:
        raise ValueError(
            "y_true holds no anomalies (no 1s); this measure needs at least one true anomaly."
        )
    return y, s


def ranking(scores: Any) -> np.ndarray:
    """Object indices from most to least anomalous, ties kept in input order.

    Parameters
    ----------
    scores : array-like of shape (n,)
        Anomaly scores, higher = more anomalous.

    Returns
    -------
    numpy.ndarray of int
        ``order[0]`` is the index of the highest-scored object.
    """
    s = np.asarray(scores, dtype=np.float64)
    # Sorting -s with a stable sort puts higher scores first and keeps ties in input order.
    return np.argsort(-s, kind="stable")


TIES = ("order", "expected")


def _check_ties(ties: str) -> None:
    if ties not in TIES:
        raise ValueError(f"ties must be 'order' or 'expected'; got {ties!r}.")


def _hits_by_rank(y: np.ndarray, s: np.ndarray, ties: str) -> np.ndarray:
    """Whether the object at each rank is an anomaly: 0/1 in input order of ties, or for
    ``ties="expected"`` the share of anomalies in the rank's group of tied scores."""
    _check_ties(ties)
    order = ranking(s)
    hits = y[order].astype(np.float64)
    if ties == "order":
        return hits
    ranked = s[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    sizes = np.diff(np.r_[starts, len(ranked)])
    return np.repeat(np.add.reduceat(hits, starts) / sizes, sizes)


def auc_score(y_true: Any, scores: Any) -> float:
    """Area under the ROC curve: the chance that a random anomaly outscores a random normal.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        1 for anomalies, 0 for normal objects; both classes must be present.
    scores : array-like of shape (n,)
        Anomaly scores, higher = more anomalous.

    Returns
    -------
    float
        In [0, 1]; 0.5 is a random ranking, 1 a perfect one.
    """
    y, s = _check_labels_scores(y_true, scores, need_both=True)
    return float(roc_auc_score(y, s))


def _n_flagged(contamination: float, n: int) -> int:
    """Number of objects flagged at a contamination rate, ``ceil(contamination * n)``."""
    ok = isinstance(contamination, numbers.Real) and not isinstance(contamination, bool)
    if not (ok and 0.0 < float(contamination) <= 1.0):
        raise ValueError(
            f"contamination must be a fraction in (0, 1]; got {contamination!r}. "
            "Pass e.g. 0.05 to flag the top 5% of objects."
        )
    # Round first so that 0.1 * 30 = 3.0000000000000004 flags 3 objects, not 4.
    return max(1, math.ceil(round(float(contamination) * n, 9)))


def mcc_score(
    y_true: Any,
    scores: Any,
    *,
    threshold: float | None = None,
    contamination: float | None = None,
    ties: str = "order",
) -> float:
    """Matthews correlation of the labels with the objects a threshold flags as anomalies.

    By default the N_o highest scores are flagged, N_o the number of true anomalies
    (the paper's *oracle* threshold), so the measure judges the ranking without the
    detector having to guess how many anomalies there are. Ties at the cut are broken
    by input order (see the module notes), or averaged over with ``ties="expected"``.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        1 for anomalies, 0 for normal objects; both classes must be present.
    scores : array-like of shape (n,)
        Anomaly scores, higher = more anomalous.
    threshold : float, optional
        Flag objects whose score is strictly greater than this value.
    contamination : float, optional
        Flag the top ``ceil(contamination * n)`` objects. Give at most one of
        ``threshold`` and ``contamination``.
    ties : {"order", "expected"}
        How a cut through tied scores counts: by input order, or the exact mean over
        every order of the tied objects (with k flagged, MCC is linear in the number of
        true anomalies among them). A threshold cuts no ties, so there it changes nothing.

    Returns
    -------
    float
        In [-1, 1]; 1 is a perfect split, 0 no better than chance. sklearn's convention
        (0 when every object gets the same flag) is kept.
    """
    y, s = _check_labels_scores(y_true, scores, need_both=True)
    if threshold is not None and contamination is not None:
        raise ValueError(
            "Give either threshold or contamination, not both; leave both out for the "
            "oracle threshold (top N_o scores)."
        )
    if threshold is not None:
        ok = isinstance(threshold, numbers.Real) and not isinstance(threshold, bool)
        if not (ok and math.isfinite(float(threshold))):
            raise ValueError(f"threshold must be a finite number; got {threshold!r}.")
        _check_ties(ties)
        return float(matthews_corrcoef(y, (s > float(threshold)).astype(np.int64)))
    k = int(y.sum()) if contamination is None else _n_flagged(contamination, len(y))
    n, positives = len(y), int(y.sum())
    if k == n:  # every object flagged: sklearn's convention
        return 0.0
    # With k flagged, TP*TN - FP*FN = n*TP - k*P and the denominator is fixed.
    true_positives = _hits_by_rank(y, s, ties)[:k].sum()
    denominator = math.sqrt(k * positives * (n - positives) * (n - k))
    return float((n * true_positives - k * positives) / denominator)


def rws_score(y_true: Any, scores: Any, *, legacy: bool = False, ties: str = "order") -> float:
    """Rank-weighted score: how many true anomalies sit at the very top of the ranking.

    The N_o highest-scored objects (N_o = number of true anomalies) get ranks
    r = 1..N_o, r = 1 the highest; ``RWS = Σ w_r I_r / Σ w_r`` with I_r = 1 when the
    object at rank r is a true anomaly and ``w_r = N_o + 1 - r``, so the top of the list,
    the part a person inspects first, weighs most.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        1 for anomalies, 0 for normal objects; at least one anomaly is needed.
    scores : array-like of shape (n,)
        Anomaly scores, higher = more anomalous.
    legacy : bool, default False
        Use ``w_r = r`` instead, as the 2019 code did. That direction rewards anomalies
        found *late* in the list; keep it only to reproduce old numbers.
    ties : {"order", "expected"}
        Tied scores ranked by input order, or the exact mean over every order of them.

    Returns
    -------
    float
        In [0, 1]; 1 when the top N_o objects are exactly the anomalies.
    """
    y, s = _check_labels_scores(y_true, scores, need_anomaly=True)
    n_o = int(y.sum())
    hits = _hits_by_rank(y, s, ties)[:n_o]
    r = np.arange(1, n_o + 1, dtype=np.float64)
    w = r if legacy else n_o + 1.0 - r
    return float(np.dot(w, hits) / w.sum())


def _check_count(value: Any, n: int, name: str) -> int:
    """A whole number in 1..n, with a message that says the valid range."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a whole number of objects; got {value!r}.")
    if not 1 <= int(value) <= n:
        raise ValueError(f"{name} must be between 1 and the number of objects ({n}); got {value}.")
    return int(value)


def precision_at_k(y_true: Any, scores: Any, k: int, *, ties: str = "order") -> float:
    """Fraction of true anomalies among the k highest-scored objects.

    It answers "if I look at the top k candidates, how many are real?".

    Parameters
    ----------
    y_true : array-like of shape (n,)
        1 for anomalies, 0 for normal objects.
    scores : array-like of shape (n,)
        Anomaly scores, higher = more anomalous.
    k : int
        Number of objects inspected, 1 <= k <= n.
    ties : {"order", "expected"}
        Tied scores ranked by input order, or the exact mean over every order of them.

    Returns
    -------
    float
        In [0, 1].
    """
    y, s = _check_labels_scores(y_true, scores)
    k = _check_count(k, len(y), "k")
    return float(_hits_by_rank(y, s, ties)[:k].mean())


def average_precision(y_true: Any, scores: Any) -> float:
    """Average precision (area under the precision-recall curve, step-wise).

    Unlike AUC it is dominated by the top of the ranking, which suits rare anomalies.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        1 for anomalies, 0 for normal objects; at least one anomaly is needed.
    scores : array-like of shape (n,)
        Anomaly scores, higher = more anomalous.

    Returns
    -------
    float
        In [0, 1]; the fraction of anomalies for a random ranking, 1 for a perfect one.
    """
    y, s = _check_labels_scores(y_true, scores, need_anomaly=True)
    return float(average_precision_score(y, s))


def discovery_curve(y_true: Any, scores: Any, budget: int | None = None) -> np.ndarray:
    """True anomalies found after inspecting the top k objects, for k = 1..budget.

    The curve an active-learning user lives on: steep at the start means few wasted looks.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        1 for anomalies, 0 for normal objects.
    scores : array-like of shape (n,)
        Anomaly scores, higher = more anomalous.
    budget : int, optional
        Number of objects inspected, 1 <= budget <= n; all objects by default.

    Returns
    -------
    numpy.ndarray of int, shape (budget,)
        Element ``k - 1`` is the number of anomalies among the top k objects.
    """
    y, s = _check_labels_scores(y_true, scores)
    budget = len(y) if budget is None else _check_count(budget, len(y), "budget")
    return np.cumsum(y[ranking(s)[:budget]])


def evaluate(y_true: Any, scores: Any) -> dict[str, float]:
    """The paper's three measures plus average precision in one call.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        1 for anomalies, 0 for normal objects; both classes must be present.
    scores : array-like of shape (n,)
        Anomaly scores, higher = more anomalous.

    Returns
    -------
    dict
        ``{"auc": ..., "mcc": ..., "rws": ..., "ap": ...}``; MCC at the oracle threshold,
        RWS top-weighted.
    """
    y, s = _check_labels_scores(y_true, scores, need_both=True)
    return {
        "auc": auc_score(y, s),
        "mcc": mcc_score(y, s),
        "rws": rws_score(y, s),
        "ap": average_precision(y, s),
    }
