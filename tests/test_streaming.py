"""Scoring tables batch by batch within a memory budget (drama.streaming)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from drama import Drama, DramaSearch
from drama.streaming import batch_rows, parse_memory, score_table

FEATURES = ["g", "r", "i", "z"]


@pytest.fixture(scope="module")
def model_and_table():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(1000, 4)), columns=FEATURES)
    frame.iloc[:10] += 6.0
    det = Drama(random_state=0).fit(frame.iloc[::4])  # fitted on a sample of the table
    # 19-digit ids, beyond float64's exact integers; columns in another order than the fit's
    table = frame[["z", "g", "i", "r"]].copy()
    table.insert(0, "source_id", [str(4_000_000_000_000_000_000 + i) for i in range(1000)])
    return det, frame, table


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_streamed_scores_equal_the_in_memory_scores_in_input_order(model_and_table, tmp_path,
                                                                    suffix):
    det, frame, table = model_and_table
    source = tmp_path / f"catalogue{suffix}"
    table.to_parquet(source) if suffix == ".parquet" else table.to_csv(source, index=False)
    seen = []
    out = tmp_path / f"scores{suffix}"
    # 4 features x 64 bytes a value: 2 KiB a batch of 8 rows, so 125 batches
    n = score_table(det, source, out, memory=2048, id_column="source_id", progress=seen.append)
    assert n == 1000 and seen[0] == 8 and seen[-1] == 1000 and len(seen) == 125
    got = pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(
        out, dtype={"source_id": str})
    np.testing.assert_array_equal(got["score"], det.decision_function(frame))
    assert got["source_id"].tolist() == table["source_id"].tolist()
    np.testing.assert_array_equal(got["label"], (got["score"] > det.threshold_).astype(int))


def test_a_saved_search_streams_too(model_and_table, tmp_path):
    _, frame, table = model_and_table
    search = DramaSearch(random_state=0).fit(frame.iloc[::4])
    source = tmp_path / "c.parquet"
    table.to_parquet(source)
    score_table(search, source, tmp_path / "s.parquet", memory="1MB")
    np.testing.assert_allclose(pd.read_parquet(tmp_path / "s.parquet")["score"],
                               search.decision_function(frame), rtol=0, atol=0)


def test_a_failure_midway_leaves_no_output_and_keeps_an_old_one(model_and_table, tmp_path):
    det, _, table = model_and_table
    source = tmp_path / "c.csv"
    table.to_csv(source, index=False)
    out = tmp_path / "scores.csv"
    out.write_text("the previous run\n")

    class Failing:
        feature_names_in_ = det.feature_names_in_
        threshold_ = None
        calls = 0

        def decision_function(self, X):
            Failing.calls += 1
            if Failing.calls == 3:
                raise RuntimeError("the machine went down")
            return det.decision_function(X)

    with pytest.raises(RuntimeError, match="went down"):
        score_table(Failing(), source, out, memory=2048)
    assert out.read_text() == "the previous run\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.csv", "scores.csv"]  # no partial


def test_clear_errors(model_and_table, tmp_path):
    det, frame, table = model_and_table
    source = tmp_path / "c.csv"
    table.drop(columns="r").to_csv(source, index=False)
    with pytest.raises(ValueError, match=r"no column\(s\) \['r'\]"):
        score_table(det, source, tmp_path / "o.csv")
    with pytest.raises(ValueError, match="writes .csv, .parquet, .pq"):
        score_table(det, source, tmp_path / "o.fits")
    with pytest.raises(ValueError, match="fitted on an array"):
        score_table(Drama(random_state=0).fit(frame.to_numpy()), source, tmp_path / "o.csv")
    with pytest.raises(ValueError, match="replace the input"):
        score_table(det, source, source)
    empty = tmp_path / "empty.csv"
    table.iloc[:0].to_csv(empty, index=False)
    with pytest.raises(ValueError, match="has no rows"):
        score_table(det, empty, tmp_path / "o.csv")
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("text, expected", [("2GB", 2 * 2**30), ("512 MB", 512 * 2**20),
                                            ("1.5GiB", int(1.5 * 2**30)), ("300000", 300000),
                                            (4096, 4096), ("64k", 64 * 2**10)])
def test_memory_sizes(text, expected):
    assert parse_memory(text) == expected


@pytest.mark.parametrize("text", ["", "lots", "-1GB", "0", "2PB", "nanGB", True])
def test_bad_memory_sizes_are_refused(text):
    with pytest.raises(ValueError, match="positive size"):
        parse_memory(text)


def test_batch_rows_follow_the_budget_not_the_data():
    assert batch_rows(2**30, 20) == 2**30 // (64 * 20)
    assert batch_rows(10, 1000) == 1  # never less than one row
    assert batch_rows(2**20, 100) * 100 * 64 <= 2**20


def test_cli_memory_streams_a_catalogue_with_a_saved_model(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from drama import load_detector
    from drama.cli import app

    rng = np.random.default_rng(3)
    catalogue = pd.DataFrame(rng.normal(size=(600, 4)), columns=FEATURES)
    catalogue.insert(0, "objid", [f"J{i:05d}" for i in range(600)])
    catalogue["ra"] = rng.uniform(0, 360, 600)
    catalogue["kind"] = "galaxy"
    train, big = tmp_path / "train.csv", tmp_path / "big.parquet"
    catalogue.iloc[::3].to_csv(train, index=False)
    catalogue[["kind", "z", "objid", "ra", "g", "r", "i"]].to_parquet(big)  # another order
    model = tmp_path / "m.npz"
    runner = CliRunner()
    fitted = runner.invoke(app, ["fit", str(train), "--model", str(model), "--reducer", "none",
                                 "--metric", "l2", "--levels", "2"])
    assert fitted.exit_code == 0, fitted.output
    out = tmp_path / "scores.parquet"

    def whole_table(*args: object) -> None:
        raise AssertionError("--memory read the whole table")

    monkeypatch.setattr("drama.cli.commands.read_objects", whole_table)
    result = runner.invoke(app, ["score", str(big), "--model", str(model), "-o", str(out),
                                 "--memory", "8KB"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Scored 600 objects in batches within 8KB" in text and "no rank" in text
    assert "carried through: ra; kind (text)" in text
    got = pd.read_parquet(out)
    assert list(got.columns) == ["objid", "score", "label", "kind", "ra"]  # as in the input
    det = load_detector(model)
    np.testing.assert_array_equal(got["score"], det.decision_function(catalogue[FEATURES]))
    assert got["objid"].tolist() == catalogue["objid"].tolist()
    refused = runner.invoke(app, ["score", str(big), "-o", str(tmp_path / "o.csv"),
                                  "--memory", "1GB"])
    assert refused.exit_code == 2 and "--memory scores with a saved model" in " ".join(
        refused.output.split())
    bad = runner.invoke(app, ["score", str(big), "--model", str(model), "-o",
                              str(tmp_path / "o.csv"), "--memory", "lots"])
    assert bad.exit_code == 2 and "positive size" in bad.output


def test_float32_stays_float32_and_scores_as_its_float64_values(model_and_table, tmp_path):
    det, frame, table = model_and_table
    single = table.astype({c: np.float32 for c in FEATURES})
    exact = single[FEATURES].astype(np.float64)  # every float32 is exact in float64
    expected = det.decision_function(exact[list(det.feature_names_in_)])
    # in memory: an array and a table of float32 columns score as their float64 values
    np.testing.assert_array_equal(det.decision_function(single[FEATURES].to_numpy()), expected)
    np.testing.assert_array_equal(det.decision_function(single[FEATURES]), expected)
    from drama._validation import check_array

    assert check_array(single[FEATURES], keep_float32=True).dtype == np.float32
    assert check_array(single[FEATURES]).dtype == np.float64
    source = tmp_path / "c32.parquet"
    single.to_parquet(source, row_group_size=300)
    score_table(det, source, tmp_path / "o.parquet", memory=4096)  # batches of 16 rows
    np.testing.assert_array_equal(pd.read_parquet(tmp_path / "o.parquet")["score"], expected)


def test_a_read_error_in_the_reading_thread_is_raised_and_leaves_no_output(
        model_and_table, tmp_path, monkeypatch):
    import drama.streaming as streaming

    det, _, table = model_and_table
    source = tmp_path / "c.parquet"
    table.to_parquet(source)
    out = tmp_path / "scores.parquet"
    out.write_bytes(b"the previous run")
    real = streaming._batches
    reader_threads = []

    def failing(*args, **kwargs):
        import threading

        for number, batch in enumerate(real(*args, **kwargs)):
            reader_threads.append(threading.current_thread().name)
            if number == 5:
                raise OSError("the disk went away")
            yield batch

    monkeypatch.setattr(streaming, "_batches", failing)
    with pytest.raises(OSError, match="the disk went away"):
        score_table(det, source, out, memory=2048)
    assert reader_threads and all(name.startswith("drama-read") for name in reader_threads)
    assert out.read_bytes() == b"the previous run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.parquet", "scores.parquet"]


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_a_write_error_in_the_writing_thread_is_raised_and_leaves_no_output(
        model_and_table, tmp_path, monkeypatch, suffix):
    import drama.streaming as streaming

    det, _, table = model_and_table
    source = tmp_path / "c.parquet"
    table.to_parquet(source)
    real, calls = streaming._Writer.write, []

    def failing(self, frame):
        calls.append(len(frame))
        if len(calls) == 4:
            raise OSError("no space left on device")
        return real(self, frame)

    monkeypatch.setattr(streaming._Writer, "write", failing)
    with pytest.raises(OSError, match="no space left"):
        score_table(det, source, tmp_path / f"o{suffix}", memory=2048)
    assert len(calls) == 4  # stopped at the failing write, not at the end of the table
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.parquet"]


# ---------------------------------------------------------------------- bad input and faults


def _parquet_source(table, tmp_path):
    source = tmp_path / "c.parquet"
    table.to_parquet(source, row_group_size=100)
    return source


def test_a_truncated_parquet_file_is_refused_by_name_and_leaves_no_output(model_and_table,
                                                                          tmp_path):
    det, _, table = model_and_table
    source = _parquet_source(table, tmp_path)
    data = source.read_bytes()
    source.write_bytes(data[: len(data) // 2])  # cut short, as by a failed copy
    with pytest.raises(ValueError, match=r"c.parquet is not a readable Parquet file \(truncated"):
        score_table(det, source, tmp_path / "o.parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.parquet"]


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_a_nan_in_a_batch_follows_the_missing_value_policy(model_and_table, tmp_path, suffix):
    det, frame, table = model_and_table
    table = table.copy()
    table.loc[613, "i"] = np.nan  # in the 77th batch of 8 rows
    source = tmp_path / f"c{suffix}"
    table.to_parquet(source) if suffix == ".parquet" else table.to_csv(source, index=False)
    out = tmp_path / f"o{suffix}"
    refused = det.set_params(missing="error")
    with pytest.raises(ValueError, match=r"NaN .* in 1 of 8 rows \(first at column 'i', row "
                                         r"613"):  # the file's row, not the batch's
        score_table(refused, source, out, memory=2048)
    assert not out.exists()
    read = pd.read_parquet if suffix == ".parquet" else pd.read_csv
    for missing in ("drop", "impute"):
        score_table(det.set_params(missing=missing), source, out, memory=2048)
        got = read(out)
        expected = det.decision_function(table[FEATURES])
        np.testing.assert_array_equal(got["score"], expected)
        assert np.isnan(got["score"][613]) == (missing == "drop")
        assert got["label"].isna().sum() == (missing == "drop")
    det.set_params(missing="error")


def test_an_unwritable_output_folder_is_refused_before_any_work(model_and_table, tmp_path):
    det, _, table = model_and_table
    source = _parquet_source(table, tmp_path)
    calls = []

    class Counting:
        feature_names_in_ = det.feature_names_in_
        threshold_ = None

        def decision_function(self, X):
            calls.append(len(X))
            return det.decision_function(X)

    (tmp_path / "a_file").write_text("not a folder")
    for output in (tmp_path / "absent" / "o.parquet", tmp_path / "a_file" / "o.parquet"):
        with pytest.raises(OSError, match="output's folder .* does not exist"):
            score_table(Counting(), source, output)
    assert calls == []


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_a_file_that_changes_while_it_is_read_is_an_error_with_no_output(model_and_table,
                                                                        tmp_path, suffix):
    det, _, table = model_and_table
    source = tmp_path / f"c{suffix}"
    table.to_parquet(source, row_group_size=100) if suffix == ".parquet" else \
        table.to_csv(source, index=False)

    class Meddling:
        feature_names_in_ = det.feature_names_in_
        threshold_ = None
        calls = 0

        def decision_function(self, X):
            Meddling.calls += 1
            if Meddling.calls == 2:  # someone rewrites the file while it is being read
                if suffix == ".csv":
                    with open(source, "a") as handle:
                        handle.write(table.iloc[:1].to_csv(index=False, header=False))
                else:
                    stat = source.stat()
                    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
            return det.decision_function(X)

    out = tmp_path / f"o{suffix}"
    with pytest.raises(ValueError, match=f"c{suffix} changed while it was being read"):
        score_table(Meddling(), source, out, memory=2048)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"c{suffix}"]
