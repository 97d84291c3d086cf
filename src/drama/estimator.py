"""The public ``Drama`` estimator, in the conventions of scikit-learn and PyOD."""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from drama._validation import (
    check_array,
    check_integer,
    check_option,
    check_random_state,
)
from drama.clustering import check_clustering
from drama.detector import AnomalyDetector
from drama.distances import CORRELATION_MIN_DIMS, METRICS, ranks_in
from drama.persistence import element_budget, group
from drama.scaling import SCALINGS, Scaler
from drama.tree import SPACES, SplitTree, TreeConfig, takes_device


def _latent_width(tree: SplitTree) -> int:
    """Width of the root's latent codes (a reducer may keep fewer than ``latent_dim``)."""
    return int(tree.nodes_[0].latent_mean.size)


class Drama(AnomalyDetector):
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
    space : {"input", "latent", "residual"}, default="input"
        Where distances are measured: to the prototype in input space, to the leaf's latent
        mean in latent space, or, in the residual space, to the object's own reconstruction
        by the reducer of its nearest prototype's leaf (not with ``reducer="none"``, whose
        reconstruction is the object itself).
    scaling : {"minmax", "standard", "robust", "global", "none"}, default="minmax"
    clustering : {"ward", "kmeans", "deep"}, default="ward"
        How each node's codes are split in two. ``"deep"`` (neural reducers only) trains
        the node's network together with the split, starting from Ward's two centres; its
        options ``cluster_gamma`` and ``cluster_epochs`` go in ``reducer_options`` (see
        docs/neural.md#deep-clustering).
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
    missing : {"error", "impute", "drop"}, default="error"
        What to do with NaN and infinite values (see :mod:`drama.missing`): refuse them
        (naming the column, the first row and the number of rows), fill them with each
        feature's training median (``fill_values_``, saved with the model), or leave those
        rows out (not fitted on; scored NaN, predicted -1). May change after fit: every
        fit keeps the medians.

    Attributes
    ----------
    decision_scores_ : ndarray (n,)
        Training scores. ``threshold_`` and ``labels_`` follow ``contamination``.
    tree_ : SplitTree
    scaler_ : Scaler
    n_features_in_ : int
    fill_values_ : ndarray (n_features,)
        Each feature's median over its finite training values (from at most
        ``drama.missing.MEDIAN_ROWS`` evenly spaced objects); ``missing="impute"`` fills
        with them.
    kept_rows_ : ndarray of bool (n,)
        The training rows fitted on (all but those ``missing="drop"`` left out); not saved.

    Examples
    --------
    >>> from drama import Drama
    >>> from drama.datasets import load_breast_cancer_task
    >>> X, y = load_breast_cancer_task()
    >>> det = Drama(random_state=0).fit(X)
    >>> det.decision_scores_.shape == (len(X),)
    True
    """

    FORMAT: ClassVar[str] = "drama-model"
    FORMAT_VERSION: ClassVar[int] = 1
    _fitted_attribute: ClassVar[str] = "tree_"
    _refit_hint: ClassVar[str] = ("Call fit again; score_levels scores every metric and level "
                                  "of the fitted tree without refitting")

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
        missing: str = "error",
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
        self.missing = missing

    # ------------------------------------------------------------------ validation
    def _check_params(self) -> None:
        check_option(self.metric, METRICS, "metric")
        check_option(self.space, SPACES, "space")
        if self.space == "residual" and self.reducer == "none":
            raise ValueError("space='residual' needs a reducer: with reducer='none' every "
                             "object is its own reconstruction. Use space='input' or "
                             "another reducer such as 'pca'.")
        check_option(self.scaling, SCALINGS, "scaling")
        check_clustering(self.clustering, self.reducer)
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

    @staticmethod
    def _check_correlation_dims(metric: str, dims: int) -> None:
        if not ranks_in(metric, dims):
            raise ValueError(
                f"metric='correlation' needs at least {CORRELATION_MIN_DIMS} dimensions: in "
                "2, any two vectors correlate at +1 or -1, so every distance is 0 or 2. This "
                f"model measures distances in {dims}. Use another metric such as 'l2'."
            )

    def distance_dims(self, space: str | None = None) -> int:
        """How many dimensions distances are measured in: the object's size in the input and
        residual spaces, the width of the root's codes in latent space (a reducer may keep
        fewer than ``latent_dim``)."""
        self._check_fitted()
        space = check_option(space or self.space, SPACES, "space")
        if space != "latent":  # the residual space compares objects in input space too
            return int(np.prod(self.sample_shape_))
        return _latent_width(self.tree_)

    def _prepare(self, X: Any) -> np.ndarray:
        """Validate new data against the training shape and scale it."""
        self._check_feature_names(X)
        return self._scaled(check_array(X))

    def _scaled(self, arr: np.ndarray) -> np.ndarray:
        """A checked array (float32 or float64) scaled as at fit, in float64."""
        self._check_fitted()
        self._check_unchanged()
        self._check_object_shape(arr, self.sample_shape_)
        return self.scaler_.transform(arr)

    # ------------------------------------------------------------------ fitting
    def _fit(self, X: Any, y: Any = None) -> None:
        """Fit the tree on ``X`` (unsupervised: ``y`` is ignored) and score it."""
        self._check_params()
        arr = check_array(X, min_objects=2)
        n_features = int(np.prod(arr.shape[1:]))
        if self.space != "latent":
            self._check_correlation_dims(self.metric, n_features)
        scaler = Scaler(self.scaling).fit(arr)
        scaled = scaler.transform(arr)
        config = TreeConfig.from_params({
            **self.get_params(deep=False),
            "keep_covariance": (self.metric == "mahalanobis" if self.keep_covariance is None
                                else bool(self.keep_covariance))})
        tree = SplitTree(self.reducer, config, self.reducer_options).fit(scaled)
        if self.space == "latent":  # a reducer may keep fewer dimensions than latent_dim
            self._check_correlation_dims(self.metric, _latent_width(tree))
        self.decision_scores_ = self._score(scaled, tree)
        self.scaler_, self.tree_ = scaler, tree
        self._set_feature_names(X)
        self.sample_shape_ = arr.shape[1:]
        self.n_features_in_ = n_features

    def _score(self, scaled: np.ndarray, tree: SplitTree) -> np.ndarray:
        """Scores of the scored level and metric; an overflow is an error that names the
        options to change, never an infinite or NaN score."""
        level = self._scored_level()
        scores = tree.level_scores(scaled, [self.metric], [level], self.space)[
            (level, self.metric)
        ]
        bad = ~np.isfinite(scores)
        if bad.any():
            raise ValueError(
                f"The {self.metric} distances of {int(bad.sum())} object(s) (first: object "
                f"{int(np.argmax(bad))}) overflow float64: the values are too large for the "
                f"arithmetic with scaling={self.scaling!r}. Use scaling='minmax' or "
                "'standard' (fitted on data of this size), or rescale the data."
            )
        return scores

    # ------------------------------------------------------------------ scoring
    def _decision_function(self, X: np.ndarray) -> np.ndarray:
        return self._score(self._scaled(X), self.tree_)

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
        like the input objects and in the input's units: ``(k, *object shape)``.

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

    # ------------------------------------------------------------------ persistence
    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The fitted model as (JSON-able description, named arrays): its parameters, the
        scaler, the tree and the training scores."""
        self._check_fitted()
        tree_meta, arrays = self.tree_.to_state()
        scaler_config, scaler_arrays = self.scaler_.to_state()
        arrays = {**arrays, "decision_scores": self.decision_scores_, **self._missing_state(),
                  **{f"scaler/{k}": v for k, v in scaler_arrays.items()}}
        meta = {
            **tree_meta, "params": self.get_params(), "n_features_in": self.n_features_in_,
            "feature_names": self._feature_names_state(),
            "scaler": scaler_config,
        }
        return meta, arrays

    @classmethod
    def element_budget(cls, meta: dict[str, Any]) -> int:
        """The most values one array of a saved model may hold (see
        :func:`drama.persistence.element_budget`)."""
        return element_budget(meta["nodes"][0]["size"],
                              int(np.prod(meta["sample_shape"], dtype=object)))

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: Mapping[str, np.ndarray],
                   device: str | None = None) -> Drama:
        """Rebuild a fitted model from :meth:`to_state`'s output, and check that its parts
        fit together (a ValueError says which does not)."""
        params = dict(meta["params"])
        if device is not None and takes_device(params["reducer"]):
            # the parameters say where the model runs now, so a refit runs there too
            params["reducer_options"] = {**(params["reducer_options"] or {}), "device": device}
        model = cls(**params)
        model.tree_ = SplitTree.from_state(params["reducer"], meta, arrays,
                                           params["reducer_options"], device)
        model.scaler_ = Scaler.from_state(meta["scaler"], group(arrays, "scaler/"))
        model.sample_shape_ = tuple(meta["sample_shape"])
        model.n_features_in_ = meta["n_features_in"]
        model._restore_feature_names(meta["feature_names"])
        model.decision_scores_ = arrays["decision_scores"]
        model._check_state()  # the shapes first: the medians are checked against them
        model._restore_missing(arrays, model.n_features_in_)
        model._remember_params()
        return model

    def _check_state(self) -> None:
        """The parameters are valid and describe the tree and the training scores."""
        self._check_params()
        tree, params = self.tree_, self.get_params()
        for key, value in tree.config.as_dict().items():
            if key != "keep_covariance" and params[key] != value:
                raise ValueError(f"the parameters say {key}={params[key]!r}, the tree "
                                 f"{value!r}")
        size = int(np.prod(self.sample_shape_))
        if self.n_features_in_ != size or tuple(tree.sample_shape_) != self.sample_shape_:
            raise ValueError(f"{self.n_features_in_} features for objects of shape "
                             f"{self.sample_shape_}")
        for name in ("offset_", "scale_"):
            value = getattr(self.scaler_, name)
            if value.ndim != 1 or value.shape[0] not in (1, size):
                raise ValueError(f"the scaler's {name[:-1]} has shape {value.shape}, not "
                                 f"({size},)")
        if (self.scaler_.scale_ <= 0).any():
            raise ValueError("the scaler's scale is not positive")
        names = getattr(self, "feature_names_in_", None)
        if names is not None and len(names) != size:
            raise ValueError(f"{len(names)} feature names for {size} features")
        scores = np.asarray(self.decision_scores_)
        if scores.ndim != 1 or len(scores) != tree.nodes_[0].size:
            raise ValueError(f"{scores.shape} training scores for a root of "
                             f"{tree.nodes_[0].size} objects")
        if self.metric == "mahalanobis" and not tree.keep_covariance:
            raise ValueError("metric 'mahalanobis' without the leaf covariances")
