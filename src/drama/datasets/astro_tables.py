"""Astronomy tables: FITS, VOTable, ECSV and HDF5, read through astropy.

Catalogues from surveys come in these formats rather than CSV. Two of their habits need a
rule before DRAMA can score them:

- **Masked values** (FITS ``TNULL``, VOTable nulls, ECSV and HDF5 masks) become NaN in
  numeric columns and None in text columns, never a sentinel such as 999999, so that
  missing values can be seen and handled as missing.
- **Vector columns**, one array per row (a spectrum or a light curve on a fixed grid),
  are expanded into one column per element, named ``flux[0]``, ``flux[1]``, ...; the
  element shape is kept in ``DataFrame.attrs`` so that :func:`vector_features` can hand
  the 1-D reducers an (n, T) input. A table with exactly one vector column is scored on
  that column alone: its scalar columns can only give the ids and the labels.

FITS files hold several HDUs and VOTable files several tables; the first table is read
unless ``hdu`` names another (an index or a name). HDF5 tables are read with h5py by
:mod:`drama.datasets.hdf5_tables` and converted here.
"""

from __future__ import annotations

import gzip
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["VECTOR_ATTR", "TableChoiceError", "fits_column_names", "read_astropy_table",
           "table_to_frame", "vector_features"]

#: ``DataFrame.attrs`` key: (column name, element shape, expanded column names).
VECTOR_ATTR = "drama_vector_column"

#: Where the choice of ``hdu`` applies, for messages.
HDU_FORMATS = ("fits", "votable", "hdf5")

_VOTABLE_SNIFF = 65536  # bytes searched for the <VOTABLE> element


class TableChoiceError(ValueError):
    """The file reads, but not as one table of objects: the table asked for (or any table)
    is not in it, or several columns hold arrays. The message says what the file holds."""


# --------------------------------------------------------------------------- reading


def read_astropy_table(path: Path, fmt: str, hdu: int | str | None) -> pd.DataFrame:
    """Read the chosen table of a FITS, VOTable or ECSV file as a DataFrame."""
    from astropy.table import Table

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unit and standard-conformance notes
        # but a FITS file cut short is an error, not a note
        warnings.filterwarnings("error", message="File may have been truncated")
        if fmt == "fits":
            table = _read_fits_hdu(path, hdu)
        elif fmt == "votable":
            table = _read_votable(path, hdu)
        else:
            table = Table.read(path, format="ascii.ecsv")
    return table_to_frame(table, os.fspath(path))


def _hdu_kind(hdu: Any) -> str:
    from astropy.io import fits

    if isinstance(hdu, fits.BinTableHDU):
        return f"binary table, {len(hdu.columns)} columns, {hdu.header.get('NAXIS2', 0)} rows"
    if isinstance(hdu, fits.TableHDU):
        return f"ASCII table, {len(hdu.columns)} columns, {hdu.header.get('NAXIS2', 0)} rows"
    shape = tuple(hdu.header.get(f"NAXIS{i}", 0) for i in range(hdu.header.get("NAXIS", 0), 0, -1))
    return f"image {'x'.join(map(str, shape))}" if shape else "no data"


def _hdu_listing(hdul: Any) -> str:
    return "; ".join(f"{i} {hdu.name or '(no name)'} ({_hdu_kind(hdu)})"
                     for i, hdu in enumerate(hdul))


def _table_hdu_index(hdul: Any, hdu: int | str | None, source: str) -> int:
    """The index of the table HDU to read: ``hdu`` (index or EXTNAME), else the first table."""
    from astropy.io import fits

    kinds = (fits.BinTableHDU, fits.TableHDU)
    if hdu is None:
        index = next((i for i, h in enumerate(hdul) if isinstance(h, kinds)), None)
        if index is None:
            _refuse_truncated_gzip(source)  # astropy stops quietly where a gzip breaks off
            raise TableChoiceError(f"{source} has no table HDU (it holds images only); its "
                                   f"HDUs: {_hdu_listing(hdul)}.")
        return index
    if isinstance(hdu, int):
        index = hdu if 0 <= hdu < len(hdul) else None
    else:
        index = next((i for i, h in enumerate(hdul) if h.name.lower() == hdu.lower()), None)
    if index is None:
        _refuse_truncated_gzip(source)
        raise TableChoiceError(f"{source} has no HDU {hdu!r}; its HDUs: {_hdu_listing(hdul)}.")
    if not isinstance(hdul[index], kinds):
        raise TableChoiceError(f"{source}: HDU {hdu!r} is not a table ({_hdu_kind(hdul[index])});"
                             f" its HDUs: {_hdu_listing(hdul)}.")
    return index


