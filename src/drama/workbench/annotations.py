"""What the workbench keeps beside the label store: 0-5 ratings and skipped objects.

The label store (:mod:`drama.active.store`) holds interesting / boring answers, which the
session learns from and ``drama active`` shares. A rating is kept as given, tied to the
store's label row that it was mapped to (:func:`label_for_rating`); when that label is
undone or replaced, the rating no longer shows, so the two never disagree. Skips are not
answers: the session does not learn from them; the list puts them after the unlabelled.
Like the store, every change is committed before the call returns.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable

__all__ = ["RATINGS", "Annotations", "label_for_rating"]

RATINGS = range(6)
#: Ratings at or above this count as interesting, below it as boring.
INTERESTING_FROM = 3


def label_for_rating(rating: int) -> str:
    """The answer a 0-5 rating stands for: 3-5 interesting, 0-2 boring."""
    if isinstance(rating, bool) or not isinstance(rating, int) or rating not in RATINGS:
        raise ValueError(f"A rating is a whole number from 0 to 5; got {rating!r}.")
    return "interesting" if rating >= INTERESTING_FROM else "boring"


class Annotations:
    """A small SQLite file of ratings (per label row) and skips (per object)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._conn = sqlite3.connect(os.fspath(path), timeout=10.0, isolation_level=None)
        self._conn.executescript(
            "CREATE TABLE IF NOT EXISTS ratings (label_seq INTEGER PRIMARY KEY, "
            "object_id TEXT NOT NULL, rating INTEGER NOT NULL, created REAL NOT NULL);"
            "CREATE TABLE IF NOT EXISTS skips (object_id TEXT PRIMARY KEY, "
            "created REAL NOT NULL);"
        )

    def rate(self, label_seq: int, object_id: str, rating: int) -> None:
        """Record the rating behind the store's label row ``label_seq``."""
        label_for_rating(rating)
        self._conn.execute("INSERT OR REPLACE INTO ratings VALUES (?, ?, ?, ?)",
                           (int(label_seq), object_id, int(rating), time.time()))

    def ratings(self, label_seqs: Iterable[int]) -> dict[int, int]:
        """Rating by label row, for the rows that have one."""
        wanted = set(label_seqs)
        rows = self._conn.execute("SELECT label_seq, rating FROM ratings")
        return {int(seq): int(r) for seq, r in rows if seq in wanted}

    def skip(self, object_id: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO skips VALUES (?, ?)",
                           (object_id, time.time()))

    def unskip(self, object_id: str) -> None:
        """An answer given later replaces the skip."""
        self._conn.execute("DELETE FROM skips WHERE object_id = ?", (object_id,))

    def skipped(self) -> set[str]:
        return {row[0] for row in self._conn.execute("SELECT object_id FROM skips")}

    def close(self) -> None:
        self._conn.close()
