"""DRAMA-active's rows of the benchmark's ``active`` protocol: a simulated scientist answers
an :class:`~drama.active.ActiveSession`'s queries, and the row records what it found and how
the final ranking does on the objects it never saw.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from drama.active.session import ActiveSession
from drama.active.simulate import default_budget, simulate_discovery
from drama.metrics import auc_score, mcc_score, rws_score

__all__ = ["active_protocol_row"]


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
