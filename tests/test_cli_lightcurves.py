"""`drama score` / `drama fit` with --light-curves on small long-format CSV files, and the
warning for a long-format table given without it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from drama.cli import app

runner = CliRunner()
NEEDS_LIGHT_CURVE = ("the features representation needs the light-curve package: "
                     "pip install 'drama-anomaly[lightcurves]'")


def _observations(n_objects: int = 30, seed: int = 0) -> pd.DataFrame:
    """One row per observation, rows shuffled; object 'burst' has an outburst, object
    'few' only three observations."""
    rng = np.random.default_rng(seed)
    rows = []
    names = [f"s{k:02d}" for k in range(n_objects)] + ["burst", "few"]
    for name in names:
        n = 3 if name == "few" else 25
        for band in ("g", "r"):
            t = np.sort(rng.uniform(58000, 58400, n))
            m = 17 + rng.normal(0, 0.05, n)
            if name == "burst":
                m[(t > 58150) & (t < 58250)] -= 2.5
            rows += [{"oid": name, "MJD": ti, "Mag": mi, "Magerr": 0.05, "FILTER": band,
                      "truth": int(name == "burst")} for ti, mi in zip(t, m, strict=True)]
    return pd.DataFrame(rows).sample(frac=1.0, random_state=seed)


def _invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


CURVES = ("--light-curves", "--id-column", "oid", "--time", "MJD", "--mag", "Mag",
          "--err", "Magerr")
ONE_CONFIG = ("--reducer", "pca", "--metric", "l2", "--levels", "2")


def test_grid_scores_one_row_per_object_in_first_appearance_order(tmp_path) -> None:
    frame = _observations()
    path = tmp_path / "lc.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "scores.csv"
    result = _invoke("score", path, *CURVES, "--band", "FILTER", "--representation", "grid",
                     "--label-column", "truth", *ONE_CONFIG, "-o", out)
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "skipped 1 of 32 light curves" in flat and "few with 3 distinct time(s)" in flat
    assert "31 scored as grid (64x4 per object), 1 left out" in flat
    scores = pd.read_csv(out)
    expected = [o for o in dict.fromkeys(frame.oid) if o != "few"]
    assert list(scores.oid) == expected
    assert scores.set_index("oid")["rank"]["burst"] == 1  # the outburst stands out
    record = json.loads((tmp_path / "scores.csv.json").read_text())
    assert record["light_curves"] == {"id": "oid", "time": "MJD", "mag": "Mag", "err": "Magerr",
                                      "band": "FILTER", "representation": "grid",
                                      "min_points": 5}


def test_features_through_score_and_a_saved_model(tmp_path) -> None:
    pytest.importorskip("light_curve", reason=NEEDS_LIGHT_CURVE)
    path = tmp_path / "lc.csv"
    _observations().to_csv(path, index=False)
    model = tmp_path / "m.npz"
    fitted = _invoke("fit", path, *CURVES, "--band", "FILTER", *ONE_CONFIG, "--model", model)
    assert fitted.exit_code == 0, fitted.output
    assert "31 scored as features (34 per object)" in " ".join(fitted.output.split())
    later = tmp_path / "night2.csv"
    _observations(seed=1).to_csv(later, index=False)
    out = tmp_path / "s.csv"
    scored = _invoke("score", later, *CURVES, "--band", "FILTER", "--model", model, "-o", out)
    assert scored.exit_code == 0, scored.output
    scores = pd.read_csv(out).set_index("oid")
    assert len(scores) == 31 and scores["rank"]["burst"] == 1


def test_option_mistakes_are_one_line_errors(tmp_path) -> None:
    path = tmp_path / "lc.csv"
    _observations(n_objects=5).to_csv(path, index=False)
    cases = [
        (("--time", "MJD"), "add --light-curves"),
        (("--light-curves", "--time", "MJD"), "needs --id-column, --mag"),
        ((*CURVES, "--representation", "pixels"), "choose features, features+bazin, grid"),
        ((*CURVES, "--representation", "features+bazin", "--min-points", "5"),
         "needs at least 6 points at distinct times"),
        (("--light-curves", "--id-column", "oid", "--time", "MJD", "--mag", "Mag"),
         "needs --err"),
        ((*CURVES[:-1], "mag_err"), "no column(s) ['mag_err']"),
        ((*CURVES, "--label-column", "Mag", "--representation", "grid"),
         "differs between the observations of object"),
    ]
    for options, message in cases:
        result = _invoke("score", path, *options, "-o", tmp_path / "o.csv")
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        assert message in " ".join(result.output.split()), result.output


def test_a_long_table_without_light_curves_is_pointed_out(tmp_path) -> None:
    path = tmp_path / "lc.csv"
    _observations(n_objects=8).drop(columns="FILTER").to_csv(path, index=False)
    result = _invoke("score", path, "--id-column", "oid", "--label-column", "truth",
                     *ONE_CONFIG, "-o", tmp_path / "o.csv")
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "looks like a light-curve table with one row per observation" in flat
    assert "add --light-curves --id-column oid --time MJD --mag Mag --err Magerr" in flat
    wide = tmp_path / "wide.csv"  # one row per object: no warning, even with a time column
    pd.DataFrame({"oid": ["a", "b", "c", "d", "e", "f"], "MJD": np.arange(6.0),
                  "x": [1.0, 2, 3, 4, 5, 6]}).to_csv(wide, index=False)
    quiet = _invoke("score", wide, "--id-column", "oid", *ONE_CONFIG, "-o", tmp_path / "w.csv")
    assert quiet.exit_code == 0, quiet.output
    assert "light-curve table" not in quiet.output


def test_the_crts_light_curves_score_through_the_command_line(shared_data, tmp_path) -> None:
    curves = shared_data / "lightcurves" / "crts" / "CRTS_subset_500.csv"
    if not curves.is_file():
        pytest.skip(f"the CRTS light curves are not at {curves}")
    out = tmp_path / "crts.csv"
    result = _invoke("score", curves, "--light-curves", "--id-column", "ID", "--time", "MJD",
                     "--mag", "Mag", "--err", "Magerr", "--representation", "grid",
                     *ONE_CONFIG, "-o", out)
    assert result.exit_code == 0, result.output
    assert "466 scored as grid (64x2 per object), 34 left out" in " ".join(result.output.split())
    scores = pd.read_csv(out, dtype={"ID": str})
    first_seen = list(dict.fromkeys(pd.read_csv(curves, usecols=["ID"], dtype=str).ID))
    assert len(scores) == 466 and scores.ID.is_unique
    assert list(scores.ID) == [i for i in first_seen if i in set(scores.ID)]
    assert np.isfinite(scores.score).all()
