"""The 2-D map of every object: where the session sees it, coloured by score or label.

The map is the session's own feature space (``ActiveSession.space.coords``: robust-scaled
features, reduced for wide data), drawn on its two main axes. Up to ``max_points`` objects
are sent as points; above that the server bins them (``bins`` x ``bins`` cells, each with
its count, mean score and its highest-scoring object), so the page draws a fixed number of
cells however many objects there are, and a click on a cell opens that cell's best object.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from drama.active import ActiveSession

__all__ = ["MAX_POINTS", "map_coordinates", "map_view"]

MAX_POINTS = 20_000
BINS = 150


def map_coordinates(session: ActiveSession) -> np.ndarray:
    """(n, 2): the session's feature space on its two main axes (computed once per run)."""
    from drama.run_report import _two_dimensions

    return np.asarray(_two_dimensions(session.space.coords)[0], dtype=np.float64)


def _rounded(values: np.ndarray) -> list[float]:
    return np.round(values.astype(np.float64), 4).tolist()


def map_view(session: ActiveSession, xy: np.ndarray, labelled: dict[str, str], *,
             max_points: int = MAX_POINTS, bins: int = BINS) -> dict[str, Any]:
    """Points (id, x, y, score, label) or, for more than ``max_points`` objects, cells."""
    if max_points < 1 or bins < 2:
        raise ValueError("max_points must be at least 1 and bins at least 2.")
    scores = np.asarray(session.scores_, dtype=np.float64)
    n = len(scores)
    if n <= max_points:
        return {"mode": "points", "objects": n, "ids": list(session.ids),
                "x": _rounded(xy[:, 0]), "y": _rounded(xy[:, 1]), "score": _rounded(scores),
                "label": [labelled.get(oid, "") for oid in session.ids]}
    edges = [np.linspace(xy[:, k].min(), xy[:, k].max() + 1e-12, bins + 1) for k in (0, 1)]
    cell = [np.clip(np.searchsorted(edges[k], xy[:, k], side="right") - 1, 0, bins - 1)
            for k in (0, 1)]
    flat = cell[1] * bins + cell[0]  # row = y cell, column = x cell, as a heatmap reads
    count = np.bincount(flat, minlength=bins * bins)
    total = np.bincount(flat, weights=scores, minlength=bins * bins)
    mean = np.divide(total, count, out=np.full(bins * bins, np.nan), where=count > 0)
    best = np.full(bins * bins, -1, dtype=np.int64)
    order = np.argsort(scores, kind="stable")  # later (higher) scores overwrite earlier
    best[flat[order]] = order
    as_grid = lambda v: v.reshape(bins, bins)  # noqa: E731
    return {
        "mode": "cells", "objects": n, "bins": bins,
        "x": _rounded((edges[0][:-1] + edges[0][1:]) / 2),
        "y": _rounded((edges[1][:-1] + edges[1][1:]) / 2),
        "count": as_grid(count).tolist(),
        "mean_score": [[None if np.isnan(v) else round(float(v), 4) for v in row]
                       for row in as_grid(mean)],
        "best_id": [[session.ids[i] if i >= 0 else None for i in row] for row in as_grid(best)],
    }
