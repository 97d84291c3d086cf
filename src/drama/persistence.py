"""Saving and loading fitted detectors as data, never code.

A detector file is one ``.npz`` archive: a JSON document (``__meta__``) with the format,
its version, the DRAMA release that wrote it and the detector's own description, plus
plain numeric arrays. What goes in is the detector's ``to_state()``; what comes out is
handed to its class's ``from_state()``. The archive is read with ``allow_pickle=False``,
so loading a file cannot execute anything from it. Writes go to a temporary file first
and are renamed into place, so a crash never leaves half a file behind.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from drama._io import atomic_path
from drama.reducers.base import DeviceError

__all__ = ["detector_format", "read_detector", "write_detector"]


def _json_default(value: Any) -> Any:
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} cannot be saved in a data-only model file.")


def _drama_version() -> str:
    import drama

    return str(drama.__version__)


def write_detector(detector: Any, path: str | os.PathLike) -> None:
    """Write a fitted detector (its ``to_state()``, under its class's format) to ``path``."""
    meta, arrays = detector.to_state()
    header = {"format": detector.FORMAT, "format_version": detector.FORMAT_VERSION,
              "drama_version": _drama_version()}
    arrays = dict(arrays)
    arrays["__meta__"] = np.array(json.dumps({**header, **meta}, default=_json_default))
    with atomic_path(Path(path)) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(handle, **arrays)


def detector_format(path: str | os.PathLike) -> str | None:
    """The format name of a DRAMA detector file (e.g. ``"drama-model"``), or None for any
    other file; reads only the description, whatever the size of the arrays."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "__meta__" not in archive.files:
                return None
            meta = json.loads(str(archive["__meta__"]))
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, AttributeError):
        return None
    fmt = meta.get("format") if isinstance(meta, dict) else None
    return fmt if isinstance(fmt, str) and fmt.startswith("drama-") else None


def _read(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    if not path.exists():
        raise FileNotFoundError(f"No model file at {path}.")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a readable DRAMA model file (not an .npz archive).")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{path} is not a readable DRAMA model file ({exc}).") from None
    if "__meta__" not in arrays:
        raise ValueError(f"{path} is an .npz archive but not a DRAMA model: it holds "
                         f"{sorted(arrays)[:5]} and no model description.")
    try:
        meta = json.loads(str(arrays.pop("__meta__")))
    except ValueError as exc:
        raise ValueError(f"{path} has an unreadable model description ({exc}).") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{path} is not a DRAMA model file.")
    return meta, arrays


def _class_for(path: Path, meta: dict, classes: Sequence[type]) -> type:
    """The class among ``classes`` whose format the file holds, at a version it reads."""
    fmt = meta.get("format")
    cls = next((c for c in classes if c.FORMAT == fmt), None)
    if cls is None:
        wanted = " or ".join(c.__name__ for c in classes)
        known = {"drama-model": "a Drama model (Drama.load)",
                 "drama-search": "a DramaSearch (DramaSearch.load)"}
        held = known.get(fmt) if isinstance(fmt, str) else None
        raise ValueError(f"{path} holds {held}, not a {wanted}; load it with that, or with "
                         "drama.load_detector(path)." if held else
                         f"{path} is not a DRAMA model file.")
    version = meta.get("format_version")
    if version != cls.FORMAT_VERSION:
        writer = meta.get("drama_version")
        by = f" by DRAMA {writer}" if isinstance(writer, str) else ""
        raise ValueError(
            f"{path} was written{by} in {fmt} format version {version!r}, but this DRAMA "
            f"({_drama_version()}) reads version {cls.FORMAT_VERSION}. Refit with this "
            "version, or load it with the DRAMA release that wrote it."
        )
    return cls


def read_detector(path: str | os.PathLike, classes: Sequence[type],
                  device: str | None = None) -> Any:
    """Read a detector written by :func:`write_detector` as one of ``classes``; a file whose
    parts do not fit together (edited, or written by something else) raises a ValueError
    that says so. ``device`` overrides where a neural model runs."""
    path = Path(path)
    meta, arrays = _read(path)
    cls = _class_for(path, meta, classes)
    try:
        return cls.from_state(meta, arrays, device=device)
    except DeviceError as exc:
        raise DeviceError(f"{path} holds a model for a device that is not here: {exc} To run "
                          "it on this machine, load it with device='cpu'.") from None
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
        reason = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ValueError(f"{path} is not a consistent DRAMA model file: {reason}") from None
