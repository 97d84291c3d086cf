"""Why a candidate is where it is: a few sentences for the object pane.

Three reasons make an object's place in the list: DRAMA's score (its percentile among the
objects), the configurations of the ranking that rank it high (each configuration's own
rank of the object, ``DramaSearch.train_ranks_``), and, once there are labels, the
session's relevance model (P(interesting), from the labelled objects near it) and the
order in which the session would ask (its strategy's reason, :meth:`ActiveSession.next`).
The sentences hold ids and labels from the data; the page shows them as text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from drama.active import ActiveSession

__all__ = ["HIGH", "why_proposed"]

HIGH = 0.9  # a configuration "ranks it high" when it puts it in its top 10 %
_NAMED = 5  # configurations named at most
_QUEUE = 50  # how far down the session's queue the reason is looked for


def _configurations(session: ActiveSession, i: int) -> str:
    """Which configurations of the ranking rank object ``i`` high, the heaviest first."""
    search = session.search_
    column = {str(name): j for j, name in enumerate(search.train_scores_.columns)}
    weights = search.weights_[search.weights_ > 0].sort_values(ascending=False, kind="stable")
    ranks = {str(c): float(search.train_ranks_[i, column[str(c)]]) for c in weights.index}
    high = [c for c in ranks if ranks[c] >= HIGH]
    if not high:
        return (f"None of the {len(ranks)} configurations of the ranking puts it in its top "
                f"{100 * (1 - HIGH):.0f} %: its place comes from the blend of them.")
    named = ", ".join(f"{c} (its top {max(100 * (1 - ranks[c]), 0.1):.1f} %, weight "
                      f"{weights[c]:.3f})" for c in high[:_NAMED])
    more = f" and {len(high) - _NAMED} more" if len(high) > _NAMED else ""
    return (f"{len(high)} of the {len(ranks)} configurations of the ranking put it in their "
            f"top {100 * (1 - HIGH):.0f} %: {named}{more}.")


def _labels_near(session: ActiveSession, i: int, current: dict[str, tuple],
                 index: dict[str, int]) -> str | None:
    """P(interesting) and the labelled object nearest to object ``i``, or None before the
    first label."""
    if not np.isfinite(session.p_interesting_[i]) or not current:
        return None
    labelled = [(oid, value[0]) for oid, value in current.items() if oid != session.ids[i]]
    if not labelled:
        return None
    rows = np.asarray([index[oid] for oid, _ in labelled])
    coords = session.space.coords
    distance = np.linalg.norm(coords[rows] - coords[i], axis=1) / session.space.bandwidth
    k = int(np.argmin(distance))
    side = "near" if distance[k] <= 2.0 else "far from"
    return (f"P(interesting) {session.p_interesting_[i]:.2f} from the labels so far: it lies "
            f"{side} the labelled objects; the nearest, {labelled[k][0]} "
            f"({labelled[k][1]}), is {distance[k]:.1f} kernel widths away.")


def _queue(session: ActiveSession, i: int, label: str | None) -> str:
    """Where the session's own order puts object ``i``, and its strategy's reason."""
    if label is not None:
        end = "top" if label == "interesting" else "bottom"
        return f"It is labelled {label}, so the ranking puts it at the {end}."
    asked = session.next(_QUEUE)
    for place, candidate in enumerate(asked, start=1):
        if candidate.id == session.ids[i]:
            return (f"The session ({session.strategy} strategy) would ask it as number "
                    f"{place}: {candidate.reason}.")
    return (f"The session ({session.strategy} strategy) would not ask it among its next "
            f"{len(asked)}.")


def why_proposed(session: ActiveSession, i: int, rank: int, current: dict[str, tuple],
                 index: dict[str, int]) -> list[str]:
    """Sentences on why object ``i`` (``rank`` in the list; ``current``: the store's
    labels by id; ``index``: every id's row) is where it is."""
    n = len(session.ids)
    label = current[session.ids[i]][0] if session.ids[i] in current else None
    sentences = [f"Rank {rank} of {n}; DRAMA's score puts it above "
                 f"{100 * session.anomaly_[i]:.1f} % of the objects.",
                 _configurations(session, i)]
    near = _labels_near(session, i, current, index)
    if near is not None:
        sentences.append(near)
    sentences.append(_queue(session, i, label))
    return sentences
