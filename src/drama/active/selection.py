"""Few-label configuration choice for the active session.

DRAMA's configurations (reducer, level, metric) are all scored once, from one fitted
tree per reducer; a refit then only re-weighs columns, which keeps the loop interactive.
The choice lives in :func:`choose_configuration` so that a shared search (``DramaSearch``)
can take it over without the session changing.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from drama.estimator import Drama
from drama.search import rank_normalise

__all__ = ["ConfigTable", "choose_configuration", "score_configurations"]


@dataclass
class ConfigTable:
    """Anomaly percentiles (n, C) of every configuration, and the configuration names."""

    names: list[str]
    percentiles: np.ndarray

    def ensemble(self) -> np.ndarray:
        """Label-free prior: the mean percentile over all configurations, as a percentile."""
        return rank_normalise(self.percentiles.mean(axis=1))


def score_configurations(
    X: np.ndarray,
    reducers: Sequence[str] = ("none", "pca"),
    levels: Sequence[int] = (1, 2, 3),
    metrics: Sequence[str] | str = "all",
    random_state: int | None = 0,
) -> ConfigTable:
    """Fit one Drama tree per reducer and score every (reducer, level, metric) column."""
    names: list[str] = []
    columns: list[np.ndarray] = []
    errors: list[str] = []
    options: dict[str, object] = {}
    n_features = int(np.prod(np.shape(X)[1:]))
    if "keep_covariance" in Drama().get_params():
        # Mahalanobis needs leaf covariances (d^2 per leaf): affordable for modest d.
        options["keep_covariance"] = n_features <= 256
    for reducer in reducers:
        try:
            det = Drama(
                reducer=reducer, n_levels=max(levels), contamination=None,
                random_state=random_state, **options,
            ).fit(X)
            table = det.score_levels(X, metrics=metrics if isinstance(metrics, str)
                                     else list(metrics), levels=list(levels))
        except (ValueError, np.linalg.LinAlgError) as exc:
            errors.append(f"{reducer}: {exc}")
            continue
        for (level, metric), values in table.items():
            v = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=0.0)
            names.append(f"{reducer}/L{level}/{metric}")
            columns.append(rank_normalise(v))
    if not columns:
        raise ValueError("No DRAMA configuration could be fitted: " + "; ".join(errors))
    if errors:
        warnings.warn("Skipped reducers: " + "; ".join(errors), stacklevel=2)
    return ConfigTable(names=names, percentiles=np.column_stack(columns))


def choose_configuration(
    table: ConfigTable, y: np.ndarray, top: int = 3, shrink: float = 2.0,
    miss_shrink: float = 0.0,
) -> tuple[np.ndarray, list[str]]:
    """Anomaly prior in [0, 1] and the chosen configurations, from the labels so far.

    ``y`` holds 1 (interesting), 0 (boring) or -1 (unlabelled, presumed normal). A
    configuration is good when it ranks interesting objects above the unlabelled ones
    (mean percentile) *and* above the boring ones (pairwise AUC). With a handful of
    labels the best column is noisy, so the ``top`` best are averaged and the result is
    shrunk toward the label-free ensemble by ``n_interesting / (n_interesting + shrink)``.

    Before the first interesting find, boring labels still teach something: they are
    false alarms of the current ranking, so configurations that rank them low are a
    different view worth trying; their weight grows as ``n_boring / (n_boring +
    miss_shrink)`` (0 turns this off).
    """
    ensemble = table.ensemble()
    pos = np.flatnonzero(y == 1)
    neg = np.flatnonzero(y == 0)
    P = table.percentiles
    if len(pos) == 0:
        if len(neg) < 3 or miss_shrink <= 0:
            return ensemble, ["ensemble"]
        best = np.argsort(P[neg].mean(axis=0), kind="stable")[:top]
        weight = len(neg) / (len(neg) + miss_shrink)
        prior = weight * rank_normalise(P[:, best].mean(axis=1)) + (1.0 - weight) * ensemble
        return prior, [table.names[i] for i in best]
    quality = P[pos].mean(axis=0)
    if len(neg):
        # Pairwise AUC of interesting vs boring per column: fraction of pairs ordered right.
        diff = P[pos][:, None, :] - P[neg][None, :, :]
        auc = ((diff > 0) + 0.5 * (diff == 0)).mean(axis=(0, 1))
        quality = 0.5 * quality + 0.5 * auc
    best = np.argsort(-quality, kind="stable")[:top]
    chosen = rank_normalise(P[:, best].mean(axis=1))
    weight = len(pos) / (len(pos) + shrink)
    prior = weight * chosen + (1.0 - weight) * ensemble
    return prior, [table.names[i] for i in best]


def choose_with_search(
    X: np.ndarray, y: np.ndarray, config: dict, previous: object = None
) -> tuple[np.ndarray, list[str], object]:
    """The same choice made by ``DramaSearch`` (labels 1 / 0 / -1), as a percentile prior.

    ``previous`` is the search object of the last call, reused when the search can
    re-select without refitting (a ``select(y)`` method); otherwise it is refitted.
    """
    from drama.search import DramaSearch

    labels = np.where(y == 1, 1, np.where(y == 0, 0, -1))
    # Without an interesting label the search is label-free (it would warn and fall back).
    fit_y = labels if (labels == 1).any() else None
    search = previous
    if search is not None:
        search.select(fit_y)
    else:
        search = DramaSearch(
            reducers=list(config["reducers"]), metrics=config["metrics"],
            levels=list(config["levels"]), random_state=config["random_state"],
        ).fit(X, fit_y)
    # X is the training data: its scores are kept, so nothing is rescored.
    scores = getattr(search, "decision_scores_", None)
    if scores is None or len(scores) != len(X):
        scores = search.decision_function(X)
    prior = rank_normalise(np.asarray(scores, dtype=np.float64))
    best = getattr(search, "best_config_", "search")
    return prior, [str(best)], search
