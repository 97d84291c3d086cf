"""Scoring tables on a real Dask LocalCluster (2 worker processes on 127.0.0.1, started and
stopped here): the output equals the one-process output bitwise, survives a killed worker,
and a cluster that goes away leaves no output (drama.dask_tables, drama score --scheduler /
--local-cluster)."""

from __future__ import annotations

import os
import signal

import numpy as np
import pandas as pd
import pytest

from drama import Drama, DramaSearch
from drama.streaming import score_table

distributed = pytest.importorskip("distributed")
from drama.dask_tables import (  # noqa: E402  (after the skip: needs distributed)
    ClusterLost,
    connect,
    read_table,
    score_table_on_cluster,
)

pytestmark = pytest.mark.cluster
FEATURES = ["g", "r", "i", "z"]


def _cluster():
    return distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                    host="127.0.0.1", dashboard_address=":0")


@pytest.fixture(scope="module")
def client():
    with _cluster() as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(rng.normal(size=(3000, 4)), columns=FEATURES)
    frame.iloc[:20] += 5.0
    frame.insert(0, "source_id", [str(5_000_000_000_000_000_000 + i) for i in range(3000)])
    frame["kind"] = rng.choice(["star", "galaxy"], 3000)
    folder = tmp_path_factory.mktemp("cluster")
    parquet = folder / "big.parquet"
    frame.to_parquet(parquet, row_group_size=100)  # 30 row groups, 30 partitions
    csv = folder / "big.csv"
    frame.to_csv(csv, index=False)
    det = Drama(random_state=0, missing="drop").fit(frame[FEATURES].iloc[::5])
    return frame, parquet, csv, det


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_cluster_output_is_the_one_process_output_bitwise(client, table, tmp_path, suffix):
    frame, parquet, csv, det = table
    source = parquet if suffix == ".parquet" else csv
    options = {"memory": "64KB", "id_column": "source_id", "carry": ["kind"]}
    if suffix == ".csv":
        assert read_table(csv, FEATURES, [], "64KB").npartitions > 5  # really split
    else:
        assert read_table(parquet, FEATURES, [], "64KB").npartitions == 30
    seen = []
    n = score_table_on_cluster(client, det, source, tmp_path / f"c{suffix}",
                               progress=seen.append, **options)
    score_table(det, source, tmp_path / f"one{suffix}", **options)
    assert n == 3000 and seen[-1] == 3000 and len(seen) > 5
    if suffix == ".parquet":
        got, want = (pd.read_parquet(tmp_path / f"{name}.parquet") for name in ("c", "one"))
    else:
        got, want = (pd.read_csv(tmp_path / f"{name}.csv", dtype={"source_id": str})
                     for name in ("c", "one"))
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    np.testing.assert_array_equal(got["score"], det.decision_function(frame[FEATURES]))
    assert got["source_id"].tolist() == frame["source_id"].tolist()


def test_a_saved_search_scores_on_the_cluster_as_in_one_process(client, table, tmp_path):
    frame, parquet, _, _ = table
    search = DramaSearch(random_state=0).fit(frame[FEATURES].iloc[::6])
    score_table_on_cluster(client, search, parquet, tmp_path / "s.parquet")
    np.testing.assert_array_equal(pd.read_parquet(tmp_path / "s.parquet")["score"],
                                  search.decision_function(frame[FEATURES]))


def test_the_search_grid_runs_on_the_cluster_through_joblibs_dask_backend(client, table):
    import joblib

    frame, _, _, _ = table
    X = frame[FEATURES].iloc[::6]
    options = dict(reducers=["pca", "none"], random_state=0, n_jobs=2)
    local = DramaSearch(**options).fit(X)
    with distributed.get_task_stream(client) as stream, \
            joblib.parallel_config(backend="dask"):
        on_cluster = DramaSearch(**options).fit(X)
    ran = {task["worker"] for task in stream.data}
    assert ran and ran <= set(client.scheduler_info()["workers"])  # the workers ran the grid
    measured = [c for c in local.results_.columns if not c.endswith("_time")]  # not timings
    pd.testing.assert_frame_equal(on_cluster.results_[measured], local.results_[measured])
    np.testing.assert_array_equal(on_cluster.decision_function(frame[FEATURES]),
                                  local.decision_function(frame[FEATURES]))


