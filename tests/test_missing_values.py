"""The detectors' ``missing`` parameter (issue 18): refuse, impute with the training
medians, or drop; infinities count as missing; saved models impute as fitted ones."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest

from drama import Drama, DramaSearch, load_detector

ONE = {"reducer": "none", "metric": "l2", "n_levels": 2, "random_state": 0}


def _table(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(n, 3)), columns=["u", "g", "r"],
                         index=[f"obj{i}" for i in range(n)])
    frame.iloc[:3] += 6.0
    return frame


def _with_gaps(frame: pd.DataFrame) -> pd.DataFrame:
    gappy = frame.copy()
    gappy.loc["obj7", "g"] = np.nan
    gappy.loc["obj9", "g"] = np.inf
    gappy.loc["obj12", "r"] = -np.inf
    return gappy


def test_error_names_the_column_the_object_and_the_number_of_rows():
    with pytest.raises(ValueError) as info:
        Drama(**ONE).fit(_with_gaps(_table()))
    message = str(info.value)
    assert "in 3 of 60 rows" in message
    assert "first at column 'g', row 'obj7'" in message
    assert "'g' 2, 'r' 1" in message
    assert "missing='impute'" in message and "missing='drop'" in message


def test_error_is_the_default_when_scoring_too():
    det = Drama(**ONE).fit(_table())
    with pytest.raises(ValueError, match=r"in 3 of 60 rows .*row 'obj7'"):
        det.decision_function(_with_gaps(_table()))


def test_impute_fills_with_the_training_medians():
    train = _with_gaps(_table())
    det = Drama(missing="impute", **ONE).fit(train)
    finite = train.where(np.isfinite(train))
    np.testing.assert_array_equal(det.fill_values_, finite.median().to_numpy())
    filled = train.where(np.isfinite(train), finite.median(), axis=1)
    np.testing.assert_allclose(det.decision_scores_,
                               Drama(**ONE).fit(filled).decision_scores_, rtol=1e-12)
    np.testing.assert_allclose(det.decision_function(train),
                               det.decision_function(filled), rtol=1e-12)


def test_drop_fits_on_the_complete_rows_and_scores_the_others_nan():
    train = _with_gaps(_table())
    det = Drama(missing="drop", contamination=0.1, **ONE).fit(train)
    kept = np.isfinite(train.to_numpy()).all(axis=1)
    np.testing.assert_array_equal(det.kept_rows_, kept)
    alone = Drama(contamination=0.1, **ONE).fit(train[kept])
    np.testing.assert_allclose(det.decision_scores_, alone.decision_scores_, rtol=1e-12)
    scores = det.decision_function(train)
    assert np.isnan(scores[~kept]).all() and np.isfinite(scores[kept]).all()
    np.testing.assert_allclose(scores[kept], alone.decision_function(train[kept]))
    assert (det.predict(train)[~kept] == -1).all()
    assert set(det.predict(train)[kept]) <= {0, 1}
    labels = Drama(missing="drop", contamination=0.1, **ONE).fit_predict(train)
    assert len(labels) == len(train) and (labels[~kept] == -1).all()


def test_drop_refuses_a_table_with_no_complete_row():
    frame = _table(20)
    frame["g"] = np.nan
    with pytest.raises(ValueError, match="Every one of the 20 rows"):
        Drama(missing="drop", **ONE).fit(frame)
    with pytest.raises(ValueError, match="'g' has no finite value"):
        Drama(missing="impute", **ONE).fit(frame)


def test_missing_may_change_after_fit_and_is_checked():
    det = Drama(missing="drop", **ONE).fit(_table())
    det.set_params(missing="impute")
    assert np.isfinite(det.decision_function(_with_gaps(_table()))).all()
    plain = Drama(**ONE).fit(_table())  # fitted with "error", it can still impute later
    np.testing.assert_array_equal(plain.fill_values_, _table().median().to_numpy())
    plain.set_params(missing="impute")
    assert np.isfinite(plain.decision_function(_with_gaps(_table()))).all()
    del plain.fill_values_  # as a model saved by an older DRAMA
    with pytest.raises(ValueError, match="saved by an older DRAMA"):
        plain.decision_function(_with_gaps(_table()))
    with pytest.raises(ValueError, match="missing"):
        Drama(missing="mean", **ONE).fit(_table())


def test_arrays_are_named_by_position():
    X = _table().to_numpy().copy()
    X[5, 1] = np.nan
    with pytest.raises(ValueError, match=r"in 1 of 60 rows \(first at object 5, feature 1"):
        Drama(**ONE).fit(X)
    assert np.isfinite(Drama(missing="impute", **ONE).fit(X).decision_scores_).all()


def test_a_saved_model_imputes_with_its_training_medians(tmp_path):
    train = _with_gaps(_table())
    det = Drama(missing="impute", **ONE).fit(train)
    det.save(tmp_path / "m.npz")
    loaded = load_detector(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.fill_values_, det.fill_values_)
    assert loaded.missing == "impute"
    new = _with_gaps(_table()).iloc[::-1] * 1.1
    np.testing.assert_array_equal(loaded.decision_function(new), det.decision_function(new))


def test_a_search_imputes_and_saves_its_medians(tmp_path):
    train = _with_gaps(_table())
    search = DramaSearch(reducers=["none", "pca"], metrics=["l2"], levels=[1, 2],
                         missing="impute", random_state=0).fit(train)
    search.save(tmp_path / "s.npz")
    loaded = load_detector(tmp_path / "s.npz")
    np.testing.assert_array_equal(loaded.fill_values_, search.fill_values_)
    np.testing.assert_allclose(loaded.decision_function(train), search.decision_function(train))


def test_a_model_file_without_medians_still_loads_and_says_why_it_cannot_impute(tmp_path):
    Drama(missing="impute", **ONE).fit(_table()).save(tmp_path / "new.npz")
    old = tmp_path / "old.npz"  # as a release before the missing parameter wrote it
    with zipfile.ZipFile(tmp_path / "new.npz") as src, zipfile.ZipFile(old, "w") as dst:
        for item in src.infolist():
            if item.filename != "missing/medians.npy":
                dst.writestr(item, src.read(item.filename))
    loaded = load_detector(old)
    assert np.isfinite(loaded.decision_function(_table())).all()
    loaded.set_params(missing="impute")
    with pytest.raises(ValueError, match="saved by an older DRAMA"):
        loaded.decision_function(_with_gaps(_table()))


def test_medians_of_many_objects_come_from_evenly_spaced_rows(monkeypatch):
    import drama.missing as missing

    monkeypatch.setattr(missing, "MEDIAN_ROWS", 5)
    arr = np.arange(30.0).reshape(10, 3) ** 2  # rows 0, 2, 4, 6, 9 are kept
    kept = arr[[0, 2, 4, 6, 9]]
    np.testing.assert_array_equal(missing.training_medians(arr), np.median(kept, axis=0))
