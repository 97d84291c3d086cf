"""Active-learning peers for the ``active`` protocol: coniferest's AADForest and PineForest.

They learn from the same simulated scientist as DRAMA-active: the ``batch`` top-scored
unlabelled objects are shown, the oracle answers, and the forest is refitted on every
answer so far before the next batch. ``coniferest`` comes with ``drama-anomaly[peers]``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from drama._validation import check_integer

ACTIVE_PEERS = ("AADForest", "PineForest")


def coniferest_curve(kind: str, X: np.ndarray, y: np.ndarray, budget: int, seed: int,
                     batch: int = 5) -> np.ndarray:
    """Cumulative true anomalies found after each of ``budget`` oracle answers (at most one
    per object: the budget is capped at the number of objects)."""
    try:
        from coniferest.aadforest import AADForest
        from coniferest.label import Label
        from coniferest.pineforest import PineForest
    except ImportError as exc:
        raise ImportError(
            f"{kind} needs the coniferest package: pip install 'drama-anomaly[peers]'."
        ) from exc
    if kind not in ACTIVE_PEERS:
        raise ValueError(f"Unknown active peer {kind!r}; choose from {', '.join(ACTIVE_PEERS)}.")
    check_integer(batch, "batch")
    check_integer(budget, "budget", minimum=0)
    X = np.ascontiguousarray(X.reshape(len(X), -1), dtype=np.float64)
    model = (AADForest if kind == "AADForest" else PineForest)(random_seed=seed, n_jobs=1)
    with _small_set_quiet():
        model.fit(X)
    budget = min(int(budget), len(X))
    asked: list[int] = []
    free = np.ones(len(X), dtype=bool)
    while len(asked) < budget:
        scores = np.where(free, model.score_samples(X), np.inf)  # lower = more anomalous
        for i in np.argsort(scores, kind="stable")[: min(batch, budget - len(asked))]:
            asked.append(int(i))
            free[i] = False
        known = np.where(y[asked] == 1, Label.ANOMALY, Label.REGULAR)
        with _small_set_quiet():
            model.fit_known(X, X[asked], known)
    return np.cumsum(y[asked], dtype=np.int64)


@contextmanager
def _small_set_quiet() -> Iterator[None]:
    """Silence coniferest's warning for a set smaller than its 256-object tree sample."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="population should be greater")
        yield
