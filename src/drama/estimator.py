"""The public ``Drama`` estimator, in the conventions of scikit-learn and PyOD."""

from __future__ import annotations

import copy
import os
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from drama._validation import (
    check_array,
    check_feature_names,
    check_integer,
    check_option,
    check_random_state,
    feature_names,
)
from drama.clustering import CLUSTERINGS
from drama.distances import CORRELATION_MIN_DIMS, METRICS, ranks_in
from drama.scaling import SCALINGS, Scaler
from drama.tree import SPACES, SplitTree


def _equal(a: Any, b: Any) -> bool | None:
    """Whether two parameter values are equal: True, False, or None when it cannot be told
    (objects without a usable equality). Containers and arrays compare element by element,
    objects with scikit-learn parameters by type and parameters, random states by state."""
    if a is b:
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return False
        return _all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if type(a) is not type(b) or len(a) != len(b):
            return False
        return _all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        try:
            return bool(np.array_equal(a, b))
        except (TypeError, ValueError):
            return None
    if isinstance(a, np.random.RandomState) and isinstance(b, np.random.RandomState):
        return _equal(a.get_state(legacy=False), b.get_state(legacy=False))
    if hasattr(a, "get_params") and hasattr(b, "get_params"):
        if type(a) is not type(b):
            return False
        try:
            return _equal(a.get_params(deep=False), b.get_params(deep=False))
        except Exception:
            return None
    if type(a).__eq__ is object.__eq__:
        return None  # equality by identity says nothing about a copy
    try:
        result = a == b
    except Exception:
        return None
    return bool(result) if isinstance(result, (bool, np.bool_)) else None


def _all(answers: Any) -> bool | None:
    """False if any answer is False, else None if any is None, else True."""
    answers = list(answers)
    if any(a is False for a in answers):
        return False
    return None if any(a is None for a in answers) else True


def _snapshot(value: Any) -> tuple[Any, Any]:
    """(the value, a deep copy of it or None): the copy shows edits made in place later."""
    try:
        return value, copy.deepcopy(value)
    except Exception:
        return value, None


def _changed(snapshot: tuple[Any, Any], value: Any) -> bool:
    """Whether ``value`` differs from the snapshotted one: another object that is not
    equal, or the same object edited in place. What cannot be compared counts as changed
    only when it is another object."""
    original, frozen = snapshot
    if value is original:
        return frozen is not None and _equal(value, frozen) is False
    return _equal(value, original) is not True


def _at_fit(snapshot: tuple[Any, Any]) -> Any:
    """The value as it was at fit: its deep copy, when one could be made."""
    original, frozen = snapshot
    return original if frozen is None else frozen


def _latent_width(tree: SplitTree) -> int:
    """Width of the root's latent codes (a reducer may keep fewer than ``latent_dim``)."""
    return int(tree.nodes_[0].latent_mean.size)


