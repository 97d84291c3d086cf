"""Dask arrays and DataFrames in :class:`drama.Drama` and :class:`drama.DramaSearch`.

A detector given a Dask collection does not gather it: ``fit`` draws a uniform sample of
at most :data:`SAMPLE_ROWS` rows from the partitions (only the partitions that hold drawn
rows are read) and fits on it in this process; the draw (``seed``, ``size``, ``n``) is kept
as ``sample_draw_`` and saved with the model, and :func:`sample_positions` gives back the
rows it drew. ``decision_function`` returns a lazy Dask array: a map over the partitions,
with the fitted model as one task of the graph, so that each worker receives it once
however many partitions it scores. Each partition is scored by the model's own in-memory
``decision_function``, so the scores are those of the same rows scored in one process
(bitwise for the same batches; within 1e-12 relative otherwise, as BLAS may sum a product
in another order for another batch shape: docs/scale.md).

Dask is imported only when a Dask collection is met; DRAMA works without it.
See docs/scale.md.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Mapping
from typing import Any

import numpy as np

from drama.seeding import library_seed

__all__ = ["SAMPLE_ROWS", "fit_sample", "is_dask", "sample_positions", "score_map"]

#: Rows a detector fits on when given a Dask collection. Each node's reducer already fits
#: on at most ``max_fit_samples`` (10,000) objects and Ward on at most 2,000; the rest of a
#: fit (the scaler's ranges, the leaves' shares, the training scores behind the threshold)
#: are estimates whose error at 100,000 rows is below a third of a percentage point, and
#: 100,000 rows of 100 float64 features (80 MB) fit in any worker's or laptop's memory.
SAMPLE_ROWS = 100_000


def is_dask(X: Any) -> bool:
    """Whether ``X`` is a Dask collection (never imports Dask: without it, nothing is)."""
    if "dask" not in sys.modules:
        return False
    from dask import is_dask_collection

    return bool(is_dask_collection(X))


def sample_positions(seed: int, size: int, n: int) -> np.ndarray:
    """The sorted row numbers a draw of ``size`` of ``n`` rows with ``seed`` takes (every
    row when ``size >= n``)."""
    if size >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


def _is_frame(X: Any) -> bool:
    return hasattr(X, "map_partitions")


def _partitions(X: Any) -> tuple[list[Any], np.ndarray]:
    """The partitions of ``X`` (Delayed, in row order) and their numbers of rows."""
    import dask

    if _is_frame(X):
        parts = list(X.to_delayed())
        return parts, np.asarray(dask.compute(*[dask.delayed(len)(p) for p in parts]), np.int64)
    X = _whole_rows(X)
    if any(np.isnan(c) for c in X.chunks[0]):
        X = X.compute_chunk_sizes()
    return list(X.to_delayed().ravel()), np.asarray(X.chunks[0], np.int64)


def _whole_rows(X: Any) -> Any:
    """A Dask array of objects chunked by rows only (each chunk holds whole objects)."""
    if X.ndim < 2:
        raise ValueError(f"A Dask array of objects needs rows and features (2 or more "
                         f"dimensions); got shape {X.shape}.")
    return X.rechunk({axis: -1 for axis in range(1, X.ndim)})


def _take(part: Any, rows: np.ndarray) -> Any:
    return part.iloc[rows] if hasattr(part, "iloc") else part[rows]


def _gather(X: Any, positions: np.ndarray, parts: list[Any], counts: np.ndarray) -> Any:
    """The rows at ``positions`` (sorted) of the partitions, in one local table or array."""
    import dask

    starts = np.concatenate([[0], np.cumsum(counts)])
    picks = []
    for part, start, stop in zip(parts, starts[:-1], starts[1:], strict=True):
        lo, hi = np.searchsorted(positions, [start, stop])
        if hi > lo:
            picks.append(dask.delayed(_take)(part, positions[lo:hi] - start))
    pieces = dask.compute(*picks)
    if _is_frame(X):
        import pandas as pd

        return pd.concat(pieces).reset_index(drop=True)
    return np.concatenate(pieces)


def fit_sample(detector: Any, X: Any, y: Any = None, rows: int = SAMPLE_ROWS) -> Any:
    """Fit ``detector`` on a uniform sample of at most ``rows`` rows of the Dask collection
    ``X`` (and the same rows of ``y``, an array or a Dask collection of one label per row,
    gathered whole), drawn with a seed from its ``random_state`` (a
    fresh one when it has none); the draw is kept in ``sample_draw_``."""
    if isinstance(rows, bool) or not isinstance(rows, (int, np.integer)) or rows < 2:
        raise ValueError(f"rows must be an integer of at least 2; got {rows!r}.")
    parts, counts = _partitions(X)
    n = int(counts.sum())
    seed = library_seed(getattr(detector, "random_state", None))
    positions = sample_positions(seed, int(rows), n)
    local = _gather(X, positions, parts, counts)
    if y is not None:  # one label per row: small enough to gather whole
        y = np.asarray(y.compute() if is_dask(y) else y)
        if len(y) != n:
            raise ValueError(f"y has {len(y)} rows and X {n}.")
        y = y[positions]
    detector.fit(local, y)
    detector.sample_draw_ = {"seed": seed, "size": len(positions), "n": n}
    return detector


def check_sample_draw(draw: Any) -> dict[str, int]:
    """A saved ``sample_draw_`` as it must be: integer seed, size and n, 0 < size <= n."""
    keys = ("seed", "size", "n")
    if (not isinstance(draw, Mapping) or set(draw) != set(keys)
            or not all(isinstance(draw[k], int) and not isinstance(draw[k], bool)
                       for k in keys)
            or not 0 < draw["size"] <= draw["n"] or draw["seed"] < 0):
        raise ValueError(f"the sample draw {draw!r} is not {{seed, size, n}} with "
                         "0 < size <= n")
    return {k: int(draw[k]) for k in keys}


def _score_block(block: np.ndarray, model: Any) -> np.ndarray:
    return np.asarray(model.decision_function(block), dtype=np.float64)


def _score_partition(part: Any, model: Any) -> Any:
    import pandas as pd

    return pd.Series(_score_block(part, model), index=part.index)


def score_map(detector: Any, X: Any) -> Any:
    """Scores of the Dask collection ``X`` as a lazy 1-D Dask array of float64, one chunk per
    partition (of unknown lengths for a DataFrame until computed). A fitted detector whose
    parameters changed since fit, or a DataFrame with other columns, is refused now, not on
    the workers."""
    import dask

    detector._check_fitted()
    detector._check_unchanged()
    model = dask.delayed(detector, name=f"drama-model-{uuid.uuid4().hex}")
    if _is_frame(X):
        import pandas as pd

        detector._check_feature_names(X._meta)
        scores = X.map_partitions(_score_partition, model, meta=pd.Series(dtype=np.float64))
        return scores.to_dask_array()
    X = _whole_rows(X)
    return X.map_blocks(_score_block, model, dtype=np.float64,
                        drop_axis=list(range(1, X.ndim)), meta=np.empty(0, np.float64))
