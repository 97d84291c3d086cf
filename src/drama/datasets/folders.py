"""Where DRAMA looks for data files.

Data sets are found by name in an ordered list of folders, so that one user can keep
benchmark files in a shared place (``DRAMA_DATA``) while downloads land in a private
cache. The order is: an explicit ``data_dir`` argument, then every folder in the
``DRAMA_DATA`` environment variable (separated by ``os.pathsep``), then the user cache.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from drama.datasets.readers import FORMATS

__all__ = ["DATA_ENV", "ODDS_ENV", "SUFFIXES", "cache_dir", "data_dirs", "odds_dir",
           "shared_data_dir"]

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


#: Environment variable naming the folder of the 25 ODDS benchmark files.
ODDS_ENV = "DRAMA_ODDS_DIR"


def shared_data_dir() -> Path:
    """``shared/data`` beside the repository of a source checkout, where the project's
    machines keep the benchmark files (it may not exist elsewhere)."""
    return Path(__file__).resolve().parents[4] / "shared" / "data"


def odds_dir() -> Path | None:
    """The folder holding the ODDS benchmark files, or None where there is none.

    ``$DRAMA_ODDS_DIR`` first; else ``shared/data/odds`` beside the repository of a source
    checkout (where the project's machines keep it), then beside the working directory.
    """
    candidates = [os.environ.get(ODDS_ENV, "").strip()]
    candidates += [str(shared_data_dir() / "odds"),
                   str(Path.cwd().parent / "shared" / "data" / "odds")]
    for item in candidates:
        if item and Path(item).is_dir():
            return Path(item)
    return None
