"""Readers for the file formats DRAMA understands.

Benchmark data come as ODDS MATLAB files (v5 and v7.3/HDF5) and ADBench ``.npz``
archives; user data usually come as CSV (also gzipped) or Parquet tables, and survey
catalogues as FITS, VOTable, ECSV or HDF5 tables (see :mod:`drama.datasets.astro_tables`
and :mod:`drama.datasets.hdf5_tables`). Every reader turns a
broken file into a ``ValueError`` that names the file, because a raw traceback from
scipy, zipfile or h5py tells a user nothing about which of their files is at fault.
"""

from __future__ import annotations

import csv
import gzip
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .columns import LABEL_COLUMNS, ColumnRoles, assign_roles, id_like
from .sparse_check import check_sparse

__all__ = [
    "ARRAY_FORMATS",
    "FORMATS",
    "Catalogue",
    "LABEL_COLUMNS",
    "TABLE_FORMATS",
    "as_features",
    "as_labels",
    "file_format",
    "format_suffix",
    "read_array_file",
    "read_table_file",
    "split_catalogue",
    "split_table",
    "table_columns",
]

#: Suffix (lower case) -> format name, in the order a bare data set name is resolved.
#: A suffix may span two dots (``.fits.gz``); ``.xml`` is read only when it is a VOTable.
FORMATS: dict[str, str] = {
    ".mat": "mat",
    ".npz": "npz",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".fits": "fits",
    ".fit": "fits",
    ".fts": "fits",
    ".npy": "npy",
    ".csv.gz": "csv",
    ".fits.gz": "fits",
    ".fit.gz": "fits",
    ".fts.gz": "fits",
    ".vot": "votable",
    ".votable": "votable",
    ".xml": "votable",
    ".vot.gz": "votable",
    ".votable.gz": "votable",
    ".xml.gz": "votable",
    ".ecsv": "ecsv",
    ".ecsv.gz": "ecsv",
    ".h5": "hdf5",
    ".hdf5": "hdf5",
}
ARRAY_FORMATS = frozenset({"mat", "npz", "npy"})
TABLE_FORMATS = frozenset({"csv", "parquet", "fits", "votable", "ecsv", "hdf5"})
#: Format name -> how messages name it.
FORMAT_LABELS = {"csv": "CSV", "parquet": "Parquet", "fits": "FITS", "votable": "VOTable",
                 "ecsv": "ECSV", "hdf5": "HDF5"}

_STORED_INDEX = "drama_stored_index"  # DataFrame.attrs key: the Parquet index's column
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


class _Unreadable(Exception):
    """Internal: the file's content is not what its suffix promises."""


def format_suffix(path: str | os.PathLike[str]) -> str:
    """The suffix that decides ``path``'s format, in lower case: the longest one of
    :data:`FORMATS` that ends the name (``.fits.gz``, not ``.gz``), else its last suffix."""
    name = Path(path).name.lower()
    known = [s for s in FORMATS if name.endswith(s) and len(name) > len(s)]
    return max(known, key=len) if known else Path(name).suffix


def file_format(path: str | os.PathLike[str]) -> str:
    """Return the format name of ``path`` from its suffix.

    Raises
    ------
    ValueError
        If the suffix is not one DRAMA can read; the message lists those it can.
    """
    suffix = format_suffix(path)
    try:
        return FORMATS[suffix]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise ValueError(
            f"{os.fspath(path)!r} has the suffix {suffix or '(none)'!r}, which DRAMA cannot "
            f"read; use one of {known} (or convert the file to CSV or Parquet)."
        ) from None


def _prefix(source: str) -> str:
    return f"{source}: " if source else ""


