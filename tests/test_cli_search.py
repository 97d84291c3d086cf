"""`drama score` and `drama fit` run the meta-algorithm: the label-free search by default,
narrowed by --reducer / --metric / --levels, a single configuration when each names one
value, the few-label choice with --labels; what carries the ranking is printed and
recorded beside the output; files that DRAMA did not write are not replaced."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from drama import Drama, DramaSearch, load_detector
from drama.cli import app

runner = CliRunner()
FEATURES = ["f1", "f2", "f3"]


def _invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def _flat(result) -> str:
    return " ".join(result.output.split())


def _user_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in _flat(result), result.output


@pytest.fixture
def catalogue(tmp_path):
    """80 objects with 19-digit ids (beyond float64's exact integers) and 5 outliers."""
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(size=(75, 3)), rng.normal(7, 1, size=(5, 3))])
    frame = pd.DataFrame(X, columns=FEATURES)
    frame.insert(0, "obj", [str(1234567890123456700 + i) for i in range(80)])
    path = tmp_path / "cat.csv"
    frame.to_csv(path, index=False)
    return path, frame


def _record(out) -> dict:
    return json.loads((out.parent / (out.name + ".json")).read_text())


def test_score_runs_the_label_free_search_by_default(catalogue, tmp_path):
    path, frame = catalogue
    out = tmp_path / "scores.csv"
    result = _invoke("score", path, "-o", out, "--id-column", "obj")
    assert result.exit_code == 0, result.output
    expected = DramaSearch(random_state=0, contamination=0.05).fit(frame[FEATURES])
    scored = pd.read_csv(out, dtype={"obj": str})
    np.testing.assert_allclose(scored["score"], expected.decision_scores_, rtol=1e-12)
    np.testing.assert_array_equal(scored["label"], expected.labels_)
    assert scored["obj"].tolist() == frame["obj"].tolist()  # 19 digits kept
    record = _record(out)
    assert record["detector"] == "DramaSearch"
    assert record["selection"] == expected.selection_
    weights = {c["config"]: c["weight"] for c in record["configurations"]}
    assert weights == pytest.approx(expected.weights_.to_dict())
    assert "label-free consensus" in _flat(result)
    assert "Configurations carrying the ranking" in result.output


def test_fit_then_score_with_the_saved_search(catalogue, tmp_path):
    path, frame = catalogue
    model = tmp_path / "m.npz"
    result = _invoke("fit", path, "--model", model, "--id-column", "obj", "--seed", "4",
                     "--contamination", "0.1")
    assert result.exit_code == 0, result.output
    assert "label-free consensus" in _flat(result)
    search = load_detector(model)
    assert isinstance(search, DramaSearch) and search.random_state == 4
    new = frame.sample(30, random_state=2)
    new_path = tmp_path / "new.csv"
    new.to_csv(new_path, index=False)
    out = tmp_path / "new-scores.csv"
    result = _invoke("score", new_path, "-o", out, "--id-column", "obj", "--model", model)
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out)
    np.testing.assert_array_equal(scored["score"], search.decision_function(new[FEATURES]))
    np.testing.assert_array_equal(scored["label"], search.predict(new[FEATURES]))
    assert _record(out)["model"] == str(model)


def test_options_narrow_the_pool(catalogue, tmp_path):
    path, frame = catalogue
    out = tmp_path / "o.csv"
    result = _invoke("score", path, "-o", out, "--id-column", "obj", "--reducer", "pca",
                     "--reducer", "none", "--metric", "l1", "--levels", "1", "--levels", "3")
    assert result.exit_code == 0, result.output
    configs = [c["config"].split("|") for c in _record(out)["configurations"]]
    trees = [c for c in configs if c[3] == "input" and c[2] != "0"]  # the members stay
    assert {c[0] for c in trees} <= {"pca", "none"} and {c[1] for c in trees} == {"l1"}
    assert {c[2] for c in trees} <= {"1", "3"}
    expected = DramaSearch(reducers=["pca", "none"], metrics=["l1"], levels=[1, 3],
                           random_state=0, contamination=0.05).fit(frame[FEATURES])
    np.testing.assert_allclose(pd.read_csv(out)["score"], expected.decision_scores_)


