"""Fitted runs kept beside their stores, so that an earlier run reopens without fitting.

Fitting DRAMA's configurations is the slow part of opening a run; everything after it
(the ranking from the labels) is a refit. So the fitted search is saved as data, never
code, next to the run's label store::

    .drama/<store name>.fit.npz    the search (drama.persistence: JSON + numeric arrays)
    .drama/<store name>.fit.map.npy  every object's place on the map (.map), (n, 2) floats
    .drama/<store name>.fit.json   what it was fitted on: the data's fingerprint (the
                                   values and ids, hashed), the run's options, the
                                   versions of DRAMA and of the session's ranking

A run reopens from it only when all four match what it reads now: a changed data file
(another fingerprint), other options or another DRAMA release fit again and replace it.
The key is removed before the search is written and written after it, so a crash
between the two leaves no key that names the wrong search.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from drama._io import atomic_path
from drama.active.store import export_labels
from drama.exceptions import StoreError

if TYPE_CHECKING:  # pragma: no cover
    from drama.search import DramaSearch

    from .map import MapSpace
    from .runs import RunOptions
    from .workspace import Workspace

__all__ = ["earlier_runs", "fit_key", "load_fit", "load_map", "save_fit"]

_LOG = logging.getLogger(__name__)


def _paths(store: Path) -> tuple[Path, Path]:
    return store.with_suffix(".fit.npz"), store.with_suffix(".fit.json")


def _map_path(store: Path) -> Path:
    return store.with_suffix(".fit.map.npy")


def fit_key(fingerprint: str, options: RunOptions) -> dict[str, Any]:
    """What must match for a saved fit to be reused."""
    import drama
    from drama.active.session import RANKING_VERSION

    return {"data": fingerprint, "options": json.loads(json.dumps(asdict(options))),
            "drama_version": drama.__version__, "ranking_version": RANKING_VERSION}


def load_fit(store: Path, key: dict[str, Any]) -> DramaSearch | None:
    """The search saved for ``key`` beside ``store``, or None (none saved, another key,
    or a file that does not read back: then it is fitted again)."""
    from drama import load_detector
    from drama.search import DramaSearch

    search_file, key_file = _paths(store)
    try:
        saved = json.loads(key_file.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict) or saved.get("key") != key:
        return None
    try:
        search = load_detector(search_file)
    except (OSError, ValueError) as exc:
        _LOG.warning("The saved fit %s does not read back (%s); fitting again.",
                     search_file.name, exc)
        return None
    return search if isinstance(search, DramaSearch) else None


def save_fit(store: Path, key: dict[str, Any], search: DramaSearch, space: MapSpace, *,
             path: str, objects: int, kind: str) -> None:
    """Save ``search`` and its map ``space`` under ``key``; ``path``, ``objects`` and
    ``kind`` describe the run in the list of earlier runs."""
    from drama.persistence import write_detector

    search_file, key_file = _paths(store)
    key_file.unlink(missing_ok=True)
    write_detector(search, search_file)
    with atomic_path(_map_path(store)) as tmp, open(tmp, "wb") as out:
        np.save(out, space.xy, allow_pickle=False)
    record = {"key": key, "path": path, "objects": objects, "kind": kind,
              "saved_at": time.time(),
              "map": {"configuration": space.configuration,
                      "description": space.description, "axes": list(space.axes)}}
    with atomic_path(key_file) as tmp:
        Path(tmp).write_text(json.dumps(record))


def load_map(store: Path, key: dict[str, Any], objects: int) -> MapSpace | None:
    """The map saved with the fit for ``key`` beside ``store`` (``objects`` places), or
    None (none saved, another key, or a file that does not read back: then it is made
    again)."""
    from .map import MapSpace

    try:
        record = json.loads(_paths(store)[1].read_text())
        about = record["map"]
        if record.get("key") != key:
            return None
        xy = np.load(_map_path(store), allow_pickle=False)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if xy.shape != (objects, 2) or xy.dtype != np.float64 or not np.isfinite(xy).all():
        return None
    return MapSpace(xy, str(about["configuration"]), str(about["description"]),
                    (str(about["axes"][0]), str(about["axes"][1])))


def earlier_runs(workspace: Workspace) -> list[dict[str, Any]]:
    """Every saved run whose data is still in the workspace: its path, options, number of
    objects and labels, and when it was fitted; newest first."""
    from .workspace import STATE_FOLDER, WorkspaceError

    found = []
    state = workspace.plain_folder(STATE_FOLDER)
    for key_file in sorted(state.glob("*.fit.json")) if state.is_dir() else []:
        try:
            record = json.loads(key_file.read_text())
            workspace.resolve(record["path"])
            store = key_file.with_name(key_file.name.removesuffix(".fit.json") + ".db")
            labelled = len(export_labels(store)) if store.is_file() else 0
        except (OSError, ValueError, KeyError, TypeError, StoreError, WorkspaceError):
            continue  # its data has gone, or the record is not one of ours
        found.append({"path": record["path"], "options": record["key"]["options"],
                      "objects": record["objects"], "kind": record["kind"],
                      "labelled": labelled, "saved_at": record["saved_at"]})
    return sorted(found, key=lambda r: -r["saved_at"])
