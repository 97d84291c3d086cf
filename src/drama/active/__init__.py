"""Active learning: the ranking learns what the scientist finds interesting.

:class:`ActiveSession` proposes objects to inspect, takes "interesting"/"boring" labels
(with an optional class tag) into a SQLite store, and re-ranks: DRAMA's configuration is
re-chosen from the labels and a relevance model pulls objects like the boring ones down
and objects like the interesting ones up. See ``docs/active.md``.
"""

from drama.active.session import ActiveSession, Candidate
from drama.active.simulate import default_budget, simulate_discovery
from drama.active.store import (
    LABELS,
    ActiveStore,
    StoreError,
    StoreLockedError,
    StoreMismatchError,
)

__all__ = [
    "LABELS",
    "ActiveSession",
    "ActiveStore",
    "Candidate",
    "StoreError",
    "StoreLockedError",
    "StoreMismatchError",
    "default_budget",
    "simulate_discovery",
]
