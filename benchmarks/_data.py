"""Where the benchmark scripts find the project's data: ``$DRAMA_DATA`` (or the user cache),
as the library does, else ``shared/data`` beside the repository, where the project's machines
keep it. Scripts may look beside the repository; the library never walks up folders."""

from __future__ import annotations

from pathlib import Path

from drama.datasets.folders import data_subfolder

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
NO_ODDS = f"No ODDS folder: pass --data-dir, or set DRAMA_DATA to the folder holding odds/ " \
          f"(looked in $DRAMA_DATA, the cache and {SHARED_DATA})."


def shared_folder(*parts: str) -> Path | None:
    """``<data folder>/<parts>`` as the library finds it, else under ``SHARED_DATA``."""
    found = data_subfolder(*parts)
    if found is None and SHARED_DATA.joinpath(*parts).is_dir():
        return SHARED_DATA.joinpath(*parts)
    return found
