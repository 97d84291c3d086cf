"""The `drama` command line, driven through typer's CliRunner on small tables in tmp_path."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from drama.cli import app

runner = CliRunner()


def _frame(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """A table with string ids in shuffled order and a few obvious outliers."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    X[:4] += 8.0
    order = rng.permutation(n)
    frame = pd.DataFrame(X[order], columns=["f1", "f2", "f3"])
    frame.insert(0, "obj", [f"obj-{i:03d}" for i in order])
    frame["truth"] = (order < 4).astype(int)
    return frame


@pytest.fixture
def table(tmp_path):
    frame = _frame()
    path = tmp_path / "objects.csv"
    frame.to_csv(path, index=False)
    return path, frame


def _invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def _assert_user_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Error:" in result.output
    flat = " ".join(result.output.split())
    for fragment in fragments:
        assert fragment in flat, result.output


def test_version():
    result = _invoke("--version")
    assert result.exit_code == 0
    assert re.match(r"drama \S+", result.output)


def test_help_lists_commands():
    result = _invoke("--help")
    assert result.exit_code == 0
    for command in ("score", "fit", "datasets", "demo"):
        assert command in result.output


def test_score_keeps_row_order_and_ids(table, tmp_path):
    path, frame = table
    out = tmp_path / "scores.csv"
    result = _invoke(
        "score",
        path,
        "-o",
        out,
        "--id-column",
        "obj",
        "--label-column",
        "truth",
        "--contamination",
        "0.1",
    )
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out)
    assert list(scored.columns) == ["obj", "score", "label", "rank"]
    assert scored["obj"].tolist() == frame["obj"].tolist()
    assert sorted(scored["rank"]) == list(range(1, len(frame) + 1))
    assert scored.loc[scored["rank"] == 1, "score"].item() == scored["score"].max()
    assert set(scored["label"]) <= {0, 1} and scored["label"].sum() > 0
    by_rank = scored.sort_values("rank")["score"].to_numpy()
    assert np.all(np.diff(by_rank) <= 0)  # rank follows the score, highest first
    assert "AUC" in result.output and "Top 10 anomalies" in result.output
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_score_without_id_writes_row_numbers(tmp_path):
    frame = _frame().drop(columns=["obj", "truth"])
    path = tmp_path / "plain.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "plain_scores.csv"
    result = _invoke("score", path, "-o", out)
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out)
    assert list(scored.columns) == ["row", "score", "label", "rank"]
    assert scored["row"].tolist() == list(range(len(frame)))