def _refuse_truncated_gzip(source: str) -> None:
    """Where a gzipped FITS file seems to lack HDUs, check whether its stream is complete
    (one pass of decompression, paid only on this error path)."""
    if not source.lower().endswith(".gz"):
        return
    import zlib

    try:
        with gzip.open(source, "rb") as stream:
            while stream.read(1 << 20):
                pass
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ValueError(f"{source} is not a readable FITS table: its gzip stream is "
                         f"truncated or corrupt ({exc}); fetch or write it again.") from None


def _read_fits_hdu(path: Path, hdu: int | str | None) -> Any:
    from astropy.io import fits
    from astropy.table import Table

    with fits.open(path) as hdul:
        index = _table_hdu_index(hdul, hdu, os.fspath(path))
    # Read by path, not from the open HDU: only then does astropy mask the cells FITS
    # marks as null (TNULL integers, empty text).
    return Table.read(path, format="fits", hdu=index)


def fits_column_names(path: Path, hdu: int | str | None) -> list[str]:
    """The chosen FITS table's column names as :func:`read_astropy_table` gives them
    (vector columns expanded), read from the header without loading the rows."""
    from astropy.io import fits

    with fits.open(path, memmap=True) as hdul:
        chosen = hdul[_table_hdu_index(hdul, hdu, os.fspath(path))]
        dtype = chosen.columns.dtype
        names: list[str] = []
        for name in chosen.columns.names:
            shape = dtype[name].shape if dtype[name].kind != "S" else ()
            names.extend(_element_names(str(name), shape) if shape else [str(name)])
        return names


def _read_votable(path: Path, hdu: int | str | None) -> Any:
    """The chosen ``TABLE`` of a VOTable: by index, or by its ``ID`` or ``name``."""
    from astropy.io.votable import parse

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as handle:  # an .xml file that is not a VOTable: say so at once
        head = handle.read(_VOTABLE_SNIFF)
    if b"<votable" not in head.lower():
        raise ValueError("it is not a VOTable (no <VOTABLE> element near its start)")
    tables = list(parse(path).iter_tables())
    if not tables:
        raise ValueError("it holds no TABLE")
    if hdu is None:
        return tables[0].to_table()
    if isinstance(hdu, int):
        index = hdu if 0 <= hdu < len(tables) else None
    else:
        index = next((i for i, t in enumerate(tables) if hdu in (t.ID, t.name)), None)
    if index is None:
        listing = "; ".join(f"{i} {t.ID or t.name or '(no ID)'} ({len(t.fields)} columns, "
                            f"{len(t.array)} rows)" for i, t in enumerate(tables))
        raise TableChoiceError(f"{os.fspath(path)} has no table {hdu!r}; its tables: "
                               f"{listing}.")
    return tables[index].to_table()


# --------------------------------------------------------------------------- conversion


def _element_names(name: str, shape: tuple[int, ...]) -> list[str]:
    """``flux[0]``, ``flux[1]``, ... for a (T,) cell; ``img[0,1]`` for a 2-D one."""
    return [f"{name}[{','.join(map(str, index))}]" for index in np.ndindex(*shape)]


