"""``drama active``: the terminal loop, driven by CliRunner with typed answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from drama.cli import app as drama_app


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    return drama_app  # `drama active` is registered on the real app


@pytest.fixture()
def table(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(150, 4)), rng.normal(size=(6, 4)) + [8, 0, 0, 0]])
    frame = pd.DataFrame(X, columns=["flux", "colour", "size", "ellipticity"])
    frame.insert(0, "id", [f"gal{i}" for i in range(len(X))])
    path = tmp_path / "catalogue.csv"
    frame.to_csv(path, index=False)
    return path


FAST = ["--reducer", "none", "--levels", "2"]


def test_label_quit_and_resume(app, table, tmp_path):
    store = tmp_path / "survey.drama.db"
    args = ["active", str(table), "--store", str(store), *FAST]
    first = CliRunner().invoke(app, args, input="i merger\nb\nx\ns\nq\n")
    assert first.exit_code == 0, first.output
    assert "most deviating features" in first.output
    assert "flux" in first.output  # the planted anomalies deviate in flux
    assert "Please answer i, b, s, u or q" in first.output
    assert "2 labels" in first.output
    again = CliRunner().invoke(app, args + ["--output", str(tmp_path / "rank.csv")], input="q\n")
    assert again.exit_code == 0, again.output
    assert "Resuming" in again.output and "2 labels so far, 1 interesting" in again.output
    ranking = pd.read_csv(tmp_path / "rank.csv")
    assert ranking["label"].iloc[0] == "interesting"
    assert ranking["predicted_class"].iloc[0] == "merger"


def test_end_of_input_stops_cleanly_and_budget(app, table, tmp_path):
    store = tmp_path / "s.db"
    result = CliRunner().invoke(
        app, ["active", str(table), "--store", str(store), "--budget", "2", *FAST],
        input="b\nb\nb\n",
    )
    assert result.exit_code == 0, result.output
    assert "2 labels" in result.output
    stopped = CliRunner().invoke(app, ["active", str(table), "--store", str(store), *FAST],
                                 input="i\n")
    assert stopped.exit_code == 0
    assert "3 labels" in stopped.output  # input ran out: saved, no traceback


def test_resume_counts_each_objects_latest_label(app, table, tmp_path):
    from drama.active import ActiveSession

    store = tmp_path / "relabel.db"
    frame = pd.read_csv(table)
    session = ActiveSession(frame.drop(columns="id"), ids=frame["id"], store=store,
                            reducers=("none",), levels=(1, 2), random_state=0)
    session.label("gal3", "boring")
    session.label("gal3", "interesting")  # a correction: the latest label counts
    session.close()
    result = CliRunner().invoke(app, ["active", str(table), "--store", str(store), *FAST],
                                input="q\n")
    assert result.exit_code == 0, result.output
    assert "1 labels so far, 1 interesting" in result.output
    assert "(1 interesting)" in result.output


def test_curves_are_plotted_to_files(app, tmp_path):
    rng = np.random.default_rng(1)
    t = np.linspace(0, 1, 60)
    curves = np.sin(2 * np.pi * t) + 0.05 * rng.normal(size=(80, 60))
    curves[:3] += np.exp(-((t - 0.5) ** 2) / 0.002)
    data = tmp_path / "curves.npy"
    np.save(data, curves)
    plots = tmp_path / "plots"
    result = CliRunner().invoke(
        app, ["active", str(data), "--store", str(tmp_path / "c.db"), "--plot-dir", str(plots),
              *FAST], input="i\nq\n")
    assert result.exit_code == 0, result.output
    assert len(list(plots.glob("candidate_*.png"))) == 2


def test_multichannel_curves_are_plotted_as_curves_not_images(app, tmp_path):
    from drama.cli.active import load_objects

    rng = np.random.default_rng(3)
    curves = np.sin(np.linspace(0, 6, 60))[None, :, None] + 0.05 * rng.normal(size=(80, 60, 2))
    data = tmp_path / "mag_err.npy"
    np.save(data, curves)
    assert load_objects(data, None)[2] == "curve"  # (n, T, C), as load_crts gives and cae1d takes
    np.save(tmp_path / "grey.npy", rng.random((20, 8, 8)))
    assert load_objects(tmp_path / "grey.npy", None)[2] == "image"
    plots = tmp_path / "plots"
    result = CliRunner().invoke(
        app, ["active", str(data), "--store", str(tmp_path / "c.db"), "--plot-dir", str(plots),
              *FAST], input="b\nq\n")
    assert result.exit_code == 0, result.output
    assert len(list(plots.glob("candidate_*.png"))) == 2  # the one labelled, the one quit at


def test_clear_errors(app, table, tmp_path):
    bad = tmp_path / "notes.db"
    bad.write_text("not a database\n" * 10)
    result = CliRunner().invoke(app, ["active", str(table), "--store", str(bad), *FAST])
    assert result.exit_code == 2
    assert "is not a DRAMA label store" in result.output
    missing = CliRunner().invoke(app, ["active", str(tmp_path / "nope.csv"), "--store",
                                       str(tmp_path / "x.db")])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_images_are_plotted_beside_the_median(app, tmp_path):
    images = np.random.default_rng(2).random((40, 8, 8))
    images[0, 2:6, 2:6] += 3.0
    data = tmp_path / "cutouts.npy"
    np.save(data, images)
    result = CliRunner().invoke(
        app, ["active", str(data), "--store", str(tmp_path / "i.db"), "--plot-dir",
              str(tmp_path / "p"), "--reducer", "none", "--levels", "1"], input="b\nq\n")
    assert result.exit_code == 0, result.output
    assert "plot:" in result.output and len(list((tmp_path / "p").glob("*.png"))) == 2


def test_output_and_options_are_checked_before_labelling(app, table, tmp_path):
    before = table.read_bytes()
    store = tmp_path / "s.db"
    odd_store = tmp_path / "labels.csv"
    for store_at, output, fragment in ((store, table, "is the input file"),
                                       (store, tmp_path / "no" / "r.csv", "does not exist"),
                                       (odd_store, odd_store, "is the label store")):
        result = CliRunner().invoke(app, ["active", str(table), "--store", str(store_at), *FAST,
                                          "--output", str(output)], input="i\nq\n")
        assert result.exit_code == 2 and fragment in result.output, result.output
        assert "candidate 1" not in result.output  # refused before any question
    assert table.read_bytes() == before
    onto_data = CliRunner().invoke(app, ["active", str(table), "--store", str(table), *FAST])
    assert onto_data.exit_code == 2 and "is the data file" in onto_data.output
    assert table.read_bytes() == before
    for option in ("--levels", "--budget"):
        bad = CliRunner().invoke(app, ["active", str(table), "--store", str(store), option, "0"])
        assert bad.exit_code == 2 and option in bad.output


def test_ranking_can_be_written_as_parquet(app, table, tmp_path):
    out = tmp_path / "rank.parquet"
    result = CliRunner().invoke(app, ["active", str(table), "--store", str(tmp_path / "s.db"),
                                      *FAST, "--output", str(out)], input="i\nq\n")
    assert result.exit_code == 0, result.output
    ranking = pd.read_parquet(out)
    assert len(ranking) == 156 and ranking["label"].iloc[0] == "interesting"


@pytest.mark.parametrize(("reducer", "bars"), [("ae", True), ("none", False)])
def test_only_a_neural_reducer_asks_for_training_bars(app, table, tmp_path, monkeypatch,
                                                      reducer, bars):
    if reducer == "ae":
        pytest.importorskip("torch", reason="the neural reducers need PyTorch")
    import drama.active

    asked = {}
    real = drama.active.ActiveSession

    def recording(*args, **kwargs):
        asked.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(drama.active, "ActiveSession", recording)
    result = CliRunner().invoke(
        app, ["active", str(table), "--store", str(tmp_path / "n.db"), "--reducer", reducer,
              "--levels", "1"], input="q\n")
    assert result.exit_code == 0, result.output
    assert asked["progress"] is bars
    if bars:  # printed once, where the others get a spinner (not drawn off a terminal)
        assert "Fitting DRAMA configurations" in result.output


def test_space_reaches_the_session_and_its_store(app, table, tmp_path):
    store = tmp_path / "residual.drama.db"
    args = ["active", str(table), "--store", str(store), "--reducer", "pca", "--levels", "2",
            "--space", "input", "--space", "residual"]
    first = CliRunner().invoke(app, args, input="i\nq\n")
    assert first.exit_code == 0, first.output
    # The store records the spaces: reopening with the default (input only) is refused.
    other = CliRunner().invoke(app, ["active", str(table), "--store", str(store),
                                     "--reducer", "pca", "--levels", "2"], input="q\n")
    assert other.exit_code != 0
    assert "residual" in " ".join(other.output.split())
    refused = CliRunner().invoke(app, ["active", str(table), "--store",
                                       str(tmp_path / "none.drama.db"), *FAST, "--space",
                                       "residual"], input="q\n")
    assert refused.exit_code == 2
    assert "residual space needs a reducer other than 'none'" in " ".join(refused.output.split())


def _first_candidate_features(output: str) -> set[str]:
    """The feature names in the first 'most deviating features' table of the output."""
    block = output.split("most deviating features", 1)[1].split("[i]nteresting", 1)[0]
    return {cell.strip() for line in block.splitlines() if line.count("│") >= 2
            for cell in [line.split("│")[1]] if cell.strip()} - {"feature"}


def test_features_and_exclude_choose_the_columns_the_session_learns_from(app, table, tmp_path):
    only = CliRunner().invoke(app, ["active", str(table), "--store", str(tmp_path / "a.db"),
                                    *FAST, "--features", "flux,size"], input="q\n")
    assert only.exit_code == 0, only.output
    assert _first_candidate_features(only.output) == {"flux", "size"}
    left = CliRunner().invoke(app, ["active", str(table), "--store", str(tmp_path / "b.db"),
                                    *FAST, "--exclude", "col*"], input="q\n")
    assert left.exit_code == 0, left.output
    assert _first_candidate_features(left.output) == {"flux", "size", "ellipticity"}
    npy = tmp_path / "x.npy"
    np.save(npy, np.ones((5, 3)))
    refused = CliRunner().invoke(app, ["active", str(npy), "--store", str(tmp_path / "c.db"),
                                       "--exclude", "a"])
    assert refused.exit_code == 2 and "--exclude applies to tables only" in refused.output


def test_missing_values_are_refused_filled_or_left_out_as_asked(app, table, tmp_path):
    frame = pd.read_csv(table)
    frame.loc[5, "colour"] = np.nan
    frame.loc[150, "flux"] = np.inf  # the first shifted object: it would top the ranking
    gappy = tmp_path / "gappy.csv"
    frame.to_csv(gappy, index=False)
    base = ["active", str(gappy), *FAST]
    refused = CliRunner().invoke(app, [*base, "--store", str(tmp_path / "e.db")])
    flat = " ".join(refused.output.split())
    assert refused.exit_code == 2, refused.output
    assert "2 of 156 rows" in flat and "gal5" in flat and "'colour' 1" in flat
    filled = CliRunner().invoke(app, [*base, "--store", str(tmp_path / "i.db"), "--missing",
                                      "impute", "-o", str(tmp_path / "i.csv")], input="q\n")
    assert filled.exit_code == 0, filled.output
    assert "2 missing value(s) in 2 object(s) were filled" in " ".join(filled.output.split())
    assert len(pd.read_csv(tmp_path / "i.csv")) == 156
    dropped = CliRunner().invoke(app, [*base, "--store", str(tmp_path / "d.db"), "--missing",
                                       "drop", "-o", str(tmp_path / "d.csv")], input="q\n")
    assert dropped.exit_code == 0, dropped.output
    flat = " ".join(dropped.output.split())
    assert "2 object(s) with missing values were left out (--missing drop), e.g. id gal5" in flat
    ranked = pd.read_csv(tmp_path / "d.csv")
    assert len(ranked) == 154 and not {"gal5", "gal150"} & set(ranked["id"])


def test_light_curves_are_labelled_one_object_at_a_time(app, tmp_path):
    rng = np.random.default_rng(4)
    rows = []
    for k in range(40):
        t = np.sort(rng.uniform(0, 300, 20))
        m = 18 + rng.normal(0, 0.05, 20)
        if k == 7:
            m[(t > 100) & (t < 160)] -= 2.0  # an outburst
        rows += [{"oid": f"lc{k}", "MJD": a, "Mag": b, "Magerr": 0.05}
                 for a, b in zip(t, m, strict=True)]
    data = tmp_path / "lc.csv"
    pd.DataFrame(rows).sample(frac=1.0, random_state=0).to_csv(data, index=False)
    curves = ["--light-curves", "--id-column", "oid", "--time", "MJD", "--mag", "Mag",
              "--err", "Magerr"]
    plots = tmp_path / "plots"
    grid = CliRunner().invoke(app, ["active", str(data), "--store", str(tmp_path / "g.db"),
                                    *FAST, *curves, "--representation", "grid", "--plot-dir",
                                    str(plots), "-o", str(tmp_path / "g.csv")], input="i\nq\n")
    assert grid.exit_code == 0, grid.output
    assert "id lc7" in grid.output.split("candidate 1:", 1)[1].split("\n", 1)[0]
    assert len(list(plots.glob("candidate_*.png"))) == 2
    assert sorted(pd.read_csv(tmp_path / "g.csv")["id"]) == sorted(f"lc{k}" for k in range(40))
    pytest.importorskip("light_curve", reason="the features representation needs the "
                        "light-curve package: pip install 'drama-anomaly[lightcurves]'")
    features = CliRunner().invoke(app, ["active", str(data), "--store", str(tmp_path / "f.db"),
                                        *FAST, *curves], input="q\n")
    assert features.exit_code == 0, features.output
    assert "amplitude" in " ".join(features.output.split("most deviating features")[1].split())
    stray = CliRunner().invoke(app, ["active", str(data), "--store", str(tmp_path / "s.db"),
                                     "--time", "MJD"])
    assert stray.exit_code == 2 and "add --light-curves" in stray.output
