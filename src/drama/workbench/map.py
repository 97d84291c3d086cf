"""The 2-D map of every object: where DRAMA's ranking sees it, coloured by score, label or
predicted class, and the objects inside a lasso drawn on it.

The map is DRAMA's own latent map: the latent space of the configuration that carries the
ranking (the tree configuration with the largest weight, :func:`.prototypes.leading_configuration`),
as its reducer encodes the objects at the root split (:meth:`drama.Drama.encode`): its two
latent axes when it has two, else the two main axes of its codes; the reducer ``none``
encodes the robust-scaled features themselves, so it is their two main axes. It is made once
when a run is fitted and saved with the fit (:mod:`.saved_runs`). Up to ``max_points``
objects of the window asked for (all of them, or the part a zoom shows) are sent as points;
above that the server bins that window (``bins`` x ``bins`` cells, each with its count, mean
score and its highest-scoring object), so the page draws a fixed number of cells however
many objects there are, and detail grows as the page zooms in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from drama.search import parse_config
from drama.whole_set import is_whole_set

from .prototypes import leading_configuration

if TYPE_CHECKING:  # pragma: no cover
    from drama.active import ActiveSession
    from drama.search import DramaSearch

__all__ = ["MAX_POINTS", "SELECTION_LIMIT", "MapSpace", "inside", "latent_map", "map_view",
           "parse_polygon", "selection"]

MAX_POINTS = 20_000
BINS = 150
SELECTION_LIMIT = 200  # a lasso lists this many of its objects (and counts them all)


@dataclass(frozen=True)
class MapSpace:
    """Every object's place on the map and what the two axes are."""

    xy: np.ndarray  # (n, 2)
    configuration: str  # the configuration whose latent space is drawn
    description: str  # a sentence for the page: which space this is
    axes: tuple[str, str]


def _carrying_configuration(search: DramaSearch) -> str:
    """The tree configuration that carries the ranking: the leading one by weight, else
    (no tree configuration weighs) the tree configuration the search ranks first."""
    leading = leading_configuration(search)
    if leading is not None:
        return leading[0]
    res = search.results_.sort_values("rank", kind="stable")
    trees = res[~res["config"].map(lambda c: is_whole_set(parse_config(c)))]
    return str(trees["config"].iloc[0])


def latent_map(search: DramaSearch, X: np.ndarray) -> MapSpace:
    """The objects ``X`` in the latent space of the configuration carrying the ranking:
    its root reducer's codes, on their two main axes when there are more than two."""
    from drama.run_report import _two_dimensions

    name = _carrying_configuration(search)
    reducer = parse_config(name)["reducer"]
    codes = search.estimators_[reducer].encode(X)
    xy, _ = _two_dimensions(codes)
    width = codes.shape[1]
    if reducer == "none":
        what = (f"the scaled features of {name} (reducer none: no latent space)"
                + (", on their two main axes" if width > 2 else ""))
        axes = ("main axis 1", "main axis 2") if width > 2 else ("feature 1", "feature 2")
    elif width > 2:
        what = f"the {width}-D latent space of {name}'s reducer ({reducer}), on its two main axes"
        axes = ("main latent axis 1", "main latent axis 2")
    else:
        what = f"the latent space of {name}'s reducer ({reducer}), its own axes"
        axes = ("latent 1", "latent 2" if width == 2 else "")
    return MapSpace(np.ascontiguousarray(xy, dtype=np.float64), name,
                    f"DRAMA's map: {what}, the tree configuration leading the ranking "
                    "when the run was fitted", axes)


def _rounded(values: np.ndarray) -> list[float]:
    return np.round(values.astype(np.float64), 4).tolist()


def _check_window(window: Sequence[float] | None) -> tuple[float, float, float, float] | None:
    if window is None:
        return None
    x0, x1, y0, y1 = (float(v) for v in window)
    if not (np.isfinite([x0, x1, y0, y1]).all() and x0 < x1 and y0 < y1):
        raise ValueError("A map window is x0 < x1 and y0 < y1, finite numbers; got "
                         f"{list(window)!r}.")
    return x0, x1, y0, y1


