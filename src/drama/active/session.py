"""The active-learning session: propose, label, re-rank, classify.

The CLI (``drama active``) and any notebook use this one object. Its state is the data,
DRAMA's configuration scores (computed once at start) and the labels in the store; a
refit re-selects configurations and re-learns relevance from the labels, so a session
reopened from the same store ranks exactly as the one that stopped.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from drama._validation import check_array, check_positive, check_random_state
from drama.active.learned_prior import class_votes, learned_prior, resolve_learned_options
from drama.active.store import ActiveStore, data_fingerprint, describe_adoption
from drama.active.strategies import STRATEGIES
from drama.exceptions import StoreError
from drama.kernel_relevance import relevance_at
from drama.ranks import rank_normalise
from drama.reducers.neural import NEURAL_NAMES
from drama.search import DramaSearch

__all__ = ["ActiveSession", "Candidate"]

# Bumped whenever the same labels and options would rank differently (2: the prior is the
# search's consensus and alpha defaults to 2; 3: the learned model starts at one label of
# each kind and takes over sooner; 4: the configurations are chosen by DramaSearch's own
# selection, with its default share and stability filter; 5: boring labels alone demote
# what resembles them among the anomalous, and the label-free start may be the blend);
# a store made under another
# version is refused instead of being re-ranked silently. (alpha is recorded with the
# options, so a new default needs no new version: the old store reopens with its alpha.)
RANKING_VERSION = 5
LABEL_FREE_STARTS = ("trees", "blend")


def _session_search(reducers: Sequence[str], levels: Sequence[int],
                    metrics: Sequence[str] | str, spaces: Sequence[str], label_free: str,
                    random_state: int | None, progress: bool) -> DramaSearch:
    """The session's (unfitted) search over its grid, with the search's own selection
    options. ``label_free="trees"`` is the tree consensus among configurations stable
    across two seeds; ``"blend"`` the search's defaults (the trees blended with the
    whole-set members). ``progress`` shows the neural reducers' training bars (the trees
    are fitted one after another, so the bars never overlap)."""
    bars = {r: {"progress": True} for r in reducers if r in NEURAL_NAMES} if progress else {}
    start: dict[str, Any] = ({"members": (), "stability_threshold": 0.97}
                             if label_free == "trees" else {})
    # The session has its own relevance model (the search's would count the labels twice),
    # in robust-scaled features: the whitened space made optdigits' session find 65
    # anomalies instead of 143 (docs/active.md).
    return DramaSearch(reducers=list(reducers), metrics=metrics, levels=list(levels),
                       spaces=list(spaces), relevance_alpha=None, relevance_space="robust", **start,
                       drama_params={"reducer_options": bars} if bars else None,
                       random_state=random_state)


def _checked_search(fitted: DramaSearch, wanted: DramaSearch, arr: np.ndarray) -> DramaSearch:
    """``fitted`` when it is a fitted search with ``wanted``'s options on objects shaped as
    ``arr``'s, else a ValueError that says what differs."""
    def plain(params: dict[str, Any]) -> Any:  # tuples and lists alike, as saved in JSON
        return json.loads(json.dumps(params, default=list, sort_keys=True))

    if not isinstance(fitted, DramaSearch) or not hasattr(fitted, "decision_scores_"):
        raise ValueError(f"fitted_search must be a fitted DramaSearch; got {type(fitted)!r}.")
    mine, theirs = plain(wanted.get_params()), plain(fitted.get_params())
    differ = sorted(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k))
    if differ:
        raise ValueError(f"fitted_search was fitted with other options ({', '.join(differ)}) "
                         "than this session's.")
    n_values = int(np.prod(arr.shape[1:]))
    if len(fitted.decision_scores_) != len(arr) or fitted.n_features_in_ != n_values:
        raise ValueError(f"fitted_search was fitted on {len(fitted.decision_scores_)} objects "
                         f"of {fitted.n_features_in_} values, not {len(arr)} of {n_values}.")
    return fitted


