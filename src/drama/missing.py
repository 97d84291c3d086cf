"""What a detector does with missing values (NaN and infinities): refuse, impute or drop.

Survey catalogues have gaps (a band not observed, a masked FITS cell), and one gap must
neither stop a run without saying where nor be guessed silently. The detectors'
``missing`` parameter (and the command line's ``--missing``) chooses:

- ``"error"`` (default): refuse, naming the column, the first row and how many rows;
- ``"impute"``: fill each gap with that feature's training median (saved with the model,
  so new objects are filled the same way, whatever ``missing`` it was fitted with). Above
  :data:`MEDIAN_ROWS` training objects the medians come from that many evenly spaced rows:
  a sort of every column of a large image set would cost more than the fit;
- ``"drop"``: leave those rows out: they are not fitted on, and score NaN ("no score").

Infinities count as missing: no distance can be measured to them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from drama._validation import feature_names, first_missing

__all__ = ["MEDIAN_ROWS", "MISSING_MODES", "apply_missing", "check_missing", "missing_per_row",
           "training_medians"]

#: The values of ``missing`` (``--missing`` on the command line).
MISSING_MODES: tuple[str, ...] = ("error", "impute", "drop")
#: Training medians are exact up to this many objects, and estimated from this many evenly
#: spaced ones above it (the median of 10,000 draws is within about 1 % of the spread of
#: the true one).
MEDIAN_ROWS = 10_000

# How many columns the refusal lists by name.
_SHOWN_COLUMNS = 5


def check_missing(value: Any) -> str:
    """``value`` if it is one of :data:`MISSING_MODES`, else a ValueError naming them."""
    if not isinstance(value, str) or value not in MISSING_MODES:
        raise ValueError(f"missing (--missing) must be one of {', '.join(MISSING_MODES)}; "
                         f"got {value!r}.")
    return value


def missing_per_row(arr: np.ndarray) -> np.ndarray:
    """How many values of each object (row of ``arr``) are NaN or infinite."""
    return (~np.isfinite(arr.reshape(len(arr), -1))).sum(axis=1)


def training_medians(arr: np.ndarray) -> np.ndarray:
    """Each feature's median over its finite values (NaN where it has none), from at most
    :data:`MEDIAN_ROWS` evenly spaced objects."""
    flat = arr.reshape(len(arr), -1)
    if len(flat) > MEDIAN_ROWS:
        flat = flat[np.linspace(0, len(flat) - 1, MEDIAN_ROWS).astype(np.intp)]
    bad = ~np.isfinite(flat)
    if not bad.any():
        return np.median(flat, axis=0)
    medians = np.full(flat.shape[1], np.nan)
    present = ~bad.all(axis=0)
    medians[present] = np.nanmedian(np.where(bad, np.nan, flat)[:, present], axis=0)
    return medians


def _column_names(X: Any, width: int) -> list[str]:
    names = feature_names(X)
    return [f"feature {j}" for j in range(width)] if names is None else [repr(n) for n in names]


def _refusal(X: Any, arr: np.ndarray, bad: np.ndarray) -> ValueError:
    """The ``missing="error"`` message: how many rows, where the first gap is, by column."""
    rows = int(bad.any(axis=1).sum())
    counts = bad.sum(axis=0)
    names = _column_names(X, bad.shape[1])
    worst = [j for j in np.argsort(-counts, kind="stable") if counts[j]][:_SHOWN_COLUMNS]
    by_column = ", ".join(f"{names[j]} {int(counts[j])}" for j in worst)
    more = int((counts > 0).sum()) - len(worst)
    return ValueError(
        f"X contains NaN or infinite values in {rows} of {len(arr)} rows (first at "
        f"{first_missing(X, arr)}; by column: {by_column}{f' and {more} more' if more else ''})."
        " Fill them with the training medians (missing='impute', --missing impute on the "
        "command line), leave those rows out (missing='drop'), or clean them first."
    )


def _like(X: Any, values: np.ndarray, rows: np.ndarray | None) -> Any:
    """``values`` in the form of ``X``: a pandas table keeps its column names and the
    labels of the rows kept (the detectors check names and report row labels)."""
    if not hasattr(X, "columns"):
        return values
    import pandas as pd

    index = getattr(X, "index", None)
    if index is not None and rows is not None:
        index = index[rows]
    return pd.DataFrame(values.reshape(len(values), -1), columns=list(X.columns), index=index)


def apply_missing(X: Any, arr: np.ndarray, mode: str, medians: np.ndarray | None,
                  *, at_fit: bool) -> tuple[Any, np.ndarray | None]:
    """``X`` (``arr`` is it as an array) with its missing values handled by ``mode``, and
    the mask of the rows kept (None: every row). ``X`` is returned as it is when nothing
    is missing. ``medians`` are the training medians (None: a model saved without them)."""
    flat = arr.reshape(len(arr), -1)
    bad = ~np.isfinite(flat)
    if not bad.any():
        return X, None
    if mode == "error":
        raise _refusal(X, arr, bad)
    if mode == "impute":
        if medians is None:
            raise ValueError("This model kept no training medians (it was saved by an older "
                             "DRAMA), so it cannot impute; refit it, or use missing='drop'.")
        empty = [j for j in np.flatnonzero(bad.any(axis=0)) if not np.isfinite(medians[j])]
        if empty:
            names = _column_names(X, flat.shape[1])
            raise ValueError(f"{', '.join(names[j] for j in empty[:_SHOWN_COLUMNS])} has no "
                             "finite value in the training data, so there is no median to "
                             "impute with; leave that column out.")
        filled = np.where(bad, medians, flat).reshape(arr.shape)
        return _like(X, filled, None), None
    kept = ~bad.any(axis=1)
    if at_fit and not kept.any():
        raise ValueError(f"Every one of the {len(arr)} rows has a NaN or infinite value, so "
                         "missing='drop' leaves nothing to fit; use missing='impute' or leave "
                         "the emptiest columns out.")
    return _like(X, arr[kept], kept), kept
