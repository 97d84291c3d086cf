"""The 2-D map of every object: where the session sees it, coloured by score, label or
predicted class, and the objects inside a lasso drawn on it.

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

__all__ = ["MAX_POINTS", "SELECTION_LIMIT", "inside", "map_coordinates", "map_view",
           "parse_polygon", "selection"]

MAX_POINTS = 20_000
BINS = 150
SELECTION_LIMIT = 200  # a lasso lists this many of its objects (and counts them all)


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
                "label": [labelled.get(oid, "") for oid in session.ids],
                "class": [c or "" for c in session.classes_]}
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
        "class": [[c or "" for c in row] for row in as_grid(_cell_classes(session, flat,
                                                                          bins * bins))],
    }


def _cell_classes(session: ActiveSession, flat: np.ndarray, cells: int) -> np.ndarray:
    """The predicted class most objects of each cell have ("" for none, or no object)."""
    names, codes = np.unique(np.asarray([c or "" for c in session.classes_], dtype=object),
                             return_inverse=True)
    counts = np.stack([np.bincount(flat[codes == k], minlength=cells)
                       for k in range(len(names))])
    majority = names[counts.argmax(axis=0)]
    majority[counts.sum(axis=0) == 0] = ""
    return majority


def parse_polygon(text: str) -> np.ndarray:
    """``"x1,y1;x2,y2;..."`` (a lasso from the page) as a (k, 2) array of at least three
    finite vertices, or a ValueError that says the form."""
    try:
        vertices = np.asarray([[float(v) for v in pair.split(",")]
                               for pair in text.split(";") if pair.strip()], dtype=np.float64)
    except ValueError:
        vertices = np.empty((0, 0))
    if vertices.ndim != 2 or vertices.shape[1:] != (2,) or len(vertices) < 3 or \
            not np.isfinite(vertices).all():
        raise ValueError("A lasso is at least three points 'x1,y1;x2,y2;x3,y3' (numbers); "
                         f"got {text[:80]!r}.")
    return vertices


def inside(xy: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Which points of ``xy`` lie inside ``polygon`` (even-odd rule: a ray to the right
    crosses its edges an odd number of times), one edge at a time over the points inside
    the polygon's bounding box."""
    low, high = polygon.min(axis=0), polygon.max(axis=0)
    boxed = np.flatnonzero(((xy >= low) & (xy <= high)).all(axis=1))  # only these can be in
    x, y = xy[boxed, 0], xy[boxed, 1]
    hits = np.zeros(len(boxed), dtype=bool)
    for (x0, y0), (x1, y1) in zip(polygon, np.roll(polygon, -1, axis=0), strict=True):
        straddles = (y0 > y) != (y1 > y)
        if not straddles.any():
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            crossing = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
        hits ^= straddles & (x < crossing)
    within = np.zeros(len(xy), dtype=bool)
    within[boxed[hits]] = True
    return within


def selection(session: ActiveSession, xy: np.ndarray, polygon: np.ndarray,
              limit: int = SELECTION_LIMIT) -> dict[str, Any]:
    """The objects inside a lasso: how many, and the ``limit`` highest-scoring of them."""
    chosen = np.flatnonzero(inside(xy, polygon))
    scores = np.asarray(session.scores_, dtype=np.float64)
    top = chosen[np.argsort(-scores[chosen], kind="stable")[:limit]]
    return {"count": int(len(chosen)), "ids": [session.ids[i] for i in top],
            "score": _rounded(scores[top])}
