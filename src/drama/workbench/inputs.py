"""What a run reads, and what the data page shows before it opens one.

A run's input is a data file, read as ``drama active`` reads it
(:func:`drama.cli.active.load_objects`); a folder of PNG / JPEG images
(:func:`drama.datasets.images.load_image_folder`, each file one object named by its file
name); or a long-format light-curve table, one row per observation, made into one row per
object as ``drama active --light-curves`` makes it when the run's options name its id,
time and magnitude columns. The column roles of a
table are those ``drama score`` prints (:mod:`drama.datasets.columns`).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from drama.cli.lightcurves import CurveOptions

__all__ = ["PICTURE_SUFFIXES", "column_roles", "is_image_folder", "read_input"]

#: The image files a folder is read for (a folder of them is one data set).
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg")


def _is_picture(path: Path) -> bool:
    return path.suffix.lower() in PICTURE_SUFFIXES and not path.name.startswith(".")


def _pictures(folder: Path) -> list[Path]:
    return sorted(filter(_is_picture, folder.iterdir()))


def is_image_folder(path: Path) -> bool:
    """A folder that holds at least one PNG or JPEG file (not counting its sub-folders);
    asked on every request of a run, so it stops at the first one."""
    return path.is_dir() and any(map(_is_picture, path.iterdir()))


def _image_folder(folder: Path) -> tuple[Any, list[str]]:
    """The folder's images and file names; a file that leads out of the folder (a link)
    is refused before anything is read."""
    from drama.datasets.images import load_image_folder

    for picture in _pictures(folder):
        if picture.resolve().parent != folder.resolve():
            raise ValueError(f"{picture.name} in {folder.name} leads out of the folder "
                             "(a link?); remove it.")
    return load_image_folder(folder, suffixes=PICTURE_SUFFIXES)


def _is_table(path: Path) -> bool:
    from drama.cli.common import INPUT_SUFFIXES
    from drama.datasets.readers import format_suffix

    return path.is_file() and format_suffix(path) in INPUT_SUFFIXES


def read_input(path: Path, curves: CurveOptions | None = None
               ) -> tuple[Any, list[str] | None, str, Any]:
    """Objects, ids, kind ("table", "curve" or "image") and carried columns (a DataFrame
    or None), as :func:`drama.cli.active.load_objects` gives them."""
    from drama.cli.active import load_objects

    if path.is_dir():
        if curves is not None:
            raise ValueError("Light-curve columns apply to a table, not to a folder of images.")
        X, names = _image_folder(path)
        return X, names, "image", None
    if curves is not None and not _is_table(path):
        raise ValueError(f"Light-curve columns apply to a table; {path.name} is not one.")
    return load_objects(path, None, curves=curves)


def column_roles(path: Path) -> dict[str, Any]:
    """Each column's role in a table, as ``drama score`` decides and prints them (id,
    feature, carried, text, label), with the reader's warnings; for an array or a folder
    of images, its kind and shape. A table whose roles cannot be decided (a long-format
    light-curve table repeats its ids) still lists its columns, with the reason."""
    if not _is_table(path):
        X, _, kind, _ = read_input(path)
        return {"table": False, "kind": kind, "shape": list(X.shape), "columns": []}
    from drama.datasets import load_catalogue
    from drama.datasets.readers import table_columns

    names = [str(c) for c in table_columns(path)]  # from the header where the format allows
    out: dict[str, Any] = {"table": True, "kind": "table", "columns": [], "lines": [],
                           "notes": [], "error": None}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            roles = load_catalogue(path).roles
        except (ValueError, TypeError) as exc:
            out["error"] = str(exc)
            out["columns"] = [{"name": n, "role": None} for n in names]
            return out
    out["notes"] = [str(w.message) for w in caught]
    text = set(roles.text)
    role = {roles.id: "id", roles.label: "label"} | {c: "feature" for c in roles.features}
    role |= {c: "text" if c in text else "carried" for c in roles.carried}
    out["columns"] = [{"name": n, "role": role.get(n)} for n in names]
    out["lines"] = [line.strip() for line in roles.lines()]
    return out
