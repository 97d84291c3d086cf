"""A simulated scientist: answer the session's queries from ground truth.

Used by the benchmark (:mod:`drama.benchmark.active_rows`) and the tests to measure the
discovery curve, i.e. how many interesting objects a person would have found after k looks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from drama._validation import check_integer
from drama.active.session import ActiveSession

__all__ = ["default_budget", "simulate_discovery"]


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