def test_score_default_output_name(tmp_path):
    frame = _frame().drop(columns=["obj", "truth"])
    path = tmp_path / "cat.csv"
    frame.to_csv(path, index=False)
    result = _invoke("score", path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cat-scores.csv").exists()


def test_score_parquet_in_and_out(tmp_path):
    frame = _frame()
    path = tmp_path / "objects.parquet"
    frame.to_parquet(path, index=False)
    out = tmp_path / "scores.parquet"
    result = _invoke("score", path, "-o", out, "--id-column", "obj", "--label-column", "truth")
    assert result.exit_code == 0, result.output
    scored = pd.read_parquet(out)
    assert scored["obj"].tolist() == frame["obj"].tolist()
    assert list(scored.columns) == ["obj", "score", "label", "rank"]


def test_fit_then_score_with_model_matches_score(table, tmp_path):
    path, _ = table
    model = tmp_path / "model.npz"
    options = ["--id-column", "obj", "--label-column", "truth"]
    model_options = ["--reducer", "pca", "--metric", "l1", "--levels", "2", "--seed", "3"]
    result = _invoke("fit", path, "--model", model, *options, *model_options)
    assert result.exit_code == 0, result.output
    assert model.exists()

    direct = tmp_path / "direct.csv"
    via_model = tmp_path / "via_model.csv"
    assert _invoke("score", path, "-o", direct, *options, *model_options).exit_code == 0
    result = _invoke("score", path, "-o", via_model, "--model", model, *options)
    assert result.exit_code == 0, result.output
    a, b = pd.read_csv(direct), pd.read_csv(via_model)
    np.testing.assert_allclose(a["score"], b["score"], rtol=1e-9, atol=1e-12)
    assert a["obj"].tolist() == b["obj"].tolist()
    assert a["rank"].tolist() == b["rank"].tolist()


def test_model_feature_count_mismatch(table, tmp_path):
    path, frame = table
    model = tmp_path / "model.npz"
    assert (
        _invoke(
            "fit", path, "--model", model, "--id-column", "obj", "--label-column", "truth"
        ).exit_code
        == 0
    )
    narrow = tmp_path / "narrow.csv"
    frame.drop(columns=["f3"]).to_csv(narrow, index=False)
    result = _invoke(
        "score",
        narrow,
        "-o",
        tmp_path / "o.csv",
        "--model",
        model,
        "--id-column",
        "obj",
        "--label-column",
        "truth",
    )
    _assert_user_error(result, "has 2 features", "fitted on 3", "['f3'] are not in the file")
    assert not (tmp_path / "o.csv").exists()


def test_model_with_model_options_is_refused(table, tmp_path):
    path, _ = table
    result = _invoke(
        "score", path, "-o", tmp_path / "o.csv", "--model", tmp_path / "m.npz", "--reducer", "ica"
    )
    _assert_user_error(result, "--model", "--reducer")
    result = _invoke("score", path, "-o", tmp_path / "o.csv", "--model", tmp_path / "m.npz",
                     "--levels", "3", "--seed", "1")
    _assert_user_error(result, "--levels, --seed")


def test_missing_model_file(table, tmp_path):
    path, _ = table
    result = _invoke(
        "score",
        path,
        "-o",
        tmp_path / "o.csv",
        "--model",
        tmp_path / "nope.npz",
        "--id-column",
        "obj",
        "--label-column",
        "truth",
    )
    _assert_user_error(result, "does not exist")


def test_missing_id_column_names_available_columns(table, tmp_path):
    path, _ = table
    result = _invoke("score", path, "-o", tmp_path / "o.csv", "--id-column", "name")
    _assert_user_error(result, "'name'", "obj, f1, f2, f3, truth")


def test_bad_reducer_name(table, tmp_path):
    path, _ = table
    out = tmp_path / "o.csv"
    result = _invoke("score", path, "-o", out, "--id-column", "obj", "--reducer", "magic")
    _assert_user_error(result, "Unknown reducer 'magic'")
    assert not out.exists()


def test_bad_metric_and_contamination(table, tmp_path):
    path, _ = table
    args = ("score", path, "-o", tmp_path / "o.csv", "--id-column", "obj")
    _assert_user_error(_invoke(*args, "--metric", "l3"), "metric 'l3'")
    _assert_user_error(_invoke(*args, "--contamination", "0.9"), "contamination")


def test_a_text_column_is_carried_through_with_a_message(table, tmp_path):
    """Issue 18: a text column no longer stops the run (it was "not numeric")."""
    path, frame = table
    out = tmp_path / "o.csv"
    result = _invoke("score", path, "-o", out, "--reducer", "none", "--metric", "l2",
                     "--levels", "2")  # "obj" is text, not named like an id
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "carried through: obj (text)" in flat
    assert "Text column(s) obj are carried through, not used as features" in flat
    scored = pd.read_csv(out)
    assert list(scored.columns) == ["row", "score", "label", "rank", "obj"]
    assert scored["obj"].tolist() == frame["obj"].tolist()


def test_missing_input_and_bad_extensions(table, tmp_path):
    path, _ = table
    _assert_user_error(
        _invoke("score", tmp_path / "none.csv", "-o", tmp_path / "o.csv"), "does not exist"
    )
    _assert_user_error(_invoke("score", path, "-o", tmp_path / "o.xlsx"), "'.xlsx'")
    _assert_user_error(_invoke("score", path, "-o", tmp_path / "no" / "o.csv"), "does not exist")


def test_failed_write_leaves_old_output_intact(table, tmp_path, monkeypatch):
    path, _ = table
    out = tmp_path / "scores.csv"
    previous = "obj,score,label,rank\n7,0.5,0,1\n"  # an earlier run's output
    out.write_text(previous)

    def broken_to_csv(self, target, *args, **kwargs):
        with open(target, "w") as handle:
            handle.write("obj,score,la")  # half a file, then the disk fills up
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken_to_csv)
    result = _invoke("score", path, "-o", out, "--id-column", "obj", "--label-column", "truth")
    assert result.exit_code == 1
    assert "No space left on device" in result.output and "Traceback" not in result.output
    assert out.read_text() == previous
    assert sorted(p.name for p in tmp_path.iterdir()) == ["objects.csv", "scores.csv"]