def as_features(X: Any, source: str = "") -> np.ndarray:
    """Return ``X`` as a float64 array with objects along the first axis.

    Tables and MATLAB files give (n, d); ``.npy``/``.npz`` arrays with more axes
    (sequences, images) keep them, since the convolutional reducers need that shape.
    A 1-D array is taken as n objects with one feature.
    """
    where = _prefix(source)
    arr = np.asarray(X)
    if np.iscomplexobj(arr):
        raise ValueError(f"{where}X holds complex numbers; DRAMA needs real numbers.")
    try:
        arr = arr.astype(np.float64, copy=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}X is not a numeric array ({exc}).") from exc
    if arr.ndim == 0:
        raise ValueError(f"{where}X is a single number, not an array of objects.")
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.shape[0] == 0:
        raise ValueError(f"{where}X contains no objects (0 rows).")
    return arr


def as_labels(values: Any, n_objects: int, source: str = "") -> np.ndarray:
    """Return labels as an int64 vector of 0 (normal) and 1 (anomaly).

    Raises
    ------
    ValueError
        If the labels are not all 0/1 (or true/false), contain missing values, or do
        not match the number of objects: silently guessing would corrupt every metric.
    """
    where = _prefix(source)
    arr = np.asarray(values)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise ValueError(f"{where}y has shape {arr.shape}; expected one label per object.")
    if arr.shape[0] != n_objects:
        raise ValueError(
            f"{where}y has {arr.shape[0]} labels but X has {n_objects} objects; they must match."
        )
    if arr.dtype == bool:
        return arr.astype(np.int64)
    if arr.dtype.kind in "OUS":  # text labels "true" / "false", in any case
        words = np.asarray([str(v).strip().lower() for v in arr.tolist()])
        if set(words.tolist()) <= {"true", "false"}:
            return (words == "true").astype(np.int64)
    try:
        numeric = arr.astype(np.float64)
    except (TypeError, ValueError):
        shown = sorted({str(v) for v in arr.tolist()})[:5]
        raise ValueError(
            f"{where}labels must be 0/1 (1 = anomaly) or true/false; found values such "
            f"as {shown}. Recode the label column first."
        ) from None
    if np.isnan(numeric).any():
        raise ValueError(
            f"{where}{int(np.isnan(numeric).sum())} labels are missing; fill them with 0 "
            "(normal) or 1 (anomaly), or load without a label column."
        )
    bad = ~np.isin(numeric, (0.0, 1.0))
    if bad.any():
        shown = np.unique(numeric[bad])[:5].tolist()
        raise ValueError(
            f"{where}labels must be 0 (normal) or 1 (anomaly); found {shown}. Recode them "
            "(e.g. y = (label == 'anomaly')) before loading."
        )
    return numeric.astype(np.int64)


# --------------------------------------------------------------------------- arrays


