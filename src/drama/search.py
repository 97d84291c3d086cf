"""Choose DRAMA's configuration from the data: many configurations, one tree per reducer.

A *configuration* is (reducer, metric, level, space). Fitting a tree is the expensive part
and scoring is cheap, so :class:`DramaSearch` fits ONE tree per reducer (in parallel) and
scores every level, metric and space from it; a second tree per reducer, with another
seed, only measures how much each configuration's ranking depends on the seed. Then it
selects:

- **without labels** - a *consensus ensemble*: every configuration's scores are turned into
  ranks; among the configurations whose ranks barely change with the seed, the mean rank
  is the first consensus, and the ``ensemble_share`` of them that correlate best with it
  are averaged. Configurations that disagree with most others (e.g. a distance that ranks
  a big anomaly cluster as "normal") are dropped, and averaging the rest lowers the
  variance of any single choice. The whole-set members (:mod:`drama.whole_set`: the
  nearest training objects as prototypes) are then blended in by Fisher's method
  (:mod:`drama.blend`). See ``docs/search.md`` for the leave-one-group-out evaluation on
  43 data sets.
- **with a few labels** (1 = anomaly, 0 = normal, -1 = unknown) - each configuration's
  AUC on the labelled objects (optionally shrunk towards its label-free agreement); the
  ``top_k`` best are averaged so that a handful of labels cannot crown one fluke, and the
  consensus ensemble stays a candidate that wins when the labels prefer it. Then a kernel
  relevance model (:mod:`drama.kernel_relevance`) lifts objects near the labelled anomalies and
  lowers objects near the labelled normals.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.stats import rankdata

from drama._numeric import TINY
from drama._validation import check_array, check_positive, check_random_state
from drama.blend import Blend
from drama.detector import AnomalyDetector
from drama.distances import CORRELATION_MIN_DIMS, METRICS, ranks_in
from drama.estimator import Drama
from drama.kernel_relevance import FeatureSpace, relevance_at
from drama.persistence import element_budget, group
from drama.ranks import cdf, rank_correlation, sorted_and_ranks
from drama.reducers.base import reducer_names
from drama.seeding import spawn_seeds
from drama.tree import SPACES
from drama.whole_set import WholeSetMembers, check_members, is_whole_set

__all__ = ["DEFAULT_MEMBERS", "DEFAULT_REDUCERS", "DramaSearch", "config_name", "parse_config"]

DEFAULT_REDUCERS = ("none",)
DEFAULT_LEVELS = (1, 2, 3, 4)
# Every metric but Mahalanobis, whose d x d leaf covariances cost more than the rest together.
DEFAULT_METRICS = tuple(m for m in METRICS if m != "mahalanobis")
# The nearest objects as prototypes: the nearest one (Euclidean) and the 5th nearest in the
# whitened space of the set's covariance (drama.whole_set); chosen leave-one-group-out on
# the 43-set pool with the weights below (docs/search.md).
DEFAULT_MEMBERS = ("none|l2|1|neighbours", "none|mahalanobis|5|neighbours")
# Mahalanobis needs d x d leaf covariances; with metrics="all" it is scored only up to this
# many features (asking for it by name always keeps them).
MAHALANOBIS_MAX_FEATURES = 512
# The label-free consensus chooses among at least this many configurations (the most
# stable ones), however few reach the stability threshold.
MIN_STABLE = 5


def config_name(reducer: str, metric: str, level: int, space: str = "input") -> str:
    """Stable text name of a configuration, e.g. ``"none|l2|2|input"``."""
    return f"{reducer}|{metric}|{int(level)}|{space}"


def parse_config(name: str) -> dict[str, Any]:
    """Inverse of :func:`config_name`; a ValueError names the expected form."""
    parts = str(name).split("|")
    if len(parts) != 4 or not (parts[2].isascii() and parts[2].isdigit()):
        raise ValueError(
            f"Unknown configuration {name!r}: expected 'reducer|metric|level|space', "
            "e.g. 'none|l2|2|input'."
        )
    return {"reducer": parts[0], "metric": parts[1], "level": int(parts[2]), "space": parts[3]}


# The options that only ``select`` uses: they may change after fit; select() applies them.
SELECTION_PARAMS = ("ensemble_share", "stability_threshold", "tree_weight", "wide_tree_weight",
                    "wide_features", "agreement_power", "top_k", "prior_strength", "guard_se",
                    "relevance_alpha", "max_labelled_normals")

# Agreement with the consensus (a correlation, at most 1 in size), scaled by this, is meant
# only to break ties between configurations of equal weight (their rank and the best one).
AGREEMENT_TIE_BREAK = 1e-9


def label_auc(scores: np.ndarray, anomalies: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """AUC per column of how well ``scores`` put the ``anomalies`` rows above ``normals``
    (Mann-Whitney, ties counted half)."""
    block = np.vstack([scores[anomalies], scores[normals]])
    ranks = rankdata(block, axis=0)
    n_a, n_n = len(anomalies), len(normals)
    return (ranks[:n_a].sum(axis=0) - n_a * (n_a + 1) / 2.0) / (n_a * n_n)


def auc_standard_error(auc: np.ndarray, n_a: int, n_n: int) -> np.ndarray:
    """Hanley & McNeil (1982) standard error of an AUC from n_a anomalies, n_n normals."""
    auc = np.clip(auc, 1e-6, 1 - 1e-6)
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (n_a - 1) * (q1 - auc**2) + (n_n - 1) * (q2 - auc**2)) / (n_a * n_n)
    return np.sqrt(np.maximum(var, 0.0))


def consensus_weights(ranked: np.ndarray, share: float,
                      pool: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Agreement of each configuration with the mean rank of the ``pool`` (a boolean mask;
    default: every configuration), and equal weights on the ``share`` of the pool that
    agree most (a configuration with constant scores never agrees)."""
    pool = np.ones(ranked.shape[1], dtype=bool) if pool is None else np.asarray(pool, bool)
    centre = ranked[:, pool].mean(axis=1)
    dev = ranked - ranked.mean(axis=0)
    cdev = centre - centre.mean()
    norms = np.linalg.norm(dev, axis=0) * max(float(np.linalg.norm(cdev)), TINY)
    corr = np.where(norms > 0, (cdev @ dev) / np.maximum(norms, TINY), -1.0)
    members = np.flatnonzero(pool)
    keep = members[np.argsort(-corr[members], kind="stable")[
        : max(1, int(round(share * len(members))))]]
    weights = np.zeros(ranked.shape[1])
    weights[keep] = 1.0 / len(keep)
    return corr, weights


