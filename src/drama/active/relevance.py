"""What the labels teach: a relevance model P(interesting) and a class proposal.

DRAMA's anomaly rank says *how unusual* an object is; the labels say *which unusual
objects this scientist cares about*. The model here is a kernel smoother whose prior is
the anomaly rank itself:

    P(x) = (sum_i K(x, x_i) y_i + alpha * a(x)) / (sum_i K(x, x_i) + alpha)

with y_i = 1 for objects labelled interesting and 0 for boring ones, a(x) in [0, 1] the
anomaly percentile. Far from every label P(x) = a(x), so DRAMA's ranking stands; near
boring labels it sinks, near interesting labels it rises. The same kernel votes for a
class among the labelled objects that carry a class tag.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

from drama.search import rank_normalise

__all__ = ["FeatureSpace", "class_votes", "relevance"]


@dataclass
class FeatureSpace:
    """Robust-scaled (and, for many features, PCA-reduced) coordinates with a kernel width.

    Why robust scaling: anomalies themselves would inflate a standard deviation and
    squash the normal objects together. Why PCA above ``max_dims``: a distance kernel in
    hundreds of pixel dimensions sees every object as equally far.
    """

    coords: np.ndarray
    bandwidth: float

    @classmethod
    def build(
        cls,
        X: np.ndarray,
        *,
        max_dims: int = 20,
        n_neighbors: int = 10,
        sample: int = 2000,
        random_state: int | None = 0,
    ) -> FeatureSpace:
        flat = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
        median = np.median(flat, axis=0)
        q75, q25 = np.percentile(flat, [75, 25], axis=0)
        spread = q75 - q25
        std = flat.std(axis=0)
        # Features with a zero IQR (mostly constant, or binary) fall back to the std.
        spread = np.where(spread > 1e-12, spread, np.where(std > 1e-12, std, 1.0))
        coords = (flat - median) / spread
        # Clip extreme robust z so that one wild feature cannot dominate every distance.
        coords = np.clip(coords, -20.0, 20.0)
        if coords.shape[1] > max_dims and len(coords) > max_dims:
            pca = PCA(n_components=max_dims, random_state=random_state)
            coords = pca.fit_transform(coords)
        rng = np.random.default_rng(random_state)
        idx = rng.choice(len(coords), size=min(sample, len(coords)), replace=False)
        k = min(n_neighbors + 1, len(idx))
        dist, _ = NearestNeighbors(n_neighbors=k).fit(coords[idx]).kneighbors(coords[idx])
        bandwidth = float(np.median(dist[:, -1])) if k > 1 else 1.0
        return cls(coords=coords, bandwidth=max(bandwidth, 1e-9))

    def kernel(self, idx: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """Gaussian kernel (n, len(idx)) between every object and the objects ``idx``."""
        if len(idx) == 0:
            return np.zeros((len(self.coords), 0))
        sub = self.coords[idx]
        sq = (
            np.sum(self.coords**2, axis=1)[:, None]
            + np.sum(sub**2, axis=1)[None, :]
            - 2.0 * self.coords @ sub.T
        )
        h = self.bandwidth * scale
        return np.exp(-np.maximum(sq, 0.0) / (2.0 * h * h))

    def nearest_distance(self, idx: np.ndarray) -> np.ndarray:
        """Distance from every object to the nearest of ``idx``, in bandwidth units."""
        if len(idx) == 0:
            return np.full(len(self.coords), np.inf)
        nn = NearestNeighbors(n_neighbors=1).fit(self.coords[idx])
        dist, _ = nn.kneighbors(self.coords)
        return dist[:, 0] / self.bandwidth


def relevance(
    K: np.ndarray, y: np.ndarray, prior: np.ndarray, alpha: float = 0.5
) -> np.ndarray:
    """Kernel posterior P(interesting) with the anomaly percentile as prior (module notes).

    Parameters
    ----------
    K : (n, m) kernel between all objects and the m labelled ones.
    y : (m,) 1 = interesting, 0 = boring.
    prior : (n,) anomaly percentile in [0, 1].
    alpha : weight of the prior, in "labelled neighbours": smaller lets labels speak louder.
    """
    if K.shape[1] == 0:
        return prior.copy()
    return (K @ y + alpha * prior) / (K.sum(axis=1) + alpha)


def class_votes(
    K: np.ndarray, classes: list[str], alpha: float = 0.2
) -> tuple[np.ndarray, np.ndarray]:
    """Proposed class and confidence for every object from kernel votes of tagged labels.

    ``K`` holds the kernel to the labelled objects that carry a class tag, ``classes``
    their tags. The confidence is the winning class's share of the vote, with ``alpha``
    votes for "none of these", so that objects far from every tagged label get a low
    confidence instead of a confident guess.
    """
    n = K.shape[0]
    if K.shape[1] == 0:
        return np.full(n, None, dtype=object), np.zeros(n)
    names = sorted(set(classes))
    tags = np.asarray(classes, dtype=object)
    votes = np.column_stack([K[:, tags == c].sum(axis=1) for c in names])
    best = votes.argmax(axis=1)
    confidence = votes[np.arange(n), best] / (votes.sum(axis=1) + alpha)
    return np.asarray(names, dtype=object)[best], confidence


def learned_prior(
    features: np.ndarray,
    y: np.ndarray,
    prior: np.ndarray,
    *,
    min_each: int = 2,
    n_unlabelled: int = 300,
    unlabelled_weight: float = 0.2,
    max_weight: float = 0.8,
    half_weight_at: float = 10.0,
    random_state: int | None = 0,
) -> np.ndarray:
    """Mix the anomaly prior with a logistic model of "interesting" learned from the labels.

    Why: the kernel only speaks near labelled objects; a linear model on the features
    and on DRAMA's configuration percentiles carries what the labels teach to regions
    without labels (e.g. "high in feature 3 is what matters"). A sample of unlabelled
    objects enters as weak negatives, since most objects are normal. The model's share
    grows with the number of labels, up to ``max_weight``.
    """
    from sklearn.linear_model import LogisticRegression

    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    if len(pos) < min_each or len(neg) < min_each:
        return prior
    rng = np.random.default_rng(random_state)
    free = np.flatnonzero(y < 0)
    extra = rng.choice(free, size=min(n_unlabelled, len(free)), replace=False)
    rows = np.concatenate([pos, neg, extra])
    target = np.concatenate([np.ones(len(pos)), np.zeros(len(neg) + len(extra))])
    weight = np.concatenate([
        np.full(len(pos), 0.5 / len(pos)),
        np.full(len(neg), 0.5 / len(neg)),
        np.full(len(extra), unlabelled_weight / max(len(extra), 1)),
    ])
    clf = LogisticRegression(C=1.0, max_iter=500)
    clf.fit(features[rows], target, sample_weight=weight * len(rows))
    learned = rank_normalise(clf.decision_function(features))
    n_lab = len(pos) + len(neg)
    w = max_weight * n_lab / (n_lab + half_weight_at)
    return (1.0 - w) * prior + w * learned