def test_one_value_each_is_that_single_configuration(catalogue, tmp_path):
    path, frame = catalogue
    out = tmp_path / "o.csv"
    result = _invoke("score", path, "-o", out, "--id-column", "obj", "--reducer", "pca",
                     "--metric", "l1", "--levels", "3")
    assert result.exit_code == 0, result.output
    expected = Drama(reducer="pca", metric="l1", n_levels=3, random_state=0,
                     contamination=0.05).fit(frame[FEATURES])
    np.testing.assert_allclose(pd.read_csv(out)["score"], expected.decision_scores_)
    assert _record(out)["detector"] == "Drama"
    assert "single configuration pca|l1|3|input" in _flat(result)


def test_space_chooses_the_residual_space_for_one_configuration_or_the_search(catalogue,
                                                                             tmp_path):
    path, frame = catalogue
    out = tmp_path / "o.csv"
    result = _invoke("score", path, "-o", out, "--id-column", "obj", "--reducer", "pca",
                     "--metric", "l1", "--levels", "2", "--space", "residual")
    assert result.exit_code == 0, result.output
    expected = Drama(reducer="pca", metric="l1", n_levels=2, space="residual", random_state=0,
                     contamination=0.05).fit(frame[FEATURES])
    np.testing.assert_allclose(pd.read_csv(out)["score"], expected.decision_scores_)
    assert "single configuration pca|l1|2|residual" in _flat(result)
    model = tmp_path / "m.npz"
    result = _invoke("fit", path, "--model", model, "--id-column", "obj", "--reducer", "pca",
                     "--reducer", "none", "--metric", "l2", "--space", "input",
                     "--space", "residual")
    assert result.exit_code == 0, result.output
    search = load_detector(model)
    assert list(search.spaces) == ["input", "residual"]
    assert {"pca|l2|1|residual", "none|l2|1|input"} <= set(search.results_["config"])
    assert not any(c.startswith("none|") and c.endswith("|residual")
                   for c in search.results_["config"])


def test_space_errors_are_clear(catalogue, tmp_path):
    path, _ = catalogue
    out = tmp_path / "o.csv"
    _user_error(_invoke("score", path, "-o", out, "--space", "residual"),
                "residual space needs a reducer other than 'none'")
    _user_error(_invoke("score", path, "-o", out, "--reducer", "none", "--metric", "l2",
                        "--levels", "1", "--space", "residual"),
                "space='residual' needs a reducer")
    _user_error(_invoke("score", path, "-o", out, "--space", "input", "--space", "input"),
                "--space names a space twice")
    _user_error(_invoke("score", path, "-o", out, "--space", "outer"), "Unknown space 'outer'")


def test_labels_switch_to_the_few_label_choice(catalogue, tmp_path):
    path, frame = catalogue
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"obj": frame["obj"].iloc[[75, 76, 3, 4]], "label": [1, 1, 0, 0]}).to_csv(
        labels, index=False)
    out = tmp_path / "o.csv"
    result = _invoke("score", path, "-o", out, "--id-column", "obj", "--labels", labels,
                     "--reducer", "none", "--reducer", "pca")
    assert result.exit_code == 0, result.output
    y = np.full(80, -1)
    y[[75, 76]], y[[3, 4]] = 1, 0
    expected = DramaSearch(reducers=["none", "pca"], random_state=0,
                           contamination=0.05).fit(frame[FEATURES], y)
    np.testing.assert_allclose(pd.read_csv(out)["score"], expected.decision_scores_)
    record = _record(out)
    assert record["labels"] == str(labels) and record["selection"] == expected.selection_
    assert "2 labelled anomalies and 2 labelled normals" in _flat(result)
    # fit keeps the labels in the saved search
    model = tmp_path / "m.npz"
    assert _invoke("fit", path, "--model", model, "--id-column", "obj", "--labels", labels,
                   "--reducer", "none", "--reducer", "pca").exit_code == 0
    np.testing.assert_array_equal(load_detector(model).labels_used_, y)


