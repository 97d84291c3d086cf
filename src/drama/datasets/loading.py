"""Load a data set by name or path, and list what is available.

One entry point, :func:`load`, serves the command line, the benchmarks and users: a
name is looked up among the built-in tasks and then as a file in the data folders
(see :mod:`drama.datasets.folders`); anything that looks like a path is read directly.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from .astro_tables import vector_features
from .builtin_tasks import BUILTINS
from .download import CATALOGUE
from .folders import DATA_ENV, SUFFIXES, data_dirs
from .readers import (
    ARRAY_FORMATS,
    FORMATS,
    Catalogue,
    file_format,
    format_suffix,
    read_array_file,
    read_table_file,
    split_catalogue,
    split_table,
)

__all__ = ["DatasetInfo", "available", "find", "load", "load_catalogue", "load_table"]

PathArg = str | os.PathLike[str]
DataDirArg = PathArg | Iterable[PathArg] | None
HduArg = int | str | None


@dataclass(frozen=True)
class DatasetInfo:
    """One data set that :func:`load` can open.

    Attributes
    ----------
    name
        What to pass to ``load``.
    path
        The file, the folder of a collection, or None for a built-in task.
    format
        ``"builtin"``, ``"mat"``, ``"npz"``, ``"npy"``, ``"csv"``, ``"parquet"``,
        ``"fits"``, ``"votable"``, ``"ecsv"``, ``"hdf5"``, or for a collection its
        representation (``"light-curve features"``, ``"light-curve grid"``).
    source
        ``"builtin"``, ``"file"`` or ``"collection"`` (a task made from a folder of files,
        such as ``"crts"``).
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
        or format_suffix(text) in FORMATS
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
        by_suffix = {format_suffix(entry): entry for entry in sorted(entries)
                     if _stem(entry) == name and _is_file(entry)}
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


def _stem(path: Path) -> str:
    """The name without its format suffix: ``cat`` for ``cat.fits.gz``."""
    return path.name[: len(path.name) - len(format_suffix(path))]


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
            if text in BUILTINS or text in COLLECTIONS:
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


# Tasks made from a folder of files in a data folder: name -> light-curve representation.
COLLECTIONS = {"crts": "features", "crts-grid": "grid"}


def _load_collection(name: str, data_dir: DataDirArg) -> tuple[np.ndarray, np.ndarray]:
    """The CRTS light curves with a usable class (the rare-class rule of ``drama benchmark
    -d crts``: y = 1 for every class but SN, CV, AGN and Blazar), one row of light-curve
    features per curve (``"crts"``) or one ``(64, 2)`` grid (``"crts-grid"``)."""
    from drama.benchmark.suites import crts_rare_classes
    from drama.datasets.lightcurves import crts_folder, load_crts

    root = crts_folder(data_dir=data_dir)
    if root is None:
        looked = ", ".join(str(d / "lightcurves" / "crts") for d in data_dirs(data_dir))
        raise FileNotFoundError(
            f"{name!r} reads the CRTS light curves from lightcurves/crts/ in a data folder; "
            f"none was found (looked in {looked}). Pass data_dir=, or set {DATA_ENV} to the "
            "folder that holds lightcurves/crts."
        )
    X, labels, _ = load_crts(root, representation=COLLECTIONS[name])
    keep, _, y = crts_rare_classes(labels)
    return X[keep], y


def load(
    name_or_path: PathArg,
    *,
    data_dir: DataDirArg = None,
    label_column: str | None = None,
    hdu: HduArg = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Load a data set as ``(X, y)``.

    Parameters
    ----------
    name_or_path
        A built-in task (``"breast_cancer"``, ``"digits_new_class"``), the CRTS light
        curves of a data folder's ``lightcurves/crts/`` (``"crts"``: light-curve features,
        ``"crts-grid"``: the fixed grid; y = 1 for the rare classes), a data set name
        found in the data folders (``"cardio"`` -> ``cardio.mat``), or a path to a
        ``.mat`` (MATLAB v5 or v7.3), ``.npz`` (arrays ``X``, ``y``), ``.npy`` (X only)
        file, or a table: ``.csv`` / ``.csv.gz``, ``.parquet`` / ``.pq``, FITS
        (``.fits``, ``.fit``, ``.fts``, each also ``.gz``), VOTable (``.vot``,
        ``.votable``, ``.xml``, each also ``.gz``), ``.ecsv`` / ``.ecsv.gz``, HDF5
        (``.h5``, ``.hdf5``).
    data_dir
        Folder(s) searched before ``$DRAMA_DATA`` and the user cache.
    label_column
        For tables: the 0/1 label column. By default a column named ``y``, ``label`` or
        ``is_anomaly`` is used if present. The features are chosen by column roles
        (:mod:`drama.datasets.columns`): ids, sky and bookkeeping columns and text are not
        features.
    hdu
        For FITS and VOTable files, the table to read (index or name); for HDF5 the
        table's path inside the file. By default the first table.

    Returns
    -------
    X : ndarray of float64, shape (n, d)
        ``.npy``/``.npz`` arrays with more axes (sequences, images) keep their shape, and
        so does a table with one vector column (one spectrum per row): (n, T).
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
    for option, value in (("label_column", label_column), ("hdu", hdu)):
        if value is not None and (isinstance(target, str) or file_format(target)
                                  in ARRAY_FORMATS):
            raise ValueError(f"{option} applies to tables only; {target} is not a table.")
    if isinstance(target, str):
        if target in COLLECTIONS:
            return _load_collection(target, data_dir)
        return BUILTINS[target].loader()
    if file_format(target) in ARRAY_FORMATS:
        return read_array_file(target)
    features, shape, _, y = _table_features(target, None, label_column, hdu)
    X = features.to_numpy()
    return (X if shape is None else X.reshape(len(X), *shape)), y


