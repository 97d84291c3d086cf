"""Dask arrays and DataFrames in Drama and DramaSearch (drama.dask_support), in one process:
a fit on a drawn sample, scores as a map over the partitions equal to in-memory scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from drama import Drama, DramaSearch, load_detector
from drama.dask_support import fit_sample, sample_positions

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")

COLUMNS = ["u", "g", "r", "i", "z"]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2400, 5))
    X[:15] += 6.0
    return X


def _frame(X):
    return pd.DataFrame(X, columns=COLUMNS)


@pytest.mark.parametrize("kind", ["array", "frame"])
def test_a_dask_fit_is_the_fit_on_its_recorded_draw_whatever_the_partitions(data, kind):
    def collection(parts):
        if kind == "array":
            return da.from_array(data, chunks=(len(data) // parts + 1, 5))
        return dd.from_pandas(_frame(data), npartitions=parts)

    fitted = [fit_sample(Drama(random_state=3), collection(parts), rows=900)
              for parts in (3, 7)]
    draw = fitted[0].sample_draw_
    assert draw == {"seed": 3, "size": 900, "n": 2400} == fitted[1].sample_draw_
    rows = sample_positions(**draw)
    assert len(np.unique(rows)) == 900 and rows.max() < 2400
    local = data[rows] if kind == "array" else _frame(data[rows])
    reference = Drama(random_state=3).fit(local)
    every = data if kind == "array" else _frame(data)
    for det in fitted:
        np.testing.assert_array_equal(det.decision_scores_, reference.decision_scores_)
        np.testing.assert_array_equal(det.decision_function(every),
                                      reference.decision_function(every))
    if kind == "frame":
        assert list(fitted[0].feature_names_in_) == COLUMNS


def test_the_default_sample_takes_every_row_of_a_small_collection(data):
    det = Drama(random_state=0).fit(da.from_array(data, chunks=500))
    assert det.sample_draw_ == {"seed": 0, "size": 2400, "n": 2400}
    np.testing.assert_array_equal(det.decision_scores_,
                                  Drama(random_state=0).fit(data).decision_scores_)
    assert "sample_draw_" not in vars(det.fit(data))  # a plain fit forgets the draw


@pytest.mark.parametrize("detector", [Drama(random_state=0, missing="drop"),
                                      DramaSearch(random_state=0, missing="drop")],
                         ids=["drama", "search"])
def test_dask_scores_are_a_lazy_map_bitwise_equal_to_one_process(data, detector):
    det = detector.fit(_frame(data[::3]))
    new = data.copy()
    new[[5, 1700], 2] = np.nan  # the missing-value policy applies in every partition
    expected = det.decision_function(_frame(new))
    assert np.isnan(expected[[5, 1700]]).all()
    frame = dd.from_pandas(_frame(new), npartitions=5)
    scores = det.decision_function(frame)
    assert type(scores).__name__ == "Array" and scores.dtype == np.float64
    np.testing.assert_array_equal(scores.compute(scheduler="threads"), expected)
    if isinstance(det, Drama):
        plain = Drama(random_state=0, missing="drop").fit(data[::3])
        array = da.from_array(new, chunks=(333, 2))  # chunked across features too
        got = plain.decision_function(array)
        assert got.chunks == ((333,) * 7 + (69,),)
        np.testing.assert_array_equal(got.compute(scheduler="processes"),
                                      plain.decision_function(new))


def test_the_model_is_one_task_of_the_graph(data):
    det = Drama(random_state=0).fit(data)
    scores = det.decision_function(da.from_array(data, chunks=300))
    graph = dict(scores.__dask_graph__())
    models = [k for k in graph if str(k).startswith("drama-model-")]
    assert len(models) == 1 and len(scores.chunks[0]) == 8


def test_the_draw_is_saved_with_the_model(data, tmp_path):
    search = DramaSearch(random_state=5).fit(dd.from_pandas(_frame(data), npartitions=4))
    assert search.sample_draw_ == {"seed": 5, "size": 2400, "n": 2400}
    search.save(tmp_path / "s.npz")
    assert load_detector(tmp_path / "s.npz").sample_draw_ == search.sample_draw_
    det = fit_sample(Drama(random_state=None), da.from_array(data, chunks=600), rows=100)
    assert det.sample_draw_["size"] == 100  # a fresh seed, recorded
    det.save(tmp_path / "d.npz")
    assert load_detector(tmp_path / "d.npz").sample_draw_ == det.sample_draw_


def test_labels_follow_the_drawn_rows(data):
    y = np.full(len(data), -1)
    y[:15], y[100:140] = 1, 0
    search = fit_sample(DramaSearch(random_state=2), da.from_array(data, chunks=700), y,
                        rows=1200)
    rows = sample_positions(**search.sample_draw_)
    np.testing.assert_array_equal(search.labels_used_, y[rows])


def test_clear_errors(data):
    det = Drama(random_state=0).fit(_frame(data))
    det.set_params(n_levels=3)
    with pytest.raises(ValueError, match="changed after fit"):  # now, not on a worker
        det.decision_function(dd.from_pandas(_frame(data), npartitions=2))
    det.set_params(n_levels=2)
    with pytest.raises(ValueError, match=r"Missing: \[.u.\]"):
        det.decision_function(dd.from_pandas(_frame(data).rename(columns={"u": "v"}),
                                             npartitions=2))
    with pytest.raises(ValueError, match="2 or more dimensions"):
        Drama().fit(da.from_array(data[:, 0], chunks=100))
    with pytest.raises(ValueError, match="y has 3 rows and X 2400"):
        fit_sample(DramaSearch(), da.from_array(data, chunks=600), [1, 0, -1])
    with pytest.raises(ValueError, match="at least 2"):
        fit_sample(Drama(), da.from_array(data, chunks=600), rows=1)