def test_labels_by_row_number_without_ids(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(np.vstack([rng.normal(size=(40, 2)), [[9, 9]]]), columns=["a", "b"])
    path = tmp_path / "plain.csv"
    frame.to_csv(path, index=False)
    labels = tmp_path / "labels.csv"
    labels.write_text("row,label\n40,1\n0,0\n")
    result = _invoke("score", path, "-o", tmp_path / "o.csv", "--labels", labels,
                     "--reducer", "none")
    assert result.exit_code == 0, result.output
    assert "1 labelled anomalies and 1 labelled normals" in _flat(result)


@pytest.mark.parametrize("content, fragments", [
    ("obj,label\n999,1\n", ["names 1 object(s) that are not in the input", "'999'"]),
    ("obj,label\n1234567890123456700,yes\n", ["must be 1 (anomaly) or 0", "'yes'"]),
    ("obj,label\n1234567890123456700,0\n", ["marks no anomaly"]),
    ("id,value,x\n1,1,2\n", ["needs the columns 'obj' and 'label'"]),
    ("obj,label\n1234567890123456700,1\n1234567890123456700,0\n", ["both labels"]),
])
def test_bad_labels_files_are_clear_errors(catalogue, tmp_path, content, fragments):
    path, _ = catalogue
    labels = tmp_path / "labels.csv"
    labels.write_text(content)
    result = _invoke("score", path, "-o", tmp_path / "o.csv", "--id-column", "obj",
                     "--labels", labels)
    _user_error(result, *fragments)
    assert not (tmp_path / "o.csv").exists()


def test_labels_with_a_single_configuration_or_a_saved_model_are_refused(catalogue, tmp_path):
    path, frame = catalogue
    labels = tmp_path / "labels.csv"
    labels.write_text(f"obj,label\n{frame['obj'][77]},1\n")
    one = ("--reducer", "pca", "--metric", "l2", "--levels", "2")
    _user_error(_invoke("score", path, "-o", tmp_path / "o.csv", "--id-column", "obj",
                        "--labels", labels, *one), "--labels chooses among configurations")
    model = tmp_path / "m.npz"
    assert _invoke("fit", path, "--model", model, *one).exit_code == 0
    _user_error(_invoke("score", path, "-o", tmp_path / "o.csv", "--model", model,
                        "--labels", labels), "leave out --labels")


def test_files_drama_did_not_write_are_not_replaced(catalogue, tmp_path):
    path, _ = catalogue
    precious = tmp_path / "notes.csv"
    precious.write_text("my,own\ndata,here\n")
    _user_error(_invoke("fit", path, "--model", precious, "--reducer", "none"),
                "exists and is not a DRAMA model", "--force")
    _user_error(_invoke("score", path, "-o", precious, "--reducer", "none"),
                "exists and is not a DRAMA scores table", "--force")
    assert precious.read_text() == "my,own\ndata,here\n"
    # DRAMA's own files are replaced as before, and --force replaces anything
    model, out = tmp_path / "m.npz", tmp_path / "o.csv"
    for _ in range(2):
        assert _invoke("fit", path, "--model", model, "--reducer", "none").exit_code == 0
        assert _invoke("score", path, "-o", out, "--reducer", "none").exit_code == 0
    result = _invoke("score", path, "-o", precious, "--reducer", "none", "--force")
    assert result.exit_code == 0, result.output
    assert pd.read_csv(precious).columns.tolist() == ["row", "score", "label", "rank"]
