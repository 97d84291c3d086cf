"""The peer detectors the benchmark runs next to DRAMA, all on the same min-max-scaled data.

Each peer is a function ``(X_fit, X_score, seed) -> scores`` (higher = more anomalous).
When ``X_score is X_fit`` the protocol is transductive (fit all, score all) and LOF reads
its training factors; otherwise the peer scores new data (novelty protocol). Peers keep
their own failures (PyOD's PCA gives inf on constant features): the benchmark turns
non-finite scores into ties instead of crashing, see :func:`finite_scores`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.neighbors import LocalOutlierFactor

PeerFn = Callable[[np.ndarray, np.ndarray, int], np.ndarray]


def iforest(X_fit: np.ndarray, X_score: np.ndarray, seed: int) -> np.ndarray:
    """scikit-learn IsolationForest with its defaults (100 trees, 256 samples)."""
    return -IsolationForest(random_state=seed).fit(X_fit).score_samples(X_score)


def lof(n_neighbors: int) -> PeerFn:
    """LocalOutlierFactor with ``n_neighbors``; novelty mode when scoring new data."""

    def run(X_fit: np.ndarray, X_score: np.ndarray, seed: int) -> np.ndarray:
        if X_score is X_fit:
            return -LocalOutlierFactor(n_neighbors=n_neighbors).fit(X_fit).negative_outlier_factor_
        det = LocalOutlierFactor(n_neighbors=n_neighbors, novelty=True).fit(X_fit)
        return -det.score_samples(X_score)

    run.__doc__ = f"LOF with n_neighbors={n_neighbors}."
    return run


def _pyod(name: str) -> PeerFn:
    def run(X_fit: np.ndarray, X_score: np.ndarray, seed: int) -> np.ndarray:
        if name == "KNN":
            from pyod.models.knn import KNN as Model
        elif name == "ECOD":
            from pyod.models.ecod import ECOD as Model
        else:
            from pyod.models.pca import PCA as Model
        kwargs = {"random_state": seed} if name == "PCA" else {}
        det = Model(**kwargs).fit(X_fit)
        if X_score is X_fit:
            return np.asarray(det.decision_scores_, dtype=np.float64)
        return np.asarray(det.decision_function(X_score), dtype=np.float64)

    run.__doc__ = f"PyOD {name} with its defaults."
    return run


PEERS: dict[str, PeerFn] = {
    "IForest": iforest,
    "LOF-5": lof(5),
    "LOF-10": lof(10),
    "LOF-20": lof(20),
    "LOF-35": lof(35),
    "KNN": _pyod("KNN"),
    "ECOD": _pyod("ECOD"),
    "PCA": _pyod("PCA"),
}


def finite_scores(scores: np.ndarray) -> np.ndarray:
    """Scores with +inf above every finite one, -inf and NaN below; all non-finite -> all
    equal (AUC 0.5). The peer's failure shows in its numbers, not as a crash."""
    s = np.asarray(scores, dtype=np.float64).copy()
    ok = np.isfinite(s)
    if ok.all():
        return s
    if not ok.any():
        return np.zeros_like(s)
    lo, hi = s[ok].min(), s[ok].max()
    # the next float, not hi + 1: adding 1 to a score of 1e20 changes nothing (a tie)
    s[np.isposinf(s)] = np.nextafter(hi, np.inf)
    s[~np.isfinite(s)] = np.nextafter(lo, -np.inf)
    return s