@dataclass(frozen=True)
class Candidate:
    """One object proposed for inspection, and why."""

    id: str
    score: float
    anomaly: float
    p_interesting: float
    reason: str
    predicted_class: str | None = None
    class_confidence: float = 0.0


class ActiveSession:
    """Find the anomalies *this* scientist finds interesting, by asking about a few.

    Parameters
    ----------
    X : array-like (n, ...) or DataFrame
        The objects; tables, sequences or images (flattened for the relevance model).
    ids : sequence, optional
        One unique id per object (stored as text); default "0".."n-1".
    store : str or PathLike, optional
        SQLite file for the labels; None keeps labels in memory only (a throw-away file).
    reducers, levels, metrics, spaces : sequences of str, int, str and str (metrics may be "all")
        The DRAMA configurations to choose from (``spaces``: :class:`drama.DramaSearch`'s,
        e.g. ``("input", "residual")``). The choice among them is
        :meth:`drama.DramaSearch.select`'s, re-run with the labels at every :meth:`refit`
        (interesting = 1, boring = 0, unlabelled = -1; label-free until the first
        interesting label); ``selection_`` says what it chose.
    strategy : {"top", "balanced"}
        Default query strategy of :meth:`next`.
    alpha : float
        Weight of DRAMA's anomaly prior in the relevance model, in labelled neighbours (see
        :mod:`drama.active.learned_prior`); smaller lets labels speak louder. 16 was chosen
        leave-one-task-out among 25 option sets (docs/active.md): the logistic model inside
        the prior already carries what the labels teach, so the kernel only needs to add
        what is local.
    bandwidth : float
        Kernel width as a multiple of the median 10th-neighbour distance; smaller keeps
        a label's influence closer to it.
    model : {"logistic", "kernel"}
        "kernel": labels act only through the kernel on their neighbours; "logistic"
        (default): also a logistic model on the features and DRAMA's configuration
        percentiles, which carries what the labels teach to unlabelled regions.
    learned_options : dict, optional
        Options of the logistic model (:func:`drama.active.learned_prior.learned_prior`:
        ``min_each``, ``min_boring_alone``, ``max_weight``, ``half_weight_at``,
        ``n_unlabelled``, ``unlabelled_weight``, ``C``); its defaults are used for any
        not given, and the store records them all.
    label_free : {"blend", "trees"}
        The ranking before the first interesting label: the search's label-free default,
        the trees blended with the whole-set members (:mod:`drama.blend`), or the consensus
        of the tree configurations stable across two seeds (ranking version 4's start).
        "blend" was chosen leave-one-task-out (docs/active.md).
    random_state : int or None
    steal_lock : bool
        Open a store even if another live process holds it.
    progress : bool
        Show each neural reducer's training bar on the terminal (the command line's
        ``drama active`` does); it changes no result.
    fitted_search : DramaSearch, optional
        The search of an earlier session on these same objects with these same options,
        saved as data (:func:`drama.persistence.write_detector`, read back with
        :func:`drama.load_detector`): used instead of fitting again, so a session reopens
        in the time of a refit, with the same ranking. Refused when its options or its
        number of objects or values differ; that it saw these very objects is the
        caller's to ensure (the workbench keys the saved search by
        :func:`drama.active.store.data_fingerprint`).
    fit_progress : callable, optional
        ``fit_progress(done, total)`` is called as each step of the search's fit ends
        (:meth:`drama.DramaSearch.fit`), for a progress bar (the workbench's); it changes
        no result.

    Examples
    --------
    >>> from drama.datasets import load_breast_cancer_task
    >>> X, _ = load_breast_cancer_task()
    >>> s = ActiveSession(X, random_state=0)  # store="survey.drama.db" keeps the labels
    >>> batch = s.next(5)
    >>> s.label(batch[0], "interesting", cls="merger")
    >>> s.refit().labels()["label"].tolist()
    ['interesting']
    >>> s.close()
    """

    def __init__(
        self,
        X: Any,
        ids: Sequence[Any] | None = None,
        store: str | os.PathLike[str] | None = None,
        *,
        reducers: Sequence[str] = ("none", "pca"),
        levels: Sequence[int] = (1, 2, 3),
        metrics: Sequence[str] | str = "all",
        spaces: Sequence[str] = ("input",),
        strategy: str = "top",
        alpha: float = 16.0,
        bandwidth: float = 1.0,
        model: str = "logistic",
        learned_options: dict[str, Any] | None = None,
        label_free: str = "blend",
        random_state: int | None = 0,
        steal_lock: bool = False,
        progress: bool = False,
        fitted_search: DramaSearch | None = None,
        fit_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(
                f"Unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}."
            )
        self.feature_names = (
            [str(c) for c in X.columns] if hasattr(X, "columns") else None
        )
        arr = check_array(X, min_objects=2)
        self.X = arr
        ids = [str(i) for i in (range(len(arr)) if ids is None else ids)]
        if len(ids) != len(arr):
            raise ValueError(f"ids has {len(ids)} entries but X has {len(arr)} objects.")
        if len(set(ids)) != len(ids):
            raise ValueError("ids must be unique; found duplicates.")
        self.ids = ids
        self._index = {oid: i for i, oid in enumerate(ids)}
        if model not in ("logistic", "kernel"):
            raise ValueError(f"Unknown model {model!r}; choose 'logistic' or 'kernel'.")
        check_positive(alpha, "alpha")
        check_positive(bandwidth, "bandwidth")
        check_random_state(random_state)
        if label_free not in LABEL_FREE_STARTS:
            raise ValueError(f"Unknown label_free start {label_free!r}; choose one of "
                             f"{', '.join(LABEL_FREE_STARTS)}.")
        self.strategy = strategy
        self.alpha = alpha
        self.bandwidth = bandwidth
        self.model = model
        if model == "kernel" and learned_options:
            raise ValueError("learned_options set the logistic model; model='kernel' has none.")
        self.learned_options = (resolve_learned_options(learned_options)
                                if model == "logistic" else {})
        self.random_state = random_state
        self.config = {
            "reducers": list(reducers),
            "levels": [int(v) for v in levels],
            "metrics": metrics if isinstance(metrics, str) else list(metrics),
            # recorded only when not the input space, so earlier stores reopen unchanged
            **({} if list(spaces) == ["input"] else {"spaces": list(spaces)}),
            "random_state": random_state,
            "model": model,
            "alpha": float(alpha),
            "bandwidth": float(bandwidth),
            "learned_options": dict(self.learned_options),
            "label_free": label_free,
            "ranking_version": RANKING_VERSION,
        }
        self._memory_dir: Any = None
        if store is None:
            import tempfile

            self._memory_dir = tempfile.TemporaryDirectory(prefix="drama-active-")
            store = os.path.join(self._memory_dir.name, "labels.drama.db")
        # Check the options, then open the store: a typo must not leave a store that records
        # it, and a locked or mismatched store fails before any fitting.
        search = _session_search(reducers, levels, metrics, spaces, label_free, random_state,
                                 progress)
        search.check_grid(int(np.prod(arr.shape[1:])))
        self.store = ActiveStore(
            store, fingerprint=data_fingerprint(arr, ids), ids=ids, config=self.config,
            steal_lock=steal_lock,
        )
        self.adoption = self.store.adoption
        if self.adoption is not None:
            warnings.warn(describe_adoption(self.adoption), UserWarning, stacklevel=2)
        try:
            self.search_ = (search.fit(arr, progress=fit_progress) if fitted_search is None
                            else _checked_search(fitted_search, search, arr))
            self.space = self.search_.space_  # the same data and seed: no second build
            self._learn_features = np.hstack([self.space.coords, self.search_.train_ranks_])
            self.refit()
        except BaseException:  # release the store's lock: a retry must not find it held
            self.store.close()
            raise

    # ------------------------------------------------------------------ labels
    def _idx(self, obj: Candidate | Any) -> int:
        oid = obj.id if isinstance(obj, Candidate) else str(obj)
        if oid not in self._index:
            raise StoreError(f"Unknown object id {oid!r}: it is not among the {len(self.ids)} "
                             "objects of this session.")
        return self._index[oid]

    def label(self, obj: Candidate | Any, value: str, cls: str | None = None) -> None:
        """Record a label ("interesting" or "boring", optional class tag); committed at once.

        The ranking changes at the next :meth:`refit`.
        """
        oid = obj.id if isinstance(obj, Candidate) else str(obj)
        self.store.add(oid, value, cls)

    def undo(self) -> tuple[str, str, str | None] | None:
        """Take back the most recent label, as if it had not been given; returns its
        (id, label, cls), or None when there is none. The ranking changes at the next
        :meth:`refit`."""
        return self.store.undo()

    def labels(self) -> pd.DataFrame:
        """The latest label of every labelled object, in the order they were (re)labelled."""
        current = self.store.current()
        return pd.DataFrame({
            "id": pd.Series(list(current), dtype=object),
            "label": pd.Series([v[0] for v in current.values()], dtype=object),
            "cls": pd.Series([v[1] for v in current.values()], dtype=object),
        })

    def _label_vector(self) -> tuple[np.ndarray, list[tuple[int, str]]]:
        y = np.full(len(self.ids), -1, dtype=np.int64)
        tagged: list[tuple[int, str]] = []
        for oid, (lab, cls, _) in self.store.current().items():
            i = self._index[oid]
            y[i] = 1 if lab == "interesting" else 0
            if cls:
                tagged.append((i, cls))
        return y, tagged

    # ------------------------------------------------------------------ ranking
    def refit(self) -> ActiveSession:
        """Re-select configurations and re-rank with all labels so far.

        Runs with one BLAS / OpenMP thread: its arithmetic is many small products (a
        logistic regression on a few hundred rows, kernels against a few labels), where
        threads gain nothing and, on a busy machine, wait on each other (100,000 objects
        with 20 labels on a loaded 2-CPU machine: 0.58-0.90 s with two threads, 0.12-0.15 s
        with one; docs/workbench.md). The ranking is the same either way (tested).
        """
        with threadpool_limits(limits=1):
            return self._refit()

    def _refit(self) -> ActiveSession:
        y, tagged = self._label_vector()
        # DramaSearch's own few-label choice (re-selected, never refitted); boring labels
        # alone leave it label-free, the session's relevance model uses them meanwhile.
        self.search_.select(y if (y == 1).any() else None)
        anomaly = rank_normalise(self.search_.decision_scores_)
        prior = anomaly
        if self.model == "logistic":
            prior = learned_prior(self._learn_features, y, anomaly,
                                  boring_features=self.space.coords,
                                  random_state=self.random_state, **self.learned_options)
        known = np.flatnonzero(y >= 0)
        coords, width = self.space.coords, self.space.bandwidth * self.bandwidth
        p = relevance_at(coords, coords[known], y[known].astype(np.float64), prior, width,
                         self.alpha)
        score = p.copy()
        # Labelled objects go to the ends: the scientist has already said what they are.
        score[y == 1] = 2.0 + anomaly[y == 1]
        score[y == 0] = -1.0 + anomaly[y == 0]
        tag_idx = np.asarray([i for i, _ in tagged], dtype=np.int64)
        cls, conf = class_votes(coords, coords[tag_idx], [c for _, c in tagged], width)
        for i, c in tagged:  # a labelled object's class is the one it was given
            cls[i], conf[i] = c, 1.0
        if not known.size:  # no label to base a probability on: none is claimed
            p = np.full(len(p), np.nan)
        self.anomaly_, self.p_interesting_, self.scores_ = anomaly, p, score
        self.classes_, self.class_confidence_ = cls, conf
        self.chosen_configurations_ = list(self.search_.weights_.index)
        self.selection_ = self.search_.selection_
        self.y_ = y
        return self

    def next(self, k: int = 1, strategy: str | None = None) -> list[Candidate]:
        """The k unlabelled objects to inspect next, best first, with the reason."""
        strategy = strategy or self.strategy
        if strategy not in STRATEGIES:
            raise ValueError(
                f"Unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}."
            )
        labelled = self.y_ >= 0
        k = min(int(k), int((~labelled).sum()))
        if k <= 0:
            return []
        known = np.flatnonzero(labelled)
        picks = STRATEGIES[strategy](
            self.scores_, labelled, k, prior=self.anomaly_,
            distance=lambda: self.space.nearest_distance(known), n_asked=int(labelled.sum()),
        )
        out = []
        for i, why in picks:
            reason = f"{why}: anomaly percentile {self.anomaly_[i]:.3f}"
            if np.isfinite(self.p_interesting_[i]):
                reason += f", P(interesting) {self.p_interesting_[i]:.2f}"
            out.append(Candidate(
                id=self.ids[i], score=float(self.scores_[i]), anomaly=float(self.anomaly_[i]),
                p_interesting=float(self.p_interesting_[i]), reason=reason,
                predicted_class=self.classes_[i], class_confidence=float(self.class_confidence_[i]),
            ))
        return out

    def ranking(self) -> pd.DataFrame:
        """Every object, most promising first, with its scores, label and proposed class."""
        lab = np.where(self.y_ == 1, "interesting", np.where(self.y_ == 0, "boring", ""))
        frame = pd.DataFrame({
            "id": self.ids, "score": self.scores_, "anomaly": self.anomaly_,
            "p_interesting": self.p_interesting_, "label": lab,
            "predicted_class": self.classes_, "class_confidence": self.class_confidence_,
        })
        order = np.argsort(-self.scores_, kind="stable")
        return frame.iloc[order].reset_index(drop=True)

    def discovery_curve(self, y_true: Any = None) -> np.ndarray:
        """Interesting objects found after k labels (in labelling order).

        With ``y_true`` (1 = interesting), the curve of the current ranking instead.
        """
        if y_true is not None:
            from drama.metrics import discovery_curve

            return discovery_curve(y_true, self.scores_)
        first: dict[str, str] = {}
        for _, oid, lab, _, _ in self.store.history():
            first.setdefault(oid, lab)  # a relabel is not a new discovery
        return np.cumsum([lab == "interesting" for lab in first.values()], dtype=np.int64)

    def predict_class(self, ids: Iterable[Any] | None = None) -> pd.DataFrame:
        """Proposed class and confidence (0-1) from the class-tagged labels."""
        idx = np.arange(len(self.ids)) if ids is None else np.asarray(
            [self._idx(i) for i in ids], dtype=np.int64)
        return pd.DataFrame({
            "id": [self.ids[i] for i in idx],
            "predicted_class": self.classes_[idx],
            "confidence": self.class_confidence_[idx],
        })

    def deviations(self, obj: Candidate | Any, top: int = 5) -> pd.DataFrame:
        """Features that deviate most from the median, in robust z units (IQR / 1.349; the
        relevance model's feature space holds both)."""
        i = self._idx(obj)
        median = self.space.median
        z = (self.X[i].reshape(-1) - median) / (self.space.spread / 1.349)
        names = self.feature_names or [f"x{j}" for j in range(len(z))]
        order = np.argsort(-np.abs(z), kind="stable")[:top]
        return pd.DataFrame({
            "feature": [names[j] for j in order],
            "value": self.X[i].reshape(-1)[order],
            "median": median[order],
            "robust_z": z[order],
        })

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Release the store (labels are already committed)."""
        self.store.close()
        if self._memory_dir is not None:
            self._memory_dir.cleanup()
            self._memory_dir = None

    def __enter__(self) -> ActiveSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

