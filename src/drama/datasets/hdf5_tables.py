"""HDF5 tables, read with h5py and never with pickle.

Two writers matter. astropy (``Table.write(path, path="data")``) and pandas'
``to_hdf(..., format="table", data_columns=True)`` store a table as a one-dimensional
dataset of named fields (a compound type); astropy's reader turns it into a table, with
its masks. pandas' default ``to_hdf(path, key)`` (the "fixed" layout) stores a group of
plain arrays: column names in ``axis0``, the row index in ``axis1``, and the columns in
blocks of one dtype (``blockN_items`` names them, ``blockN_values`` holds them, one row
per object). Those are read here directly.

What pandas keeps only as pickled Python objects (text columns in the fixed layout,
column names in the "table" layout without ``data_columns``) is refused with the way out:
unpickling data from a file runs code that the file chooses.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["read_hdf5_table"]

_WAY_OUT = ("write it with df.to_hdf(path, key='data', format='table', data_columns=True), "
            "or as Parquet")
_INDEX_COLUMN = "index"


def read_hdf5_table(path: Path, name: int | str | None) -> pd.DataFrame:
    """The table ``name`` (its path inside the file; by default the first one) as a
    DataFrame: masked cells missing, a vector column expanded (see
    :mod:`drama.datasets.astro_tables`)."""
    import h5py

    from .astro_tables import TableChoiceError, table_to_frame
    from .readers import _refuse_outside_data, _Unreadable

    source = os.fspath(path)
    if isinstance(name, int):
        raise TableChoiceError(f"{source}: an HDF5 table is chosen by its path inside the "
                               f"file (such as 'data'), not by a number ({name}).")
    with h5py.File(path, "r") as handle:
        _refuse_outside_data(handle, set())
        tables = _tables(handle)
        if name is not None:
            key = name.strip("/")
            if key not in tables:
                raise TableChoiceError(f"{source} has no table {name!r}; its tables: "
                                       f"{list(tables) or 'none'}.")
        elif tables:
            key = next(iter(tables))
        else:
            raise _Unreadable("it holds no table (a dataset of named fields, or a pandas "
                              "frame)")
        if tables[key] == "pandas-fixed":
            return _fixed_frame(handle[key], key, _Unreadable)
        blocks = [f for f in handle[key].dtype.names if f.startswith("values_block_")]
        if tables[key] == "pandas-table" and blocks:
            raise _Unreadable(f"table {key!r} was written by pandas without "
                              "data_columns=True, so its column names are kept only as "
                              f"pickled Python objects, which DRAMA does not load; {_WAY_OUT}")
    from astropy.table import Table

    table = Table.read(path, format="hdf5", path=key)
    if tables[key] == "pandas-table" and _INDEX_COLUMN in table.colnames:
        table.remove_column(_INDEX_COLUMN)  # pandas' row numbers, not a column of the data
    return table_to_frame(table, source)


def _tables(handle: Any) -> dict[str, str]:
    """Every table in the file, in h5py's visiting order, with its layout."""
    import h5py

    found: dict[str, str] = {}

    def visit(key: str, node: Any) -> None:
        parent = node.parent if key.count("/") else None
        from_pandas = parent is not None and "pandas_type" in parent.attrs
        if isinstance(node, h5py.Group) and _attr_text(node.attrs.get("pandas_type")) == "frame":
            found[key] = "pandas-fixed"
        elif isinstance(node, h5py.Dataset) and node.ndim == 1 and node.dtype.names:
            found[key] = "pandas-table" if from_pandas else "compound"

    handle.visititems(visit)
    return found


def _attr_text(value: Any) -> str:
    """An attribute as text: PyTables writes fixed-length bytes, h5py variable-length str."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _text(values: np.ndarray) -> list[str]:
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values.tolist()]


def plain_index(group: Any, step: int = 1 << 20) -> bool:
    """Whether a fixed-layout frame's stored row index is 0, 1, ... n-1 (read in steps)."""
    stored = group["axis1"]
    if stored.dtype.kind not in "iu":
        return False
    return all(np.array_equal(stored[start:start + step],
                              np.arange(start, min(start + step, len(stored))))
               for start in range(0, len(stored), step))


def _fixed_frame(group: Any, key: str, unreadable: type[Exception],
                 rows: slice = slice(None), plain: bool | None = None) -> pd.DataFrame:
    """pandas' fixed layout: the columns from their blocks, in ``axis0``'s order; a row
    index other than 0, 1, ... n-1 comes back as the column ``index``, the default ids.
    ``rows``: only these rows (a batch), the others not read; ``plain``: the whole
    index's :func:`plain_index`, when known."""
    varieties = {k: v for k, v in group.attrs.items() if str(k).endswith("_variety")}
    if any(_attr_text(v) != "regular" for v in varieties.values()):
        raise unreadable(f"frame {key!r} has a MultiIndex, which DRAMA does not read; "
                         "reset_index() and write it again")
    columns: dict[str, np.ndarray] = {}
    for block in range(int(group.attrs["nblocks"])):
        items = _text(group[f"block{block}_items"][()])
        values = group[f"block{block}_values"]
        if values.dtype.kind not in "biuf" or values.ndim != 2 or "value_type" in values.attrs:
            raise unreadable(f"pandas stored column(s) {items} of frame {key!r} as pickled "
                             f"Python objects (text, dates), which DRAMA does not load; "
                             f"{_WAY_OUT}")
        data = values[rows]
        for i, item in enumerate(items):
            columns[item] = data[:, i]
    frame = pd.DataFrame({name: columns[name] for name in _text(group["axis0"][()])})
    if plain is None:
        plain = plain_index(group)
    if plain:
        return frame
    index = group["axis1"][rows]
    if _INDEX_COLUMN in frame:
        raise unreadable(f"frame {key!r} has both a stored row index and a column called "
                         f"{_INDEX_COLUMN!r}; reset_index() under another name")
    frame.insert(0, _INDEX_COLUMN, _text(index) if index.dtype.kind in "SO" else index)
    from .readers import _STORED_INDEX

    frame.attrs[_STORED_INDEX] = _INDEX_COLUMN  # the default id column, as for Parquet
    return frame
