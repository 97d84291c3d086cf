"""What labels teach beyond the configuration choice: a kernel relevance model.

DRAMA's anomaly rank says *how unusual* an object is; labels say *which unusual objects
matter*. The model here is a kernel smoother whose prior is the anomaly rank itself:

    P(x) = (sum_i K(x, x_i) y_i + alpha * a(x)) / (sum_i K(x, x_i) + alpha)

with y_i = 1 for labelled anomalies (interesting objects) and 0 for labelled normal
(boring) ones, and a(x) in [0, 1] the anomaly percentile. Far from every label P(x) = a(x),
so DRAMA's ranking stands; near normal labels it sinks, near anomaly labels it rises. Both
the few-label search (:class:`drama.search.DramaSearch`) and the active session use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

from drama.scaling import robust_centre_spread

__all__ = ["FeatureSpace", "relevance"]

KERNEL_CHUNK_ROWS = 8192  # rows of a kernel computed at once: memory n_labels x 8192
_NO_WIDTH = 1e-9  # a neighbour distance this small means exact copies, not a width


@dataclass
class FeatureSpace:
    """Robust-scaled (and, for many features, PCA-reduced) coordinates with a kernel width.

    Why robust scaling: anomalies themselves would inflate a standard deviation and
    squash the normal objects together. Why PCA above ``max_dims``: a distance kernel in
    hundreds of pixel dimensions sees every object as equally far. The scaling and the PCA
    are kept, so new objects can be placed in the same space (:meth:`project`).
    """

    coords: np.ndarray
    bandwidth: float
    median: np.ndarray
    spread: np.ndarray
    # The PCA above ``max_dims``, kept as its centre and axes (rows): coords = (z - c) A^T.
    pca_centre: np.ndarray | None = None
    pca_axes: np.ndarray | None = None

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
        median, spread = robust_centre_spread(flat)
        space = cls(coords=np.empty((0, 0)), bandwidth=1.0, median=median, spread=spread)
        coords = space._scaled(flat)
        if coords.shape[1] > max_dims and len(coords) > max_dims:
            pca = PCA(n_components=max_dims, random_state=random_state).fit(coords)
            space.pca_centre, space.pca_axes = pca.mean_, pca.components_
            coords = space._rotated(coords)
        return space._measured(coords, n_neighbors, sample, random_state)

    @classmethod
    def whitened(cls, X: np.ndarray, offset: np.ndarray, scale: np.ndarray, mean: np.ndarray,
                 whiten: np.ndarray, *, n_neighbors: int = 10, sample: int = 2000,
                 random_state: int | None = 0) -> FeatureSpace:
        """The space ``((x - offset) / scale - mean) @ whiten``: the whitened coordinates of
        the search's whole-set members (:mod:`drama.whole_set`), where a distance is a
        Mahalanobis distance under the set's covariance. Why: in hundreds of dimensions
        twenty principal axes of robust-scaled features keep too little of what makes two
        anomalies alike (docs/search.md, "With a few labels")."""
        d = len(offset)
        space = cls(coords=np.empty((0, 0)), bandwidth=1.0, median=offset + scale * mean,
                    spread=scale, pca_centre=np.zeros(d), pca_axes=np.asarray(whiten).T)
        coords = space.project(X)
        return space._measured(coords, n_neighbors, sample, random_state)

    def _measured(self, coords: np.ndarray, n_neighbors: int, sample: int,
                  random_state: int | None) -> FeatureSpace:
        """Keep ``coords`` and set the kernel width: the median distance to the
        ``n_neighbors``-th neighbour among a sample of them."""
        rng = np.random.default_rng(random_state)
        picked = coords[rng.choice(len(coords), size=min(sample, len(coords)), replace=False)]
        bandwidth = _neighbour_median(picked, n_neighbors)
        if bandwidth <= _NO_WIDTH:  # most objects have 10 exact copies: measure among distinct
            bandwidth = _neighbour_median(np.unique(picked, axis=0), n_neighbors)
        self.coords, self.bandwidth = coords, bandwidth if bandwidth > _NO_WIDTH else 1.0
        return self

    def _scaled(self, flat: np.ndarray) -> np.ndarray:
        # Clip extreme robust z so that one wild feature cannot dominate every distance.
        return np.clip((flat - self.median) / self.spread, -20.0, 20.0)

    def _rotated(self, scaled: np.ndarray) -> np.ndarray:
        if self.pca_axes is None:
            return scaled
        return (scaled - self.pca_centre) @ self.pca_axes.T

    def project(self, X: np.ndarray) -> np.ndarray:
        """Coordinates of new objects in this space."""
        return self._rotated(self._scaled(np.asarray(X, dtype=np.float64).reshape(len(X), -1)))

    def to_state(self) -> tuple[dict[str, float], dict[str, np.ndarray]]:
        """(bandwidth, arrays): everything :meth:`project` and the kernel need."""
        arrays = {k: getattr(self, k) for k in _SPACE_ARRAYS if getattr(self, k) is not None}
        return {"bandwidth": float(self.bandwidth)}, arrays

    @classmethod
    def from_state(cls, config: dict[str, float], arrays: dict[str, np.ndarray]) -> FeatureSpace:
        space = cls(bandwidth=float(config["bandwidth"]), coords=arrays["coords"],
                    median=arrays["median"], spread=arrays["spread"],
                    pca_centre=arrays.get("pca_centre"), pca_axes=arrays.get("pca_axes"))
        n_dims = space.median.shape[0]
        axes = space.pca_axes
        if (space.spread.shape != (n_dims,) or space.coords.ndim != 2
                or (axes is not None and axes.shape[1] != n_dims)
                or space.coords.shape[1] != (n_dims if axes is None else len(axes))
                or not np.isfinite(space.bandwidth) or space.bandwidth <= 0):
            raise ValueError("the relevance feature space's arrays do not fit together")
        return space

    def nearest_distance(self, idx: np.ndarray) -> np.ndarray:
        """Distance from every object to the nearest of ``idx``, in bandwidth units."""
        if len(idx) == 0:
            return np.full(len(self.coords), np.inf)
        nn = NearestNeighbors(n_neighbors=1).fit(self.coords[idx])
        dist, _ = nn.kneighbors(self.coords)
        return dist[:, 0] / self.bandwidth


_SPACE_ARRAYS = ("coords", "median", "spread", "pca_centre", "pca_axes")


def _neighbour_median(points: np.ndarray, n_neighbors: int) -> float:
    """Median distance to the ``n_neighbors``-th neighbour (0 when there are too few)."""
    k = min(n_neighbors + 1, len(points))
    if k < 2:
        return 0.0
    dist, _ = NearestNeighbors(n_neighbors=k).fit(points).kneighbors(points)
    return float(np.median(dist[:, -1]))


def gaussian_kernel(A: np.ndarray, B: np.ndarray, width: float) -> np.ndarray:
    """exp(-|a - b|^2 / (2 width^2)) for every row a of A and b of B."""
    sq = np.sum(A**2, axis=1)[:, None] + np.sum(B**2, axis=1)[None, :] - 2.0 * A @ B.T
    return np.exp(-np.maximum(sq, 0.0) / (2.0 * width * width))


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


def relevance_at(coords: np.ndarray, known: np.ndarray, y: np.ndarray, prior: np.ndarray,
                 width: float, alpha: float) -> np.ndarray:
    """:func:`relevance` for objects at ``coords`` and labelled objects at ``known``, a chunk
    of rows at a time, so that a million objects never need a full kernel matrix."""
    out = np.empty(len(coords))
    for start in range(0, len(coords), KERNEL_CHUNK_ROWS):
        part = slice(start, start + KERNEL_CHUNK_ROWS)
        K = gaussian_kernel(coords[part], known, width)
        out[part] = relevance(K, y, prior[part], alpha)
    return out