def test_failed_fit_leaves_old_output_intact(table, tmp_path):
    path, _ = table
    out = tmp_path / "scores.csv"
    previous = "obj,score,label,rank\n7,0.5,0,1\n"
    out.write_text(previous)
    result = _invoke("score", path, "-o", out, "--id-column", "obj", "--latent-dim", "0")
    assert result.exit_code == 2
    assert out.read_text() == previous


def test_fit_reports_and_saves(table, tmp_path):
    path, _ = table
    model = tmp_path / "m.npz"
    result = _invoke("fit", path, "--model", model, "--id-column", "obj", "--label-column", "truth")
    assert result.exit_code == 0, result.output
    assert "Saved" in result.output and "AUC" in result.output
    _assert_user_error(_invoke("fit", path, "--model", tmp_path / "x" / "m.npz"), "does not exist")


def test_fits_input_and_auto_detected_id_and_label(tmp_path):
    astropy_table = pytest.importorskip("astropy.table")
    frame = _frame().drop(columns=["obj"])
    frame.insert(0, "ID", np.arange(100, 100 + len(frame)))
    frame = frame.rename(columns={"truth": "label"})
    path = tmp_path / "cat.fits"
    astropy_table.Table.from_pandas(frame).write(path)
    out = tmp_path / "cat.csv"
    result = _invoke("score", path, "-o", out)
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out)
    assert list(scored.columns) == ["ID", "score", "label", "rank"]
    assert scored["ID"].tolist() == frame["ID"].tolist()
    flat = " ".join(result.output.split())
    assert "id: ID" in flat and "label: label" in flat and "features (3): f1, f2, f3" in flat
    assert "AUC" in result.output


def test_bad_labels_and_nan_features_are_user_errors(tmp_path):
    frame = _frame()
    frame["truth"] = np.where(frame["truth"] == 1, "odd", "fine")
    path = tmp_path / "labels.csv"
    frame.to_csv(path, index=False)
    result = _invoke("score", path, "--id-column", "obj", "--label-column", "truth")
    _assert_user_error(result, "0/1")
    frame = _frame()
    frame.loc[5, "f2"] = np.nan
    frame.to_csv(path, index=False)
    result = _invoke("score", path, "--id-column", "obj", "--label-column", "truth")
    _assert_user_error(result, "NaN")


def test_datasets_lists_files(tmp_path):
    _frame().drop(columns=["obj"]).to_csv(tmp_path / "mine.csv", index=False)
    result = _invoke("datasets", "--data-dir", tmp_path)
    assert result.exit_code == 0, result.output
    assert "mine" in result.output
    _assert_user_error(_invoke("datasets", "--data-dir", tmp_path / "missing"), "not a folder")


def test_demo_writes_report(tmp_path):
    out = tmp_path / "report"
    result = _invoke("demo", "--out", out)
    assert result.exit_code == 0, result.output
    for name in ("report.md", "scores.png", "latent.png"):
        assert (out / name).stat().st_size > 0
    assert "AUC" in result.output and "MCC" in result.output and "RWS" in result.output
    assert "Top 10 anomalies" in result.output
    assert "scores.png" in (out / "report.md").read_text()


def test_output_onto_the_input_is_refused(table):
    path, _ = table
    before = path.read_bytes()
    result = _invoke("score", path, "-o", path)
    assert result.exit_code == 2
    assert "is the input file" in result.output
    assert path.read_bytes() == before


def test_model_onto_the_input_is_refused(table):
    path, _ = table
    before = path.read_bytes()
    result = _invoke("fit", path, "--model", path, "--id-column", "obj")
    _assert_user_error(result, "is the input file")
    assert path.read_bytes() == before


