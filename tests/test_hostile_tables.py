"""Tables written the way users write them by accident: 19-digit ids with an empty cell,
and the row index that ``df.to_csv()`` adds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet
import pytest
from typer.testing import CliRunner

from drama.cli import app
from drama.datasets import load, load_table

N = 300
FIRST_ID = 1237648720693755000  # SDSS-like object ids: 19 digits, beyond float64's 2**53


def _big_ids() -> list[int]:
    return [FIRST_ID + 7 * i for i in range(N)]


def _features(n: int = N) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})


@pytest.fixture
def csv_with_gap(tmp_path: Path) -> Path:
    """300 distinct 19-digit ids, one cell left empty (an object without a catalogue id)."""
    ids = [str(v) for v in _big_ids()]
    ids[5] = ""
    path = tmp_path / "objects.csv"
    _features().assign(objid=ids)[["objid", "a", "b"]].to_csv(path, index=False)
    return path


@pytest.fixture
def parquet_with_gap(tmp_path: Path) -> Path:
    ids = pd.array(_big_ids(), dtype="Int64")
    ids[5] = pd.NA
    path = tmp_path / "objects.parquet"
    _features().assign(id=ids).to_parquet(path, index=False)
    return path


def _exact(ids: np.ndarray) -> list[int | None]:
    return [None if v is None else int(v) for v in ids.tolist()]


def test_csv_ids_with_a_gap_stay_exact_integers(csv_with_gap: Path) -> None:
    _, ids, _ = load_table(csv_with_gap, id_column="objid")
    expected: list[int | None] = list(_big_ids())
    expected[5] = None
    assert ids.dtype.kind != "f"
    assert _exact(ids) == expected  # float64 collapsed them to a handful of values


def test_parquet_ids_with_a_gap_stay_exact_integers(parquet_with_gap: Path) -> None:
    _, ids, _ = load_table(parquet_with_gap)
    assert ids.dtype.kind != "f"
    assert len({v for v in ids.tolist() if v is not None}) == N - 1
    assert ids[5] is None and int(ids[6]) == _big_ids()[6]


def test_text_ids_keep_their_leading_zeros(tmp_path: Path) -> None:
    path = tmp_path / "names.csv"
    _features(3).assign(id=["007", "", "010"]).to_csv(path, index=False)
    _, ids, _ = load_table(path)
    assert ids.tolist() == ["007", None, "010"]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_cli_output_keeps_big_ids_exact(csv_with_gap: Path, suffix: str) -> None:
    out = csv_with_gap.with_name(f"scores{suffix}")
    result = CliRunner().invoke(app, ["score", str(csv_with_gap), "--id-column", "objid",
                                      "--output", str(out)])
    assert result.exit_code == 0, result.output
    if suffix == ".parquet":
        column = pyarrow.parquet.read_table(out).column("objid")
        assert pyarrow.types.is_integer(column.type), column.type  # never floats
        written = column.to_pylist()
    else:
        written = pd.read_csv(out, dtype={"objid": str})["objid"].tolist()
        written = [None if pd.isna(v) else int(v) for v in written]
    expected: list[int | None] = list(_big_ids())
    expected[5] = None
    assert written == expected


# ------------------------------------------------------------------ df.to_csv()'s index


def test_the_index_written_by_to_csv_is_not_a_feature(tmp_path: Path) -> None:
    path = tmp_path / "saved.csv"
    frame = _features(50)
    frame.to_csv(path)  # header ",a,b": the first column is the row number
    assert path.read_text().startswith(",a,b")
    with pytest.warns(UserWarning, match=r"index=False"):
        X, _ = load(path)
    np.testing.assert_allclose(X, frame.to_numpy())


def test_cli_drops_the_written_index_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "saved.csv"
    _features(50).to_csv(path)
    out = tmp_path / "scores.csv"
    result = CliRunner().invoke(app, ["score", str(path), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "row index that pandas writes" in result.output


def test_an_unnamed_first_column_that_is_data_stays_a_feature(tmp_path: Path) -> None:
    path = tmp_path / "unnamed.csv"
    path.write_text(",a\n5,1.0\n3,2.0\n9,4.0\n")  # not 0..n-1: a real, if unnamed, feature
    X, _ = load(path)
    assert X.shape == (3, 2)


def test_unsigned_ids_beyond_int64_with_a_gap_stay_exact(tmp_path: Path) -> None:
    path = tmp_path / "unsigned.parquet"
    ids = pd.array([2**64 - 5, None, 17], dtype="UInt64")
    _features(3).assign(id=ids).to_parquet(path, index=False)
    _, read, _ = load_table(path)
    assert read.tolist() == [2**64 - 5, None, 17]
