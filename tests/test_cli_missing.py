"""``--missing {error,impute,drop}`` on the command line, and a survey-like catalogue
(ids, RA/Dec, NaNs, masked FITS cells, text) scored end to end (issue 18)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from drama import load_detector
from drama.cli import app

runner = CliRunner()
ONE = ("--reducer", "none", "--metric", "l2", "--levels", "2")


def _catalogue(n: int = 60, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mags = rng.normal(18.0, 0.3, size=(n, 3))
    mags[:3] -= 3.0
    frame = pd.DataFrame(mags, columns=["u", "g", "r"])
    frame.insert(0, "objid", [f"SDSS{i:04d}" for i in range(n)])
    frame.insert(1, "ra", rng.uniform(0, 360, n))
    frame.insert(2, "dec", rng.uniform(-10, 10, n))
    frame["class"] = rng.choice(["STAR", "GALAXY"], size=n)
    return frame


def _gappy(frame: pd.DataFrame) -> pd.DataFrame:
    gappy = frame.copy()
    gappy.loc[5, "g"] = np.nan
    gappy.loc[11, "r"] = np.inf
    gappy.loc[17, "g"] = np.nan
    return gappy


def _invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def _flat(result) -> str:
    return " ".join(result.output.split())


@pytest.fixture
def gappy(tmp_path) -> Path:
    path = tmp_path / "gappy.csv"
    _gappy(_catalogue()).to_csv(path, index=False)
    return path


def test_error_names_column_object_and_count(gappy, tmp_path):
    out = tmp_path / "o.csv"
    result = _invoke("score", gappy, "-o", out, *ONE)
    assert result.exit_code == 2
    flat = _flat(result)
    assert "in 3 of 60 rows" in flat and "column 'g', row 'SDSS0005'" in flat
    assert "'g' 2, 'r' 1" in flat and "--missing impute" in flat
    assert not out.exists()
    result = _invoke("fit", gappy, "--model", tmp_path / "m.npz", *ONE)
    assert result.exit_code == 2 and "row 'SDSS0005'" in _flat(result)


def test_an_infinity_alone_counts_as_missing(tmp_path):
    frame = _catalogue()
    frame.loc[8, "u"] = -np.inf
    path = tmp_path / "inf.csv"
    frame.to_csv(path, index=False)
    result = _invoke("score", path, "-o", tmp_path / "o.csv", *ONE)
    assert result.exit_code == 2 and "in 1 of 60 rows (first at column 'u', row 'SDSS0008'" \
        in _flat(result)


def test_impute_writes_n_imputed(gappy, tmp_path):
    out = tmp_path / "o.csv"
    result = _invoke("score", gappy, "-o", out, *ONE, "--missing", "impute")
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out)
    assert list(scored.columns) == ["objid", "score", "label", "rank", "n_imputed", "ra", "dec",
                                    "class"]
    expected = np.zeros(60, dtype=int)
    expected[[5, 11, 17]] = 1
    np.testing.assert_array_equal(scored["n_imputed"], expected)
    assert scored["score"].notna().all()
    assert "3 missing value(s) in 3 object(s) were filled with the training medians" \
        in _flat(result)


def test_drop_writes_the_dropped_ids_with_an_empty_score(gappy, tmp_path):
    out = tmp_path / "o.csv"
    result = _invoke("score", gappy, "-o", out, *ONE, "--missing", "drop")
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out, keep_default_na=False)
    dropped = scored[scored["score"] == ""]
    assert dropped["objid"].tolist() == ["SDSS0005", "SDSS0011", "SDSS0017"]
    assert (dropped[["label", "rank"]] == "").all().all()
    kept = scored[scored["score"] != ""]
    assert sorted(kept["rank"].astype(int)) == list(range(1, 58))
    assert "Scored 57 objects" in _flat(result)
    assert "3 object(s) with missing values were left out (--missing drop)" in _flat(result)


def test_a_saved_model_imputes_with_its_training_medians(tmp_path):
    train = _gappy(_catalogue())
    train_path, model = tmp_path / "train.csv", tmp_path / "m.npz"
    train.to_csv(train_path, index=False)
    result = _invoke("fit", train_path, "--model", model, *ONE, "--missing", "impute")
    assert result.exit_code == 0, result.output
    new = _catalogue(seed=2)
    new.loc[[3, 4], "u"] = np.nan
    new.loc[4, "r"] = np.nan
    new_path = tmp_path / "new.csv"
    new.to_csv(new_path, index=False)
    features = train[["u", "g", "r"]]
    medians = features.where(np.isfinite(features)).median()
    filled = new.fillna({"u": medians["u"], "r": medians["r"]})
    filled_path = tmp_path / "filled.csv"
    filled.to_csv(filled_path, index=False)
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    result = _invoke("score", new_path, "-o", a, "--model", model, "--missing", "impute")
    assert result.exit_code == 0, result.output
    assert _invoke("score", filled_path, "-o", b, "--model", model).exit_code == 0
    imputed, by_hand = pd.read_csv(a), pd.read_csv(b)
    np.testing.assert_allclose(imputed["score"], by_hand["score"], rtol=1e-12)
    assert imputed["n_imputed"].tolist()[3:5] == [1, 2]
    result = _invoke("score", new_path, "-o", tmp_path / "c.csv", "--model", model)
    assert result.exit_code == 2 and "row 'SDSS0003'" in _flat(result)  # error by default
    plain = tmp_path / "plain.npz"  # fitted with the default: the medians are kept too
    assert _invoke("fit", filled_path, "--model", plain, *ONE).exit_code == 0
    result = _invoke("score", new_path, "-o", tmp_path / "d.csv", "--model", plain,
                     "--missing", "impute")
    assert result.exit_code == 0, result.output
    det = load_detector(plain)  # its medians are those of its own training file
    np.testing.assert_array_equal(det.fill_values_, filled[["u", "g", "r"]].median())
    by_its_medians = new[["u", "g", "r"]].fillna(dict(zip("ugr", det.fill_values_, strict=True)))
    np.testing.assert_allclose(pd.read_csv(tmp_path / "d.csv")["score"],
                               det.decision_function(by_its_medians), rtol=1e-12)


def test_bad_missing_value_is_a_user_error(gappy, tmp_path):
    result = _invoke("score", gappy, "-o", tmp_path / "o.csv", *ONE, "--missing", "mean")
    assert result.exit_code == 2
    assert "must be one of error, impute, drop; got 'mean'" in _flat(result)


@pytest.mark.parametrize("suffix", [".parquet", ".fits"])
def test_a_survey_like_catalogue_scores_with_its_roles_printed(tmp_path, suffix):
    """Integer ids, RA/Dec, gaps (a masked FITS cell, NaN in Parquet), a text column."""
    frame = _catalogue(n=120, seed=4)
    frame.insert(0, "source_id", np.arange(120, dtype=np.int64) + 2_000_000_000_000_000_000)
    frame = frame.drop(columns="objid")
    path = tmp_path / f"survey{suffix}"
    if suffix == ".fits":
        from astropy.table import MaskedColumn, Table

        table = Table.from_pandas(frame)
        table["g"] = MaskedColumn(frame["g"], mask=np.isin(np.arange(120), [7, 30]))
        table.write(path)
    else:
        frame.loc[[7, 30], "g"] = np.nan
        frame.to_parquet(path, index=False)
    out = tmp_path / "scores.csv"
    result = _invoke("score", path, "-o", out, "--missing", "impute", "--contamination", "0.05")
    assert result.exit_code == 0, result.output
    flat = _flat(result)
    assert "id: source_id" in flat and "features (3): u, g, r" in flat
    assert "carried through: ra, dec; class (text)" in flat
    scored = pd.read_csv(out)
    assert scored["source_id"].tolist() == frame["source_id"].tolist()
    assert scored["n_imputed"].sum() == 2 and scored.loc[[7, 30], "n_imputed"].tolist() == [1, 1]
    assert set(scored.loc[scored["rank"] <= 3, "source_id"]) == set(frame["source_id"][:3])
    assert list(scored.columns[-3:]) == ["ra", "dec", "class"]