def test_header_only_table_says_it_has_no_rows(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("obj,f1,f2\n")
    _assert_user_error(_invoke("score", empty, "-o", tmp_path / "o.csv"), "no rows")


def test_array_input_points_to_the_commands_that_read_arrays(tmp_path):
    arr = tmp_path / "x.npy"
    np.save(arr, np.zeros((5, 2)))
    _assert_user_error(_invoke("score", arr, "-o", tmp_path / "o.csv"), "array", "drama active")


def test_negative_seed_is_refused_by_name(table, tmp_path):
    path, _ = table
    result = _invoke("score", path, "-o", tmp_path / "o.csv", "--id-column", "obj",
                     "--seed", "-1")
    assert result.exit_code == 2
    assert "--seed" in result.output


def test_label_named_column_that_is_not_0_1_stays_a_feature_with_a_warning(tmp_path):
    frame = _frame()
    frame["y"] = np.arange(len(frame)) % 3
    path = tmp_path / "y.csv"
    frame.to_csv(path, index=False)
    result = _invoke("score", path, "-o", tmp_path / "o.csv", "--id-column", "obj")
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "Warning: " in flat and "'y' is named like labels" in flat


ONE_AE = ("--metric", "l2", "--levels", "2")  # with --reducer ae: that one configuration


def test_neural_reducer_trains_with_its_progress_bar(table, tmp_path):
    pytest.importorskip("torch", reason="the neural reducers need PyTorch")
    path, _ = table
    out = tmp_path / "o.csv"
    result = _invoke("score", path, "-o", out, "--id-column", "obj", "--label-column", "truth",
                     "--reducer", "ae", *ONE_AE)
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) == 60
    model = tmp_path / "m.npz"
    assert _invoke("fit", path, "--model", model, "--id-column", "obj", "--label-column",
                   "truth", "--reducer", "ae", *ONE_AE).exit_code == 0
    from drama import Drama

    assert Drama.load(model).reducer_options == {"progress": True}  # the bar was asked for


def test_device_option_reaches_the_neural_reducer(table, tmp_path):
    torch = pytest.importorskip("torch", reason="the neural reducers need PyTorch")
    path, _ = table
    model = tmp_path / "m.npz"
    result = _invoke("fit", path, "--model", model, "--id-column", "obj", "--label-column",
                     "truth", "--reducer", "ae", *ONE_AE, "--device", "cpu")
    assert result.exit_code == 0, result.output
    from drama import Drama

    assert Drama.load(model).reducer_options == {"progress": True, "device": "cpu"}
    result = _invoke("score", path, "-o", tmp_path / "o.csv", "--id-column", "obj",
                     "--label-column", "truth", "--model", model, "--device", "cpu")
    assert result.exit_code == 0, result.output
    if not torch.cuda.is_available():
        result = _invoke("score", path, "-o", tmp_path / "g.csv", "--id-column", "obj",
                         "--reducer", "ae", *ONE_AE, "--device", "cuda")
        assert result.exit_code != 0 and "no CUDA GPU" in " ".join(result.output.split())


def test_device_option_is_refused_for_a_linear_reducer(table, tmp_path):
    path, _ = table
    model = tmp_path / "pca.npz"
    assert _invoke("fit", path, "--model", model, "--id-column", "obj",
                   "--reducer", "pca").exit_code == 0
    for args in (["--reducer", "pca", "--device", "cpu"], ["--device", "cpu"],
                 ["--model", model, "--device", "cpu"]):
        result = _invoke("score", path, "-o", tmp_path / "o.csv", "--id-column", "obj", *args)
        assert result.exit_code != 0
        flat = " ".join(result.output.split())
        assert "--device applies to the neural reducers" in flat
        assert "None" not in flat


def test_a_gpu_model_on_a_cpu_machine_is_told_to_use_device_cpu(table, tmp_path, as_gpu_model):
    path, _ = table
    model = tmp_path / "m.npz"
    assert _invoke("fit", path, "--model", model, "--id-column", "obj",
                   "--reducer", "ae", *ONE_AE).exit_code == 0
    gpu = as_gpu_model(model, tmp_path / "gpu.npz")
    score = ["score", path, "-o", tmp_path / "o.csv", "--id-column", "obj", "--model", gpu]
    result = _invoke(*score)
    assert result.exit_code != 0 and "add --device cpu" in " ".join(result.output.split())
    assert _invoke(*score, "--device", "cpu").exit_code == 0
    result = _invoke(*score, "--device", "gpu")
    flat = " ".join(result.output.split())
    assert result.exit_code != 0 and "not a device PyTorch knows" in flat
    assert "not a consistent DRAMA model file" not in flat
