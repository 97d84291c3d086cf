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
from scipy.stats import rankdata

from drama.estimator import Drama

__all__ = ["ConfigTable", "choose_configuration", "score_configurations"]


@dataclass
class ConfigTable:
    """Anomaly percentiles (n, C) of every configuration, and the configuration names."""

    names: list[str]
    percentiles: np.ndarray

    def ensemble(self) -> np.ndarray:
        """Label-free prior: the mean percentile over all configurations, as a percentile."""
        return _to_percentile(self.percentiles.mean(axis=1))


def _to_percentile(scores: np.ndarray) -> np.ndarray:
    """Average-rank percentiles in (0, 1]; ties share a rank, so constant scores tie."""
    return rankdata(scores, method="average") / len(scores)


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
            columns.append(_to_percentile(v))
    if not columns:
        raise ValueError("No DRAMA configuration could be fitted: " + "; ".join(errors))
    if errors:
        warnings.warn("Skipped reducers: " + "; ".join(errors), stacklevel=2)
    return ConfigTable(names=names, percentiles=np.column_stack(columns))


def choose_configuration(
    table: ConfigTable, y: np.ndarray, top: int = 3, shrink: float = 2.0
) -> tuple[np.ndarray, list[str]]:
    """Anomaly prior in [0, 1] and the chosen configurations, from the labels so far.

    ``y`` holds 1 (interesting), 0 (boring) or -1 (unlabelled, presumed normal). A
    configuration is good when it ranks interesting objects above the unlabelled ones
    (mean percentile) *and* above the boring ones (pairwise AUC). With a handful of
    labels the best column is noisy, so the ``top`` best are averaged and the result is
    shrunk toward the label-free ensemble by ``n_interesting / (n_interesting + shrink)``.
    """
    ensemble = table.ensemble()
    pos = np.flatnonzero(y == 1)
    neg = np.flatnonzero(y == 0)
    if len(pos) == 0:
        return ensemble, ["ensemble"]
    P = table.percentiles
    quality = P[pos].mean(axis=0)
    if len(neg):
        # Pairwise AUC of interesting vs boring per column: fraction of pairs ordered right.
        diff = P[pos][:, None, :] - P[neg][None, :, :]
        auc = ((diff > 0) + 0.5 * (diff == 0)).mean(axis=(0, 1))
        quality = 0.5 * quality + 0.5 * auc
    best = np.argsort(-quality, kind="stable")[:top]
    chosen = _to_percentile(P[:, best].mean(axis=1))
    weight = len(pos) / (len(pos) + shrink)
    prior = weight * chosen + (1.0 - weight) * ensemble
    return prior, [table.names[i] for i in best]
