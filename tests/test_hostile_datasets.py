"""Data folders and downloads as clumsy set-ups leave them: an unreadable folder in the data
path, ``download(dest=<a file>)``, an empty CRTS file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from drama.datasets import available, download, load
from drama.datasets.lightcurves import CRTS_CURVES, load_crts


@pytest.fixture(autouse=True)
def _private_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("DRAMA_DATA", raising=False)


@pytest.fixture
def unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder nobody may list or enter. Root ignores permission bits, so there the
    refusal the kernel would give is raised by hand for that folder."""
    folder = tmp_path / "locked"
    folder.mkdir()
    np.save(folder / "hidden.npy", np.ones((4, 2)))
    if os.geteuid() != 0:
        folder.chmod(0)
        yield folder
        folder.chmod(0o755)
        return

    def refuse(path: Path) -> None:
        if path == folder or folder in path.parents:
            raise PermissionError(13, "Permission denied", str(path))

    real_iterdir, real_stat = Path.iterdir, Path.stat

    def iterdir(self: Path):
        refuse(self)
        return real_iterdir(self)

    def stat(self: Path, *args, **kwargs):
        if self != folder:
            refuse(self)
        return real_stat(self, *args, **kwargs)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    monkeypatch.setattr(Path, "stat", stat)
    yield folder


@pytest.fixture
def readable(tmp_path: Path) -> Path:
    folder = tmp_path / "open"
    folder.mkdir()
    np.save(folder / "wanted.npy", np.arange(6.0).reshape(3, 2))
    return folder


def test_an_unreadable_folder_does_not_hide_the_next_one(
    unreadable: Path, readable: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRAMA_DATA", os.pathsep.join([str(unreadable), str(readable)]))
    X, _ = load("wanted")
    np.testing.assert_array_equal(X, np.arange(6.0).reshape(3, 2))
    X, _ = load("wanted.npy")  # a bare file name is looked up in the folders too
    assert X.shape == (3, 2)
    assert "wanted" in {info.name for info in available()}


def test_a_name_found_nowhere_says_which_folder_could_not_be_read(
    unreadable: Path, readable: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRAMA_DATA", os.pathsep.join([str(unreadable), str(readable)]))
    with pytest.raises(ValueError, match="unknown data set") as caught:
        load("absent")
    assert f"{unreadable}  (cannot be read" in str(caught.value)


def test_download_into_a_file_says_dest_must_be_a_folder(tmp_path: Path) -> None:
    source = tmp_path / "source.npy"
    np.save(source, np.ones(3))
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    with pytest.raises(NotADirectoryError, match=r"dest=.*notes\.txt.* is a file"):
        download("mine", dest=target, url=source.as_uri(), verify=False)
    assert target.read_text() == "mine"


def test_an_empty_crts_file_is_named(tmp_path: Path) -> None:
    (tmp_path / CRTS_CURVES).write_text("")
    with pytest.raises(ValueError, match=str(tmp_path / CRTS_CURVES)):
        load_crts(tmp_path)


def test_the_library_reads_data_only_from_drama_data_and_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Data beside the repository or the working directory are not found by walking up:
    what DRAMA reads must not depend on where it is installed or run from."""
    from drama.datasets import odds_dir
    from drama.datasets.lightcurves import crts_folder

    beside = tmp_path / "work" / "shared" / "data"
    (beside / "odds").mkdir(parents=True)
    (beside / "lightcurves" / "crts").mkdir(parents=True)
    run_from = tmp_path / "work" / "repo"
    run_from.mkdir()
    monkeypatch.chdir(run_from)
    assert odds_dir() is None and crts_folder() is None
    monkeypatch.setenv("DRAMA_DATA", str(beside))
    assert odds_dir() == beside / "odds"
    assert crts_folder() == beside / "lightcurves" / "crts"