def stable_pool(stability: np.ndarray, threshold: float) -> np.ndarray:
    """Configurations whose ranks correlate at least ``threshold`` between two seeds; the
    ``MIN_STABLE`` most stable when fewer pass (a consensus needs several voices)."""
    pool = stability >= threshold
    if pool.sum() < min(MIN_STABLE, len(stability)):
        pool = np.zeros(len(stability), dtype=bool)
        pool[np.argsort(-stability, kind="stable")[:MIN_STABLE]] = True
    return pool


class _Consensus(NamedTuple):
    """The label-free choice, cached with the options it was computed for."""

    options: tuple  # the selection options it was made with
    pool: np.ndarray  # the tree configurations it chose among
    agreement: np.ndarray
    tree_weights: np.ndarray  # the trees' consensus alone
    weights: np.ndarray  # each configuration's share of the label-free score
    blend: Blend | None  # None: no whole-set member, the score is the trees' mean rank
    scores: np.ndarray  # the label-free training scores


def _no_configuration() -> ValueError:
    return ValueError(
        f"No configuration to score: metric 'correlation' needs at least "
        f"{CORRELATION_MIN_DIMS} dimensions, and these data and spaces have fewer. Add "
        "another metric, e.g. metrics='all'."
    )


def _params_for(params: dict[str, Any], reducer: str, reducers: list[str]) -> dict[str, Any]:
    """``params`` for one reducer's tree: ``reducer_options`` keyed by reducer names (all
    of them among the search's reducers) give each its own options, None for the rest."""
    options = params.get("reducer_options")
    if isinstance(options, dict) and options and set(options) <= set(reducers):
        return {**params, "reducer_options": options.get(reducer)}
    if isinstance(options, dict):
        strays = sorted(set(options) & set(reducer_names()) - set(reducers))
        if strays:
            raise ValueError(
                f"reducer_options is keyed by reducer {strays}, which this search does not "
                f"fit (reducers: {reducers}); key it by the search's reducers only."
            )
    return params


def _fit_tree(X: np.ndarray, reducer: str, params: dict[str, Any]) -> tuple[Drama, float]:
    start = time.perf_counter()
    det = Drama(reducer=reducer, contamination=None, **params).fit(X)
    return det, time.perf_counter() - start


def _score_tree(det: Drama, X: np.ndarray, metrics: list[str], levels: list[int],
                spaces: list[str]) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Scores of every (metric, level, space) of one tree, with the time each cost."""
    scores: dict[str, np.ndarray] = {}
    cost: dict[str, float] = {}
    for space in spaces:
        if space == "residual" and det.reducer == "none":
            continue  # the identity reconstructs every object exactly: no residual
        dims = det.distance_dims(space)
        for metric in metrics:
            if not ranks_in(metric, dims):
                continue  # correlation in 2-D: only distances of 0 or 2, a constant score
            start = time.perf_counter()
            frame = det.score_levels(X, [metric], levels, space)
            per_level = (time.perf_counter() - start) / len(levels)
            for level in levels:
                values = frame[(level, metric)].to_numpy()
                if not np.isfinite(values).all():
                    continue  # an overflowing distance ranks nothing
                name = config_name(det.reducer, metric, level, space)
                scores[name] = values
                cost[name] = per_level
    return scores, cost


def _stability(X: np.ndarray, reducer: str, params: dict[str, Any], metrics: list[str],
               levels: list[int], spaces: list[str],
               ranks: dict[str, np.ndarray]) -> tuple[dict[str, float], float]:
    """Fit a partner tree with ``params`` (another seed), and return the rank correlation
    of every configuration in ``ranks`` with the partner's, and the seconds it took. Only
    the numbers come back: the partner tree is dropped in the worker."""
    start = time.perf_counter()
    partner, _ = _fit_tree(X, reducer, params)
    scores, _ = _score_tree(partner, X, metrics, levels, spaces)
    stability = {
        name: rank_correlation(column, sorted_and_ranks(np.asarray(scores[name],
                                                                    dtype=np.float64))[1])
        if name in scores else 0.0
        for name, column in ranks.items()
    }
    return stability, time.perf_counter() - start


#: ``progress(done, total)``: called as each step of a fit ends (see DramaSearch.fit).
Progress = Callable[[int, int], None]


class _Steps:
    """Counts the steps of one fit for an optional progress callback."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0

    def advance(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)

    def each(self, results: Iterable[Any]) -> list[Any]:
        """The results of a parallel run in order, one step counted as each arrives."""
        out = []
        for result in results:
            out.append(result)
            self.advance()
        return out


