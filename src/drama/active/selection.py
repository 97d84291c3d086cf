"""Few-label configuration choice for the active session.

DRAMA's configurations (reducer, level, metric) are all scored once, by one
:class:`drama.search.DramaSearch` fit (one tree per reducer); a refit then only re-weighs
its columns, which keeps the loop interactive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from drama.reducers.neural import NEURAL_NAMES
from drama.search import DramaSearch, config_name, rank_normalise

__all__ = ["ConfigTable", "choose_configuration", "choose_with_search", "session_search"]


@dataclass
class ConfigTable:
    """Anomaly percentiles (n, C) of every configuration, their names, and the label-free
    consensus of the search as a percentile (the prior before any label)."""

    names: list[str]
    percentiles: np.ndarray
    consensus: np.ndarray

    @classmethod
    def from_search(cls, search: DramaSearch) -> ConfigTable:
        """The training ranks of a fitted search, and its label-free consensus (computed
        from the ranks, so whatever labels the search last selected with do not leak in)."""
        ranks = search.train_ranks_
        return cls(names=list(search.results_["config"]), percentiles=ranks,
                   consensus=rank_normalise(ranks @ search.label_free_weights()[1]))


def session_search(
    reducers: Sequence[str] = ("none", "pca"),
    levels: Sequence[int] = (1, 2, 3),
    metrics: Sequence[str] | str = "all",
    random_state: int | None = 0,
    progress: bool = False,
) -> DramaSearch:
    """The session's (unfitted) search: one tree per reducer, every (reducer, level,
    metric) scored, label-free selection. ``progress`` shows the neural reducers' training
    bars (the trees are fitted one after another, so the bars never overlap).

    The share is pinned at 0.7 and the stability filter is off: the session's options were
    chosen leave-one-task-out with them (docs/active.md), before the search's default became
    0.5 with four levels and a second seed."""
    bars = {r: {"progress": True} for r in reducers if r in NEURAL_NAMES} if progress else {}
    # The session has its own relevance model; the search's would count the labels twice.
    return DramaSearch(reducers=list(reducers), metrics=metrics, levels=list(levels),
                       ensemble_share=0.7, stability_threshold=None, relevance_alpha=None,
                       drama_params={"reducer_options": bars} if bars else None,
                       random_state=random_state)


def choose_configuration(
    table: ConfigTable, y: np.ndarray, top: int = 3, shrink: float = 2.0,
    miss_shrink: float = 0.0,
) -> tuple[np.ndarray, list[str]]:
    """Anomaly prior in [0, 1] and the chosen configurations, from the labels so far.

    ``y`` holds 1 (interesting), 0 (boring) or -1 (unlabelled, presumed normal). A
    configuration is good when it ranks interesting objects above the unlabelled ones
    (mean percentile) *and* above the boring ones (pairwise AUC). With a handful of
    labels the best column is noisy, so the ``top`` best are averaged and the result is
    shrunk toward the label-free consensus by ``n_interesting / (n_interesting + shrink)``.

    Before the first interesting find, boring labels still teach something: they are
    false alarms of the current ranking, so configurations that rank them low are a
    different view worth trying; their weight grows as ``n_boring / (n_boring +
    miss_shrink)`` (0 turns this off).
    """
    ensemble = table.consensus
    pos = np.flatnonzero(y == 1)
    neg = np.flatnonzero(y == 0)
    P = table.percentiles
    if len(pos) == 0:
        if len(neg) < 3 or miss_shrink <= 0:
            return ensemble, ["consensus"]
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


def choose_with_search(search: DramaSearch, y: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The few-label choice of ``DramaSearch`` itself (re-selected, never refitted), as a
    percentile prior; without an interesting label it stays label-free."""
    search.select(y if (y == 1).any() else None)
    return rank_normalise(search.decision_scores_), [config_name(**search.best_config_)]
