"""The detector API that Drama and DramaSearch share (drama.detector): thresholds, labels,
probabilities, the fitted check, the all-or-nothing fit, parameters changed after fit,
feature names, and saving as data (a loaded detector scores as the original, in another
process)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

import drama
from drama import Drama, DramaSearch, load_detector

SMALL_SEARCH = {"reducers": ["none", "pca"], "levels": [1, 2], "metrics": ["l2", "l1", "chebyshev"],
                "random_state": 0}


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    inliers = np.vstack([rng.normal(0, 1, (150, 4)), rng.normal(6, 1, (150, 4))])
    outliers = rng.uniform(-12, 18, (15, 4))
    y = np.r_[np.zeros(300, int), np.ones(15, int)]
    return np.vstack([inliers, outliers]), y


def _make(kind: str, **params):
    if kind == "drama":
        return Drama(random_state=0, **params)
    return DramaSearch(**{**SMALL_SEARCH, **params})


KINDS = ["drama", "search"]


@pytest.fixture(scope="module", params=KINDS)
def fitted(request):
    X, y = _data()
    return request.param, X, y, _make(request.param, contamination=0.05).fit(X)


def test_contamination_sets_threshold_labels_and_predict(fitted):
    kind, X, y, det = fitted
    scores = det.decision_scores_
    assert det.threshold_ == pytest.approx(np.quantile(scores, 0.95))
    np.testing.assert_array_equal(det.labels_, (scores > det.threshold_).astype(int))
    assert abs(det.labels_.mean() - 0.05) <= 1 / len(X)
    np.testing.assert_array_equal(det.predict(X), det.labels_)
    # the flagged objects are mostly the planted outliers (the detector works)
    assert y[det.labels_ == 1].mean() > 0.8


def test_contamination_changes_without_a_refit(fitted):
    kind, X, _, det = fitted
    det = _make(kind, contamination=0.05).fit(X)
    before = det.decision_scores_.copy()
    det.set_params(contamination=0.2)
    assert abs(det.labels_.mean() - 0.2) <= 1 / len(X)
    np.testing.assert_array_equal(det.decision_scores_, before)
    det.set_params(contamination=None)
    assert det.threshold_ is None and det.labels_ is None
    with pytest.raises(ValueError, match="predict needs a threshold"):
        det.predict(X)
    det.set_params(contamination=0.7)
    with pytest.raises(ValueError, match=r"contamination must be in \(0, 0.5\)"):
        _ = det.threshold_


@pytest.mark.parametrize("kind", KINDS)
def test_fit_predict_returns_the_training_labels(kind):
    X, _ = _data(1)
    det = _make(kind, contamination=0.1)
    labels = det.fit_predict(X)
    np.testing.assert_array_equal(labels, det.labels_)
    assert abs(labels.mean() - 0.1) <= 1 / len(X)
    with pytest.raises(ValueError, match="fit_predict needs a threshold"):
        _make(kind, contamination=None).fit_predict(X)


def test_predict_proba_follows_the_score(fitted):
    _, X, _, det = fitted
    proba = det.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert proba.min() >= 0 and proba.max() <= 1
    order = np.argsort(det.decision_function(X), kind="stable")
    assert np.all(np.diff(proba[order, 1]) >= 0)  # monotone in the score
    assert proba[np.argmax(det.decision_scores_), 1] == 1.0


@pytest.mark.parametrize("kind", KINDS)
def test_unfitted_detector_says_so_with_its_name(kind):
    det = _make(kind)
    name = type(det).__name__
    for call in (lambda: det.decision_function(np.ones((3, 4))), lambda: det.threshold_,
                 lambda: det.predict(np.ones((3, 4))), lambda: det.save("never.npz")):
        with pytest.raises(NotFittedError, match=f"This {name} is not fitted yet"):
            call()
    assert not hasattr(det, "labels_")  # NotFittedError is an AttributeError too


@pytest.mark.parametrize("kind", KINDS)
def test_failed_refit_leaves_the_fitted_detector_as_it_was(kind):
    X, _ = _data()
    det = _make(kind).fit(X)
    before = det.decision_scores_.copy()
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        det.fit(bad)
    np.testing.assert_array_equal(det.decision_scores_, before)
    np.testing.assert_array_equal(det.decision_function(X), det.decision_function(X))
    np.testing.assert_allclose(det.decision_function(X), before, atol=1e-9)


@pytest.mark.parametrize("kind", KINDS)
def test_feature_names_are_kept_and_checked(kind):
    X, _ = _data()
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    det = _make(kind).fit(frame)
    assert list(det.feature_names_in_) == ["a", "b", "c", "d"]
    with pytest.raises(ValueError, match="another order"):
        det.decision_function(frame[["b", "a", "c", "d"]])
    with pytest.raises(ValueError, match=f"X has 3 features, but {type(det).__name__} is "
                                         "expecting 4 features"):
        det.decision_function(X[:, :3])
    det.fit(X)  # refit on an array forgets the names
    assert not hasattr(det, "feature_names_in_")


def test_a_parameter_that_shaped_the_fit_cannot_change_silently(fitted):
    kind, X, _, det = fitted
    det = _make(kind).fit(X)
    det.set_params(random_state=7)
    with pytest.raises(ValueError, match=r"random_state \(0 -> 7\)"):
        det.decision_function(X)
    with pytest.raises(ValueError, match="changed after fit"):
        det.save("never.npz")


def test_search_selection_options_apply_through_select():
    X, _ = _data()
    search = DramaSearch(**SMALL_SEARCH).fit(X)
    before = search.decision_function(X)
    search.set_params(ensemble_share=1.0)
    # the weights were chosen with the old share until select() applies the new one
    np.testing.assert_array_equal(search.decision_function(X), before)
    search.select()
    assert (search.results_["weight"] > 0).sum() == len(search.results_)
    search.set_params(levels=[1])
    with pytest.raises(ValueError, match="levels"):
        search.select()


# ---------------------------------------------------------------------------- saving


def _labels(y: np.ndarray) -> np.ndarray:
    labels = np.full(len(y), -1)
    labels[np.flatnonzero(y == 1)[:3]] = 1
    labels[:40] = 0
    return labels


@pytest.mark.parametrize("with_labels", [False, True])
def test_saved_search_scores_new_data_exactly_in_another_process(tmp_path, with_labels):
    X, y = _data()
    X_new, _ = _data(5)
    frame = pd.DataFrame(X, columns=list("abcd"))
    search = DramaSearch(**SMALL_SEARCH, contamination=0.07).fit(
        frame, _labels(y) if with_labels else None)
    path = tmp_path / "search.npz"
    search.save(path)
    np.save(tmp_path / "new.npy", X_new)
    script = textwrap.dedent(f"""
        import numpy as np, pandas as pd
        from drama import DramaSearch
        s = DramaSearch.load({str(path)!r})
        X = pd.DataFrame(np.load({str(tmp_path / 'new.npy')!r}), columns=list("abcd"))
        np.save({str(tmp_path / 'out.npy')!r}, s.decision_function(X))
        np.save({str(tmp_path / 'pred.npy')!r}, s.predict(X))
        print(s.selection_)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    new_frame = pd.DataFrame(X_new, columns=list("abcd"))
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"),
                                  search.decision_function(new_frame))
    np.testing.assert_array_equal(np.load(tmp_path / "pred.npy"), search.predict(new_frame))
    assert done.stdout.strip() == search.selection_
    loaded = DramaSearch.load(path)
    # the same parameters (JSON gives lists for tuples)
    assert loaded.get_params() == json.loads(json.dumps(search.get_params()))
    pd.testing.assert_series_equal(loaded.weights_, search.weights_)
    np.testing.assert_array_equal(loaded.decision_scores_, search.decision_scores_)
    assert loaded.threshold_ == search.threshold_
    assert ("kernel relevance model" in loaded.selection_) is with_labels
    # a loaded search re-selects as the original does
    assert loaded.select().selection_ == search.select().selection_


