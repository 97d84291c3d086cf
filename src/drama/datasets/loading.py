"""Load a data set by name or path, and list what is available.

One entry point, :func:`load`, serves the command line, the benchmarks and users: a
name is looked up among the built-in tasks and then as a file in the data folders
(see :mod:`drama.datasets.folders`); anything that looks like a path is read directly.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .builtin_tasks import BUILTINS
from .download import CATALOGUE
from .folders import DATA_ENV, SUFFIXES, data_dirs
from .readers import (
    ARRAY_FORMATS,
    FORMATS,
    Catalogue,
    file_format,
    read_array_file,
    read_table_file,
    split_catalogue,
    split_table,
)

__all__ = ["DatasetInfo", "available", "find", "load", "load_catalogue", "load_table"]

PathArg = str | os.PathLike[str]
DataDirArg = PathArg | Iterable[PathArg] | None


@dataclass(frozen=True)
class DatasetInfo:
    """One data set that :func:`load` can open.

    Attributes
    ----------
    name
        What to pass to ``load``.
    path
        The file, or None for a built-in task.
    format
        ``"builtin"``, ``"mat"``, ``"npz"``, ``"npy"``, ``"csv"``, ``"parquet"`` or ``"fits"``.
    source
        ``"builtin"`` or ``"file"``.
    """

    name: str
    path: Path | None
    format: str
    source: str


def _looks_like_path(text: str) -> bool:
    return (
        os.sep in text
        or (os.altsep is not None and os.altsep in text)
        or "/" in text
        or Path(text).suffix.lower() in FORMATS
    )


def find(name: str, data_dir: DataDirArg = None) -> Path:
    """Return the file that the data set ``name`` resolves to.

    The folders of :func:`drama.datasets.data_dirs` are searched in order, and
    in each folder the suffixes of :data:`drama.datasets.folders.SUFFIXES` in order.

    Raises
    ------
    ValueError
        If no folder holds such a file; the message lists where DRAMA looked.
    """
    folders = data_dirs(data_dir)
    problems: dict[Path, str] = {}
    for folder in folders:
        entries = _entries(folder, problems)
        # Suffixes in any case (WINE.MAT), as available() lists them.
        by_suffix = {entry.suffix.lower(): entry for entry in sorted(entries)
                     if entry.stem == name and _is_file(entry)}
        for suffix in SUFFIXES:
            if suffix in by_suffix:
                return by_suffix[suffix]
    looked = "\n".join(
        f"  {folder}{f'  ({problems[folder]})' if folder in problems else ''}"
        for folder in folders
    )
    hint = (
        f"It is a public benchmark: fetch it once with drama.datasets.download({name!r}) "
        "(it goes to the cache folder, which is searched)."
        if name in CATALOGUE
        else "Run `drama datasets` to list what is available; the public benchmarks "
        f"({', '.join(sorted(CATALOGUE)[:3])}, ...) can be fetched with "
        "drama.datasets.download(name)."
    )
    raise ValueError(
        f"unknown data set {name!r}: it is not a built-in task "
        f"({', '.join(sorted(BUILTINS))}) and no file {name}.<{'|'.join(s[1:] for s in SUFFIXES)}>"
        f" was found in the data folders (data_dir, then ${DATA_ENV}, then the cache):\n"
        f"{looked}\n{hint}"
    )


def _entries(folder: Path, problems: dict[Path, str]) -> list[Path]:
    """The files and folders in ``folder``; none, with the reason noted in ``problems``, when
    it is missing or cannot be read, so that one bad folder does not hide the next ones."""
    try:
        return list(folder.iterdir())
    except FileNotFoundError:
        problems[folder] = "does not exist"
    except NotADirectoryError:
        problems[folder] = "is not a folder"
    except OSError as exc:
        problems[folder] = f"cannot be read: {exc.strerror or exc}"
    return []


def _is_file(path: Path) -> bool:
    """``path.is_file()``, False where the path cannot even be looked at."""
    try:
        return path.is_file()
    except OSError:
        return False


def _resolve(name_or_path: PathArg, data_dir: DataDirArg) -> Path | str:
    """Return a file path, or the name of a built-in task."""
    if not isinstance(name_or_path, str | os.PathLike):
        raise TypeError(
            f"expected a data set name or a file path, got {type(name_or_path).__name__}."
        )
    if isinstance(name_or_path, str):
        text = name_or_path.strip()
        if not text:
            raise ValueError("the data set name is empty; give a name such as 'cardio' or a path.")
        if not _looks_like_path(text):
            if text in BUILTINS:
                return text
            return find(text, data_dir)
        path = Path(text).expanduser()
    else:
        path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    if path.exists():
        raise ValueError(f"{path} is a folder, not a data file.")
    if not path.is_absolute() and path.parent == Path("."):
        # a bare file name such as "cardio.mat": look in the data folders too
        for folder in data_dirs(data_dir):
            if _is_file(folder / path.name):
                return folder / path.name
    raise FileNotFoundError(f"data file not found: {path}")


def load(
    name_or_path: PathArg,
    *,
    data_dir: DataDirArg = None,
    label_column: str | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Load a data set as ``(X, y)``.

    Parameters
    ----------
    name_or_path
        A built-in task (``"breast_cancer"``, ``"digits_new_class"``), a data set name
        found in the data folders (``"cardio"`` -> ``cardio.mat``), or a path to a
        ``.mat`` (MATLAB v5 or v7.3), ``.npz`` (arrays ``X``, ``y``), ``.npy`` (X only),
        ``.csv``, ``.parquet`` or ``.fits``/``.fit`` file.
    data_dir
        Folder(s) searched before ``$DRAMA_DATA`` and the user cache.
    label_column
        For tables: the 0/1 label column. By default a column named ``y``, ``label`` or
        ``is_anomaly`` is used if present. The features are chosen by column roles
        (:mod:`drama.datasets.columns`): ids, sky and bookkeeping columns and text are not
        features.

    Returns
    -------
    X : ndarray of float64, shape (n, d)
        ``.npy``/``.npz`` arrays with more axes (sequences, images) keep their shape.
    y : ndarray of int64 (1 = anomaly) or None
        None when the source has no labels.

    Raises
    ------
    FileNotFoundError
        A path that does not exist.
    ValueError
        An unknown name, an unreadable or corrupt file, labels that are not 0/1.
    TypeError
        A FITS column that holds an array per row.
    """
    target = _resolve(name_or_path, data_dir)
    if isinstance(target, str):
        if label_column is not None:
            raise ValueError(f"label_column applies to tables only, not to the task {target!r}.")
        return BUILTINS[target].loader()
    fmt = file_format(target)
    if fmt in ARRAY_FORMATS:
        if label_column is not None:
            raise ValueError(
                f"label_column applies to CSV, Parquet and FITS tables; {target} is a "
                f"{fmt} file whose labels are the array 'y'."
            )
        return read_array_file(target)
    features, _, y = split_table(read_table_file(target), os.fspath(target), None, label_column)
    return features.to_numpy(), y


