"""Column roles of survey catalogues (issue 18): id, features, carried through, label,
decided by drama.datasets.columns for the Python loader and the command line alike."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from drama.cli import app
from drama.datasets import load_catalogue, load_table
from drama.datasets.columns import assign_roles

runner = CliRunner()
ONE = ("--reducer", "none", "--metric", "l2", "--levels", "2")


def _catalogue(n: int = 80, seed: int = 0) -> pd.DataFrame:
    """Survey-like: an integer source_id, sky positions, an epoch, magnitudes with a few
    bright outliers, a text class and 0/1 labels."""
    rng = np.random.default_rng(seed)
    mags = rng.normal(18.0, 0.3, size=(n, 3))
    mags[:4] -= 3.0
    return pd.DataFrame({
        "source_id": np.arange(n, dtype=np.int64) + 4_295_806_720_000_000_000,
        "RA": rng.uniform(0, 360, n), "Dec": rng.uniform(-60, 60, n),
        "mjd": rng.uniform(58000, 59000, n),
        "mag_u": mags[:, 0], "mag_g": mags[:, 1], "mag_r": mags[:, 2],
        "class": rng.choice(["STAR", "GALAXY", "QSO"], size=n),
        "is_anomaly": (np.arange(n) < 4).astype(int),
    })


def _invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def _flat(result) -> str:
    return " ".join(result.output.split())


def _write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


# ------------------------------------------------------------------ the rules, in Python


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_an_integer_source_id_is_the_id_and_sky_columns_are_carried(tmp_path, suffix):
    path = _write(_catalogue(), tmp_path / f"cat{suffix}")
    with pytest.warns(UserWarning, match=r"\['class'\] hold text"):
        X, ids, y = load_table(path)
    assert list(X.columns) == ["mag_u", "mag_g", "mag_r"]
    assert ids[0] == 4_295_806_720_000_000_000 and ids.dtype.kind in "iu"
    np.testing.assert_array_equal(y, _catalogue()["is_anomaly"])
    roles = load_catalogue(path).roles
    assert roles.id == "source_id" and roles.label == "is_anomaly"
    assert roles.carried == ("RA", "Dec", "mjd", "class") and roles.text == ("class",)


def test_a_text_objid_is_the_id(tmp_path):
    frame = _catalogue().drop(columns="source_id")
    frame.insert(0, "objid", [f"J{i:04d}+12" for i in range(len(frame))])
    catalogue = load_catalogue(_write(frame, tmp_path / "cat.csv"))
    assert catalogue.roles.id == "objid" and catalogue.ids[0] == "J0000+12"


def test_id_names_and_their_types():
    frame = pd.DataFrame({"flux": [1.0, 2.0], "NAME": ["a", "b"], "obj_id": [1, 2],
                          "weight_id": [0.5, 0.7]})
    roles = assign_roles(frame, "t")
    assert roles.id == "NAME"  # the first id-named column holding text or integers
    assert roles.features == ("flux",)  # other id-named columns are never features
    assert roles.carried == ("obj_id", "weight_id")
    floats = frame.drop(columns=["NAME", "obj_id"])
    assert assign_roles(floats, "t").id is None  # a float column is not an identifier


def test_features_override_a_carried_column_and_take_patterns():
    frame = _catalogue()
    roles = assign_roles(frame, "t", features=["RA", "mag_*"])
    assert roles.features == ("RA", "mag_u", "mag_g", "mag_r")
    assert roles.carried == ("Dec", "mjd", "class")
    roles = assign_roles(frame, "t", features=["*"])  # text, id and label stay out
    assert roles.features == ("RA", "Dec", "mjd", "mag_u", "mag_g", "mag_r")
    assert roles.label == "is_anomaly" and roles.id == "source_id"


def test_exclude_takes_patterns():
    roles = assign_roles(_catalogue(), "t", exclude=["mag_[ur]"])
    assert roles.features == ("mag_g",)
    assert roles.carried == ("RA", "Dec", "mjd", "mag_u", "mag_r", "class")


def test_the_label_and_text_are_never_features():
    frame = _catalogue()
    with pytest.raises(ValueError, match="'is_anomaly', which is the label column"):
        assign_roles(frame, "t", features=["mag_g", "is_anomaly"])
    with pytest.raises(ValueError, match="'class', which is text"):
        assign_roles(frame, "t", features=["class"])
    with pytest.raises(ValueError, match=r"--features 'flux_\*' matches no column"):
        assign_roles(frame, "t", features=["flux_*"])
    with pytest.raises(ValueError, match="no column is left to use as a feature"):
        assign_roles(frame, "t", exclude=["mag_*"])


def test_galactic_l_and_b_are_carried_only_as_a_pair():
    assert assign_roles(pd.DataFrame({"a": [1.0], "b": [2.0]}), "t").features == ("a", "b")
    pair = assign_roles(pd.DataFrame({"L": [1.0], "B": [2.0], "flux": [3.0]}), "t")
    assert pair.features == ("flux",) and pair.carried == ("L", "B")


# ------------------------------------------------------------------ the command line


def test_score_prints_the_roles_and_writes_the_carried_columns(tmp_path):
    path = _write(_catalogue(), tmp_path / "cat.csv")
    out = tmp_path / "scores.csv"
    result = _invoke("score", path, "-o", out, *ONE)
    assert result.exit_code == 0, result.output
    flat = _flat(result)
    assert "Column roles in cat.csv:" in flat
    assert "id: source_id" in flat and "features (3): mag_u, mag_g, mag_r" in flat
    assert "carried through: RA, Dec, mjd; class (text)" in flat
    assert "label: is_anomaly" in flat
    scored = pd.read_csv(out)
    assert list(scored.columns) == ["source_id", "score", "label", "rank", "RA", "Dec", "mjd",
                                    "class"]
    frame = _catalogue()
    assert scored["source_id"].tolist() == frame["source_id"].tolist()
    np.testing.assert_allclose(scored["RA"], frame["RA"])
    assert set(scored.loc[scored["rank"] <= 4, "source_id"]) == set(frame["source_id"][:4])


def test_score_features_and_exclude_options(tmp_path):
    path = _write(_catalogue(), tmp_path / "cat.csv")
    result = _invoke("score", path, "-o", tmp_path / "a.csv", *ONE, "--features", "RA,mag_*",
                     "--exclude", "mag_u")
    assert result.exit_code == 0, result.output
    assert "features (3): RA, mag_g, mag_r" in _flat(result)
    result = _invoke("score", path, "-o", tmp_path / "b.csv", *ONE, "--features", "nope")
    assert result.exit_code == 2 and "'nope' matches no column" in _flat(result)


def test_a_saved_model_matches_columns_by_name_in_any_order(tmp_path):
    frame = _catalogue()
    path = _write(frame, tmp_path / "train.csv")
    model = tmp_path / "m.npz"
    assert _invoke("fit", path, "--model", model, *ONE).exit_code == 0
    shuffled = _write(frame[["class", "mag_r", "Dec", "mag_u", "source_id", "mag_g", "RA", "mjd",
                             "is_anomaly"]], tmp_path / "shuffled.csv")
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert _invoke("score", path, "-o", a, "--model", model).exit_code == 0
    result = _invoke("score", shuffled, "-o", b, "--model", model)
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(pd.read_csv(a)["score"], pd.read_csv(b)["score"])

    missing = _write(frame.drop(columns="mag_g"), tmp_path / "missing.csv")
    result = _invoke("score", missing, "-o", tmp_path / "c.csv", "--model", model)
    assert result.exit_code == 2 and "['mag_g'] are not in the file" in _flat(result)
    extra = _write(frame.assign(mag_z=frame["mag_r"] - 0.2), tmp_path / "extra.csv")
    result = _invoke("score", extra, "-o", tmp_path / "d.csv", "--model", model)
    assert result.exit_code == 2
    assert "['mag_z'] would be features but the model was not fitted on them" in _flat(result)
    result = _invoke("score", extra, "-o", tmp_path / "d.csv", "--model", model,
                     "--exclude", "mag_z")
    assert result.exit_code == 0, result.output


def test_a_carried_column_named_like_an_output_column_is_renamed(tmp_path):
    frame = _catalogue().assign(label=lambda f: np.where(f["is_anomaly"] == 1, "odd", "fine"))
    path = _write(frame, tmp_path / "cat.csv")
    out = tmp_path / "o.csv"
    result = _invoke("score", path, "-o", out, *ONE)
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.output  # a text "label" is carried, not a feature
    scored = pd.read_csv(out)
    assert list(scored.columns[:4]) == ["source_id", "score", "label", "rank"]
    assert scored["input_label"].tolist() == frame["label"].tolist()


def test_active_prints_the_roles(tmp_path):
    path = _write(_catalogue(), tmp_path / "cat.csv")
    result = runner.invoke(app, ["active", str(path), "--store", str(tmp_path / "s.db"),
                                 "--reducer", "none", "--levels", "2"], input="q\n")
    assert result.exit_code == 0, result.output
    assert "id: source_id" in _flat(result) and "features (3): mag_u, mag_g, mag_r" in _flat(result)