def map_view(session: ActiveSession, space: MapSpace, labelled: dict[str, str], *,
             max_points: int = MAX_POINTS, bins: int = BINS,
             window: Sequence[float] | None = None) -> dict[str, Any]:
    """The objects inside ``window`` (x0, x1, y0, y1; every object when None) as points
    (id, x, y, score, label, class) when there are at most ``max_points`` of them, else
    that window binned into ``bins`` x ``bins`` cells."""
    if max_points < 1 or bins < 2:
        raise ValueError("max_points must be at least 1 and bins at least 2.")
    box = _check_window(window)
    xy = space.xy
    scores = np.asarray(session.scores_, dtype=np.float64)
    n = len(scores)
    shown: slice | np.ndarray
    if box is None:  # every object: no copy of a million rows
        shown, box = slice(None), (xy[:, 0].min(), xy[:, 0].max() + 1e-12,
                                   xy[:, 1].min(), xy[:, 1].max() + 1e-12)
        rows = np.arange(n)
    else:
        shown = rows = np.flatnonzero((xy[:, 0] >= box[0]) & (xy[:, 0] <= box[1])
                                      & (xy[:, 1] >= box[2]) & (xy[:, 1] <= box[3]))
    about = {"objects": n, "shown": int(len(rows)), "window": [float(b) for b in box],
             "space": space.description, "axes": list(space.axes)}
    if len(rows) <= max_points:
        return {"mode": "points", **about, "ids": [session.ids[i] for i in rows],
                "x": _rounded(xy[rows, 0]), "y": _rounded(xy[rows, 1]),
                "score": _rounded(scores[rows]),
                "label": [labelled.get(session.ids[i], "") for i in rows],
                "class": [session.classes_[i] or "" for i in rows]}
    cells = bins * bins
    column, row = (np.clip(((xy[shown, k] - box[2 * k]) * (bins / (box[2 * k + 1] - box[2 * k])))
                           .astype(np.int64), 0, bins - 1) for k in (0, 1))
    flat = row * bins + column  # row = y cell, column = x cell, as a heatmap reads
    values = scores[shown]
    count = np.bincount(flat, minlength=cells)
    total = np.bincount(flat, weights=values, minlength=cells)
    mean = np.divide(total, count, out=np.full(cells, np.nan), where=count > 0)
    top = np.full(cells, -np.inf)
    np.maximum.at(top, flat, values)
    is_top = values == top[flat]
    best = np.full(cells, -1, dtype=np.int64)
    best[flat[is_top]] = rows[is_top]  # each cell's highest-scoring object
    as_grid = lambda v: v.reshape(bins, bins)  # noqa: E731
    centres = [(b[:-1] + b[1:]) / 2 for b in (np.linspace(box[0], box[1], bins + 1),
                                               np.linspace(box[2], box[3], bins + 1))]
    return {
        "mode": "cells", **about, "bins": bins,
        "x": _rounded(centres[0]), "y": _rounded(centres[1]),
        "count": as_grid(count).tolist(),
        "mean_score": [[None if np.isnan(v) else round(float(v), 4) for v in row]
                       for row in as_grid(mean)],
        "best_id": [[session.ids[i] if i >= 0 else None for i in row] for row in as_grid(best)],
        "class": as_grid(_cell_classes(session.classes_, shown, flat, cells)).tolist(),
    }


def _cell_classes(classes: Sequence[str | None] | np.ndarray, shown: slice | np.ndarray,
                  flat: np.ndarray,
                  cells: int) -> np.ndarray:
    """The predicted class most objects of each cell have ("" for none, or no object)."""
    names = sorted({c or "" for c in classes})
    code_of = {name: k for k, name in enumerate(names)}
    codes = np.fromiter((code_of[c or ""] for c in classes), dtype=np.int64,
                        count=len(classes))[shown]
    counts = np.bincount(flat * len(names) + codes,
                         minlength=cells * len(names)).reshape(cells, len(names))
    majority = np.asarray(names, dtype=object)[counts.argmax(axis=1)]
    majority[counts.sum(axis=1) == 0] = ""
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