def load_catalogue(
    path: PathArg,
    id_column: str | None = None,
    label_column: str | None = None,
    *,
    features: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
) -> Catalogue:
    """Read a table (CSV, Parquet, FITS) and split it by column roles: features, ids,
    labels, the carried-through columns and the roles themselves (to print them).

    The arguments are those of :func:`load_table`; ``path`` must be a table file.
    """
    target = Path(path)
    frame = read_table_file(target, id_column)
    return split_catalogue(frame, os.fspath(target), id_column, label_column, features,
                           exclude)


def load_table(
    path: PathArg,
    id_column: str | None = None,
    label_column: str | None = None,
    *,
    features: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    data_dir: DataDirArg = None,
) -> tuple[pd.DataFrame, np.ndarray | None, np.ndarray | None]:
    """Load a data set keeping feature names and row ids, for reports that name objects.

    Each column's role (id, feature, carried through, label) is decided by
    :mod:`drama.datasets.columns`, as on the command line. Missing values stay NaN: the
    detectors' ``missing`` parameter says what to do with them.

    Parameters
    ----------
    path
        As for :func:`load` (a path or a data set name).
    id_column
        Column holding row ids; by default the first column named like an identifier
        (``id``, ``objid``, ``source_id``, ``*_id``, ``name``, ... any case) that holds
        text or integers. Only tables have id columns.
    label_column
        Column holding 0/1 labels; by default ``y``, ``label`` or ``is_anomaly``.
    features
        Column names or shell patterns (``"mag_*"``) of the features; by default every
        numeric column that is not an id, a label, or a sky or bookkeeping column
        (``ra``, ``dec``, ``mjd``, ...).
    exclude
        Column names or shell patterns to leave out of the features.
    data_dir
        Folder(s) searched first when ``path`` is a name.

    Returns
    -------
    features : DataFrame of float64
        One column per feature (``x0, x1, ...`` for array files); NaN where missing.
    ids : ndarray or None
    y : ndarray of int64 (1 = anomaly) or None

    Raises
    ------
    ValueError
        ``id_column`` or ``label_column`` is not a column (the message lists them), a
        name or pattern matches no column, or any error of :func:`load`.
    """
    target = _resolve(path, data_dir)
    if isinstance(target, Path) and file_format(target) not in ARRAY_FORMATS:
        frame = read_table_file(target, id_column)
        return split_table(frame, os.fspath(target), id_column, label_column, features,
                           exclude)
    if features is not None or exclude is not None:
        raise ValueError(f"features= and exclude= choose table columns; {target} is not a "
                         "table (its features are the array's columns).")
    if id_column is not None:
        raise ValueError(
            f"id_column={id_column!r} was given, but {target} is not a table and has no "
            "columns; row numbers serve as ids."
        )
    X, y = load(target, label_column=label_column)
    if X.ndim != 2:
        raise ValueError(
            f"{target} holds an array of shape {X.shape}; only 2-D data fit in a table. "
            "Use load() for sequences and images."
        )
    columns = [f"x{i}" for i in range(X.shape[1])]
    return pd.DataFrame(X, columns=columns), None, y


def available(data_dir: DataDirArg = None) -> list[DatasetInfo]:
    """List the built-in tasks and every loadable file in the data folders.

    Files are not opened (that could take long); a listed file may still turn out to
    be corrupt. When a name occurs in several folders, the first one listed is the one
    :func:`load` uses.
    """
    found = [DatasetInfo(name, None, "builtin", "builtin") for name in sorted(BUILTINS)]
    for folder in data_dirs(data_dir):
        files = [
            entry
            for entry in _entries(folder, {})
            if entry.suffix.lower() in SUFFIXES
            and not entry.name.startswith(".")
            and _is_file(entry)
        ]
        order = {suffix: rank for rank, suffix in enumerate(SUFFIXES)}
        files.sort(key=lambda entry: (entry.stem, order[entry.suffix.lower()], entry.name))
        found.extend(
            DatasetInfo(entry.stem, entry, FORMATS[entry.suffix.lower()], "file") for entry in files
        )
    return found