def test_saved_search_keeps_the_selection_it_was_made_with(tmp_path):
    X, _ = _data()
    search = DramaSearch(**SMALL_SEARCH).fit(X)
    search.set_params(ensemble_share=1.0)  # not applied: no select() since
    search.save(tmp_path / "s.npz")
    loaded = DramaSearch.load(tmp_path / "s.npz")
    assert loaded.ensemble_share == 0.5
    np.testing.assert_array_equal(loaded.decision_function(X), search.decision_function(X))


def _rewrite(path, target, edit_meta=None, edit_arrays=None):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    meta = json.loads(str(arrays["__meta__"]))
    if edit_meta:
        edit_meta(meta)
    if edit_arrays:
        edit_arrays(arrays)
    arrays["__meta__"] = np.array(json.dumps(meta))
    with open(target, "wb") as handle:
        np.savez(handle, **arrays)


@pytest.fixture(scope="module")
def saved_search(tmp_path_factory):
    X, y = _data()
    path = tmp_path_factory.mktemp("search") / "search.npz"
    DramaSearch(**SMALL_SEARCH).fit(X, _labels(y)).save(path)
    return path


def test_other_search_format_version_names_the_writer(tmp_path, saved_search):
    future = tmp_path / "future.npz"
    _rewrite(saved_search, future, lambda m: m.update(format_version=2, drama_version="9.9"))
    with pytest.raises(ValueError, match=r"written by DRAMA 9\.9 in drama-search format "
                                         r"version 2, but this DRAMA \(.*\) reads version 1"):
        DramaSearch.load(future)
    same = tmp_path / "same.npz"
    _rewrite(saved_search, same)  # the rewrite itself is sound
    assert isinstance(DramaSearch.load(same), DramaSearch)


