"""The one check every sparse matrix read from a file passes before it is densified."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["check_sparse"]


def check_sparse(n_rows: int, n_cols: int, data: np.ndarray, rows: np.ndarray,
                 col_starts: np.ndarray, where: str, refuse: Callable[[str], Exception]
                 ) -> None:
    """Refuse a compressed-column matrix whose stored structure points outside it.

    ``toarray`` trusts these arrays: a row index past the end writes outside the buffer
    (a crash) or drops the value, so a hostile or damaged file must be stopped here.
    """
    if col_starts.ndim != 1 or rows.ndim != 1 or np.ndim(data) != 1:
        raise refuse(f"{where} stores its structure in arrays that are not vectors")
    if n_rows < 0 or n_cols < 0:
        raise refuse(f"{where} declares the negative shape ({n_rows}, {n_cols})")
    if col_starts.shape[0] != n_cols + 1:
        raise refuse(f"{where} has {col_starts.shape[0]} column pointers for {n_cols} "
                     f"columns (expected {n_cols + 1})")
    if rows.dtype.kind not in "iu" or col_starts.dtype.kind not in "iu":
        raise refuse(f"{where} stores its row indices or column pointers as "
                     f"{rows.dtype}/{col_starts.dtype}, not integers")
    # as signed integers, so that a wrapped-around unsigned value counts as negative
    rows, col_starts = rows.astype(np.int64), col_starts.astype(np.int64)
    nnz = rows.shape[0]
    if col_starts[0] != 0 or col_starts[-1] != nnz or np.any(np.diff(col_starts) < 0):
        raise refuse(f"{where} has column pointers that do not rise from 0 to its {nnz} "
                     "stored values")
    if np.shape(data)[0] != nnz:
        raise refuse(f"{where} stores {np.shape(data)[0]} values for {nnz} row indices")
    if nnz and (rows.min() < 0 or rows.max() >= n_rows):
        raise refuse(f"{where} has row indices outside its {n_rows} rows "
                     f"(from {rows.min()} to {rows.max()})")