class Drama(BaseEstimator):
    """Dimensionality Reduction Anomaly Meta-Algorithm.

    Learns "normal" as the prototypes of a binary divisive tree (a reducer plus a two-way
    clustering per node) and scores each object by its distance to the nearest prototype
    of the chosen level: higher means more anomalous.

    Parameters
    ----------
    reducer : str or object, default="none"
        ``"none"``, ``"pca"``, ``"ica"``, ``"nmf"`` (and, with extras installed, ``"ae"``,
        ``"vae"``, ``"cae1d"``, ``"cvae1d"``, ``"cae2d"``, ``"cvae2d"``, ``"umap"``), or any
        object with fit/encode/decode or fit/transform/inverse_transform.
    metric : str, default="l2"
        One of ``drama.distances.METRICS``.
    n_levels : int, default=2
        Depth of the tree; level L has up to 2**L leaves.
    level : int or None, default=None
        Level whose leaves score objects; None means the deepest, ``n_levels``.
    latent_dim : int, default=2
        Size of each node's latent space.
    space : {"input", "latent"}, default="input"
        Where distances are measured.
    scaling : {"minmax", "standard", "robust", "global", "none"}, default="minmax"
    clustering : {"ward", "kmeans"}, default="ward"
    min_node_size : int, default=10
        Nodes with fewer objects stay leaves.
    min_leaf_share : float, default=0.1
        Only leaves holding at least this share of the training objects are normal
        prototypes: a small leaf may be a group of anomalies, and measuring distances to it
        would hide them (the largest leaf serves if none is big enough). 0 uses every leaf,
        as the 2019 code did.
    max_cluster_samples : int, default=2000
        Ward runs on at most this many sampled codes per node (it is O(m^2)); every object
        is then assigned to the nearest group centre.
    max_fit_samples : int, default=10000
        Each node's reducer is fitted on at most this many objects.
    keep_covariance : bool or None, default=None
        Keep each node's regularised covariance, which the Mahalanobis metric needs. They
        cost d^2 memory and time per node, so None keeps them only when
        ``metric="mahalanobis"``; set True to score Mahalanobis with ``score_levels`` too.
    contamination : float or None, default=0.1
        Expected share of anomalies; sets ``threshold_`` and ``labels_``. None: scores only.
    reducer_options : dict or None
        Extra keyword arguments for the reducer factory (e.g. epochs for neural reducers).
    random_state : int or None
        Seeds every random choice; the same seed gives the same scores.

    Attributes
    ----------
    decision_scores_ : ndarray (n,)
        Training scores. ``threshold_`` and ``labels_`` follow ``contamination``.
    tree_ : SplitTree
    scaler_ : Scaler
    n_features_in_ : int

    Examples
    --------
    >>> from drama import Drama
    >>> from drama.datasets import load_breast_cancer_task
    >>> X, y = load_breast_cancer_task()
    >>> det = Drama(random_state=0).fit(X)
    >>> det.decision_scores_.shape == (len(X),)
    True
    """

    def __init__(
        self,
        reducer: str | Any = "none",
        metric: str = "l2",
        n_levels: int = 2,
        level: int | None = None,
        latent_dim: int = 2,
        space: str = "input",
        scaling: str = "minmax",
        clustering: str = "ward",
        min_node_size: int = 10,
        min_leaf_share: float = 0.1,
        max_cluster_samples: int = 2000,
        max_fit_samples: int = 10000,
        keep_covariance: bool | None = None,
        contamination: float | None = 0.1,
        reducer_options: dict | None = None,
        random_state: int | None = None,
    ):
        self.reducer = reducer
        self.metric = metric
        self.n_levels = n_levels
        self.level = level
        self.latent_dim = latent_dim
        self.space = space
        self.scaling = scaling
        self.clustering = clustering
        self.min_node_size = min_node_size
        self.min_leaf_share = min_leaf_share
        self.max_cluster_samples = max_cluster_samples
        self.max_fit_samples = max_fit_samples
        self.keep_covariance = keep_covariance
        self.contamination = contamination
        self.reducer_options = reducer_options
        self.random_state = random_state

    # ------------------------------------------------------------------ validation
    def _check_params(self) -> None:
        check_option(self.metric, METRICS, "metric")
        check_option(self.space, SPACES, "space")
        check_option(self.scaling, SCALINGS, "scaling")
        check_option(self.clustering, CLUSTERINGS, "clustering")
        for name in ("n_levels", "latent_dim", "min_node_size", "max_fit_samples"):
            check_integer(getattr(self, name), name)
        # Ward needs two codes to split; fewer would silently stop every split.
        check_integer(self.max_cluster_samples, "max_cluster_samples", minimum=2)
        if not (isinstance(self.min_leaf_share, Real) and 0 <= self.min_leaf_share < 1):
            raise ValueError(f"min_leaf_share must be in [0, 1); got {self.min_leaf_share!r}.")
        self._scored_level()
        if self.metric == "mahalanobis" and self.keep_covariance is not None \
                and not self.keep_covariance:
            raise ValueError("metric='mahalanobis' needs the leaf covariances; leave "
                             "keep_covariance=None (or True).")
        self._check_contamination()
        check_random_state(self.random_state)
        if isinstance(self.reducer, str):
            from drama.reducers import get_reducer_spec

            get_reducer_spec(self.reducer)

    def _scored_level(self) -> int:
        level = self.n_levels if self.level is None else self.level
        if (isinstance(level, bool) or not isinstance(level, (int, np.integer))
                or not 1 <= level <= self.n_levels):
            raise ValueError(
                f"level must be between 1 and n_levels={self.n_levels}; got {level!r}."
            )
        return int(level)

    def _check_contamination(self) -> None:
        c = self.contamination
        if c is not None and not (isinstance(c, Real) and not isinstance(c, bool) and 0 < c < 0.5):
            raise ValueError(f"contamination must be in (0, 0.5) or None; got {c!r}.")

    def _check_fitted(self) -> None:
        if "tree_" not in vars(self):
            # NotFittedError is both a ValueError and an AttributeError, so hasattr() on a
            # fitted-only attribute of an unfitted model answers False instead of raising.
            raise NotFittedError(
                "This Drama model is not fitted yet. Call fit(X) first, or Drama.load(path)."
            )

    @staticmethod
    def _check_correlation_dims(metric: str, dims: int) -> None:
        if not ranks_in(metric, dims):
            raise ValueError(
                f"metric='correlation' needs at least {CORRELATION_MIN_DIMS} dimensions: in "
                "2, any two vectors correlate at +1 or -1, so every distance is 0 or 2. This "
                f"model measures distances in {dims}. Use another metric such as 'l2'."
            )

    def distance_dims(self, space: str | None = None) -> int:
        """How many dimensions distances are measured in: the object's size in input space,
        the width of the root's codes in latent space (a reducer may keep fewer than
        ``latent_dim``)."""
        self._check_fitted()
        space = check_option(space or self.space, SPACES, "space")
        if space == "input":
            return int(np.prod(self.sample_shape_))
        return _latent_width(self.tree_)

    def _scoring_params(self) -> dict[str, Any]:
        """The parameters the fitted tree and its scores depend on: all but contamination,
        which only moves the threshold."""
        return {k: v for k, v in self.get_params(deep=False).items() if k != "contamination"}

    def _remember_params(self) -> None:
        """Snapshot the scoring parameters at fit (or load), with deep copies, so that a
        change made in place later (to ``reducer_options``, or to a reducer object's own
        parameters) still shows."""
        self._fitted_params = {k: _snapshot(v) for k, v in self._scoring_params().items()}

    def _check_unchanged(self) -> None:
        """Refuse to score with parameters set after the fit: the tree, decision_scores_
        and threshold_ were made with the old ones, so the answer would silently mix them."""
        fitted = self.__dict__.get("_fitted_params")
        if fitted is None:
            return
        changed = [f"{k} ({_at_fit(fitted[k])!r} -> {v!r})" if k in fitted else k
                   for k, v in self._scoring_params().items()
                   if k not in fitted or _changed(fitted[k], v)]
        if changed:
            raise ValueError(
                f"These parameters changed after fit: {', '.join(changed)}. Call fit again; "
                "score_levels scores every metric and level of the fitted tree without "
                "refitting, and contamination may change freely."
            )

    def _prepare(self, X: Any) -> np.ndarray:
        """Validate new data against the training shape and scale it."""
        self._check_fitted()
        self._check_unchanged()
        check_feature_names(X, getattr(self, "feature_names_in_", None))
        arr = check_array(X)
        if arr.shape[1:] != self.sample_shape_:
            raise ValueError(
                f"X has objects of shape {arr.shape[1:]}, but this model was fitted on objects "
                f"of shape {self.sample_shape_} ({self.n_features_in_} features). Pass data with "
                "the same columns in the same order."
            )
        return self.scaler_.transform(arr)

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: Any = None) -> Drama:
        """Fit the tree on ``X`` (unsupervised: ``y`` is ignored) and score it."""
        self._check_params()
        arr = check_array(X, min_objects=2)
        n_features = int(np.prod(arr.shape[1:]))
        if self.space == "input":
            self._check_correlation_dims(self.metric, n_features)
        names = feature_names(X)
        scaler = Scaler(self.scaling).fit(arr)
        scaled = scaler.transform(arr)
        tree = SplitTree(
            self.reducer, latent_dim=self.latent_dim, n_levels=self.n_levels,
            clustering=self.clustering, min_node_size=self.min_node_size,
            min_leaf_share=self.min_leaf_share,
            max_cluster_samples=self.max_cluster_samples, max_fit_samples=self.max_fit_samples,
            keep_covariance=(self.metric == "mahalanobis" if self.keep_covariance is None
                             else bool(self.keep_covariance)),
            reducer_options=self.reducer_options, random_state=self.random_state,
        ).fit(scaled)
        if self.space == "latent":  # a reducer may keep fewer dimensions than latent_dim
            self._check_correlation_dims(self.metric, _latent_width(tree))
        scores = self._score(scaled, tree)
        # Only a complete fit replaces the fitted state: a failure above leaves it untouched.
        self.scaler_, self.tree_ = scaler, tree
        if names is None:
            self.__dict__.pop("feature_names_in_", None)
        else:
            self.feature_names_in_ = names
        self.sample_shape_ = arr.shape[1:]
        self.n_features_in_ = n_features
        self.decision_scores_ = scores
        self._remember_params()
        return self

    def _score(self, scaled: np.ndarray, tree: SplitTree) -> np.ndarray:
        level = self._scored_level()
        return tree.level_scores(scaled, [self.metric], [level], self.space)[
            (level, self.metric)
        ]

    # ------------------------------------------------------------------ scoring
    def decision_function(self, X: Any) -> np.ndarray:
        """Anomaly scores of new objects (higher = more anomalous); never refits."""
        return self._score(self._prepare(X), self.tree_)

    def score_levels(
        self,
        X: Any,
        metrics: list[str] | str = "all",
        levels: list[int] | None = None,
        space: str | None = None,
    ) -> pd.DataFrame:
        """Scores of every level and metric from the one fitted tree.

        ``metrics="all"`` means every metric this model can score: Mahalanobis needs the
        leaf covariances, kept only with ``keep_covariance=True`` or
        ``metric="mahalanobis"``; asking for it by name without them raises a ValueError.
        Correlation needs at least 3 dimensions in ``space`` (see ``distance_dims``): "all"
        leaves it out below that, and asking for it by name raises a ValueError.
        Returns a DataFrame with (level, metric) MultiIndex columns, one row per object.
        """
        scaled = self._prepare(X)
        space = check_option(space or self.space, SPACES, "space")
        dims = self.distance_dims(space)
        if metrics == "all":
            metrics = [m for m in METRICS
                       if (m != "mahalanobis" or self.tree_.keep_covariance)
                       and ranks_in(m, dims)]
        elif isinstance(metrics, str):
            metrics = [metrics]
        metrics = list(metrics)
        for m in metrics:
            check_option(m, METRICS, "metric")
            self._check_correlation_dims(m, dims)
        levels = list(range(1, self.n_levels + 1)) if levels is None else list(levels)
        if not metrics or not levels:
            raise ValueError("Ask for at least one metric and one level.")
        for level in levels:
            if (isinstance(level, bool) or not isinstance(level, (int, np.integer))
                    or not 1 <= level <= self.n_levels):
                raise ValueError(f"levels must be integers in 1..{self.n_levels}; got {level!r}.")
        scores = self.tree_.level_scores(scaled, metrics, levels, space)
        columns = pd.MultiIndex.from_tuples(list(scores), names=["level", "metric"])
        return pd.DataFrame(np.column_stack(list(scores.values())), columns=columns)

    def prototypes(self, level: int | None = None) -> np.ndarray:
        """The normal prototypes that score ``level`` (default: the scored level), shaped
        like the input objects and in the input's units: (k, *object shape).

        They are the decoded latent means of the leaves holding at least
        ``min_leaf_share`` of the training objects, in the order of ``tree_.prototypes``.
        """
        self._check_fitted()
        self._check_unchanged()
        level = self._scored_level() if level is None else level
        if (isinstance(level, bool) or not isinstance(level, (int, np.integer))
                or not 1 <= level <= self.tree_.n_levels):
            raise ValueError(f"level must be an integer in 1..{self.tree_.n_levels}; "
                             f"got {level!r}.")
        flat = np.stack([self.tree_.nodes_[i].prototype for i in self.tree_.prototypes(level)])
        shaped = flat.reshape(len(flat), *self.sample_shape_)
        return self.scaler_.inverse_transform(shaped)

    def encode(self, X: Any) -> np.ndarray:
        """Latent codes of the root split (the map that the first split clusters)."""
        scaled = self._prepare(X)
        root = self.tree_.nodes_[0]
        codes = self.tree_.reducers_[root.encoder].encode(scaled)
        return np.asarray(codes, dtype=np.float64).reshape(len(scaled), -1)

    # ------------------------------------------------------------------ thresholds
    @property
    def threshold_(self) -> float | None:
        """Score above which an object is labelled anomalous, from ``contamination``;
        recomputed on access, so changing contamination re-thresholds without refitting."""
        self._check_fitted()
        self._check_contamination()
        if self.contamination is None:
            return None
        return float(np.quantile(self.decision_scores_, 1.0 - self.contamination))

    @property
    def labels_(self) -> np.ndarray | None:
        threshold = self.threshold_
        if threshold is None:
            return None
        return (self.decision_scores_ > threshold).astype(int)

    def predict(self, X: Any) -> np.ndarray:
        """0 (normal) / 1 (anomaly) by the contamination threshold."""
        threshold = self.threshold_
        if threshold is None:
            raise ValueError(
                "predict needs a threshold: set contamination (e.g. det.set_params("
                "contamination=0.05)); no refit is needed."
            )
        return (self.decision_function(X) > threshold).astype(int)

    def predict_proba(self, X: Any) -> np.ndarray:
        """(n, 2) probabilities [normal, anomaly]: the score min-max scaled by the range of
        the training scores, clipped to [0, 1]."""
        scores = self.decision_function(X)
        low, high = self.decision_scores_.min(), self.decision_scores_.max()
        anomalous = np.clip((scores - low) / max(high - low, 1e-300), 0.0, 1.0)
        return np.column_stack([1.0 - anomalous, anomalous])

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> None:
        """Save as data only (JSON metadata + arrays); see :mod:`drama.persistence`."""
        from drama.persistence import save_model

        save_model(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | None = None) -> Drama:
        """Load a model saved with :meth:`save`; nothing in the file is executed.

        ``device`` places a neural model's networks (e.g. ``"cpu"`` for a model trained
        with ``device="cuda"``, on a machine without a GPU); None keeps the saved one."""
        from drama.persistence import load_model

        return load_model(path, device=device)
