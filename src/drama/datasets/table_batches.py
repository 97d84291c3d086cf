"""FITS and HDF5 tables read a batch of rows at a time, for scoring tables larger than memory
(:mod:`drama.streaming`).

Each batch is converted as the whole-table readers convert a table
(``drama.datasets.astro_tables``, ``drama.datasets.hdf5_tables``): masked cells
missing, text as str, a vector column expanded, pandas' stored row index as the column
``index``; so a table scored in batches gives the rows the in-memory reader gives. A FITS
table is memory-mapped and sliced; an HDF5 table is read by row ranges through h5py. Only
what a batch needs is in memory. A file cut short is refused by name before any row is read.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["fits_batches", "hdf5_batches"]

# astropy's own HDF5 metadata (units, masks as extra columns): its tables are read whole
_ASTROPY_META = "__table_column_meta__"


def _truncated(path: Path, what: str) -> ValueError:
    return ValueError(f"{path.name} is not a readable {what} table (truncated or damaged?): "
                      "it ends before its table does; fetch or write it again.")


def fits_batches(path: Path, rows: int, hdu: int | str | None = None
                 ) -> Generator[pd.DataFrame, None, None]:
    """The chosen table HDU (by default the first) of a FITS file, ``rows`` rows at a time
    (row labels: the file's row numbers). As astropy reads a table by path, an integer
    column's TNULL cells and empty text are missing, and text is stripped of trailing
    blanks."""
    from astropy.io import fits
    from astropy.table import Column, MaskedColumn, Table
    from astropy.utils.exceptions import AstropyUserWarning

    from .astro_tables import _table_hdu_index, table_to_frame

    source = os.fspath(path)
    with warnings.catch_warnings():  # astropy's warning of a truncated file: refused below
        warnings.filterwarnings("ignore", "File may have been truncated", AstropyUserWarning)
        hdul = fits.open(path, memmap=True, lazy_load_hdus=False)
    with hdul:
        table = hdul[_table_hdu_index(hdul, hdu, source)]
        header = table.header
        n = int(header["NAXIS2"])
        needed = int(header["NAXIS1"]) * n + int(header.get("PCOUNT", 0))
        if table.fileinfo()["datLoc"] + needed > path.stat().st_size:
            raise _truncated(path, "FITS")
        data = table.data
        for start in range(0, n, rows):
            chunk, columns = data[start:start + rows], Table()
            for column in chunk.columns:
                values = chunk[column.name]
                if column.null is not None:
                    mask = values == column.null
                elif values.dtype.kind in "SU":
                    values = np.strings.rstrip(values)
                    mask = values == values.dtype.type()
                else:
                    mask = None
                columns[column.name] = (MaskedColumn(values, mask=mask)
                                        if mask is not None and mask.any() else Column(values))
            frame = table_to_frame(columns, source)
            yield frame.set_axis(pd.RangeIndex(start, start + len(frame)))


def hdf5_batches(path: Path, rows: int, name: str | None = None
                 ) -> Generator[pd.DataFrame, None, None]:
    """The table ``name`` (by default the first) of an HDF5 file, ``rows`` rows at a time
    (row labels: the file's row numbers): a dataset of named fields (pandas' "table"
    layout with ``data_columns=True``, h5py, astropy without metadata) or pandas' "fixed"
    layout."""
    import h5py
    from astropy.table import Table

    from .astro_tables import TableChoiceError, table_to_frame
    from .hdf5_tables import _INDEX_COLUMN, _WAY_OUT, _fixed_frame, _tables, plain_index

    source = os.fspath(path)
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"{path.name} is not a readable HDF5 table (truncated or damaged?): "
                         f"{exc}") from None
    with handle:
        tables = _tables(handle)
        key = next(iter(tables), None) if name is None else name.strip("/")
        if key not in tables:
            raise TableChoiceError(f"{source} has no table {name or ''!r}; its tables: "
                                   f"{list(tables) or 'none'}.")
        node: Any = handle[key]
        layout = tables[key]
        if layout == "pandas-fixed":
            plain, n = plain_index(node), len(node["axis1"])
        else:
            n = len(node)
            blocks = [f for f in node.dtype.names if f.startswith("values_block_")]
            if (layout == "pandas-table" and blocks) or f"{key}.{_ASTROPY_META}" in handle \
                    or _ASTROPY_META in node.attrs:
                raise ValueError(f"{path.name}: table {key!r} keeps column names or masks as "
                                 "metadata that is only read with the whole table; "
                                 f"{_WAY_OUT}, to score it in batches.")
        for start in range(0, n, rows):
            part = slice(start, min(start + rows, n))
            try:
                if layout == "pandas-fixed":
                    frame = _fixed_frame(node, key, ValueError, part, plain)
                else:
                    table = Table(node[part])
                    if layout == "pandas-table" and _INDEX_COLUMN in table.colnames:
                        table.remove_column(_INDEX_COLUMN)
                    frame = table_to_frame(table, source)
            except OSError as exc:  # h5py: a chunk that is not in the file
                raise _truncated(path, "HDF5") from exc
            yield frame.set_axis(pd.RangeIndex(start, start + len(frame)))
