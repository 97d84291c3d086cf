"""A simulated scientist: answer the session's queries from ground truth.

Used by the benchmark and the tests to measure the discovery curve, i.e. how many
interesting objects a person would have found after k looks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from drama.active.session import ActiveSession

__all__ = ["simulate_discovery"]


def simulate_discovery(
    session: ActiveSession,
    interesting: Any,
    budget: int,
    *,
    boring: Any = None,
    classes: Any = None,
    strategy: str | None = None,
    batch: int = 1,
) -> np.ndarray:
    """Run ``budget`` queries; return the cumulative count of interesting finds.

    Parameters
    ----------
    session : an open session (its store receives the labels).
    interesting : (n,) truthy for objects the oracle calls interesting.
    budget : number of objects the oracle inspects.
    boring : unused placeholder for symmetry; every non-interesting object is "boring".
    classes : (n,) optional class tag the oracle gives with each label.
    strategy : query strategy (the session's default if None).
    batch : labels given between refits.
    """
    truth = np.asarray(interesting).astype(bool)
    tags = None if classes is None else np.asarray(classes, dtype=object)
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
