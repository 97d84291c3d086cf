"""Two-way splits of a node's latent codes.

Ward linkage is O(m^2), so it runs on a random sample of at most ``max_samples`` codes;
every object of the node (sampled or not) is then assigned to the nearest group centre.
That one rule labels the whole node consistently and is the same rule for any object.
``"deep"`` starts from Ward's two centres and then trains them together with the node's
network (the tree does that part; see docs/neural.md#deep-clustering).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.cluster.hierarchy import ClusterWarning, fcluster, linkage
from scipy.spatial.distance import squareform
from sklearn.cluster import KMeans

from drama._validation import check_option
from drama.reducers.neural import NEURAL_NAMES
from drama.seeding import draw_seed

CLUSTERINGS = ("ward", "kmeans", "deep")
# Above this many dimensions Ward's pairwise distances come from one matrix product (BLAS)
# instead of scipy's pair-by-pair loop, which dominates a wide tree's fit (20x slower at 512).
GRAM_MIN_DIMS = 64


def check_clustering(clustering: str, reducer: Any) -> None:
    """Refuse an unknown clustering, and deep clustering with a reducer that has no
    network to train with it."""
    check_option(clustering, CLUSTERINGS, "clustering")
    if clustering == "deep" and not (isinstance(reducer, str) and reducer in NEURAL_NAMES):
        name = reducer if isinstance(reducer, str) else type(reducer).__name__
        raise ValueError(
            f"clustering='deep' needs a neural reducer ({', '.join(sorted(NEURAL_NAMES))}): it "
            f"trains the node's network together with the split; reducer {name!r} has none. "
            "Use clustering='ward' or 'kmeans' with it."
        )


def _pairwise_distances(Z: np.ndarray) -> np.ndarray:
    """Condensed Euclidean distances of the rows of ``Z`` (as ``pdist``), via the Gram
    matrix of the centred codes, which keeps the rounding small."""
    centred = Z - Z.mean(axis=0)
    sq = np.einsum("ij,ij->i", centred, centred)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (centred @ centred.T)
    np.fill_diagonal(d2, 0.0)
    return squareform(np.sqrt(np.maximum(d2, 0.0)), checks=False)


def split_centres(
    Z: np.ndarray, method: str, max_samples: int, rng: np.random.Generator
) -> np.ndarray | None:
    """Return the two group centres (2, k) for the codes ``Z``, or None if the node's
    codes cannot be split (fewer than two distinct points)."""
    if len(Z) > max_samples:
        Z = Z[rng.choice(len(Z), size=max_samples, replace=False)]
    if len(Z) < 2 or np.ptp(Z, axis=0).max() <= 0:
        return None
    if method == "ward":
        with warnings.catch_warnings():  # 2 points in 2-D look like a distance matrix to scipy
            warnings.simplefilter("ignore", ClusterWarning)
            source = _pairwise_distances(Z) if Z.shape[1] > GRAM_MIN_DIMS else Z
            groups = fcluster(linkage(source, method="ward"), t=2, criterion="maxclust")
        if groups.max() < 2:
            return None
        return np.stack([Z[groups == g].mean(axis=0) for g in (1, 2)])
    return KMeans(n_clusters=2, n_init=3, random_state=draw_seed(rng)).fit(Z).cluster_centers_


def assign(Z: np.ndarray, centres: np.ndarray, chunk_values: int = 2**22) -> np.ndarray:
    """Index of the nearest centre for every code, in chunks of at most ``chunk_values``
    differences (32 MB of float64) whatever the width of the codes."""
    out = np.empty(len(Z), dtype=np.intp)
    chunk_size = max(1, chunk_values // max(1, centres.size))
    for start in range(0, len(Z), chunk_size):
        block = Z[start : start + chunk_size]
        d2 = ((block[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        out[start : start + chunk_size] = d2.argmin(axis=1)
    return out
