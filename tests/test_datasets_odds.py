"""Load the 25 real benchmark files of shared/data/odds and check them against its README.

The folder is not part of the repository: the ``shared_data`` fixture finds it at
``<repo>/../shared/data``; where it is missing, these tests are skipped.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from drama.datasets import CATALOGUE, available, download, load

# name -> (file, rows, features, outliers), from shared/data/README.md
ODDS_TABLE: dict[str, tuple[str, int, int, int]] = {
    "annthyroid": ("annthyroid.npz", 7200, 6, 534),
    "arrhythmia": ("arrhythmia.mat", 452, 274, 66),
    "breastw": ("breastw.mat", 683, 9, 239),
    "cardio": ("cardio.mat", 1831, 21, 176),
    "cover": ("cover.npz", 286048, 10, 2747),
    "glass": ("glass.mat", 214, 9, 9),
    "http": ("http.npz", 567498, 3, 2211),
    "ionosphere": ("ionosphere.mat", 351, 33, 126),
    "letter": ("letter.npz", 1600, 32, 100),
    "lympho": ("lympho.mat", 148, 18, 6),
    "mammography": ("mammography.mat", 11183, 6, 260),
    "mnist": ("mnist.mat", 7603, 100, 700),
    "musk": ("musk.mat", 3062, 166, 97),
    "optdigits": ("optdigits.mat", 5216, 64, 150),
    "pendigits": ("pendigits.mat", 6870, 16, 156),
    "pima": ("pima.mat", 768, 8, 268),
    "satellite": ("satellite.mat", 6435, 36, 2036),
    "satimage-2": ("satimage-2.mat", 5803, 36, 71),
    "shuttle": ("shuttle.mat", 49097, 9, 3511),
    "smtp": ("smtp.npz", 95156, 3, 30),
    "thyroid": ("thyroid.mat", 3772, 6, 93),
    "vertebral": ("vertebral.mat", 240, 6, 30),
    "vowels": ("vowels.mat", 1456, 12, 50),
    "wbc": ("wbc.mat", 378, 30, 21),
    "wine": ("wine.mat", 129, 13, 10),
}


@pytest.fixture(scope="module")
def folder(shared_data: Path) -> Path:
    odds = shared_data / "odds"
    if not odds.is_dir():
        pytest.skip(f"the ODDS benchmark folder {odds} is missing; real-data checks skipped")
    return odds


@pytest.fixture(autouse=True)
def _private_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("DRAMA_DATA", raising=False)


@pytest.mark.parametrize("name", sorted(ODDS_TABLE))
def test_real_file_matches_readme(folder: Path, name: str) -> None:
    filename, rows, features, outliers = ODDS_TABLE[name]
    path = folder / filename
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    X, y = load(path)
    assert X.shape == (rows, features)
    assert X.dtype == np.float64 and np.isfinite(X).all()
    assert y is not None and y.dtype == np.int64 and y.shape == (rows,)
    assert set(np.unique(y)) <= {0, 1}
    assert int(y.sum()) == outliers


def test_names_resolve_through_drama_data(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRAMA_DATA", str(folder))
    X, y = load("wine")
    assert X.shape == (129, 13) and y is not None and y.sum() == 10
    names = {info.name for info in available() if info.source == "file"}
    assert set(ODDS_TABLE) <= names


def test_catalogue_checksums_match_the_shared_files(folder: Path) -> None:
    for name, (filename, *_rest) in ODDS_TABLE.items():
        path = folder / filename
        if not path.is_file():
            continue
        entry = CATALOGUE[name]
        assert entry.filename == filename
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry.sha256, name


def test_download_of_a_real_file_via_file_url(folder: Path, tmp_path: Path) -> None:
    source = folder / "cardio.mat"
    if not source.is_file():
        pytest.skip(f"{source} is missing")
    saved = download("cardio", dest=tmp_path / "dest", url=source.as_uri())
    assert saved.name == "cardio.mat"
    X, y = load("cardio", data_dir=tmp_path / "dest")
    assert X.shape == (1831, 21) and y is not None and y.sum() == 176
