"""The benchmark runner, its report and the ``drama benchmark`` command, on tiny data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from drama.benchmark import (
    Task,
    crts_rare_classes,
    crts_task,
    finite_scores,
    odds_tasks,
    run_benchmark,
    semi_split,
    summary,
    synthetic_tasks,
    table6,
    write_report,
)
from drama.benchmark.active_peers import coniferest_curve
from drama.benchmark.runner import default_detectors, measures, read_results
from drama.benchmark.tables import plot_synthetic
from drama.cli.benchmark import register

FAST = {"reducers": ["none", "pca"], "metrics": ["l2", "l1"], "levels": [1, 2]}
ODDS = Path(__file__).resolve().parents[2] / "shared" / "data" / "odds"


def tiny(n: int = 150, n_out: int = 12, d: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(size=(n, d)), rng.normal(5.0, 1.0, size=(n_out, d))])
    return X, np.r_[np.zeros(n, int), np.ones(n_out, int)]


def test_non_finite_peer_scores_do_not_crash():
    y = np.array([0, 0, 1, 1])
    assert measures(y, np.full(4, np.inf))["auc"] == 0.5
    s = finite_scores(np.array([1.0, np.inf, np.nan, -np.inf]))
    assert np.isfinite(s).all() and s[1] > s[0] > s[2] and s[3] < s[0]
    huge = finite_scores(np.array([1e20, np.inf, -1e20, -np.inf]))
    assert huge[1] > huge[0] and huge[3] < huge[2]  # not tied with the extremes


def test_synthetic_tasks_draw_independently_and_refuse_bad_sizes():
    tasks = {t.name: t for t in synthetic_tasks(n_features=(50,), shapes=(1, 2))}
    (a, ya), (_, yb) = tasks["local-s1-f50"].load(), tasks["local-s2-f50"].load()
    assert not np.array_equal(ya, yb)  # their own bump positions and row orders
    np.testing.assert_array_equal(tasks["local-s1-f50"].load()[0], a)  # still reproducible
    with pytest.raises(ValueError, match="shape must be between 1 and 10, got 11"):
        synthetic_tasks(shapes=(2, 11))
    with pytest.raises(ValueError, match="n_features must be at least 1, got 0"):
        synthetic_tasks(n_features=(0,))


def test_tied_scores_do_not_favour_the_class_listed_first():
    y = np.r_[np.ones(10, int), np.zeros(190, int)]  # anomalies first, as in ODDS wine
    for dead in (np.zeros(200), np.full(200, np.nan)):
        m = measures(y, dead)
        assert m["auc"] == 0.5 and m["mcc"] < 0.5 and m["rws"] < 0.5


def test_semi_split_is_disjoint_and_has_k_seen_anomalies():
    y = np.r_[np.zeros(40, int), np.ones(8, int)]
    labels, unseen = semi_split(y, 5, np.random.default_rng(0))
    assert (labels == 1).sum() == 5 and (labels == 0).sum() == 20
    assert not (unseen & (labels >= 0)).any() and (unseen | (labels >= 0)).all()


def test_unsupervised_run_writes_csv_and_resumes(tmp_path):
    csv = tmp_path / "r.csv"
    tasks = [Task("tiny", tiny)]
    dets = ["DRAMA", "DRAMA-fixed", "IForest", "LOF-5"]
    first = run_benchmark(tasks, "unsupervised", dets, csv=csv, search_params=FAST)
    assert set(first["detector"]) == set(dets)
    assert first["auc"].between(0, 1).all()
    assert first.set_index("detector").loc["DRAMA", "auc"] > 0.9
    again = run_benchmark(tasks, "unsupervised", dets, csv=csv, search_params=FAST)
    assert again.empty and len(pd.read_csv(csv)) == len(dets)


def test_semi_protocol_draws_and_too_few_anomalies(tmp_path):
    tasks = [Task("tiny", tiny), Task("few", lambda: tiny(n_out=3))]
    with pytest.warns(UserWarning, match="needs at least 6 anomalies"):
        out = run_benchmark(tasks, "semi", ["DRAMA", "IForest"], ks=[5], draws=3,
                            csv=tmp_path / "s.csv", search_params=FAST)
    assert set(out["dataset"]) == {"tiny"}
    assert sorted(out["draw"].unique()) == [0, 1, 2] and (out["k"] == 5).all()
    with pytest.warns(UserWarning, match="needs at least 4 anomalies"):
        mixed = run_benchmark([Task("few", lambda: tiny(n_out=3))], "semi", ["IForest"],
                              ks=[1, 3], draws=1)
    assert set(mixed["k"]) == {1}
    text = table6(out)
    assert "tiny" in text and "DRAMA AUC" in text
    lof20 = pd.concat([out, out[out["detector"] == "IForest"].assign(detector="LOF-20")])
    assert "LOF-20 AUC" in table6(lof20)  # the default LOF stands in when no talk LOF ran
    both = pd.concat([lof20, out[out["detector"] == "IForest"].assign(detector="LOF-10")])
    assert "LOF-10 AUC" in table6(both) and "LOF-20" not in table6(both)
    undefined = out.assign(auc=np.where(out["detector"] == "DRAMA", np.nan, out["auc"]))
    assert "nan" not in table6(undefined)  # an undefined measure is a blank cell


def test_novelty_protocol(tmp_path):
    out = run_benchmark([Task("tiny", tiny)], "novelty", ["DRAMA", "DRAMA-fixed", "LOF-10"],
                        draws=2, search_params=FAST)
    assert len(out) == 6 and out["auc"].gt(0.8).all()


def test_active_protocol_counts_anomalies_found_within_the_budget(tmp_path):
    csv = tmp_path / "active.csv"
    out = run_benchmark([Task("tiny", tiny)], "active", ["DRAMA", "DRAMA-fixed", "IForest"],
                        draws=2, csv=csv)
    assert len(out) == 6 and set(out["budget"]) == {24}
    assert out["found"].between(0, 12).all()
    assert out.groupby("detector")["found"].mean()["IForest"] >= 10  # an easy task
    assert "Anomalies found within the budget" in write_report(out, tmp_path).read_text()
    again = run_benchmark([Task("tiny", tiny)], "active", ["DRAMA", "IForest"], draws=2, csv=csv)
    assert again.empty  # resumed: everything was done


def test_active_peers_learn_from_the_oracle_only_in_the_active_protocol(tmp_path):
    pytest.importorskip("coniferest", reason="the [peers] extra is not installed")
    out = run_benchmark([Task("tiny", tiny)], "active", ["AADForest", "PineForest"], draws=1)
    assert set(out["detector"]) == {"AADForest", "PineForest"}
    assert out["found"].between(6, 12).all()  # well-separated anomalies: most are found
    with pytest.raises(ValueError, match="only the active protocol"):
        run_benchmark([Task("tiny", tiny)], "unsupervised", ["AADForest"])
    assert "AADForest" not in default_detectors("semi")
    assert "AADForest" in default_detectors("active")


def test_coniferest_curve_counts_finds_and_refuses_unknown_peers():
    pytest.importorskip("coniferest", reason="the [peers] extra is not installed")
    X, y = tiny()
    curve = coniferest_curve("AADForest", X, y, budget=10, seed=0, batch=3)
    assert len(curve) == 10 and np.all(np.diff(curve) >= 0) and curve[-1] <= y.sum()
    X, y = tiny(n=8, n_out=12)  # mostly anomalies: 2 x anomalies is more than the objects
    curve = coniferest_curve("PineForest", X, y, budget=24, seed=0)
    assert len(curve) == 20 and curve[-1] == 12  # every object asked once, no double count
    with pytest.raises(ValueError, match="Unknown active peer"):
        coniferest_curve("Forest", X, y, budget=4, seed=0)
    for batch in (0, -3):  # would otherwise ask nothing, for ever
        with pytest.raises(ValueError, match="batch must be an integer >= 1"):
            coniferest_curve("AADForest", X, y, budget=4, seed=0, batch=batch)


def _write_crts(folder: Path, classes: list[str]) -> None:
    """A CRTS-like folder: one 8-point curve per class name, loud curves for rare classes."""
    rng = np.random.default_rng(0)
    rows, labels = ["ID,Mag,Magerr,MJD"], ["Classification,TransientID"]
    for i, cls in enumerate(classes):
        loud = cls in ("HPM", "Flare")
        for t in np.sort(rng.uniform(0, 500, 8)):
            rows.append(f"TranID{i},{18 + rng.normal(0, 2.0 if loud else 0.1):.3f},0.1,{t:.3f}")
        labels.append(f"{cls},{i}")
    (folder / "CRTS_subset_500.csv").write_text("\n".join(rows) + "\n")
    (folder / "transient_labels.csv").write_text("\n".join(labels) + "\n")


def test_crts_task_keeps_rare_classes_as_anomalies(tmp_path):
    _write_crts(tmp_path, ["SN", "CV?", "AGN", "Blazar", "HPM", "Flare", "SN/CV", "Unknown"])
    X, y = crts_task(tmp_path, representation="grid").load()  # the grid needs no extra
    assert X.shape == (6, 128) and y.tolist() == [0, 0, 0, 0, 1, 1]
    pytest.importorskip("light_curve", reason="the crts task's features need the light-curve "
                        "package: pip install 'drama-anomaly[lightcurves]'")
    from drama.datasets.lightcurve_features import FEATURES

    X, y = crts_task(tmp_path).load()
    assert X.shape == (6, len(FEATURES)) and y.tolist() == [0, 0, 0, 0, 1, 1]


def test_crts_rare_classes_counts_an_uncertain_class_as_that_class():
    keep, classes, y = crts_rare_classes(np.array(["SN", "HPM?", "SN/CV", "Unknown", "AGN?"]))
    assert keep.tolist() == [True, True, False, False, True]
    assert classes.tolist() == ["SN", "HPM", "AGN"] and y.tolist() == [0, 1, 0]


def test_crts_task_without_class_labels_says_so(tmp_path):
    _write_crts(tmp_path, ["SN", "HPM"])
    (tmp_path / "transient_labels.csv").unlink()
    with pytest.raises(ValueError, match="usable class label"):
        crts_task(tmp_path, representation="grid").load()


def test_cli_benchmark_runs_the_crts_task(tmp_path, monkeypatch):
    pytest.importorskip("light_curve", reason="the crts task's features need the light-curve "
                        "package: pip install 'drama-anomaly[lightcurves]'")
    crts = tmp_path / "lightcurves" / "crts"
    crts.mkdir(parents=True)
    _write_crts(crts, ["SN", "CV", "AGN", "Blazar"] * 10 + ["HPM", "Flare"])
    monkeypatch.setenv("DRAMA_DATA", str(tmp_path))
    out = tmp_path / "out"
    args = ["benchmark", "--protocol", "active", "-d", "crts", "--draws", "1",
            "--detector", "IForest", "--out", str(out)]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out / "results.csv")
    assert rows["dataset"].tolist() == ["crts"] and rows["budget"].tolist() == [4]
    assert rows["found"].iloc[0] == 2  # the two loud curves are the most isolated


def test_resume_is_per_seed_and_survives_a_cut_line(tmp_path):
    csv = tmp_path / "r.csv"
    tasks = [Task("tiny", tiny)]
    assert len(run_benchmark(tasks, "novelty", ["IForest"], draws=2, seed=0, csv=csv)) == 2
    with open(csv, "a") as handle:
        handle.write("tiny,novelty,0,IFor")  # a crash mid-write
    assert len(run_benchmark(tasks, "novelty", ["IForest"], draws=2, seed=1, csv=csv)) == 2
    assert run_benchmark(tasks, "novelty", ["IForest"], draws=2, seed=1, csv=csv).empty
    # a line cut after its key (MCC and RWS lost) is not done either: it runs again, and
    # only the complete row is read back
    with open(csv, "a") as handle:
        handle.write("tiny,novelty,0,IForest,0,7,0.8")
    assert len(run_benchmark(tasks, "novelty", ["IForest"], draws=1, seed=7, csv=csv)) == 1
    rows = read_results(csv)
    assert len(rows) == 5 and rows["mcc"].notna().all()


def test_a_cut_line_anywhere_in_a_row_is_run_again(tmp_path):
    """Cut inside a quoted text field (DRAMA's selection has commas), or inside the last
    field where the field count still matches: neither is read, both run again."""
    tasks = [Task("tiny", tiny)]
    for cut in ('tiny,novelty,0,IForest,0,3,0.8,0.1,0.2,0.0,0.0,"a, b',
                "tiny,novelty,0,IForest,0,3,0.8,0.1,0.2,0.0,0.0,,,10,4,2,1,"):
        csv = tmp_path / f"{len(cut)}.csv"
        run_benchmark(tasks, "novelty", ["IForest"], draws=1, seed=0, csv=csv)
        with open(csv, "a") as handle:
            handle.write(cut)
        assert len(read_results(csv)) == 1
        assert len(run_benchmark(tasks, "novelty", ["IForest"], draws=1, seed=3, csv=csv)) == 1
        assert run_benchmark(tasks, "novelty", ["IForest"], draws=1, seed=3, csv=csv).empty
        rows = read_results(csv)
        assert len(rows) == 2 and rows["budget"].isna().all() and rows["mcc"].notna().all()


def test_results_of_another_layout_are_refused(tmp_path):
    csv = tmp_path / "old.csv"
    csv.write_text("dataset,protocol,k,detector,draw,seed,auc\ntiny,novelty,0,IForest,0,0,0.9\n")
    with pytest.raises(ValueError, match="does not hold results of this version"):
        run_benchmark([Task("tiny", tiny)], "novelty", ["IForest"], draws=1, csv=csv)


def test_repeated_names_run_once_and_the_seed_is_not_a_search_parameter(tmp_path):
    rows = run_benchmark([Task("tiny", tiny), Task("tiny", tiny)], "semi",
                         ["IForest", "IForest"], ks=[2, 2], draws=1)
    assert len(rows) == 1
    with pytest.raises(ValueError, match="seed="):
        run_benchmark([Task("tiny", tiny)], "semi", ["DRAMA"], ks=[2], draws=1,
                      search_params={"random_state": 7})


def test_drama_fixed_needs_its_configuration_in_the_grid():
    with pytest.raises(ValueError, match="DRAMA-fixed"):
        run_benchmark([Task("tiny", tiny)], "semi", ["DRAMA-fixed"], ks=[2], draws=1,
                      search_params={"reducers": ["pca"], "levels": [1]})


def test_bad_protocol_and_detector():
    with pytest.raises(ValueError, match="protocol"):
        run_benchmark([], "weekly")
    with pytest.raises(ValueError, match="detector"):
        run_benchmark([], "unsupervised", ["Oracle"])
    with pytest.raises(ValueError, match="draws must be >= 1"):
        run_benchmark([], "semi", ["IForest"], draws=0)
    with pytest.raises(ValueError, match=r"\['levels'\] do not apply to the active"):
        run_benchmark([], "active", ["DRAMA"], search_params={"levels": [1], "n_jobs": 1})


def test_report_tables_and_figures(tmp_path):
    rows = [{"dataset": ds, "protocol": "semi", "k": k, "detector": det, "draw": d,
             "auc": 0.5 + 0.1 * i, "mcc": 0.1, "rws": 0.2, "config": "none|l2|2|input"}
            for ds in ("a", "b") for k in (1, 5) for i, det in enumerate(("DRAMA", "IForest"))
            for d in range(2)]
    frame = pd.DataFrame(rows)
    assert summary(frame[frame["k"] == 5]).loc["mean", "IForest"] == pytest.approx(0.6)
    md = write_report(frame, tmp_path)
    text = md.read_text()
    assert "Table 6" in text and "k = 5" in text
    for png in ("auc_per_dataset.png", "average_rank.png", "auc_vs_k.png"):
        assert (tmp_path / png).stat().st_size > 0


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command()
    def other() -> None:  # a second command so typer keeps sub-command names
        """Placeholder."""

    return app


def _tiny_folder(tmp_path):
    """A folder holding the tiny task as tiny.npz."""
    data = tmp_path / "data"
    data.mkdir()
    X, y = tiny()
    np.savez(data / "tiny.npz", X=X, y=y)
    return data


def test_cli_benchmark_on_a_data_folder(tmp_path):
    data = _tiny_folder(tmp_path)
    out = tmp_path / "out"
    args = ["benchmark", "--data-dir", str(data), "--out", str(out), "--detector", "IForest",
            "--detector", "PCA"]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    assert (out / "results.csv").exists() and (out / "report.md").exists()
    bad = CliRunner().invoke(_app(), ["benchmark", "--data-dir", str(tmp_path / "none")])
    assert bad.exit_code == 2 and "No ODDS folder" in bad.output
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine\n")
    clash = CliRunner().invoke(_app(), [*args[:3], "--out", str(a_file), "--detector", "IForest"])
    assert clash.exit_code == 2 and "is a file" in " ".join(clash.output.split())
    assert "Traceback" not in clash.output
    assert a_file.read_text() == "mine\n"
    no_draws = CliRunner().invoke(_app(), [*args, "--draws", "0"])
    assert no_draws.exit_code == 2 and "--draws" in no_draws.output
    # k = 20 labelled anomalies: tiny has only 12, so the set is skipped and nothing is left
    empty = CliRunner().invoke(_app(), ["benchmark", "--data-dir", str(data), "--protocol",
                                        "semi", "--k", "20", "--draws", "1", "--detector",
                                        "IForest", "--out", str(tmp_path / "none-left")])
    assert empty.exit_code == 2, empty.output
    flat = " ".join(empty.output.split())
    assert "No results to report" in flat and flat.count("needs at least 21 anomalies") == 1
    assert "Traceback" not in empty.output


@pytest.mark.skipif(not ODDS.is_dir(), reason=f"ODDS data not found at {ODDS}; "
                    "set it up (drama.datasets.download) to run this test")
def test_odds_wine_drama_beats_chance():
    task = odds_tasks(ODDS, ["wine"])[0]
    out = run_benchmark([task], "unsupervised", ["DRAMA", "IForest"], search_params=FAST)
    assert out.set_index("detector").loc["DRAMA", "auc"] > 0.7


def test_cli_report_covers_only_this_runs_seed(tmp_path):
    data = _tiny_folder(tmp_path)
    out = tmp_path / "out"
    for seed in ("0", "1"):
        args = ["benchmark", "--data-dir", str(data), "--out", str(out), "--detector",
                "IForest", "--seed", seed]
        result = CliRunner().invoke(_app(), args)
        assert result.exit_code == 0, result.output
    assert len(read_results(out / "results.csv")) == 2  # both seeds are kept ...
    assert "±" not in (out / "report.md").read_text()  # ... but not pooled as draws


@pytest.mark.parametrize("extra", [["--synthetic", "-d", "glass"], ["--shape", "3"],
                                   ["--protocol", "novelty", "--k", "3"]])
def test_cli_refuses_options_that_would_be_ignored(tmp_path, extra):
    result = CliRunner().invoke(_app(), ["benchmark", "--out", str(tmp_path), *extra])
    assert result.exit_code == 2 and "not apply here" in " ".join(result.output.split())


def test_numeric_data_set_names_and_a_cut_header(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    X, y = tiny()
    np.savez(data / "007.npz", X=X, y=y)
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.csv").write_text("dataset,proto")  # a first write cut in its header
    args = ["benchmark", "--data-dir", str(data), "--out", str(out), "--detector", "IForest"]
    for _ in range(2):  # the second run finds the row done
        result = CliRunner().invoke(_app(), args)
        assert result.exit_code == 0, result.output
    rows = read_results(out / "results.csv")
    assert rows["dataset"].tolist() == ["007"]
    assert "007" in (out / "report.md").read_text()


def test_cli_synthetic_run_draws_the_figure_and_checks_shapes_first(tmp_path):
    out = tmp_path / "out"
    args = ["benchmark", "--synthetic", "--n-features", "20", "--shape", "1", "--shape", "2",
            "--detector", "IForest", "--detector", "LOF-10", "--out", str(out)]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    rows = read_results(out / "results.csv")
    assert set(rows["dataset"]) == {f"{kind}-s{s}-f20" for kind in ("local", "newclass")
                                    for s in (1, 2)}
    assert (out / "synthetic.png").stat().st_size > 0
    bad = CliRunner().invoke(_app(), [*args[:4], "--shape", "11", "--out", str(tmp_path / "b")])
    assert bad.exit_code == 2 and "shape must be between 1 and 10, got 11" in " ".join(
        bad.output.split())
    assert not (tmp_path / "b" / "results.csv").exists()  # refused before any task ran


def test_synthetic_figure_has_a_row_per_k_and_never_averages_them(tmp_path):
    import matplotlib.image

    rows = [{"dataset": f"local-s{s}-f20", "protocol": "semi", "detector": det, "k": k,
             "auc": auc}
            for s in (1, 2) for det, auc in (("DRAMA", 0.9), ("IForest", 0.6))
            for k in (1, 5)]
    one = plot_synthetic(pd.DataFrame([r for r in rows if r["k"] == 1]), tmp_path / "one")
    two = plot_synthetic(pd.DataFrame(rows), tmp_path / "two")
    assert matplotlib.image.imread(two).shape[0] == 2 * matplotlib.image.imread(one).shape[0]
    unsupervised = pd.DataFrame([{**r, "protocol": "unsupervised", "k": 0} for r in rows
                                 if r["k"] == 1])
    flat = plot_synthetic(unsupervised, tmp_path / "flat")
    assert matplotlib.image.imread(flat).shape == matplotlib.image.imread(one).shape
