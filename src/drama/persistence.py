"""Saving and loading fitted detectors as data, never code.

A detector file is one ``.npz`` archive: a JSON document (``__meta__``) with the format,
its version, the DRAMA release that wrote it and the detector's own description, plus
plain numeric arrays. What goes in is the detector's ``to_state()``; what comes out is
handed to its class's ``from_state()``. Each array is read from its raw bytes after its
header has been checked (:class:`ArchiveArrays`): a pickled object array is refused, never
unpickled, so loading a file cannot execute anything from it. Writes go to a temporary file
first and are renamed into place, so a crash never leaves half a file behind.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from drama._io import atomic_path
from drama.exceptions import DeviceError

if TYPE_CHECKING:  # the detectors import this module when they save or load
    from drama.detector import AnomalyDetector

__all__ = ["ArchiveArrays", "detector_format", "element_budget", "read_detector",
           "write_detector"]

# A model's JSON description is small (structure and parameters, no data).
MAX_DESCRIPTION_BYTES = 256 << 20


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
    draw = getattr(detector, "sample_draw_", None)
    if draw is not None:  # fitted on a sample of a Dask collection (drama.dask_support)
        meta = {**meta, "sample_draw": draw}
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
        with zipfile.ZipFile(path) as archive:
            meta = _description(archive, Path(path))
    except (OSError, ValueError, zipfile.BadZipFile):
        return None
    fmt = meta.get("format")
    return fmt if isinstance(fmt, str) and fmt.startswith("drama-") else None


class ArchiveArrays(Mapping):
    """The arrays of a detector file, read one at a time when asked for, after checks.

    Each member's ``.npy`` header is read first: a non-numeric dtype, or more elements
    than ``max_elements`` (a budget from the file's own description, see
    :func:`element_budget`), is refused before any data is read, so a small file cannot
    declare a huge array and take the memory. Floating arrays must be finite, except the
    members named in ``may_be_nan``. Members nobody asks for are never read."""

    def __init__(self, archive: zipfile.ZipFile, path: Path, max_elements: int,
                 may_be_nan: Iterable[str] = ()):
        self._archive, self._path, self.max_elements = archive, path, max_elements
        self._may_be_nan = frozenset(may_be_nan)
        self._names = {n[:-4]: n for n in archive.namelist()
                       if n.endswith(".npy") and n != "__meta__.npy"}

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._names:
            raise KeyError(name)
        with self._archive.open(self._names[name]) as member:
            shape, fortran, dtype = _npy_header(member, f"{self._path} member {name!r}")
            size = int(np.prod(shape, dtype=object))
            if dtype.kind not in "biuf" or dtype.hasobject:
                raise ValueError(f"member {name!r} holds {dtype}, not numbers")
            if size > self.max_elements:
                raise ValueError(f"member {name!r} declares {size} values, more than this "
                                 f"model can hold ({self.max_elements})")
            data = member.read(size * dtype.itemsize + 1)
        if len(data) != size * dtype.itemsize:
            raise ValueError(f"member {name!r} holds {len(data)} bytes for its declared "
                             f"shape {shape}")
        array = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
        array = np.ascontiguousarray(array) if fortran else array.copy()
        if dtype.kind == "f" and name not in self._may_be_nan and not np.isfinite(array).all():
            raise ValueError(f"member {name!r} holds NaN or infinite values")
        return array

    def close(self) -> None:
        self._archive.close()



def group(arrays: Mapping[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """The arrays under ``prefix``, keyed by the rest of their names (only those are read
    from an :class:`ArchiveArrays`)."""
    return {k[len(prefix):]: arrays[k] for k in arrays if k.startswith(prefix)}


def _npy_header(member: Any, what: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, Fortran order, dtype) of an ``.npy`` stream, reading only its header."""
    try:
        version = np.lib.format.read_magic(member)
        read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = read(member)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{what} is not a readable array ({exc})") from None
    return tuple(int(v) for v in shape), bool(fortran), dtype


def element_budget(n_objects: Any, n_features: Any, n_trees: int = 1) -> int:
    """The most values one array of a model may hold: enough for any state DRAMA saves
    for ``n_objects`` objects of ``n_features`` values (the training scores, a reducer's
    weights or stored samples, a covariance), and no more."""
    for value, what in ((n_objects, "objects"), (n_features, "features")):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10**10:
            raise ValueError(f"the description gives {value!r} {what}")
    per_tree = 4 * (n_objects + 4096) * (n_features + 64) + n_features**2
    return per_tree * max(1, n_trees)


def _read(path: Path, classes: Sequence[type[AnomalyDetector]]
          ) -> tuple[dict, ArchiveArrays, type[AnomalyDetector]]:
    if not path.exists():
        raise FileNotFoundError(f"No model file at {path}.")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a readable DRAMA model file (not an .npz archive).")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValueError(f"{path} is not a readable DRAMA model file ({exc}).") from None
    try:
        meta = _description(archive, path)
        cls = _class_for(path, meta, classes)
        try:
            budget = cls.element_budget(meta)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ValueError(f"{path} is not a consistent DRAMA model file: {exc}") from None
    except BaseException:
        archive.close()
        raise
    return meta, ArchiveArrays(archive, path, budget, cls.NAN_MEMBERS), cls


def _description(archive: zipfile.ZipFile, path: Path) -> dict:
    """The JSON description of a detector file, read within a size limit."""
    try:
        with archive.open("__meta__.npy") as member:
            shape, _, dtype = _npy_header(member, f"{path}'s description")
            size = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if dtype.kind != "U" or shape != () or size > MAX_DESCRIPTION_BYTES:
                raise ValueError("its description is not one text")
            text = np.frombuffer(member.read(size), dtype=dtype).reshape(())
        meta = json.loads(str(text))
    except KeyError:
        held = sorted(n.removesuffix(".npy") for n in archive.namelist())[:5]
        raise ValueError(f"{path} is an .npz archive but not a DRAMA model: it holds {held} "
                         "and no model description.") from None
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{path} is not a readable DRAMA model file ({exc}).") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{path} is not a DRAMA model file.")
    return meta


def _class_for(path: Path, meta: dict, classes: Sequence[type[AnomalyDetector]]
               ) -> type[AnomalyDetector]:
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


def read_detector(path: str | os.PathLike, classes: Sequence[type[AnomalyDetector]],
                  device: str | None = None) -> Any:
    """Read a detector written by :func:`write_detector` as one of ``classes``; a file whose
    parts do not fit together (edited, or written by something else) raises a ValueError
    that says so. ``device`` overrides where a neural model runs."""
    path = Path(path)
    meta, arrays, cls = _read(path, classes)
    try:
        detector = cls.from_state(meta, arrays, device=device)
        if meta.get("sample_draw") is not None:
            from drama.dask_support import check_sample_draw

            detector.sample_draw_ = check_sample_draw(meta["sample_draw"])
        return detector
    except DeviceError as exc:
        raise DeviceError(f"{path} holds a model for a device that is not here: {exc} To run "
                          "it on this machine, load it with device='cpu'.") from None
    except (KeyError, TypeError, AttributeError, IndexError, ValueError, RuntimeError,
            zipfile.BadZipFile, OSError, EOFError) as exc:
        # RuntimeError: PyTorch refusing weights that do not fit the saved architecture
        reason = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        reason = " ".join(reason.split())[:300]
        raise ValueError(f"{path} is not a consistent DRAMA model file: {reason}") from None
    finally:
        arrays.close()