def _table_features(
    path: Path, id_column: str | None, label_column: str | None, hdu: HduArg,
    features: Sequence[str] | None = None, exclude: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, tuple[int, ...] | None, np.ndarray | None, np.ndarray | None]:
    """Features, the element shape of a vector column (None without one), ids and labels."""
    source = os.fspath(path)
    frame = read_table_file(path, id_column, hdu)
    table, ids, y = split_table(frame, source, id_column, label_column, features, exclude)
    table, shape = vector_features(frame, table, source)
    return table, shape, ids, y


def load_catalogue(
    path: PathArg,
    id_column: str | None = None,
    label_column: str | None = None,
    *,
    features: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    hdu: HduArg = None,
) -> Catalogue:
    """Read a table and split it by column roles: features, ids, labels, the
    carried-through columns and the roles themselves (to print them). With a vector
    column, its elements are the features and the other feature columns are carried.

    The arguments are those of :func:`load_table`; ``path`` must be a table file.
    """
    target = Path(path)
    source = os.fspath(target)
    frame = read_table_file(target, id_column, hdu)
    catalogue = split_catalogue(frame, source, id_column, label_column, features, exclude)
    table, shape = vector_features(frame, catalogue.features, source)
    if shape is None:
        return catalogue
    if len(shape) > 1:
        raise ValueError(f"{target}: each row holds an array of shape {shape}; only one value "
                         "or one vector per row fits in a table.")
    kept = set(table.columns)
    left = [c for c in catalogue.features.columns if c not in kept]
    roles = replace(catalogue.roles, features=tuple(table.columns),
                    carried=catalogue.roles.carried + tuple(left))
    return Catalogue(table, catalogue.ids, catalogue.y,
                     pd.concat([catalogue.carried, frame[left]], axis=1), roles)


def load_table(
    path: PathArg,
    id_column: str | None = None,
    label_column: str | None = None,
    *,
    features: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    data_dir: DataDirArg = None,
    hdu: HduArg = None,
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
    hdu
        As for :func:`load`: which table of a FITS, VOTable or HDF5 file.

    Returns
    -------
    features : DataFrame of float64
        One column per feature (``x0, x1, ...`` for array files; ``flux[0], flux[1],
        ...`` for a table whose one vector column ``flux`` holds the objects, in which
        case the other columns give only the ids and labels); NaN where missing.
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
        features, shape, ids, y = _table_features(target, id_column, label_column, hdu,
                                                  features, exclude)
        if shape is not None and len(shape) > 1:
            raise ValueError(
                f"{target}: each row holds an array of shape {shape}; only one value or one "
                "vector per row fits in a table. Use load() for images."
            )
        return features, ids, y
    if features is not None or exclude is not None:
        raise ValueError(f"features= and exclude= choose table columns; {target} is not a "
                         "table (its features are the array's columns).")
    for option, value in (("id_column", id_column), ("hdu", hdu)):
        if value is not None:
            raise ValueError(
                f"{option}={value!r} was given, but {target} is not a table and has no "
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
    """List the built-in tasks, the collections found (the CRTS light curves as ``"crts"``
    and ``"crts-grid"``) and every loadable file in the data folders.

    Files are not opened (that could take long); a listed file may still turn out to
    be corrupt. When a name occurs in several folders, the first one listed is the one
    :func:`load` uses.
    """
    from .lightcurves import CRTS_CURVES, crts_folder

    found = [DatasetInfo(name, None, "builtin", "builtin") for name in sorted(BUILTINS)]
    crts = crts_folder(data_dir=data_dir)
    if crts is not None and _is_file(crts / CRTS_CURVES):
        found.extend(DatasetInfo(name, crts, f"light-curve {representation}", "collection")
                     for name, representation in COLLECTIONS.items())
    for folder in data_dirs(data_dir):
        files = [
            entry
            for entry in _entries(folder, {})
            if format_suffix(entry) in SUFFIXES
            and not entry.name.startswith(".")
            and _is_file(entry)
        ]
        order = {suffix: rank for rank, suffix in enumerate(SUFFIXES)}
        files.sort(key=lambda entry: (_stem(entry), order[format_suffix(entry)], entry.name))
        found.extend(
            DatasetInfo(_stem(entry), entry, FORMATS[format_suffix(entry)], "file")
            for entry in files
        )
    return found