def test_a_worker_killed_midway_is_replaced_and_the_scores_are_the_same(table, tmp_path):
    frame, parquet, _, det = table
    with _cluster() as cluster, distributed.Client(cluster) as client:
        pids = list(client.run(os.getpid).values())
        killed = []

        def kill_one(done):
            if not killed:  # after the first partition is written, others in flight
                os.kill(pids[0], signal.SIGKILL)
                killed.append(done)

        n = score_table_on_cluster(client, det, parquet, tmp_path / "k.parquet",
                                   progress=kill_one)
        assert killed == [100] and n == 3000
        assert pids[0] not in client.run(os.getpid).values()  # the nanny started another
    np.testing.assert_array_equal(pd.read_parquet(tmp_path / "k.parquet")["score"],
                                  det.decision_function(frame[FEATURES]))


def test_a_cluster_that_goes_away_is_a_clear_error_and_leaves_no_output(table, tmp_path):
    _, parquet, _, det = table
    out = tmp_path / "gone.parquet"
    with _cluster() as cluster, distributed.Client(cluster) as client:

        def stop(done):
            cluster.close()

        with pytest.raises(ClusterLost, match="went away during the job.*partial output was "
                                               "removed"):
            score_table_on_cluster(client, det, parquet, out, progress=stop)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ClusterLost, match="No Dask scheduler answered at tcp://127.0.0.1:9"), \
            connect("tcp://127.0.0.1:9", timeout=1):
        pass


def test_cli_scores_on_a_cluster_with_a_model_and_with_fitting(client, table, tmp_path):
    from typer.testing import CliRunner

    from drama.cli import app

    frame, parquet, _, _ = table
    runner = CliRunner()
    model = tmp_path / "m.npz"
    train = tmp_path / "train.csv"
    frame.iloc[::4].to_csv(train, index=False)
    fitted = runner.invoke(app, ["fit", str(train), "--model", str(model), "--reducer", "none",
                                 "--metric", "l2", "--levels", "2"])
    assert fitted.exit_code == 0, fitted.output
    one, many = tmp_path / "one.parquet", tmp_path / "many.parquet"
    for out, extra in ((one, ["--memory", "64KB"]),
                       (many, ["--scheduler", client.scheduler.address])):
        result = runner.invoke(app, ["score", str(parquet), "--model", str(model), "-o",
                                     str(out), *extra])
        assert result.exit_code == 0, result.output
    assert f"on the Dask cluster at {client.scheduler.address}" in " ".join(
        result.output.split())
    pd.testing.assert_frame_equal(pd.read_parquet(many), pd.read_parquet(one),
                                  check_exact=True)
    # without --model: fitted on a sample the local cluster draws (here every row)
    options = ["--reducer", "none", "--metric", "l2", "--levels", "2"]
    local, memory_fit = tmp_path / "local.csv", tmp_path / "fit.csv"
    result = runner.invoke(app, ["score", str(parquet), "-o", str(local),
                                 "--local-cluster", "2", *options])
    assert result.exit_code == 0, result.output
    assert "local Dask cluster of 2 worker" in " ".join(result.output.split())
    assert runner.invoke(app, ["score", str(parquet), "-o", str(memory_fit), *options]
                         ).exit_code == 0
    got = pd.read_csv(local, dtype={"source_id": str})
    want = pd.read_csv(memory_fit, dtype={"source_id": str})
    assert got["source_id"].tolist() == want["source_id"].tolist()
    np.testing.assert_array_equal(got["score"], want["score"])
    both = runner.invoke(app, ["score", str(parquet), "-o", str(tmp_path / "b.csv"),
                               "--local-cluster", "2",
                               "--scheduler", "tcp://127.0.0.1:9"])
    assert both.exit_code == 2 and "not both" in both.output
