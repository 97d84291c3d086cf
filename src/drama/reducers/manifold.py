"""The ``umap`` reducer: a UMAP embedding (umap-learn) as DRAMA's latent space.

umap-learn is imported only when a reducer is fitted or restored: importing it compiles
numba code and takes seconds, which ``import drama`` must not pay.

* ``encode`` is UMAP's ``transform`` (the training objects are encoded the same way as new
  ones, so every object of a node lives in one consistent map).
* ``decode`` (``decode="neighbors"``, the default) returns the inverse-distance weighted mean
  of the ``n_decode_neighbors=200`` training objects whose embeddings are nearest to the
  latent point: a prototype is then always a blend of real objects. Many neighbours,
  because UMAP packs classes into tight, separate islands: a group's latent mean falls
  between them, where the few nearest objects are often the odd ones (with 10, a digits
  prototype was a rare digit and the new classes scored AUC 0.37; 0.61 with 200). UMAP's
  own ``inverse_transform`` (``decode="inverse"``) works only for some metrics and is slow;
  when it fails the reducer falls back to the neighbour average.
* Saving: a UMAP model cannot be stored without pickle, so :meth:`UMAPReducer.to_state`
  stores the training sample (at most ``max_train_samples`` objects), the options and the
  seed, and :meth:`UMAPReducer.from_state` *refits* UMAP on them. UMAP with a fixed seed is
  single-threaded and deterministic, so on the same machine and library versions the
  restored reducer encodes bit-identically; it checks this against the stored embedding and
  warns when another machine or version gives a different map.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from drama.reducers.base import ReducerSpec
from drama.seeding import library_seed

__all__ = ["SPECS", "UMAPReducer", "require_umap"]

STATE_VERSION = 1


def require_umap() -> Any:
    """Import and return ``umap``, or say how to install it."""
    try:
        import umap
    except ImportError as exc:
        raise ImportError(
            "The 'umap' reducer needs umap-learn: pip install 'drama-anomaly[manifold]'"
        ) from exc
    return umap


class UMAPReducer:
    """``umap``: UMAP with ``n_components=latent_dim``.

    Parameters
    ----------
    latent_dim, random_state
        Size of the embedding and the seed (None draws one, recorded for saving).
    n_neighbors, min_dist, metric
        UMAP's own options (defaults 15, 0.1, 'euclidean'); ``n_neighbors`` is cut to the
        node size minus one for small nodes.
    max_train_samples
        Objects UMAP is fitted on (default 2000): fitting is super-linear and every tree node
        refits, while a few thousand points already pin down the map.
    decode
        ``"neighbors"`` (default) or ``"inverse"`` (UMAP's inverse_transform, with fallback).
    n_decode_neighbors
        Neighbours averaged by the neighbour decoder (default 200, at most the node's
        sample): chosen leave-one-data-set-out among 10, 50 and 200
        (``benchmarks/neural_defaults.py``, docs/neural.md).
    n_epochs
        UMAP's optimisation epochs (None: UMAP's default for the data size).
    """

    name = "umap"

    def __init__(
        self,
        latent_dim: int = 2,
        random_state: int | None = None,
        *,
        n_neighbors: int = 15,
        min_dist: float = 0.1,
        metric: str = "euclidean",
        max_train_samples: int = 2000,
        decode: str = "neighbors",
        n_decode_neighbors: int = 200,
        n_epochs: int | None = None,
    ):
        self.latent_dim = latent_dim
        self.random_state = random_state
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.metric = metric
        self.max_train_samples = max_train_samples
        self.decode_method = decode
        self.n_decode_neighbors = n_decode_neighbors
        self.n_epochs = n_epochs
        self._umap: Any = None

    def _options(self) -> dict[str, Any]:
        return {
            "latent_dim": int(self.latent_dim), "random_state": self.random_state,
            "n_neighbors": int(self.n_neighbors), "min_dist": float(self.min_dist),
            "metric": self.metric, "max_train_samples": int(self.max_train_samples),
            "decode": self.decode_method, "n_decode_neighbors": int(self.n_decode_neighbors),
            "n_epochs": self.n_epochs,
        }

    @staticmethod
    def _flat(X: Any, what: str) -> np.ndarray:
        arr = np.asarray(X, dtype=np.float64)
        if arr.ndim < 2 or len(arr) == 0:
            raise ValueError(
                f"{what} must be shaped (n_objects, ...) with n >= 1; got {arr.shape}."
            )
        flat = arr.reshape(len(arr), -1)
        if not np.isfinite(flat).all():
            raise ValueError(
                f"{what} contains NaN or infinite values; remove or impute them first."
            )
        return flat

    def _check_options(self) -> None:
        if self.decode_method not in ("neighbors", "inverse"):
            raise ValueError(
                f"umap: decode must be 'neighbors' or 'inverse'; got {self.decode_method!r}."
            )
        for key in ("latent_dim", "n_neighbors", "max_train_samples", "n_decode_neighbors"):
            value = getattr(self, key)
            if not isinstance(value, (int, np.integer)) or value < (2 if key == "n_neighbors"
                                                                    else 1):
                raise ValueError(f"umap: {key} must be a positive integer; got {value!r}.")

    def _make_umap(self, n: int, seed: int) -> Any:
        umap = require_umap()
        return umap.UMAP(
            n_components=int(self.latent_dim),
            n_neighbors=int(max(2, min(self.n_neighbors, n - 1))),
            min_dist=float(self.min_dist),
            metric=self.metric,
            n_epochs=self.n_epochs,
            # spectral initialisation needs more points than dimensions + 2
            init="spectral" if n > self.latent_dim + 3 else "random",
            random_state=seed,
            n_jobs=1,
        )

    def _fit_umap(self, train: np.ndarray, seed: int) -> Any:
        model = self._make_umap(len(train), seed)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*n_jobs.*")
            warnings.filterwarnings("ignore", message=".*n_neighbors is larger.*")
            warnings.filterwarnings("ignore", category=UserWarning, module="umap")
            model.fit(train)
        return model

    @property
    def min_fit_objects(self) -> int:
        """Fewest objects an embedding can be built from; a smaller tree node stays a leaf."""
        return max(3, self.latent_dim + 1)

    def fit(self, X: np.ndarray) -> UMAPReducer:
        """Fit UMAP on (a sample of at most ``max_train_samples`` of) ``X``."""
        self._check_options()
        flat = self._flat(X, "The data given to the 'umap' reducer")
        if len(flat) < self.min_fit_objects:
            raise ValueError(
                f"umap needs at least {self.min_fit_objects} objects to build an "
                f"embedding of dimension {self.latent_dim}; got {len(flat)}. Raise "
                "min_node_size or use another reducer."
            )
        seed = library_seed(self.random_state)
        rng = np.random.default_rng(seed)
        if len(flat) > self.max_train_samples:
            flat = flat[np.sort(rng.choice(len(flat), self.max_train_samples, replace=False))]
        self._umap = self._fit_umap(flat, seed)
        self.sample_shape_ = tuple(int(s) for s in np.shape(X)[1:])
        self.seed_ = seed
        self.train_ = flat
        self.embedding_ = np.asarray(self._umap.embedding_, dtype=np.float64)
        return self

    def _check_fitted(self) -> None:
        if self._umap is None:
            raise ValueError("This 'umap' reducer is not fitted yet; call fit(X) first.")

    def encode(self, X: np.ndarray) -> np.ndarray:
        """UMAP's transform, as float64 (n, latent_dim)."""
        self._check_fitted()
        flat = self._flat(X, "The data given to the 'umap' reducer")
        if flat.shape[1] != self.train_.shape[1]:
            raise ValueError(
                f"The 'umap' reducer was fitted on objects of shape {self.sample_shape_}; got "
                f"objects of shape {tuple(np.shape(X)[1:])}."
            )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module="umap")
            Z = self._umap.transform(flat)
        return np.asarray(Z, dtype=np.float64).reshape(len(flat), self.latent_dim)

    def decode(self, Z: np.ndarray) -> np.ndarray:
        """Objects in the fitted input shape for latent points ``Z`` (see module docstring)."""
        self._check_fitted()
        z = np.asarray(Z, dtype=np.float64)
        if z.ndim == 1:
            z = z[None, :]
        if z.ndim != 2 or z.shape[1] != self.latent_dim or not np.isfinite(z).all():
            raise ValueError(
                f"decode needs finite latent points shaped (m, {self.latent_dim}); got {z.shape}."
            )
        out = None
        if self.decode_method == "inverse":
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    out = np.asarray(self._umap.inverse_transform(z), dtype=np.float64)
                if not np.isfinite(out).all():
                    out = None
            except Exception:  # umap refuses some metrics and sizes: fall back
                out = None
        if out is None:
            out = self._neighbour_decode(z)
        return out.reshape((len(z), *self.sample_shape_))

    def _neighbour_decode(self, z: np.ndarray) -> np.ndarray:
        k = int(min(self.n_decode_neighbors, len(self.embedding_)))
        d2 = ((z[:, None, :] - self.embedding_[None, :, :]) ** 2).sum(axis=2)
        nearest = np.argsort(d2, axis=1, kind="stable")[:, :k]
        dist = np.sqrt(np.take_along_axis(d2, nearest, axis=1))
        weights = 1.0 / (dist + 1e-12 + 1e-6 * dist.mean(axis=1, keepdims=True))
        weights /= weights.sum(axis=1, keepdims=True)
        return np.einsum("mk,mkd->md", weights, self.train_[nearest])

    # ------------------------------------------------------------------ persistence
    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Options, seed and shape as JSON; training sample and embedding as arrays."""
        self._check_fitted()
        config = {"state_version": STATE_VERSION, "reducer": self.name,
                  "options": self._options(), "seed": self.seed_,
                  "sample_shape": list(self.sample_shape_)}
        if not (self.random_state is None or isinstance(self.random_state, int)):
            config["options"]["random_state"] = self.seed_
        return config, {"train": self.train_, "embedding": self.embedding_}

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> UMAPReducer:
        """Refit UMAP on the stored sample with the stored seed (see module docstring)."""
        if config.get("state_version") != STATE_VERSION or config.get("reducer") != cls.name:
            raise ValueError(
                f"This saved state is not a 'umap' reducer of state version {STATE_VERSION}."
            )
        reducer = cls(**config["options"])
        train = np.asarray(arrays["train"], dtype=np.float64)
        reducer._umap = reducer._fit_umap(train, int(config["seed"]))
        reducer.seed_ = int(config["seed"])
        reducer.sample_shape_ = tuple(int(s) for s in config["sample_shape"])
        reducer.train_ = train
        reducer.embedding_ = np.asarray(reducer._umap.embedding_, dtype=np.float64)
        if not np.array_equal(reducer.embedding_, np.asarray(arrays["embedding"])):
            warnings.warn(
                "The restored 'umap' reducer's embedding differs from the saved one (another "
                "machine or umap-learn/numba version?); its latent codes will not match the "
                "saved model exactly. Refit the model here for exact results.",
                stacklevel=2,
            )
        return reducer


SPECS: list[ReducerSpec] = [
    ReducerSpec("umap", UMAPReducer, UMAPReducer,
                "UMAP manifold embedding (umap-learn); neighbour-average decoding"),
]
