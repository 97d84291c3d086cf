"""Writing results as CSV, Parquet, FITS or VOTable (by the suffix): ids come back exactly
(19-digit integers, empty ids, text ids), scores to the last bit, and every column the
frame holds; the write is atomic; an unknown suffix is refused before any work."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.table import Table
from typer.testing import CliRunner

from drama.cli import app
from drama.cli.common import write_table

FIRST_ID = 1237648720693755000  # 19 digits: beyond float64's exact integers
OUTPUTS = ["s.csv", "s.parquet", "s.pq", "s.fits", "s.vot", "s.votable"]


def _read_back(path: Path) -> pd.DataFrame:
    """The written table as its usual reader gives it: pandas for CSV/Parquet (ids as text
    for CSV and nullable integers for Parquet, so nothing rounds), astropy for FITS and
    VOTable (masked cells None)."""
    name = path.name
    if name.endswith(".csv"):
        return pd.read_csv(path, dtype={0: str}, keep_default_na=False)
    if name.endswith((".parquet", ".pq")):
        return pd.read_parquet(path, dtype_backend="numpy_nullable")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = Table.read(path, format="fits" if name.endswith(".fits") else "votable")
    return pd.DataFrame({name: pd.Series(table[name].tolist(), dtype=object)
                         for name in table.colnames})  # object: ints with gaps stay ints


def _ids(column: pd.Series) -> list:
    """Ids as Python ints (from text too), empty ones None."""
    return [None if _empty(v) else int(v) for v in column]


def _empty(value) -> bool:
    """A missing cell, as each format gives one back: None, NaN, <NA> or empty text."""
    return value is None or value is pd.NA or value == "" or (
        isinstance(value, float) and np.isnan(value))


def _objects(tmp_path: Path, ids: list) -> Path:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"objid": ids, "a": rng.normal(size=len(ids)),
                          "b": rng.normal(size=len(ids))})
    frame.loc[3, ["a", "b"]] += 9.0
    path = tmp_path / "objects.csv"
    frame.to_csv(path, index=False)
    return path


def _score(path: Path, out: Path) -> None:
    result = CliRunner().invoke(app, ["score", str(path), "-o", str(out), "--id-column",
                                      "objid", "--reducer", "none", "--metric", "l2",
                                      "--levels", "1"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name", OUTPUTS)
def test_scores_round_trip_big_integer_ids_and_gaps(tmp_path: Path, name: str) -> None:
    ids: list = [FIRST_ID + 7 * i for i in range(40)]
    ids[5] = ""  # an object without a catalogue id
    path = _objects(tmp_path, ids)
    _score(path, tmp_path / "reference.parquet")
    reference = pd.read_parquet(tmp_path / "reference.parquet")
    _score(path, tmp_path / name)
    written = _read_back(tmp_path / name)
    assert list(written.columns) == ["objid", "score", "label", "rank"]
    expected = [None if v == "" else v for v in ids]
    assert _ids(written["objid"]) == expected
    assert written["score"].astype(float).tolist() == reference["score"].tolist()  # bit-exact
    assert written["rank"].astype(int).tolist() == reference["rank"].tolist()
    assert written["label"].astype(int).tolist() == reference["label"].tolist()


@pytest.mark.parametrize("name", OUTPUTS)
def test_text_ids_stay_text(tmp_path: Path, name: str) -> None:
    ids = [f"NGC {i}" for i in range(39)] + ["007"]
    _score(_objects(tmp_path, ids), tmp_path / name)
    assert _read_back(tmp_path / name)["objid"].astype(str).tolist() == ids


def _extras() -> pd.DataFrame:
    """A frame with the columns a carried-through catalogue adds beside the scores."""
    return pd.DataFrame({
        "objid": np.array([FIRST_ID, FIRST_ID + 1, FIRST_ID + 2], dtype=np.int64),
        "score": [0.5, 0.25, 1 / 3],
        "ra": [10.5, 11.25, np.nan],
        "name": ["a", None, "c"],
        "n_imputed": pd.array([0, None, 2], dtype="Int64"),
        "flag": [True, False, True],
    })


@pytest.mark.parametrize("name", ["x.fits", "x.vot", "x.parquet", "x.csv"])
def test_every_column_of_the_frame_is_written(tmp_path: Path, name: str) -> None:
    write_table(_extras(), tmp_path / name)
    written = _read_back(tmp_path / name)
    assert list(written.columns) == list(_extras().columns)
    assert _ids(written["objid"]) == _extras()["objid"].tolist()
    assert written["score"].astype(float).tolist() == [0.5, 0.25, 1 / 3]
    ra = written["ra"].replace("", np.nan).astype(float)
    assert ra.tolist()[:2] == [10.5, 11.25] and np.isnan(ra.tolist()[2])
    assert written["name"].tolist()[0] == "a" and written["name"].tolist()[2] == "c"
    assert _empty(written["name"].tolist()[1])  # (VOTable and CSV text has no null: "")
    assert _ids(written["n_imputed"]) == [0, None, 2]
    assert [str(v).lower() for v in written["flag"]] == ["true", "false", "true"]


def test_unsigned_ids_beyond_int64(tmp_path: Path) -> None:
    big = np.array([2**64 - 1, 2**63, 5], dtype=np.uint64)
    frame = pd.DataFrame({"objid": big, "score": [0.1, 0.2, 0.3]})
    write_table(frame, tmp_path / "u.fits")
    assert _ids(_read_back(tmp_path / "u.fits")["objid"]) == [int(v) for v in big]
    write_table(frame, tmp_path / "u.vot")  # VOTable has no unsigned 64-bit integers: text
    assert _read_back(tmp_path / "u.vot")["objid"].tolist() == [str(int(v)) for v in big]


def test_a_failed_write_leaves_the_old_file(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "x.fits"
    write_table(_extras(), out)
    before = out.read_bytes()

    def broken(table, *args, **kwargs):
        Path(args[0]).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(Table, "write", broken)
    with pytest.raises(OSError, match="disk full"):
        write_table(_extras(), out)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.fits"]  # no temporary left


@pytest.mark.parametrize("name", ["s.fits", "s.vot"])
def test_a_previous_scores_table_is_replaced_without_force(tmp_path: Path, name: str) -> None:
    path = _objects(tmp_path, [FIRST_ID + i for i in range(40)])
    _score(path, tmp_path / name)
    _score(path, tmp_path / name)  # DRAMA's own output: replaced without --force
    other = tmp_path / f"other{Path(name).suffix}"
    write_table(pd.DataFrame({"objid": [1, 2], "flux": [0.1, 0.2]}), other)
    result = CliRunner().invoke(app, ["score", str(path), "-o", str(other), "--id-column",
                                      "objid"])
    assert result.exit_code == 2 and "is not a DRAMA scores table" in result.output


def test_unknown_output_suffix_lists_the_written_ones(tmp_path: Path) -> None:
    path = _objects(tmp_path, [FIRST_ID + i for i in range(40)])
    for name in ("s.xlsx", "s.fits.gz", "s.ecsv"):
        result = CliRunner().invoke(app, ["score", str(path), "-o", str(tmp_path / name)])
        assert result.exit_code == 2 and "Traceback" not in result.output
        flat = " ".join(result.output.split())
        assert "use one of .csv, .fits, .parquet, .pq, .vot, .votable" in flat, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["objects.csv"]


@pytest.mark.parametrize("name", ["rank.fits", "rank.vot"])
def test_active_ranking_as_fits_and_votable(tmp_path: Path, name: str) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    frame.insert(0, "id", [f"gal{i}" for i in range(60)])
    frame.to_csv(tmp_path / "cat.csv", index=False)
    result = CliRunner().invoke(app, ["active", str(tmp_path / "cat.csv"), "--store",
                                      str(tmp_path / "s.db"), "--reducer", "none", "--levels",
                                      "1", "--output", str(tmp_path / name)], input="i\nq\n")
    assert result.exit_code == 0, result.output
    ranking = _read_back(tmp_path / name)
    assert len(ranking) == 60 and ranking["label"].iloc[0] == "interesting"
    assert sorted(ranking["id"]) == sorted(frame["id"])
