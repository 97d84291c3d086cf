"""Linear reducers: identity, PCA, ICA and NMF.

scikit-learn fits them; encoding and decoding use the fitted matrices directly, so a
saved model is just those matrices and restores bit-identically without pickle.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.decomposition import NMF, PCA, FastICA, non_negative_factorization
from sklearn.exceptions import ConvergenceWarning

from drama.reducers.base import ReducerSpec

# Iteration cap shared by FastICA and NMF (fit and encode), twice scikit-learn's default of
# 200; their ConvergenceWarning is silenced.
SOLVER_MAX_ITER = 400


def _flat(X: np.ndarray) -> np.ndarray:
    return X.reshape(len(X), -1)


def _n_components(latent_dim: int, X: np.ndarray) -> int:
    """A node can never have more components than objects or features."""
    n, d = _flat(X).shape
    return max(1, min(latent_dim, n, d))


class IdentityReducer:
    """``none``: no reduction; clustering and prototypes live in input space."""

    name = "none"

    def __init__(self, latent_dim: int = 2, random_state: int | None = None):
        self.latent_dim = latent_dim

    def fit(self, X: np.ndarray) -> IdentityReducer:
        return self

    def encode(self, X: np.ndarray) -> np.ndarray:
        return _flat(X).astype(np.float64, copy=False)

    def decode(self, Z: np.ndarray) -> np.ndarray:
        return np.asarray(Z, dtype=np.float64)

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"latent_dim": self.latent_dim}, {}

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> IdentityReducer:
        return cls(config["latent_dim"])


class _AffineReducer:
    """Shared encode/decode for reducers of the form z = (x - mean) @ W.T, x = z @ A.T + mean."""

    name = ""

    def __init__(self, latent_dim: int = 2, random_state: int | None = None):
        self.latent_dim = latent_dim
        self.random_state = random_state

    def _set(self, mean: np.ndarray, unmixing: np.ndarray, mixing: np.ndarray) -> None:
        self.mean_ = np.asarray(mean, dtype=np.float64)
        self.unmixing_ = np.asarray(unmixing, dtype=np.float64)
        self.mixing_ = np.asarray(mixing, dtype=np.float64)

    def encode(self, X: np.ndarray) -> np.ndarray:
        return (_flat(X) - self.mean_) @ self.unmixing_.T

    def decode(self, Z: np.ndarray) -> np.ndarray:
        return Z @ self.mixing_.T + self.mean_

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        config = {"latent_dim": self.latent_dim, "random_state": self.random_state}
        return config, {"mean": self.mean_, "unmixing": self.unmixing_, "mixing": self.mixing_}

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
        reducer = cls(config["latent_dim"], config["random_state"])
        reducer._set(arrays["mean"], arrays["unmixing"], arrays["mixing"])
        return reducer


class PCAReducer(_AffineReducer):
    """``pca``: principal components; prototypes are the mean plus the leading directions."""

    name = "pca"

    def fit(self, X: np.ndarray) -> PCAReducer:
        flat = _flat(X)
        pca = PCA(n_components=_n_components(self.latent_dim, flat), random_state=self.random_state)
        with warnings.catch_warnings():  # constant nodes: explained-variance ratio is 0/0
            warnings.simplefilter("ignore", RuntimeWarning)
            pca.fit(flat)
        self._set(pca.mean_, pca.components_, pca.components_.T)
        return self


class ICAReducer(_AffineReducer):
    """``ica``: independent components (FastICA), suited to mixtures of independent sources."""

    name = "ica"
    _RANK_ROWS = 1000  # the rank of a node is judged on at most this many objects

    def fit(self, X: np.ndarray) -> ICAReducer:
        flat = _flat(X)
        k = _n_components(self.latent_dim, flat)
        if np.ptp(flat, axis=0).max() == 0 or len(flat) < 3:
            # Nothing to unmix: fall back to an exact orthogonal basis of the (constant) node.
            self._set(flat.mean(axis=0), np.eye(k, flat.shape[1]), np.eye(k, flat.shape[1]).T)
            return self
        # Fewer independent directions than components makes FastICA return huge but finite
        # unmixing weights; judge the rank on a sample of the node first.
        centred = flat[: self._RANK_ROWS] - flat.mean(axis=0)
        singular = np.linalg.svd(centred, compute_uv=False)
        usable = bool((singular > 1e-8 * singular[0]).sum() >= k)
        if usable:
            ica = FastICA(
                n_components=k, whiten="unit-variance", random_state=self.random_state,
                max_iter=SOLVER_MAX_ITER,
            )
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    warnings.simplefilter("ignore", RuntimeWarning)
                    ica.fit(flat)
                usable = np.isfinite(ica.components_).all() and np.isfinite(ica.mixing_).all()
            except (ValueError, np.linalg.LinAlgError):
                usable = False
        if usable:
            self._set(ica.mean_, ica.components_, ica.mixing_)
        else:
            # ICA is undefined here; PCA's orthogonal basis is the honest fallback.
            pca = PCA(n_components=k, random_state=self.random_state).fit(flat)
            self._set(pca.mean_, pca.components_, pca.components_.T)
        return self


# Up to this many components, NMF encoding solves each object's non-negative least squares
# exactly by trying every support (2**k small solves, vectorised over all objects) instead
# of sklearn's iterative solver, which is slow on hundreds of thousands of objects.
_EXACT_NNLS_MAX_COMPONENTS = 6


def _nnls_by_support(X: np.ndarray, H: np.ndarray) -> np.ndarray:
    """argmin_{w >= 0} ||x - w H|| for every row x of X.

    The optimum is the unconstrained least-squares solution on its own support, so it is
    the feasible support solution with the smallest residual; for w = G^-1 b (b = H_S x,
    G = H_S H_S^T) the residual is ||x||^2 - w.b, so the best support maximises w.b.
    """
    k = len(H)
    B = X @ H.T  # (n, k): H x for every object
    best_w = np.zeros((len(X), k))
    best_gain = np.zeros(len(X))  # the empty support: w = 0, gain 0
    for mask in range(1, 2**k):
        support = [j for j in range(k) if mask >> j & 1]
        Hs = H[support]
        w = B[:, support] @ np.linalg.pinv(Hs @ Hs.T)
        gain = np.einsum("ij,ij->i", w, B[:, support])
        better = (w >= 0).all(axis=1) & (gain > best_gain)
        best_gain[better] = gain[better]
        best_w[better] = 0.0
        best_w[np.ix_(better, support)] = w[better]
    return best_w


class NMFReducer:
    """``nmf``: non-negative parts; needs non-negative input (min-max scaling gives it).

    New objects that fall below the training minimum are clipped at 0 for *encoding* only;
    their distances are still measured on the unclipped values.
    """

    name = "nmf"

    def __init__(self, latent_dim: int = 2, random_state: int | None = None):
        self.latent_dim = latent_dim
        self.random_state = random_state

    def fit(self, X: np.ndarray) -> NMFReducer:
        flat = _flat(X)
        if flat.min() < 0:
            raise ValueError(
                "The 'nmf' reducer needs non-negative input, but the scaled data has values "
                f"down to {flat.min():.3g}. Use scaling='minmax' (the default) or shift your data."
            )
        k = _n_components(self.latent_dim, flat)
        if flat.max() == 0:
            self.components_ = np.zeros((k, flat.shape[1]))
            return self
        for init in ("nndsvda", "random"):  # NNDSVD divides 0 by 0 on rank-one input
            nmf = NMF(n_components=k, init=init, max_iter=SOLVER_MAX_ITER,
                      random_state=self.random_state)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                warnings.simplefilter("ignore", RuntimeWarning)
                nmf.fit(flat)
            if np.isfinite(nmf.components_).all():
                break
        self.components_ = np.nan_to_num(nmf.components_.astype(np.float64))
        return self

    def encode(self, X: np.ndarray) -> np.ndarray:
        flat = np.clip(_flat(X), 0.0, None)
        H = self.components_
        if not H.any():
            return np.zeros((len(flat), len(H)))
        if len(H) <= _EXACT_NNLS_MAX_COMPONENTS:
            return _nnls_by_support(flat, H)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            W, _, _ = non_negative_factorization(
                flat, H=H, n_components=len(H), update_H=False, max_iter=SOLVER_MAX_ITER,
            )
        return W.astype(np.float64)

    def decode(self, Z: np.ndarray) -> np.ndarray:
        return Z @ self.components_

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"latent_dim": self.latent_dim, "random_state": self.random_state}, {
            "components": self.components_
        }

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> NMFReducer:
        reducer = cls(config["latent_dim"], config["random_state"])
        reducer.components_ = arrays["components"]
        return reducer


SPECS = [
    ReducerSpec("none", IdentityReducer, IdentityReducer, "no reduction (input space)"),
    ReducerSpec("pca", PCAReducer, PCAReducer, "principal component analysis"),
    ReducerSpec("ica", ICAReducer, ICAReducer, "independent component analysis (FastICA)"),
    ReducerSpec("nmf", NMFReducer, NMFReducer, "non-negative matrix factorisation"),
]
