"""A simulated scientist: answer the session's queries from ground truth.

Used by the benchmark and the tests to measure the discovery curve, i.e. how many
interesting objects a person would have found after k looks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from drama._validation import check_integer
from drama.active.session import ActiveSession

__all__ = ["active_protocol_row", "default_budget", "simulate_discovery"]


def default_budget(y: Any) -> int:
    """The evaluation's query budget: min(200, 2 x anomalies), and never more objects than
    there are (a set that is mostly anomalies would otherwise ask beyond its end)."""
    truth = np.asarray(y)
    return int(min(200, 2 * int((truth == 1).sum()), len(truth)))


def simulate_discovery(
    session: ActiveSession,
    interesting: Any,
    budget: int,
    *,
    classes: Any = None,
    strategy: str | None = None,
    batch: int = 1,
) -> np.ndarray:
    """Run ``budget`` queries; return the cumulative count of interesting finds. Every
    object the oracle does not call interesting is labelled "boring".

    Parameters
    ----------
    session : an open session (its store receives the labels).
    interesting : (n,) truthy for objects the oracle calls interesting.
    budget : number of objects the oracle inspects.
    classes : (n,) optional class tag the oracle gives with each label.
    strategy : query strategy (the session's default if None).
    batch : labels given between refits.
    """
    truth = np.asarray(interesting).astype(bool)
    tags = None if classes is None else np.asarray(classes, dtype=object)
    n = len(session.ids)
    for name, values in (("interesting", truth), ("classes", tags)):
        if values is not None and values.shape != (n,):
            raise ValueError(f"{name} must hold one value per object of the session ({n}); "
                             f"got shape {values.shape}.")
    check_integer(budget, "budget", minimum=0)
    check_integer(batch, "batch")
    found: list[int] = []
    while len(found) < budget:
        picks = session.next(min(batch, budget - len(found)), strategy=strategy)
        if not picks:
            break
        for cand in picks:
            i = session._index[cand.id]
            value = "interesting" if truth[i] else "boring"
            tag = None if tags is None or tags[i] is None else str(tags[i])
            session.label(cand, value, cls=tag)
            found.append(int(truth[i]))
        session.refit()
    return np.cumsum(np.asarray(found, dtype=np.int64))


def active_protocol_row(
    X: Any,
    y: Any,
    seed: int = 0,
    *,
    budget: int | None = None,
    batch: int = 5,
    **session_options: Any,
) -> dict[str, Any]:
    """One "active" protocol result, shaped like a row of ``drama.benchmark``'s runner.

    The oracle answers ``budget`` queries (default :func:`default_budget`); ``found``
    is the number of true anomalies among them. AUC, MCC and RWS judge the final ranking on
    the objects the oracle never saw, so the labels themselves cannot inflate them.
    """
    import time

    from drama.metrics import auc_score, mcc_score, rws_score

    truth = np.asarray(y, dtype=np.int64)
    budget = default_budget(truth) if budget is None else int(budget)
    start = time.perf_counter()
    with ActiveSession(X, random_state=seed, **session_options) as session:
        fit_time = time.perf_counter() - start
        curve = simulate_discovery(session, truth, budget, batch=batch)
        unseen = session.y_ < 0
        scores = session.scores_[unseen]
        config = ", ".join(session.chosen_configurations_)
    row: dict[str, Any] = {
        "found": int(curve[-1]) if len(curve) else 0,
        "budget": budget,
        "fit_time": fit_time,
        "score_time": time.perf_counter() - start - fit_time,
        "config": config,
        "selection": f"active, {budget} oracle answers, batch {batch}",
    }
    y_unseen = truth[unseen]
    if 0 < y_unseen.sum() < len(y_unseen):
        row.update(auc=auc_score(y_unseen, scores), mcc=mcc_score(y_unseen, scores),
                   rws=rws_score(y_unseen, scores))
    else:  # the oracle has seen every anomaly (or every normal): nothing left to rank
        row.update(auc=np.nan, mcc=np.nan, rws=np.nan)
    return row