def table_to_frame(table: Any, source: str) -> pd.DataFrame:
    """The table as a DataFrame: masked cells missing (NaN, None, <NA>), vector columns
    expanded, text as str."""
    from astropy.table import Column

    table.convert_bytestring_to_unicode()  # FITS and HDF5 store text as bytes
    vectors = [name for name in table.colnames
               if isinstance(table[name], Column) and table[name].ndim > 1]
    if len(vectors) > 1:
        raise TableChoiceError(
            f"{source}: columns {vectors} each hold an array per row; DRAMA takes one such "
            "column as the objects (e.g. one spectrum per row). Keep one of them, or load "
            "the table with astropy.table.Table.read and pass X."
        )
    columns: dict[str, Any] = {}
    attrs: dict[str, Any] = {}
    for name in table.colnames:
        column = table[name]
        if name in vectors:
            shape = tuple(column.shape[1:])
            names = _element_names(name, shape)
            values = _dense(column).reshape(len(column), -1)
            for i, element in enumerate(names):
                columns[element] = values[:, i]
            attrs[VECTOR_ATTR] = (name, shape, names)
        elif isinstance(column, Column):
            columns[name] = _series(column)
        else:  # a mixin (Time, SkyCoord, Quantity with units): its text form, never a feature
            columns[name] = pd.Series([str(v) for v in column], dtype=object)
    frame = pd.DataFrame(columns, index=pd.RangeIndex(len(table)))
    frame.attrs.update(attrs)
    return frame


def _mask(column: Any) -> np.ndarray | None:
    mask = getattr(column, "mask", None)
    if mask is None or not np.any(mask):
        return None
    return np.asarray(mask, dtype=bool)


def _dense(column: Any) -> np.ndarray:
    """A vector column as float64, masked elements NaN (a non-numeric one stays as it is,
    for the feature check to refuse by name)."""
    values = np.asarray(column)
    if values.dtype.kind not in "biuf":
        return values.astype(object)
    values = values.astype(np.float64)
    mask = _mask(column)
    if mask is not None:
        values[mask] = np.nan
    return values


def _series(column: Any) -> pd.Series:
    """One scalar column; a masked cell becomes NaN (floats), <NA> (integers and booleans,
    which stay exact: 19-digit ids must not round through float64) or None (text)."""
    values = np.asarray(column)
    if values.dtype.byteorder not in "=|":
        values = values.astype(values.dtype.newbyteorder("="))  # pandas wants native order
    mask = _mask(column)
    kind = values.dtype.kind
    if kind == "U" or kind == "O":
        cells = values.astype(object)
        if mask is not None:
            cells[mask] = None
        return pd.Series(cells, dtype=object)
    if mask is None:
        return pd.Series(values)
    if kind == "f":
        return pd.Series(np.where(mask, np.nan, values))
    if kind in "iub":  # int64 -> Int64, uint64 -> UInt64, bool -> boolean
        dtype = "boolean" if kind == "b" else str(values.dtype).replace(
            "uint", "UInt").replace("int", "Int")
        return pd.Series(pd.array(values, dtype=dtype)).mask(mask)
    return pd.Series(values)


# --------------------------------------------------------------------------- vector columns


def vector_features(frame: pd.DataFrame, features: pd.DataFrame,
                    source: str) -> tuple[pd.DataFrame, tuple[int, ...] | None]:
    """The features of a table read with a vector column: that column's elements alone.

    ``frame`` is the table as read, ``features`` what the id/label split left of it.
    Scalar feature columns beside the vector column are left out with a warning that
    names them: a spectrum's flux and, say, a redshift are not measurements on one axis.

    Returns the features and the element shape (None for a table without a vector column).
    """
    vector = frame.attrs.get(VECTOR_ATTR)
    if vector is None:
        return features, None
    name, shape, names = vector
    elements = set(names)  # once: a spectrum has thousands of them
    others = [c for c in features.columns if c not in elements]
    if others:
        shown = ", ".join(map(str, others[:10])) + (", ..." if len(others) > 10 else "")
        warnings.warn(
            f"{source}: column {name!r} holds an array per row, so it alone gives the "
            f"features; the scalar column(s) {shown} are left out of them.",
            UserWarning, stacklevel=4,
        )
    return features[[c for c in features.columns if c in elements]], tuple(shape)
