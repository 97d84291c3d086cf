"""Query strategies: which unlabelled objects the scientist should look at next.

- ``top``: the highest combined score (exploitation): the best use of a small budget when
  the ranking is already good.
- ``balanced``: mostly ``top``, but every ``explore_every``-th query goes to the most
  anomalous object in a region that no label has reached yet. Why: a ranking that has
  only been corrected near its first finds keeps digging the same hole; a look elsewhere
  tells the relevance model about kinds of anomaly it has not seen.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["STRATEGIES", "Pick", "balanced", "top_score"]

Pick = tuple[int, str]


def top_score(
    score: np.ndarray, labelled: np.ndarray, k: int, **_: object
) -> list[Pick]:
    """The k unlabelled objects with the highest combined score."""
    order = np.argsort(-score, kind="stable")
    free = order[~labelled[order]][:k]
    return [(int(i), "top score") for i in free]


def balanced(
    score: np.ndarray,
    labelled: np.ndarray,
    k: int,
    *,
    prior: np.ndarray,
    distance: Callable[[], np.ndarray],
    n_asked: int,
    explore_every: int = 4,
    far: float = 2.0,
    **_: object,
) -> list[Pick]:
    """``top`` picks, with every ``explore_every``-th query an exploration pick.

    An exploration pick is the unlabelled object with the highest anomaly prior among
    those more than ``far`` kernel widths from every labelled object (the farthest one
    if none is that far).
    """
    picks: list[Pick] = []
    taken = labelled.copy()
    dist: np.ndarray | None = None
    for j in range(k):
        explore = n_asked > 0 and (n_asked + j + 1) % explore_every == 0
        if explore:
            if dist is None:
                dist = distance()
            free = ~taken
            region = free & (dist > far)
            if region.any():
                i = int(np.flatnonzero(region)[np.argmax(prior[region])])
                reason = (f"explore: anomalous object in an unlabelled region "
                          f"(nearest label {dist[i]:.1f} kernel widths away)")
            else:
                cand = np.flatnonzero(free)
                i = int(cand[np.argmax(dist[cand])])
                reason = "explore: the object farthest from every label"
            picks.append((i, reason))
            taken[i] = True
            continue
        (i, reason), = top_score(score, taken, 1)
        picks.append((i, reason))
        taken[i] = True
    return picks


STRATEGIES: dict[str, Callable[..., list[Pick]]] = {"top": top_score, "balanced": balanced}