class DramaSearch(AnomalyDetector):
    """Search DRAMA configurations: label-free consensus, or a robust few-label choice.

    Parameters
    ----------
    reducers : sequence of str, default=("none",)
        One tree is fitted per reducer and serves all its levels, metrics and spaces (and
        a second one to measure stability, see ``stability_threshold``). More reducers
        (``"pca"``, ``"ica"``, ``"nmf"``, ...) cost a tree each; over the 43 design sets
        they did not pay for it (docs/search.md).
    metrics : "all" or sequence of str, default: every metric but Mahalanobis
        ``"all"`` = every metric of ``drama.distances.METRICS`` (Mahalanobis only up to 512
        features, since it needs d x d covariances per leaf).
    levels : sequence of int, default=(1, 2, 3, 4)
        Tree levels scored; the trees are ``max(levels)`` deep. Level 4 (up to 16 leaves)
        gives the consensus prototypes close to clusters that three levels merge.
    spaces : sequence of {"input", "latent", "residual"}, default=("input",)
        Where each tree's configurations measure distances (``Drama``'s ``space``). The
        residual space is scored for every reducer but ``"none"``, whose reconstruction is
        the object itself.
    members : sequence of str, default=DEFAULT_MEMBERS
        Whole-set members (:mod:`drama.whole_set`), each its own configuration and family
        of the label-free blend: ``"none|<metric>|0|input"`` (the whole set as one
        prototype) or ``"none|<metric>|<k>|neighbours"`` (the k-th nearest training object),
        metric ``l2`` or ``mahalanobis``. ``()`` scores the trees alone, as DRAMA did
        before they existed.
    max_prototypes : int, default=2000
        At most this many training objects (evenly spaced) serve as neighbours. On the 43
        design sets 2000 scored as 5000 did (held out 0.829 against 0.830 mean AUC) in 13 %
        less time, and large tables gain most (docs/search.md).
    relevance_space : {"whitened", "robust"}, default="whitened"
        Where the few-label relevance model measures similarity: the whitened space of
        the Mahalanobis members (when one is fitted; else, as with "robust", robust-scaled
        features on at most 20 principal axes). Chosen leave-one-group-out on the 43 design
        sets (docs/search.md).
    ensemble_share : float, default=0.5
        Share of configurations kept by the label-free consensus. Depth and share were
        chosen together leave-one-data-set-out on the 25 ODDS sets (levels 1-4 and 0.5 in
        24 of 25 folds; held out, 0.857 mean AUC against 0.853 for levels 1-3 at 0.7; see
        docs/search.md).
    stability_threshold : float or None, default=None
        A second tree per reducer is fitted with another seed (a child of the fit's seed
        sequence, :mod:`drama.seeding`), and the label-free consensus chooses only among
        configurations whose training ranks from the two trees correlate at least this
        much (among the ``MIN_STABLE`` most
        stable ones when fewer do; ``ensemble_share`` then applies to them). Why: a
        ranking that changes with the seed (a Ward sample, an ICA start) measures the seed
        as much as the data. Small data sets give equal trees, so nothing is dropped
        there. None (the default) skips the second fit: with one reducer and the blend
        it did not pay for its cost on the 43 design sets; 0.97 was the value picked on the
        25 ODDS sets for the four-reducer search (docs/search.md).
    tree_weight, wide_tree_weight : float, default=3.0, 0.5
        Base weight of the trees' consensus in the label-free blend, for objects of fewer
        than ``wide_features`` values and for wider ones; each whole-set member has base
        weight 1 (:mod:`drama.blend`). In hundreds of dimensions a few big leaves describe
        "normal" worse than the nearest objects do: on the 43 design sets the wide weight
        won every leave-one-group-out fold (docs/search.md).
    wide_features : int, default=400
    agreement_power : float, default=8.0
        A family's weight in the blend is its base weight times its rank correlation with
        the blend of all families, to this power (0: the base weights alone).
    top_k : int, default=5
        With labels: how many of the best-shrunk configurations are averaged.
    prior_strength : float, default=0.0
        With labels: how many labelled anomalies the label-free agreement is worth when the
        label AUC is shrunk towards it. 0 (no shrinkage) won the leave-one-data-set-out
        study in docs/search.md: averaging ``top_k`` already guards against one fluke.
    guard_se : float, default=0.0
        With labels: the label-free consensus is kept unless the top-k average beats its
        label AUC by more than this many standard errors (0: by anything at all).
    relevance_alpha : float or None, default=0.5
        With labels: weight of the chosen ensemble's rank in the kernel relevance model, in
        "labelled neighbours" (smaller lets the labels speak louder); None turns the model
        off. 0.5 was chosen leave-one-data-set-out (docs/search.md).
    max_labelled_normals : int, default=500
        With labels: at most this many labelled normals (a random sample) enter the
        relevance model, which keeps its cost at n x (anomalies + this).
    contamination : float or None, default=0.1
        Expected share of anomalies; sets ``threshold_`` and ``labels_`` (and ``predict``)
        from the training scores. None: scores only. It may change after fit.
    drama_params : dict or None
        Other :class:`drama.Drama` parameters for every tree (``min_leaf_share``, ...).
        ``reducer_options`` may be keyed by reducer name to give each reducer its own,
        e.g. ``{"reducer_options": {"ae": {"max_epochs": 20}}}`` in a search that also
        runs linear reducers (which take no training options).
    n_jobs : int or None
        Reducers fitted in parallel by joblib; -1 = all cores.
    random_state : int or None
        Seeds every tree; the same seed gives the same result.
    missing : {"error", "impute", "drop"}, default="error"
        What to do with NaN and infinite values, as for :class:`drama.Drama`: refuse them,
        fill them with the training medians (``fill_values_``, saved with the search), or
        leave those rows out (not fitted on; scored NaN). May change after fit.

    Attributes
    ----------
    results_ : pandas.DataFrame
        One row per configuration: ``config``, ``reducer``, ``metric``, ``level``, ``space``,
        ``fit_time`` (seconds of its reducer's tree, shared by its configurations),
        ``score_time``, ``stability`` (rank correlation with the second seed's tree; NaN
        when ``stability_threshold`` was None at fit), ``stability_time`` (seconds of its
        reducer's second tree, fitted and scored), ``agreement`` (correlation with the
        mean rank of the configurations stable enough for the consensus; of all of them
        when ``stability_threshold`` is None),
        ``label_auc``, ``label_auc_se``, ``shrunk_auc``, ``n_labelled``,
        ``n_labelled_anomalies``, ``n_labelled_normals``, ``weight`` (share in the chosen
        ensemble), ``rank``.
    best_config_ : dict
        The configuration with the largest weight (reducer, metric, level, space).
    weights_ : pandas.Series
        Non-zero weights of the configurations that ``decision_function`` averages.
    selection_ : str
        What was chosen and why, in words.
    train_ranks_ : ndarray (n, n_configurations)
        Rank-normalised training scores, columns in the order of ``results_``.
    decision_scores_ : ndarray (n,)
        Training scores: the chosen ensemble (mean of rank-normalised scores), passed
        through the relevance model when there are labels.
    space_ : drama.kernel_relevance.FeatureSpace
        The robust-scaled feature space of the relevance model.
    estimators_ : dict[str, Drama]
        The fitted tree of each reducer.
    feature_names_in_ : ndarray of str
        The training DataFrame's columns (only when fitted on one); new DataFrames must
        have the same columns in the same order.
    fill_values_ : ndarray (n_features,)
        Each feature's median over its finite training values (from at most
        ``drama.missing.MEDIAN_ROWS`` evenly spaced objects); ``missing="impute"`` fills
        with them.
    kept_rows_ : ndarray of bool (n,)
        The training rows fitted on (all but those ``missing="drop"`` left out); not saved.

    Examples
    --------
    >>> from drama.datasets import load_breast_cancer_task
    >>> X, y = load_breast_cancer_task()
    >>> search = DramaSearch(reducers=["none", "pca"], random_state=0).fit(X)
    >>> search.decision_function(X[:3]).shape
    (3,)
    """

    FORMAT: ClassVar[str] = "drama-search"
    FORMAT_VERSION: ClassVar[int] = 1
    NAN_MEMBERS: ClassVar[tuple[str, ...]] = ("results/stability",)  # NaN: not measured
    _fitted_attribute: ClassVar[str] = "estimators_"
    _free_params: ClassVar[frozenset[str]] = frozenset(
        {"contamination", "n_jobs", "missing", *SELECTION_PARAMS})
    _refit_hint: ClassVar[str] = ("They shape the fitted trees: call fit again (the selection "
                                  "options may change; select(y) applies them)")
    _consensus: _Consensus | None  # the label-free choice, cached (None: not yet made)

    def __init__(
        self,
        reducers: Sequence[str] = DEFAULT_REDUCERS,
        metrics: str | Sequence[str] = DEFAULT_METRICS,
        levels: Sequence[int] = DEFAULT_LEVELS,
        spaces: Sequence[str] = ("input",),
        members: Sequence[str] = DEFAULT_MEMBERS,
        max_prototypes: int = 2000,
        relevance_space: str = "whitened",
        ensemble_share: float = 0.5,
        stability_threshold: float | None = None,
        tree_weight: float = 3.0,
        wide_tree_weight: float = 0.5,
        wide_features: int = 400,
        agreement_power: float = 8.0,
        top_k: int = 5,
        prior_strength: float = 0.0,
        guard_se: float = 0.0,
        relevance_alpha: float | None = 0.5,
        max_labelled_normals: int = 500,
        drama_params: dict[str, Any] | None = None,
        contamination: float | None = 0.1,
        n_jobs: int | None = None,
        random_state: int | None = None,
        missing: str = "error",
    ):
        self.reducers = reducers
        self.metrics = metrics
        self.levels = levels
        self.spaces = spaces
        self.members = members
        self.max_prototypes = max_prototypes
        self.relevance_space = relevance_space
        self.ensemble_share = ensemble_share
        self.stability_threshold = stability_threshold
        self.tree_weight = tree_weight
        self.wide_tree_weight = wide_tree_weight
        self.wide_features = wide_features
        self.agreement_power = agreement_power
        self.top_k = top_k
        self.prior_strength = prior_strength
        self.guard_se = guard_se
        self.relevance_alpha = relevance_alpha
        self.max_labelled_normals = max_labelled_normals
        self.drama_params = drama_params
        self.contamination = contamination
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.missing = missing

    # ------------------------------------------------------------------ validation
    def check_grid(self, n_features: int) -> None:
        """Raise the ValueError that ``fit`` would for these options on objects of
        ``n_features`` values, before any work (an unknown reducer or metric, bad levels)."""
        self._grid(n_features)

    def _grid(self, n_features: int) -> tuple[list[str], list[str], list[int], list[str], bool]:
        from drama.reducers import get_reducer_spec

        reducers = [self.reducers] if isinstance(self.reducers, str) else list(self.reducers)
        if not reducers:
            raise ValueError("reducers is empty; name at least one, e.g. ['none', 'pca'].")
        for r in reducers:
            if not isinstance(r, str):
                raise TypeError(f"reducers must be names; got {r!r}.")
            get_reducer_spec(r)  # raises a ValueError naming the known reducers
        if len(set(reducers)) != len(reducers):
            raise ValueError(f"reducers lists a name twice: {reducers}.")
        if isinstance(self.metrics, str) and self.metrics == "all":
            metrics = [m for m in METRICS
                       if m != "mahalanobis" or n_features <= MAHALANOBIS_MAX_FEATURES]
        else:
            metrics = [self.metrics] if isinstance(self.metrics, str) else list(self.metrics)
            for m in metrics:
                if m not in METRICS:
                    raise ValueError(
                        f"Unknown metric {m!r}; choose from {', '.join(METRICS)} or 'all'."
                    )
        if not metrics:
            raise ValueError("metrics is empty; name at least one or pass 'all'.")
        levels = [self.levels] if isinstance(self.levels, (int, np.integer)) else list(self.levels)
        if not levels or any(not isinstance(v, (int, np.integer)) or v < 1 for v in levels):
            raise ValueError(f"levels must be positive integers, e.g. [1, 2, 3]; got {levels}.")
        spaces = [self.spaces] if isinstance(self.spaces, str) else list(self.spaces)
        for s in spaces:
            if s not in SPACES:
                raise ValueError(f"Unknown space {s!r}; choose from {', '.join(SPACES)}.")
        if set(spaces) == {"residual"} and set(reducers) == {"none"}:
            raise ValueError("The residual space needs a reducer other than 'none' (which "
                             "reconstructs every object exactly); add one, e.g. "
                             "reducers=['none', 'pca'], or another space.")
        if set(spaces) <= {"input", "residual"} and \
                not any(ranks_in(m, n_features) for m in metrics):
            raise _no_configuration()  # known before any fit (latent widths are not)
        check_random_state(self.random_state)
        self._check_selection_params()
        self._member_configs()
        if self.relevance_space not in ("whitened", "robust"):
            raise ValueError(f"relevance_space must be 'whitened' or 'robust'; got "
                             f"{self.relevance_space!r}.")
        keep_cov = "mahalanobis" in metrics
        return reducers, metrics, sorted(set(int(v) for v in levels)), spaces, keep_cov

    def _member_configs(self) -> list[dict[str, Any]]:
        """The parsed whole-set members; a bad name or option raises a ValueError."""
        names = [self.members] if isinstance(self.members, str) else list(self.members)
        if len(set(names)) != len(names):
            raise ValueError(f"members lists a configuration twice: {names}.")
        configs = []
        for name in names:
            cfg = parse_config(name)
            if not is_whole_set(cfg):
                raise ValueError(f"member {name!r} is a tree configuration; members are "
                                 "level 0 ('...|0|input') or space 'neighbours'.")
            configs.append(cfg)
        if configs:
            check_members(configs)
            if not isinstance(self.max_prototypes, (int, np.integer)) or \
                    self.max_prototypes < 2:
                raise ValueError(f"max_prototypes must be an integer >= 2; got "
                                 f"{self.max_prototypes!r}.")
        return configs

    def _check_selection_params(self) -> None:
        """The parameters ``select`` uses; checked by ``fit`` and again by ``select``, which
        may run after ``set_params`` without a refit."""
        if not 0 < self.ensemble_share <= 1:
            raise ValueError(f"ensemble_share must be in (0, 1]; got {self.ensemble_share!r}.")
        t = self.stability_threshold
        if t is not None:
            check_positive(t, "stability_threshold (or None to skip the second fit)")
            if t > 1:
                raise ValueError(f"stability_threshold must be at most 1 (a correlation); "
                                 f"got {t!r}.")
        for name in ("tree_weight", "wide_tree_weight"):
            if not 0 < getattr(self, name) < math.inf:
                raise ValueError(f"{name} must be a finite number > 0; got "
                                 f"{getattr(self, name)!r}.")
        if not isinstance(self.wide_features, (int, np.integer)) or self.wide_features < 1:
            raise ValueError(f"wide_features must be a positive integer; got "
                             f"{self.wide_features!r}.")
        if not 0 <= self.agreement_power < math.inf:
            raise ValueError(f"agreement_power must be a finite number >= 0; got "
                             f"{self.agreement_power!r}.")
        if not isinstance(self.top_k, (int, np.integer)) or self.top_k < 1:
            raise ValueError(f"top_k must be a positive integer; got {self.top_k!r}.")
        if not 0 <= self.prior_strength < math.inf:
            raise ValueError(f"prior_strength must be a finite number >= 0; got "
                             f"{self.prior_strength!r}.")
        if not self.guard_se >= 0:
            raise ValueError(f"guard_se must be >= 0; got {self.guard_se!r}.")
        if self.relevance_alpha is not None and not 0 < self.relevance_alpha < math.inf:
            raise ValueError(
                f"relevance_alpha must be a finite number > 0, or None to turn the relevance "
                f"model off; got "
                f"{self.relevance_alpha!r}."
            )
        if not isinstance(self.max_labelled_normals, (int, np.integer)) or \
                self.max_labelled_normals < 1:
            raise ValueError(f"max_labelled_normals must be a positive integer; got "
                             f"{self.max_labelled_normals!r}.")

    @staticmethod
    def check_labels(y: Any, n: int) -> np.ndarray | None:
        """Labels as int 1/0/-1, or None for "no labels"; wrong length or values raise."""
        if y is None:
            return None
        arr = np.asarray(y)
        if arr.ndim != 1 or len(arr) != n:
            raise ValueError(
                f"y must hold one label per object ({n}); got shape {arr.shape}. Use 1 for a "
                "known anomaly, 0 for a known normal object and -1 for unknown."
            )
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"y must hold the numbers 1, 0 and -1; it has dtype {arr.dtype}.")
        bad = ~np.isin(arr, (-1, 0, 1))
        if bad.any():
            raise ValueError(
                f"y may contain only 1 (anomaly), 0 (normal) and -1 (unknown); found "
                f"{np.unique(arr[bad])[:5].tolist()}."
            )
        if len(arr) and (arr == 1).all():
            raise ValueError("Every object is labelled an anomaly; label some normals (0) "
                             "or leave some unknown (-1).")
        return arr.astype(np.int64)

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: Any = None, *, progress: Progress | None = None) -> DramaSearch:
        """Fit one tree per reducer (and its stability partner), score every configuration,
        then select (see ``select``). A fit that fails leaves a fitted search as it was.
        ``progress(done, total)``, when given, is called as each step ends (a tree fitted,
        a tree scored, a stability partner measured, the whole-set members, the relevance
        space), for a progress bar; it changes no result."""
        if progress is None:  # (a Dask input fits again on a sample, keeping the callback)
            return super().fit(X, y)
        self._progress = progress
        try:
            return super().fit(X, y)
        finally:
            self.__dict__.pop("_progress", None)

    def _fit(self, X: Any, y: Any) -> None:
        self._check_contamination()
        arr = check_array(X, min_objects=2)
        labels = self.check_labels(y, len(arr))
        reducers, metrics, levels, spaces, keep_cov = self._grid(int(np.prod(arr.shape[1:])))
        params = dict(self.drama_params or {})
        for fixed in ("reducer", "n_levels", "contamination", "random_state"):
            if fixed in params:
                raise ValueError(f"drama_params may not set {fixed!r}: DramaSearch sets it.")
        params.update(n_levels=max(levels))
        # the trees use the fit's own sequence; the partner and the relevance space children
        partner_seed, space_seed = spawn_seeds(self.random_state, 2)
        if keep_cov:
            params["keep_covariance"] = True
        per_tree = 2 + (self.stability_threshold is not None)  # fit, score (and partner)
        steps = _Steps(getattr(self, "_progress", None), per_tree * len(reducers) + 2)
        fitted = steps.each(Parallel(n_jobs=self.n_jobs, return_as="generator")(
            delayed(_fit_tree)(arr, r, {**_params_for(params, r, reducers),
                                        "random_state": self.random_state})
            for r in reducers
        ))
        self.estimators_ = {r: det for r, (det, _) in zip(reducers, fitted, strict=True)}
        fit_time = {r: t for r, (_, t) in zip(reducers, fitted, strict=True)}
        scored = steps.each(Parallel(n_jobs=self.n_jobs, return_as="generator")(
            delayed(_score_tree)(det, arr, metrics, levels, spaces)
            for det in self.estimators_.values()
        ))
        if not any(scores for scores, _ in scored):
            raise _no_configuration()
        rows, columns = [], {}
        for (scores, cost), r in zip(scored, reducers, strict=True):
            for name, values in scores.items():
                cfg = parse_config(name)
                rows.append({"config": name, **cfg, "fit_time": fit_time[r],
                             "score_time": cost[name]})
                columns[name] = values
        self.members_ = self._fit_members(arr, rows, columns)
        steps.advance()
        ranks = self._set_training_scores(pd.DataFrame(columns))
        self.results_ = pd.DataFrame(rows)
        # whole-set members have no seed: as stable as can be
        self.results_["stability"] = np.where(self._member_mask(), 1.0, np.nan)
        self.results_["stability_time"] = 0.0
        if self.stability_threshold is not None:
            partner_params = {**params, "random_state": partner_seed}
            self._measure_stability(arr, partner_params, reducers, metrics, levels, spaces,
                                    ranks, steps)
        self.n_features_in_ = int(np.prod(arr.shape[1:]))
        self._set_feature_names(X)
        self.space_ = self._relevance_space(arr, space_seed)
        steps.advance()
        self._choose(labels)

    def _fit_members(self, arr: np.ndarray, rows: list[dict[str, Any]],
                     columns: dict[str, np.ndarray]) -> WholeSetMembers | None:
        """Fit the whole-set members and add their rows and training scores (a member
        whose scores overflow is left out, as a tree configuration would be)."""
        configs = self._member_configs()
        if not configs:
            return None
        start = time.perf_counter()
        members = WholeSetMembers(configs, int(self.max_prototypes))
        scores = members.fit(arr)
        seconds = time.perf_counter() - start
        for name, values in scores.items():
            if np.isfinite(values).all():
                rows.append({"config": name, **parse_config(name), "fit_time": seconds,
                             "score_time": 0.0})
                columns[name] = values
        return members

    def _relevance_space(self, arr: np.ndarray, seed: int) -> FeatureSpace:
        """The relevance model's space: the whitened coordinates of the whole-set members
        when asked for and there (a Mahalanobis member was fitted), else robust-scaled
        features on at most 20 principal axes."""
        members = self.members_
        if self.relevance_space == "whitened" and members is not None and \
                members.whiten_ is not None:
            return FeatureSpace.whitened(arr.reshape(len(arr), -1), members.scaler_.offset_,
                                         members.scaler_.scale_, members.mean_,
                                         members.whiten_, random_state=seed)
        return FeatureSpace.build(arr, random_state=seed)

    def _member_mask(self) -> np.ndarray:
        """Which rows of ``results_`` are whole-set members (the rest are tree
        configurations)."""
        return np.array([is_whole_set(parse_config(c)) for c in self.results_["config"]],
                        dtype=bool)

    def _set_training_scores(self, train: pd.DataFrame) -> dict[str, np.ndarray]:
        """Keep every configuration's training scores, sorted (they place new objects on
        ranks) and as ranks; the label-free choice is made anew. Returns the ranks by
        configuration."""
        self.train_scores_ = train
        sorted_ranks = {name: sorted_and_ranks(train[name].to_numpy(dtype=np.float64))
                        for name in train.columns}
        self._sorted_train = {name: ordered for name, (ordered, _) in sorted_ranks.items()}
        self.train_ranks_ = np.column_stack([ranks for _, ranks in sorted_ranks.values()])
        self._consensus = None
        return {name: ranks for name, (_, ranks) in sorted_ranks.items()}

    def _measure_stability(self, arr: np.ndarray, params: dict[str, Any], reducers: list[str],
                           metrics: list[str], levels: list[int], spaces: list[str],
                           ranks: dict[str, np.ndarray], steps: _Steps) -> None:
        """Fill ``results_``'s stability columns from a second tree per reducer, fitted with
        the partner seed in ``params`` (only the first seed's trees score new objects)."""
        res = self.results_
        trees = ~self._member_mask()
        measured = steps.each(Parallel(n_jobs=self.n_jobs, return_as="generator")(
            delayed(_stability)(arr, r, _params_for(params, r, reducers), metrics, levels,
                                spaces, {name: ranks[name] for name in
                                         res.loc[trees & (res["reducer"] == r), "config"]})
            for r in reducers
        ))
        stability: dict[str, float] = {}
        for r, (values, seconds) in zip(reducers, measured, strict=True):
            stability.update(values)
            res.loc[trees & (res["reducer"] == r), "stability_time"] = seconds
        res.loc[trees, "stability"] = res.loc[trees, "config"].map(stability).astype(float)

    def select(self, y: Any = None) -> DramaSearch:
        """(Re)choose the configurations from the stored training scores, without refitting:
        label-free if ``y`` is None or holds no anomaly, else the robust few-label choice.
        The selection options (``ensemble_share``, ``top_k``, ...) may have changed since
        fit; the options that shaped the trees may not."""
        self._check_fitted()
        self._check_unchanged()
        self._choose(self.check_labels(y, len(self.train_ranks_)))
        return self

    def _choose(self, labels: np.ndarray | None) -> None:
        self._check_selection_params()
        self.labels_used_ = labels
        self._selected_with = {k: getattr(self, k) for k in SELECTION_PARAMS}
        ranked = self.train_ranks_
        consensus = self._label_free_choice()
        agreement, prior_w = consensus.agreement, consensus.weights
        res = self.results_.drop(columns=[c for c in self.results_.columns
                                          if c not in _BASE_COLUMNS])
        res["agreement"] = agreement
        n_a = 0 if labels is None else int((labels == 1).sum())
        if labels is not None and n_a == 0:
            warnings.warn(
                "The labels hold no anomaly (no 1); selection falls back to the label-free "
                "consensus ensemble.", UserWarning, stacklevel=2,
            )
        if labels is None or n_a == 0:
            weights, self._ensemble, decision = prior_w, consensus.blend, consensus.scores
            self.__dict__.pop("label_auc_", None)  # a label-free choice has no label AUC
            res["label_auc"] = res["label_auc_se"] = res["shrunk_auc"] = np.nan
            res["n_labelled"] = 0 if labels is None else int((labels >= 0).sum())
            res["n_labelled_anomalies"] = 0
            res["n_labelled_normals"] = 0 if labels is None else int((labels == 0).sum())
            pool, threshold = consensus.pool, self.stability_threshold
            tree_rows = ~self._member_mask()
            trees = int(tree_rows.sum())
            if threshold is None:
                among = ""
            elif ((res["stability"] >= threshold) & tree_rows).sum() >= pool.sum():
                among = (f" of the {int(pool.sum())} stable across two seeds (rank "
                         f"correlation >= {threshold!r})")
            else:
                among = (f" of the {int(pool.sum())} most stable across two seeds (fewer "
                         f"reach a rank correlation of {threshold!r})")
            chosen = int((consensus.tree_weights > 0).sum())
            self.selection_ = (
                f"label-free consensus: the {chosen} of {trees} tree configurations that "
                f"agree most with the mean rank{among}, averaged"
            )
            if consensus.blend is not None:
                shares = ", ".join(f"{name} {w:.2f}" for name, w in zip(
                    ["trees", *res.loc[self._member_mask(), "config"]],
                    consensus.blend.weights_, strict=True))
                self.selection_ += (f"; blended with the whole-set members by Fisher's "
                                    f"method (family weights: {shares})")
        else:
            weights, kept = self._few_label_weights(labels, agreement, consensus.scores, res)
            self._ensemble = consensus.blend if kept else None
            decision = consensus.scores if kept else ranked @ weights
        res["weight"] = weights
        order = weights + AGREEMENT_TIE_BREAK * agreement
        res["rank"] = rankdata(-order, method="min").astype(int)
        self.results_ = res
        self.weights_ = pd.Series(weights, index=res["config"]).loc[lambda s: s > 0]
        best = res.loc[int(np.argmax(order))]
        self.best_config_ = {k: best[k] for k in ("reducer", "metric", "level", "space")}
        self.best_config_["level"] = int(self.best_config_["level"])
        self._relevance = None
        self.decision_scores_ = decision
        if labels is not None and n_a and self.relevance_alpha is not None:
            # The alpha is kept with the labels: decision_function must score new objects
            # as the training objects were, even if relevance_alpha is set again later.
            self._relevance = (*self._relevance_labels(labels), float(self.relevance_alpha))
            known, y_known, alpha = self._relevance
            self.decision_scores_ = relevance_at(
                self.space_.coords, known, y_known, self.decision_scores_,
                self.space_.bandwidth, alpha)
            self.selection_ += (f"; then a kernel relevance model on {int(y_known.sum())} "
                                f"labelled anomalies and {int((y_known == 0).sum())} labelled "
                                f"normals (alpha={self.relevance_alpha:g})")

    def _relevance_labels(self, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates and 1/0 labels of the labelled anomalies and (a seeded sample of at
        most ``max_labelled_normals``) labelled normals."""
        anomalies = np.flatnonzero(labels == 1)
        normals = np.flatnonzero(labels == 0)
        if len(normals) > self.max_labelled_normals:
            rng = np.random.default_rng(self.random_state)
            normals = np.sort(rng.choice(normals, self.max_labelled_normals, replace=False))
        idx = np.concatenate([anomalies, normals])
        y_known = np.r_[np.ones(len(anomalies)), np.zeros(len(normals))]
        return self.space_.coords[idx], y_known

    def label_free_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """Agreement of every configuration and the label-free consensus weights (see
        ``consensus_weights``, over the configurations stable across seeds); they need
        no labels, so they are computed once per ``ensemble_share`` and
        ``stability_threshold``, not at every re-selection."""
        choice = self._label_free_choice()
        return choice.agreement, choice.weights

    def _label_free_choice(self) -> _Consensus:
        """The cached label-free choice, computed again when its options have changed:
        the consensus of the (stable) tree configurations, blended with the whole-set
        members (:class:`drama.blend.Blend`) when there are any."""
        self._check_fitted()
        options = tuple(getattr(self, k) for k in ("ensemble_share", "stability_threshold",
                                                   "tree_weight", "wide_tree_weight",
                                                   "wide_features", "agreement_power"))
        cached: _Consensus | None = getattr(self, "_consensus", None)
        if cached is None or cached.options != options:
            members = self._member_mask()
            pool = ~members
            if self.stability_threshold is not None:
                stability = self.results_["stability"].to_numpy()
                if np.isnan(stability).any():
                    raise ValueError(
                        "stability_threshold is set, but this search was fitted without it "
                        "(no second tree to compare with); fit again to measure stability.")
                pool[pool] = stable_pool(stability[pool], self.stability_threshold)
            agreement, tree_weights = consensus_weights(self.train_ranks_,
                                                        self.ensemble_share, pool)
            blend, weights = None, tree_weights
            scores = self.train_ranks_ @ tree_weights
            if members.any():
                families = np.vstack([tree_weights, np.eye(len(members))[members]])
                blend = Blend(families, np.r_[self.trees_base_weight(),
                                              np.ones(members.sum())], self.agreement_power)
                scores = blend.fit(self.train_ranks_)
                weights = blend.config_weights
            cached = _Consensus(options, pool, agreement, tree_weights, weights, blend, scores)
            self._consensus = cached
        return cached

    def trees_base_weight(self) -> float:
        """The trees' base weight in the blend for this search's objects: ``tree_weight``,
        or ``wide_tree_weight`` from ``wide_features`` values on."""
        self._check_fitted()
        wide = self.n_features_in_ >= self.wide_features
        return float(self.wide_tree_weight if wide else self.tree_weight)

    def _few_label_weights(self, labels: np.ndarray, agreement: np.ndarray,
                           label_free: np.ndarray,
                           res: pd.DataFrame) -> tuple[np.ndarray, bool]:
        """Shrink each configuration's label AUC towards its label-free agreement and average
        the ``top_k`` best; keep the label-free choice (training scores ``label_free``) when
        the labels do not clearly beat it. Returns the weights and whether it was kept."""
        anomalies = np.flatnonzero(labels == 1)
        normals = np.flatnonzero(labels == 0)
        presumed = len(normals) == 0
        if presumed:  # no labelled normal: the unlabelled objects stand in for them
            normals = np.flatnonzero(labels == -1)
        ranked = self.train_ranks_
        n_a, n_n = len(anomalies), len(normals)
        auc = label_auc(ranked, anomalies, normals)
        se = auc_standard_error(auc, n_a, n_n)
        # The agreement lives in [-1, 1]; map it to an AUC-like prior in [0, 1].
        prior = 0.5 + 0.5 * np.clip(agreement, -1, 1)
        m = float(self.prior_strength)
        shrunk = (n_a * auc + m * prior) / (n_a + m)
        res["label_auc"], res["label_auc_se"], res["shrunk_auc"] = auc, se, shrunk
        res["n_labelled"] = int((labels >= 0).sum())
        res["n_labelled_anomalies"] = n_a
        res["n_labelled_normals"] = int((labels == 0).sum())
        # equal (shrunk) label AUCs -- common with a handful of labels -- are broken by
        # agreement, not by the order of the grid
        top = np.lexsort((-agreement, -shrunk))[: self.top_k]
        chosen = np.zeros(len(auc))
        chosen[top] = 1.0 / len(top)
        # Label AUCs of the two candidate ensembles; the consensus stays unless the
        # labelled choice beats it by more than guard_se standard errors.
        both = np.column_stack([ranked @ chosen, label_free])
        a_top, a_cons = label_auc(both, anomalies, normals)
        se_cons = float(auc_standard_error(np.array([a_cons]), n_a, n_n)[0])
        normals_how = "unlabelled objects presumed normal" if presumed else "labelled normals"
        self.label_auc_ = {"top_k": float(a_top), "consensus": float(a_cons)}
        if a_top > a_cons + self.guard_se * se_cons:
            self.selection_ = (
                f"labels: average of the top {len(top)} configurations by label AUC"
                f"{' shrunk towards agreement' if m > 0 else ''} ({n_a} anomalies vs {n_n} "
                f"{normals_how}; label AUC "
                f"{a_top:.3f} vs consensus {a_cons:.3f} +- {se_cons:.3f})"
            )
            return chosen, False
        self.selection_ = (
            f"labels did not clearly beat the label-free consensus ({n_a} anomalies vs "
            f"{n_n} {normals_how}; label AUC top-{len(top)} {a_top:.3f} vs consensus "
            f"{a_cons:.3f} +- {se_cons:.3f}); consensus kept"
        )
        return self._label_free_choice().weights, True

    # ------------------------------------------------------------------ scoring
    def config_scores(self, X: Any, configs: Sequence[str] | None = None) -> pd.DataFrame:
        """Raw scores of new objects for the named configurations (default: every one in
        ``results_``); an unknown name raises a ValueError."""
        self._check_fitted()
        if isinstance(configs, str):
            configs = [configs]
        configs = list(dict.fromkeys(self.results_["config"] if configs is None else configs))
        known = set(self.results_["config"])
        for name in configs:
            if name not in known:
                parse_config(name)
                raise ValueError(f"Unknown configuration {name!r}: not in this search's "
                                 f"results_ (e.g. {next(iter(known))!r}).")
        self._check_unchanged()
        self._check_feature_names(X)
        arr = check_array(X)
        self._check_object_shape(arr, next(iter(self.estimators_.values())).sample_shape_)
        need: dict[tuple[str, str], set] = {}
        out: dict[str, np.ndarray] = {}
        for name in configs:
            cfg = parse_config(name)
            if is_whole_set(cfg):
                if not out and self.members_ is not None:  # one call scores every member
                    out.update(self.members_.score(arr))
                continue
            need.setdefault((cfg["reducer"], cfg["space"]), set()).add((cfg["level"],
                                                                        cfg["metric"]))
        for (reducer, space), pairs in need.items():
            metrics = sorted({m for _, m in pairs})
            levels = sorted({lv for lv, _ in pairs})
            frame = self.estimators_[reducer].score_levels(arr, metrics, levels, space)
            for level, metric in pairs:
                out[config_name(reducer, metric, level, space)] = frame[(level, metric)].to_numpy()
        return pd.DataFrame({name: out[name] for name in configs})

    def _decision_function(self, X: Any) -> np.ndarray:
        """Anomaly scores of new objects (higher = more anomalous): the chosen configurations'
        scores placed on their training ranks and averaged with ``weights_``, then passed
        through the relevance model when the search was selected with labels; never
        refits."""
        self._check_fitted()
        raw = self.config_scores(X, list(self.weights_.index))  # checks the parameters too
        if self._ensemble is None:
            total = np.zeros(len(raw))
            for name, w in self.weights_.items():
                total += w * cdf(self._sorted_train[name], raw[name].to_numpy())
        else:
            ranks = np.zeros((len(raw), len(self.results_)))
            column = {name: j for j, name in enumerate(self.results_["config"])}
            for name in raw.columns:
                ranks[:, column[name]] = cdf(self._sorted_train[name], raw[name].to_numpy())
            total = self._ensemble.score(ranks)
        if self._relevance is None:
            return total
        known, y_known, alpha = self._relevance
        return relevance_at(self.space_.project(check_array(X)), known, y_known, total,
                            self.space_.bandwidth, alpha)

    # ------------------------------------------------------------------ persistence
    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The fitted search as (JSON-able description, named arrays): every member tree,
        the training scores of every configuration (the reference distributions that
        place new scores on ranks), the fit-time results, the relevance space, the labels
        the selection used and its weights and training scores (checked on load)."""
        self._check_fitted()
        arrays: dict[str, np.ndarray] = {}
        members = []
        for i, det in enumerate(self.estimators_.values()):
            member_meta, member_arrays = det.to_state()
            members.append(member_meta)
            arrays.update({f"member{i}/{k}": v for k, v in member_arrays.items()})
        space_config, space_arrays = self.space_.to_state()
        arrays.update({f"space/{k}": v for k, v in space_arrays.items()})
        whole_set = None
        if self.members_ is not None:
            whole_set, member_arrays = self.members_.to_state()
            arrays.update({f"wholeset/{k}": v for k, v in member_arrays.items()})
        res = self.results_
        arrays.update({f"results/{c}": res[c].to_numpy(dtype=np.float64)
                       for c in _MEASURED_COLUMNS})
        arrays["train_scores"] = self.train_scores_.to_numpy(dtype=np.float64)
        arrays["weights"] = res["weight"].to_numpy(dtype=np.float64)
        arrays["decision_scores"] = np.asarray(self.decision_scores_, dtype=np.float64)
        arrays.update(self._missing_state())
        if self.labels_used_ is not None:
            arrays["labels"] = self.labels_used_.astype(np.int8)
        meta = {
            # the selection options that made the weights, whatever has been set since
            "params": {**self.get_params(), **self._selected_with},
            "members": members, "configs": list(res["config"]),
            "n_features_in": self.n_features_in_, "space": space_config,
            "whole_set": whole_set,
            "feature_names": self._feature_names_state(),
        }
        return meta, arrays

    @classmethod
    def element_budget(cls, meta: dict[str, Any]) -> int:
        """The most values one array of a saved search may hold (see
        :func:`drama.persistence.element_budget`): the training scores are one column per
        configuration."""
        member = meta["members"][0]
        width = max(int(np.prod(member["sample_shape"], dtype=object)), len(meta["configs"]))
        return element_budget(member["nodes"][0]["size"], width, len(meta["members"]))

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: Mapping[str, np.ndarray],
                   device: str | None = None) -> DramaSearch:
        """Rebuild a fitted search from :meth:`to_state`'s output. The selection is made
        again from the saved scores and labels, and must give the saved weights and
        training scores: a file whose parts do not agree raises a ValueError."""
        search = cls(**meta["params"])
        estimators = {}
        for i, member in enumerate(meta["members"]):
            det = Drama.from_state(member, group(arrays, f"member{i}/"), device)
            estimators[det.reducer] = det
        reducers, _, _, _, _ = search._grid(int(meta["n_features_in"]))
        if list(estimators) != reducers:
            raise ValueError(f"the search's reducers are {reducers}, its members "
                             f"{list(estimators)}")
        configs = [str(c) for c in meta["configs"]]
        n = len(next(iter(estimators.values())).decision_scores_)
        train = np.asarray(arrays["train_scores"], dtype=np.float64)
        if train.shape != (n, len(configs)) or not np.isfinite(train).all():
            raise ValueError(f"training scores of shape {train.shape} for {n} objects and "
                             f"{len(configs)} configurations (or not finite)")
        rows = [parse_config(c) for c in configs]
        if len(set(configs)) != len(configs) or any(
                r["reducer"] not in estimators for r in rows if not is_whole_set(r)):
            raise ValueError("the configurations name a reducer that has no tree, or repeat")
        member_configs = search._member_configs()
        search.members_ = None
        if member_configs:
            if meta.get("whole_set") is None:
                raise ValueError("the search has whole-set members but the file holds none")
            search.members_ = WholeSetMembers.from_state(
                member_configs, meta["whole_set"], group(arrays, "wholeset/"))
        if any(is_whole_set(r) for r in rows) and search.members_ is None:
            raise ValueError("the configurations name whole-set members the file does not "
                             "hold")
        search.estimators_ = estimators
        search._set_training_scores(pd.DataFrame(train, columns=configs))
        search.results_ = pd.DataFrame([{"config": c, **r} for c, r in zip(configs, rows,
                                                                             strict=True)])
        for column in _MEASURED_COLUMNS:
            search.results_[column] = np.asarray(arrays[f"results/{column}"], np.float64)
        search.n_features_in_ = int(meta["n_features_in"])
        search._restore_feature_names(meta["feature_names"])
        search._restore_missing(arrays, search.n_features_in_)
        search.space_ = FeatureSpace.from_state(meta["space"], group(arrays, "space/"))
        if len(search.space_.coords) != n:
            raise ValueError("the relevance space holds another number of objects")
        labels = arrays.get("labels")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # it was said at fit
            search._choose(None if labels is None else cls.check_labels(labels, n))
        for name, saved, now in (("weights", arrays["weights"], search.results_["weight"]),
                                 ("training scores", arrays["decision_scores"],
                                  search.decision_scores_)):
            if np.shape(saved) != np.shape(now) or not np.allclose(saved, now, rtol=1e-9,
                                                                   atol=1e-12):
                raise ValueError(f"the saved {name} do not follow from the saved scores "
                                 "and labels")
        search._remember_params()
        return search

# What fit measured per configuration, saved with the search.
_MEASURED_COLUMNS = ("fit_time", "score_time", "stability", "stability_time")
_BASE_COLUMNS = ("config", "reducer", "metric", "level", "space", *_MEASURED_COLUMNS)
