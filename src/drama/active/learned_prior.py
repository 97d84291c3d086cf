"""What the labels teach the active session: the kernel relevance model of
:mod:`drama.kernel_relevance`, a logistic model that carries labels to regions without any, and a
class proposal (the same kernel votes among the labels that carry a class tag).
"""

from __future__ import annotations

import inspect
import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np

from drama.kernel_relevance import KERNEL_CHUNK_ROWS, gaussian_kernel
from drama.ranks import rank_normalise

__all__ = ["class_votes", "learned_prior", "resolve_learned_options"]


def class_votes(
    coords: np.ndarray, tagged: np.ndarray, classes: list[str], width: float,
    alpha: float = 0.2,
) -> tuple[np.ndarray, np.ndarray]:
    """Proposed class and confidence for every object from kernel votes of tagged labels.

    ``coords`` are every object's coordinates, ``tagged`` those of the labelled objects
    that carry a class tag, ``classes`` their tags and ``width`` the kernel's width. The
    confidence is the winning class's share of the vote, with ``alpha`` votes for "none of
    these", so that objects far from every tagged label get a low confidence instead of a
    confident guess. Rows are done a chunk at a time, so memory stays bounded.
    """
    n = len(coords)
    if len(tagged) == 0:
        return np.full(n, None, dtype=object), np.zeros(n)
    names = sorted(set(classes))
    tags = np.asarray(classes, dtype=object)
    votes = np.empty((n, len(names)))
    for start in range(0, n, KERNEL_CHUNK_ROWS):
        part = slice(start, start + KERNEL_CHUNK_ROWS)
        K = gaussian_kernel(coords[part], tagged, width)
        votes[part] = np.column_stack([K[:, tags == c].sum(axis=1) for c in names])
    best = votes.argmax(axis=1)
    confidence = votes[np.arange(n), best] / (votes.sum(axis=1) + alpha)
    return np.asarray(names, dtype=object)[best], confidence


def learned_prior(
    features: np.ndarray,
    y: np.ndarray,
    prior: np.ndarray,
    *,
    boring_features: np.ndarray | None = None,
    min_each: int = 1,
    min_boring_alone: int = 5,
    n_unlabelled: int = 300,
    unlabelled_weight: float = 0.2,
    max_weight: float = 0.95,
    half_weight_at: float = 3.0,
    C: float = 0.1,
    random_state: int | None = 0,
) -> np.ndarray:
    """Mix the anomaly prior with a logistic model of "interesting" learned from the labels.

    Why: the kernel only speaks near labelled objects; a linear model on the features
    and on DRAMA's configuration percentiles carries what the labels teach to regions
    without labels (e.g. "high in feature 3 is what matters"). A sample of unlabelled
    objects enters as weak negatives, since most objects are normal. The model's share
    grows with the number of labels n as ``max_weight * n / (n + half_weight_at)``, from
    ``min_each`` interesting and ``min_each`` boring labels on. The defaults (1, 0.95, 3)
    let the labels take over soon; they were chosen leave-one-task-out against the
    earlier (2, 0.8, 10) and other variants (``docs/active.md``). ``C`` is the inverse
    regularisation strength of the logistic regression: 0.1 rather than scikit-learn's 1,
    because a few dozen labels on many collinear columns (the features and every
    configuration's percentile) are easily fitted too closely; chosen leave-one-task-out
    among 1, 0.3 and 0.1 (``docs/active.md``).

    Before the first interesting label, from ``min_boring_alone`` boring labels on (0:
    never), the model learns boring against the unlabelled sample instead, on
    ``boring_features`` (default ``features``), and its rank times the prior's takes the
    learned share: anomalous objects unlike the boring ones rise. Why: boring answers at
    the top say that the prior's idea of unusual is not the scientist's; without this they
    only lower their neighbours, and a session whose start is wrong asks on down the same
    wrong ranking. The product keeps the normal bulk, which is unlike the boring answers
    too, from rising above the prior's anomalies. The session passes the features without
    DRAMA's percentiles: the boring labels are the top of the prior, so on the percentiles
    the model would learn "anomalous is boring" and bury every anomaly, where on the
    features it learns which *kind* of unusual is boring. 5 was chosen leave-one-task-out
    against 0 (``docs/active.md``).
    """
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    rng = np.random.default_rng(random_state)
    free = np.flatnonzero(y < 0)
    extra = rng.choice(free, size=min(n_unlabelled, len(free)), replace=False)
    if len(pos) == 0 and 0 < min_boring_alone <= len(neg):
        # the unlabelled sample stands in for "not boring", with the boring labels' weight
        plain = features if boring_features is None else boring_features
        unlike_boring = _logistic_rank(plain, [extra, neg], [0.5, 0.5], C)
        learned = rank_normalise(prior * unlike_boring)
    elif len(pos) < min_each or len(neg) < min_each:
        return prior
    else:
        learned = _logistic_rank(features, [pos, neg, extra], [0.5, 0.5, unlabelled_weight], C)
    n_lab = len(pos) + len(neg)
    w = max_weight * n_lab / (n_lab + half_weight_at)
    return (1.0 - w) * prior + w * learned