def test_each_class_refuses_the_others_file_and_load_detector_reads_both(tmp_path,
                                                                          saved_search):
    X, _ = _data()
    model = tmp_path / "model.npz"
    Drama(random_state=0).fit(X).save(model)
    with pytest.raises(ValueError, match="holds a DramaSearch.*not a Drama;"):
        Drama.load(saved_search)
    with pytest.raises(ValueError, match="holds a Drama model.*not a DramaSearch"):
        DramaSearch.load(model)
    assert isinstance(load_detector(saved_search), DramaSearch)
    assert isinstance(load_detector(model), Drama)
    assert drama.load_detector is load_detector


@pytest.mark.parametrize("edit", [
    ("weights", lambda a: a.__setitem__("weights", a["weights"][::-1].copy())),
    ("training scores", lambda a: a.__setitem__("train_scores", a["train_scores"][::-1].copy())),
    ("not finite", lambda a: a["train_scores"].__setitem__((0, 0), np.nan)),
    ("labels", lambda a: a.__setitem__("labels", np.zeros_like(a["labels"]))),
    ("shape", lambda a: a.__setitem__("train_scores", a["train_scores"][:-1])),
    ("member", lambda a: a.__setitem__("member1/decision_scores",
                                       a["member1/decision_scores"][:-2])),
    ("space", lambda a: a.__setitem__("space/spread", a["space/spread"][:2])),
])
def test_an_edited_search_file_is_refused(tmp_path, saved_search, edit):
    bad = tmp_path / "bad.npz"
    _rewrite(saved_search, bad, edit_arrays=edit[1])
    with pytest.raises(ValueError, match="is not a consistent DRAMA model file"):
        DramaSearch.load(bad)


def test_a_search_file_holds_data_only(saved_search):
    with zipfile.ZipFile(saved_search) as archive:
        for name in archive.namelist():
            with archive.open(name) as member:
                header = member.read(128)
            assert b"'descr': '|O'" not in header and b"'descr': 'O'" not in header
