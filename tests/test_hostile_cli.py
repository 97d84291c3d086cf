"""Hostile and clumsy input to the engine and the command line (issue 15): overflowing
values, Rich markup in names, very wide tables."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import drama.cli.commands as cli
from drama import Drama, DramaSearch
from drama.cli import app

runner = CliRunner()
ONE = ("--reducer", "none", "--metric", "l2", "--levels", "2")


def _invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


# ---------------------------------------------------------------- case 5: overflow


@pytest.fixture
def huge():
    return np.random.default_rng(0).normal(size=(60, 3)) * 1e300


@pytest.mark.parametrize("reducer", ["none", "pca", "ica"])
def test_values_that_overflow_stop_the_fit_and_name_the_option(huge, reducer):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError, match="scaling='minmax' or 'standard'"):
            Drama(reducer=reducer, scaling="none", random_state=0).fit(huge)
        # scaled, the same data score finitely
        scores = Drama(reducer=reducer, random_state=0).fit(huge).decision_scores_
    assert np.isfinite(scores).all()


def test_new_objects_that_overflow_are_an_error_not_infinite_scores(huge):
    det = Drama(scaling="none", random_state=0).fit(huge / 1e300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError, match=r"overflow float64"):
            det.decision_function(huge)
    assert np.isfinite(det.decision_function(huge / 1e300)).all()


def test_search_leaves_out_configurations_whose_distances_overflow():
    # 1e50 fits every tree, but l4's fourth powers (1e200 per term, more for the spread of
    # a level) stay finite while 1e80 would not: drop only what overflows
    X = np.random.default_rng(1).normal(size=(60, 3)) * 1e50
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        search = DramaSearch(reducers=["none", "pca"], drama_params={"scaling": "none"},
                             random_state=0).fit(X)
    assert np.isfinite(search.decision_scores_).all()
    assert np.isfinite(search.train_scores_.to_numpy()).all()
    assert np.isfinite(search.decision_function(X[:5])).all()


def test_cli_overflow_is_one_error_line_and_no_output(huge, tmp_path):
    path = tmp_path / "huge.csv"
    pd.DataFrame(huge, columns=["a", "b", "c"]).to_csv(path, index=False)
    out = tmp_path / "o.csv"
    result = _invoke("score", path, "-o", out, "--reducer", "ica", "--metric", "l2",
                     "--levels", "2", "--scaling", "none")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "scaling='minmax'" in result.output
    assert not out.exists()


# ---------------------------------------------------------------- case 9: Rich markup


def test_markup_in_column_names_and_options_is_printed_as_text(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(30, 3)), columns=["a", "[bold]b", "[/x]"])
    frame.insert(0, "[/y]", range(30))
    path = tmp_path / "markup.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "o.csv"
    result = _invoke("score", path, "-o", out, "--id-column", "[/y]", *ONE)
    assert result.exit_code == 0, result.output
    assert "[/y]" in result.output and "MarkupError" not in result.output
    assert pd.read_csv(out).columns[0] == "[/y]"
    result = _invoke("score", path, "-o", out, "--reducer", "[/x]", "--metric", "l2",
                     "--levels", "2")
    assert result.exit_code == 2 and "Unknown reducer '[/x]'" in result.output
    result = _invoke("score", path, "-o", out, "--reducer", "[/x]", "--reducer", "none")
    assert result.exit_code == 2 and "Unknown reducer '[/x]'" in result.output


# ---------------------------------------------------------------- case 10: wide tables


def _read_seconds(path, repeats: int = 3) -> float:
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        cli.read_input(path, None, None)
        best = min(best, time.perf_counter() - start)
    return best


def test_reading_a_table_costs_linear_time_in_its_columns(tmp_path):
    """A relative measure (four times the columns may cost at most eight times the time;
    a cost quadratic in columns gave sixteen), so a busy machine slows both sides alike.
    benchmarks/wide_tables.py times the whole command against the Python API."""
    rng = np.random.default_rng(0)
    paths = []
    for width in (2000, 8000):
        path = tmp_path / f"w{width}.csv"
        pd.DataFrame(rng.normal(size=(5, width)),
                     columns=[f"column_{i}" for i in range(width)]).to_csv(path, index=False)
        paths.append(path)
    narrow, wide = (_read_seconds(p) for p in paths)
    assert wide / narrow < 8, (narrow, wide)


# ---------------------------------------------------------------- case 13: messages


def test_missing_values_are_named_by_column_and_row_label():
    frame = pd.DataFrame(np.ones((6, 3)), columns=["ra", "dec", "mag"],
                         index=[f"obj{i}" for i in range(6)])
    frame.iloc[4, 2] = np.nan
    with pytest.raises(ValueError, match=r"first at column 'mag', row 'obj4'"):
        Drama().fit(frame)


def test_a_failed_write_names_the_users_file_not_the_temporary_one(tmp_path, monkeypatch):
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(30, 2)), columns=["a", "b"])
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "scores.csv"

    def disk_full(self, target, *args, **kwargs):
        raise OSError(28, "No space left on device", str(target))

    monkeypatch.setattr(pd.DataFrame, "to_csv", disk_full)
    result = _invoke("score", path, "-o", out, *ONE)
    assert result.exit_code == 1
    flat = " ".join(result.output.split())
    assert f"No space left on device while writing {out}" in flat
    assert ".tmp" not in flat


def test_an_empty_id_is_shown_as_empty_not_none(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(40, 2)), columns=["a", "b"])
    frame.loc[0, ["a", "b"]] = [30.0, -30.0]  # the top anomaly has no id
    frame.insert(0, "objid", [""] + [str(1237648720693755918 + i) for i in range(1, 40)])
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    result = _invoke("score", path, "-o", tmp_path / "o.csv", "--id-column", "objid", *ONE)
    assert result.exit_code == 0, result.output
    assert "(empty)" in result.output and "None" not in result.output