def _logistic_rank(features: np.ndarray, groups: list[np.ndarray], shares: list[float],
                   C: float) -> np.ndarray:
    """Percentile of a weighted logistic regression of the first group (target 1) against
    the others (target 0); each group carries its ``share`` of the weight, however large."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    rows = np.concatenate(groups)
    target = np.concatenate([np.full(len(g), float(j == 0)) for j, g in enumerate(groups)])
    weight = np.concatenate([np.full(len(g), share / max(len(g), 1))
                             for g, share in zip(groups, shares, strict=True)])
    clf = LogisticRegression(C=C, max_iter=500)
    # On many collinear percentiles lbfgs may stop at 500 iterations short of its
    # tolerance; that model is the one the discovery benchmarks measured, so it is used
    # as it is rather than warned about at every refit of an interactive session.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(features[rows], target, sample_weight=weight * len(rows))
    return rank_normalise(clf.decision_function(features))


# The tunable options of learned_prior: their type and the smallest value each may take.
_LEARNED_LIMITS: dict[str, tuple[type, float]] = {
    "min_each": (int, 1), "min_boring_alone": (int, 0), "n_unlabelled": (int, 0),
    "max_weight": (float, 0.0), "half_weight_at": (float, 0.0),
    "unlabelled_weight": (float, 0.0), "C": (float, 0.0),
}


def resolve_learned_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """Every option of :func:`learned_prior`, the given ones checked and the rest at their
    defaults. Why resolve: a label store records exactly what ranks, so equal settings
    written differently (3 or 3.0, or left out) open the same store, and a bad value fails
    before any work instead of at the first refit."""
    given = dict(options or {})
    unknown = sorted(set(given) - set(_LEARNED_LIMITS))
    if unknown:
        raise ValueError(f"Unknown learned_options {unknown}; choose from "
                         f"{', '.join(sorted(_LEARNED_LIMITS))}.")
    defaults = inspect.signature(learned_prior).parameters
    resolved: dict[str, Any] = {}
    for name, (kind, least) in _LEARNED_LIMITS.items():
        value = given.get(name, defaults[name].default)
        ok_type = isinstance(value, Integral if kind is int else Real) and \
            not isinstance(value, bool)
        # written as "not within" so that NaN, which fails every comparison, is refused
        if not ok_type or not value >= least or (name == "C" and not value > 0) or \
                (name == "max_weight" and not value <= 1):
            bound = {"C": "> 0", "max_weight": "in [0, 1]"}.get(
                name, f">= {least}{' (an integer)' if kind is int else ''}")
            raise ValueError(f"learned_options[{name!r}] must be {bound}; got {value!r}.")
        resolved[name] = kind(value)
    return resolved