def read_array_file(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Read an ODDS ``.mat``, ADBench ``.npz`` or plain ``.npy`` file.

    Returns
    -------
    X : ndarray of float64
    y : ndarray of int64 or None
        None where the file holds no labels (``.npy`` never does).

    Raises
    ------
    ValueError
        If the file is corrupt, truncated or lacks an ``X`` array.
    """
    fmt = file_format(path)
    try:
        if fmt == "mat":
            X_raw, y_raw = _read_mat(path)
        elif fmt == "npz" or fmt == "npy":
            X_raw, y_raw = _read_numpy(path)
        else:  # pragma: no cover - callers only pass array formats
            raise _Unreadable(f"{fmt} is not an array format")
        try:
            X = as_features(X_raw)
            y = None if y_raw is None else as_labels(y_raw, X.shape[0])
        except ValueError as exc:  # our own checks: their message is the reason
            raise _Unreadable(str(exc).rstrip(".")) from exc
    except FileNotFoundError:
        raise
    except _Unreadable as exc:
        raise ValueError(
            f"{os.fspath(path)} is not a readable ODDS/ADBench file: {_one_line(exc)}"
        ) from exc
    except Exception as exc:  # scipy/h5py/zipfile raise many unrelated types
        reason = _one_line(exc).rstrip(".")
        if "allow_pickle" in reason:
            reason = ("it holds an array of Python objects (e.g. text labels), which is not "
                      "read without pickle; save numeric arrays only")
        else:
            reason += " (the file may be truncated or corrupt: fetch or write it again)"
        raise ValueError(
            f"{os.fspath(path)} is not a readable ODDS/ADBench file: {reason}"
        ) from exc
    return X, y


def _one_line(exc: BaseException) -> str:
    """A library's message on one line (pyarrow's and the CSV parser's span several)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _pick(keys: Any, *names: str) -> str | None:
    for name in names:
        if name in keys:
            return name
    return None


def _read_mat(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    with open(path, "rb") as handle:
        head = handle.read(128)
    if not head:
        raise _Unreadable("the file is empty")
    if head.startswith(b"MATLAB 7.3") or _is_hdf5(path, head):
        return _read_mat73(path)
    import scipy.io

    from .matv5 import check_v5

    with open(path, "rb") as handle:  # scipy's reader would crash on unsound structure
        check_v5(handle.read(), _Unreadable)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        content = scipy.io.loadmat(path, variable_names=("X", "x", "y", "Y"))
    x_key = _pick(content, "X", "x")
    if x_key is None:
        raise _Unreadable("it holds no variable named X")
    X = _dense(content[x_key], x_key)
    y_key = _pick(content, "y", "Y")
    y = None if y_key is None else _dense(content[y_key], y_key)
    return X, y


def _dense(value: Any, key: str) -> np.ndarray:
    """A MATLAB variable as a dense array; a sparse one only after its structure is checked."""
    import scipy.sparse

    if not scipy.sparse.issparse(value):
        return value
    matrix = value.tocsc()
    n_rows, n_cols = matrix.shape
    check_sparse(n_rows, n_cols, matrix.data, matrix.indices, matrix.indptr,
                 f"sparse variable {key}", _Unreadable)
    return matrix.toarray()


def _is_hdf5(path: Path, head: bytes) -> bool:
    if head.startswith(_HDF5_SIGNATURE):
        return True
    import h5py

    return bool(h5py.is_hdf5(path))


def _read_mat73(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Read a MATLAB v7.3 file: HDF5 with arrays stored column-major (transposed)."""
    import h5py

    with h5py.File(path, "r") as handle:
        _refuse_outside_data(handle, set())
        x_key = _pick(handle, "X", "x")
        if x_key is None:
            raise _Unreadable("it holds no variable named X")
        X = _h5_matrix(handle[x_key], x_key)
        y_key = _pick(handle, "y", "Y")
        y = None if y_key is None else _h5_matrix(handle[y_key], y_key)
    return X, y


def _refuse_outside_data(group: Any, seen: set[Any]) -> None:
    """Refuse an HDF5 file that points at other files, before anything is read from it.

    External links, external raw storage and virtual datasets all make HDF5 read bytes
    from another file named inside this one, so a crafted ``.mat`` could pull any local
    file into the features (and from there into models and the terminal). MATLAB never
    writes them, so they are refused wherever they occur.
    """
    import h5py

    seen.add(group.id)
    for name in group:
        link = group.get(name, getlink=True)
        where = f"{group.name.rstrip('/')}/{name}"
        if isinstance(link, h5py.ExternalLink):
            raise _Unreadable(f"{where} is a link to the file {link.filename!r}; DRAMA reads "
                              "no data from outside the file it was given")
        if not isinstance(link, h5py.HardLink):
            continue  # a soft link names a path inside this file, checked where it lives
        node = group[name]
        if isinstance(node, h5py.Dataset):
            if node.external or node.is_virtual:
                kind = "external storage" if node.external else "a virtual dataset"
                raise _Unreadable(f"{where} is {kind} that reads other files; DRAMA reads "
                                  "no data from outside the file it was given")
        elif isinstance(node, h5py.Group) and node.id not in seen:
            _refuse_outside_data(node, seen)


def _h5_matrix(node: Any, key: str) -> np.ndarray:
    import h5py

    if isinstance(node, h5py.Group):
        if "MATLAB_sparse" not in node.attrs or not {"data", "ir", "jc"} <= set(node):
            raise _Unreadable(f"variable {key} is a MATLAB struct or cell, not a numeric matrix")
        import scipy.sparse

        n_rows = int(np.asarray(node.attrs["MATLAB_sparse"]).reshape(-1)[0])
        data, rows, col_starts = (np.asarray(node[name][()]) for name in ("data", "ir", "jc"))
        check_sparse(n_rows, col_starts.shape[0] - 1, data, rows, col_starts,
                     f"sparse variable {key}", _Unreadable)
        matrix = scipy.sparse.csc_matrix(
            (data, rows.astype(np.int64), col_starts.astype(np.int64)),
            shape=(n_rows, col_starts.shape[0] - 1),
        )
        return matrix.toarray()
    if node.dtype.kind not in "biuf":
        raise _Unreadable(f"variable {key} has type {node.dtype}, not a numeric matrix")
    # MATLAB writes column-major, h5py reads row-major: transpose back.
    return np.asarray(node[()]).T


def _read_numpy(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    # Open the file ourselves: np.load leaks its handle when a zip archive is truncated.
    with open(path, "rb") as handle:
        magic = handle.read(6)
        if not magic:
            raise _Unreadable("the file is empty")
        if not (magic.startswith(b"PK") or magic == b"\x93NUMPY"):
            raise _Unreadable("it is neither an .npz (zip) archive nor an .npy array")
        handle.seek(0)
        content = np.load(handle, allow_pickle=False)
        if isinstance(content, np.ndarray):
            return content, None
        with content as archive:
            x_key = _pick(archive.files, "X", "x")
            if x_key is None:
                raise _Unreadable(f"it holds no array named X (it has {sorted(archive.files)})")
            X = archive[x_key]
            y_key = _pick(archive.files, "y", "Y")
            y = None if y_key is None else archive[y_key]
    return X, y


# --------------------------------------------------------------------------- tables


def read_table_file(path: Path, id_column: str | None = None,
                    hdu: int | str | None = None) -> pd.DataFrame:
    """Read a CSV, Parquet, FITS, VOTable, ECSV or HDF5 table into a DataFrame with string
    column names.

    The id column (``id_column``, else those named like ids, see
    :mod:`drama.datasets.columns`) of a CSV is read as text, and
    integer Parquet columns as nullable integers: read as floats, 19-digit ids with one
    empty cell would round to the same few values. The row index that ``df.to_csv()``
    writes (an unnamed first column counting the rows) is dropped with a warning, since
    as a feature it would rank objects by their position in the file. The astronomy
    formats follow :mod:`drama.datasets.astro_tables`: masked cells are missing, a vector
    column is expanded, and ``hdu`` chooses the table (FITS, VOTable, HDF5).

    Raises
    ------
    ValueError
        If the file cannot be parsed as a table of that format, or ``hdu`` names no
        table in it (the message lists what the file holds).
    """
    from .astro_tables import HDU_FORMATS, TableChoiceError, read_astropy_table
    from .hdf5_tables import read_hdf5_table

    fmt = file_format(path)
    label = FORMAT_LABELS[fmt]
    if hdu is not None and fmt not in HDU_FORMATS:
        raise ValueError(f"{os.fspath(path)}: a {label} file holds one table; hdu={hdu!r} "
                         "applies to FITS, VOTable and HDF5 files only.")
    try:
        _check_gzip(path)
        if fmt == "csv":
            frame = _read_csv(path, id_column)
        elif fmt == "parquet":
            import pyarrow.parquet

            frame = pyarrow.parquet.read_table(path).to_pandas(types_mapper=_nullable_integer)
            name = frame.index.name
            if frame.index.nlevels == 1 and name is not None and str(name) not in frame:
                # A stored, named index (df.set_index("objid")) names the rows: it comes
                # back as that column and is the default id column. Others are ignored.
                frame = frame.reset_index()
                frame.attrs[_STORED_INDEX] = str(name)
        elif fmt == "hdf5":
            frame = read_hdf5_table(path, hdu)
        else:
            frame = read_astropy_table(path, fmt, hdu)
    except (FileNotFoundError, TableChoiceError):
        raise
    except Exception as exc:
        reason = _one_line(exc)
        raise ValueError(f"{os.fspath(path)} is not a readable {label} table: {reason}") from exc
    frame.columns = [str(column) for column in frame.columns]
    return frame


def _check_gzip(path: Path) -> None:
    """A file named ``.gz`` must be gzip-compressed: otherwise say so, rather than pass on
    the decompressor's complaint about magic numbers."""
    if not path.name.lower().endswith(".gz"):
        return
    with open(path, "rb") as handle:
        magic = handle.read(2)
    if magic != b"\x1f\x8b":
        raise _Unreadable(f"it is named {format_suffix(path)} but is not gzip-compressed "
                          "(rename it without .gz, or compress it with gzip)")


def table_columns(path: Path, hdu: int | str | None = None) -> list[str]:
    """A table's column names as :func:`read_table_file` gives them; CSV, Parquet and FITS
    ones are read from the header alone (a catalogue may be large).

    Raises
    ------
    ValueError
        If the file cannot be read as a table of its format.
    """
    fmt = file_format(path)
    if fmt not in {"csv", "parquet", "fits"} or hdu is not None and fmt != "fits":
        return list(read_table_file(path, hdu=hdu).columns)
    from .astro_tables import TableChoiceError, fits_column_names

    try:
        _check_gzip(path)
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return [str(c) for c in pq.read_schema(path).names]
        if fmt == "fits":
            return fits_column_names(path, hdu)
        return csv_header(path)
    except (FileNotFoundError, TableChoiceError):
        raise
    except Exception as exc:
        raise ValueError(f"{os.fspath(path)} is not a readable {FORMAT_LABELS[fmt]} table: "
                         f"{_one_line(exc)}") from exc


def _open_text(path: str | os.PathLike) -> Any:
    if os.fspath(path).lower().endswith(".gz"):
        return gzip.open(path, "rt", newline="", encoding="utf-8", errors="replace")
    return open(path, newline="", encoding="utf-8", errors="replace")


def csv_header(path: str | os.PathLike) -> list[str]:
    """A CSV's column names as pandas names them, read from the first line with the csv
    module: pandas' own header-only read costs seconds on tens of thousands of columns.
    Empty or repeated names (which pandas renames) take pandas' way."""
    with _open_text(path) as handle:
        names = next(csv.reader(handle), [])
    if all(names) and len(set(names)) == len(names):
        return names
    return [str(c) for c in pd.read_csv(path, nrows=0).columns]


def _read_csv(path: Path, id_column: str | None) -> pd.DataFrame:
    header = csv_header(path)
    ids = [id_column] if id_column in header else id_like(header)
    frame = pd.read_csv(path, dtype=dict.fromkeys(ids, str) or None)
    first = frame.columns[0] if len(frame.columns) > 1 else None
    if first == _PANDAS_INDEX and first not in ids and _counts_rows(frame[first]):
        warnings.warn(
            f"{os.fspath(path)}: the first column has no name and counts the rows (0, 1, 2, "
            "...): it is the row index that pandas writes with df.to_csv(), so it is left out "
            "of the features. Write the file with df.to_csv(index=False) to avoid this note.",
            UserWarning, stacklevel=4,
        )
        frame = frame.drop(columns=first)
    return frame


#: The name pandas gives a CSV column whose header cell is empty (the first one).
_PANDAS_INDEX = "Unnamed: 0"


def _counts_rows(column: pd.Series) -> bool:
    """True for the integers 0, 1, ... n-1 in order: a written RangeIndex."""
    if not pd.api.types.is_integer_dtype(column.dtype):
        return False
    return bool(np.array_equal(column.to_numpy(), np.arange(len(column))))


def _nullable_integer(arrow_type: Any) -> Any:
    """pandas' nullable dtype for an Arrow integer type, so that a column with gaps keeps
    exact integers instead of becoming float64 (None: the default conversion)."""
    import pyarrow

    if pyarrow.types.is_integer(arrow_type):
        return pd.api.types.pandas_dtype(  # int64 -> Int64, uint8 -> UInt8
            str(arrow_type).replace("uint", "UInt").replace("int", "Int"))
    return None


_INTEGER_TEXT = re.compile(r"-?(0|[1-9][0-9]*)")
_INT64 = np.iinfo(np.int64)


def _id_values(column: pd.Series) -> np.ndarray:
    """Row ids as exact integers or text, never floats.

    Whole numbers (stored as integers, or text such as ``1237648720693755918``) come back
    as int64, or as Python ints with None for empty cells; other text (``"0123"``,
    ``"NGC 1"``) stays text, with None for empty cells.
    """
    if pd.api.types.is_integer_dtype(column.dtype) and not column.isna().any():
        values = column.to_numpy()  # int64, or uint64 for ids beyond int64
        return values if values.dtype.kind in "iu" else np.array([int(v) for v in values])
    if pd.api.types.is_integer_dtype(column.dtype):
        return np.array([None if pd.isna(v) else int(v) for v in column], dtype=object)
    if pd.api.types.is_float_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
        return column.to_numpy()
    text = [None if pd.isna(v) else str(v) for v in column]
    present = [v.strip() for v in text if v is not None]
    if present and all(_INTEGER_TEXT.fullmatch(v) and _INT64.min <= int(v) <= _INT64.max
                       for v in present):
        if len(present) == len(text):
            return np.array([int(v) for v in present], dtype=np.int64)
        return np.array([None if v is None else int(v) for v in text], dtype=object)
    return np.array(text, dtype=object)


class Catalogue(NamedTuple):
    """A table split by column roles (see :mod:`drama.datasets.columns`)."""

    features: pd.DataFrame  # float64, NaN where a value is missing
    ids: np.ndarray | None
    y: np.ndarray | None
    carried: pd.DataFrame  # the carried-through columns, as read
    roles: ColumnRoles


def split_catalogue(
    frame: pd.DataFrame,
    source: str,
    id_column: str | None = None,
    label_column: str | None = None,
    features: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
) -> Catalogue:
    """Split a table into numeric features, row ids, 0/1 labels and the carried columns,
    by :func:`drama.datasets.columns.assign_roles` (which raises for bad names)."""
    if frame.shape[0] == 0:  # before the roles: empty columns read as text
        raise ValueError(f"{source}: the table has no rows.")
    roles = assign_roles(frame, source, id_column, label_column, features, exclude,
                         frame.attrs.get(_STORED_INDEX))
    values = frame[list(roles.features)].to_numpy(dtype=np.float64, na_value=np.nan)
    table = pd.DataFrame(values, columns=list(roles.features), index=frame.index)
    ids = None if roles.id is None else _id_values(frame[roles.id])
    y = None
    if roles.label is not None:
        y = as_labels(frame[roles.label].to_numpy(), len(frame), f"{source} [{roles.label}]")
    return Catalogue(table, ids, y, frame[list(roles.carried)], roles)


def split_table(
    frame: pd.DataFrame,
    source: str,
    id_column: str | None = None,
    label_column: str | None = None,
    features: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, np.ndarray | None, np.ndarray | None]:
    """Split a table into numeric features, row ids and 0/1 labels (see
    :func:`split_catalogue`); text columns left out of the features are named in a
    warning, since nothing else would say so."""
    catalogue = split_catalogue(frame, source, id_column, label_column, features, exclude)
    if catalogue.roles.text:
        warnings.warn(
            f"{source}: column(s) {list(catalogue.roles.text)} hold text, so they are not "
            "features (name the id column with id_column=...).", UserWarning, stacklevel=3,
        )
    return catalogue.features, catalogue.ids, catalogue.y
