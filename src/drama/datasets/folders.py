"""Where DRAMA looks for data files.

Data sets are found by name in an ordered list of folders, so that one user can keep
benchmark files in a shared place (``DRAMA_DATA``) while downloads land in a private
cache. The order is: an explicit ``data_dir`` argument, then every folder in the
``DRAMA_DATA`` environment variable (separated by ``os.pathsep``), then the user cache.
That is the whole search: the library never walks up from its own location or the
working directory looking for data, so what it reads never depends on where it is
installed or run from.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from drama.datasets.readers import FORMATS

__all__ = ["DATA_ENV", "SUFFIXES", "cache_dir", "data_dirs", "data_subfolder", "odds_dir"]

#: Environment variable holding extra data folders, separated by ``os.pathsep``.
DATA_ENV = "DRAMA_DATA"

#: File suffixes the loader understands, in the order a bare name is resolved.
SUFFIXES: tuple[str, ...] = tuple(FORMATS)

PathArg = str | os.PathLike[str]


def cache_dir() -> Path:
    """Return the per-user folder where downloads are stored.

    ``$XDG_CACHE_HOME/drama`` when that variable is set, else ``~/.cache/drama``; it
    follows the XDG convention so that cleaning the cache removes DRAMA's files too.
    The folder is not created here: only a download needs it to exist.
    """
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "drama"


def data_dirs(data_dir: PathArg | Iterable[PathArg] | None = None) -> list[Path]:
    """Return the folders searched for data files, highest priority first.

    Parameters
    ----------
    data_dir
        One folder, or several, searched before ``DRAMA_DATA`` and the cache.

    Returns
    -------
    list of Path
        Folders in search order, without duplicates; folders that do not exist are
        kept, so that an error message can say where DRAMA looked.
    """
    folders: list[Path] = []
    if data_dir is not None:
        if isinstance(data_dir, str | os.PathLike):
            folders.append(Path(data_dir).expanduser())
        else:
            folders.extend(Path(item).expanduser() for item in data_dir)
    for item in os.environ.get(DATA_ENV, "").split(os.pathsep):
        if item.strip():
            folders.append(Path(item.strip()).expanduser())
    folders.append(cache_dir())
    unique: list[Path] = []
    for folder in folders:
        if folder not in unique:
            unique.append(folder)
    return unique


def data_subfolder(*parts: str, data_dir: PathArg | Iterable[PathArg] | None = None
                   ) -> Path | None:
    """The first ``<folder>/<parts...>`` that exists among :func:`data_dirs` (``data_dir``,
    ``DRAMA_DATA``, then the cache), or None. Collections of files (the ODDS benchmark in
    ``odds/``, the CRTS light curves in ``lightcurves/crts/``) are found this way; nothing
    is searched outside those folders."""
    for folder in data_dirs(data_dir):
        candidate = folder.joinpath(*parts)
        try:
            if candidate.is_dir():
                return candidate
        except OSError:  # an unreadable folder must not hide the next one
            continue
    return None


def odds_dir() -> Path | None:
    """The folder holding the ODDS benchmark files (``odds/`` in a data folder), or None."""
    return data_subfolder("odds")
