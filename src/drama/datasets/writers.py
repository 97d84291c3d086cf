"""Writing result tables (scores, rankings) as CSV, Parquet, FITS or VOTable.

FITS and VOTable outputs are for astronomers' tools (TOPCAT, Aladin, astropy), which
match them back to a catalogue by id. Ids must therefore come back exactly as they were
read: integers stay 64-bit integers (a 19-digit SDSS ``objid`` would round through
float64), an empty id is a masked cell rather than a number standing for one, and text
ids stay text. VOTable has no unsigned 64-bit type, so unsigned ids beyond the signed
range are written there as text.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["OUTPUT_FORMATS", "write_table_file"]

#: Suffix (lower case) -> format name of the tables DRAMA writes.
OUTPUT_FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".fits": "fits",
    ".vot": "votable",
    ".votable": "votable",
}

_INT64 = np.iinfo(np.int64)
_UINT64_MAX = int(np.iinfo(np.uint64).max)


def write_table_file(frame: pd.DataFrame, path: str | os.PathLike[str], fmt: str) -> None:
    """Write ``frame`` (all its columns, without the index) to ``path`` as ``fmt``, one of
    the values of :data:`OUTPUT_FORMATS`. ``path`` is replaced if it exists."""
    if fmt == "parquet":
        frame.to_parquet(path, index=False)
    elif fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        _to_astropy(frame, fmt).write(path, format=fmt, overwrite=True)


def _to_astropy(frame: pd.DataFrame, fmt: str) -> Any:
    from astropy.table import Table

    table = Table()
    for name in frame.columns:
        table[str(name)] = _column(frame[name], fmt)
    return table


def _column(series: pd.Series, fmt: str) -> Any:
    """One column as astropy takes it: numbers keep their type, missing cells are masked."""
    from astropy.table import Column, MaskedColumn

    missing = series.isna().to_numpy()
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        values = series.to_numpy()
        if dtype.kind == "u" and fmt == "votable" and values.size and values.max() > _INT64.max:
            return _text(series, missing)
        return Column(values)
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        # pandas' nullable Int64 / boolean / Float64: a masked numpy column
        kind = np.dtype(dtype.numpy_dtype)
        filler: Any = np.nan if kind.kind == "f" else 0
        return MaskedColumn(series.to_numpy(dtype=kind, na_value=filler), mask=missing)
    present = [v for v in series[~missing]]
    if present and all(isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_)
                       for v in present):
        whole = [int(v) for v in present]
        if _INT64.min <= min(whole) and max(whole) <= _INT64.max:
            return _masked_integers(series, missing, np.int64)
        if min(whole) >= 0 and max(whole) <= _UINT64_MAX and fmt != "votable":
            return _masked_integers(series, missing, np.uint64)
    return _text(series, missing)


def _masked_integers(series: pd.Series, missing: np.ndarray, dtype: type) -> Any:
    from astropy.table import MaskedColumn

    values: np.ndarray = np.array(
        [0 if gap else int(v) for v, gap in zip(series, missing, strict=True)], dtype=dtype)
    return MaskedColumn(values, mask=missing)


def _text(series: pd.Series, missing: np.ndarray) -> Any:
    from astropy.table import MaskedColumn

    values = np.array(["" if gap else str(v) for v, gap in zip(series, missing, strict=True)])
    return MaskedColumn(values.astype(str), mask=missing)
