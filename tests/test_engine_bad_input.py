"""Bad input is refused with a helpful ValueError/TypeError; awkward but valid input scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from drama import Drama
from drama.distances import METRICS
from drama.metrics import auc_score


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).uniform(size=(60, 4))


@pytest.fixture(scope="module")
def fitted(X):
    return Drama(random_state=0).fit(X)


# ---------------------------------------------------------------- the data itself
@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
def test_non_finite_values_at_fit(X, bad_value):
    bad = X.copy()
    bad[7, 2] = bad_value
    with pytest.raises(ValueError, match="NaN or infinite") as info:
        Drama().fit(bad)
    assert "object 7" in str(info.value) and "feature 2" in str(info.value)


@pytest.mark.parametrize("bad_value", [np.nan, np.inf])
def test_non_finite_values_at_scoring(fitted, X, bad_value):
    bad = X[:5].copy()
    bad[1, 0] = bad_value
    for method in (fitted.decision_function, fitted.predict, fitted.predict_proba,
                   fitted.score_levels, fitted.encode):
        with pytest.raises(ValueError, match="NaN or infinite"):
            method(bad)


def test_missing_values_in_tables():
    frame = pd.DataFrame({"a": pd.array([1, None, 3, 4], dtype="Int64"), "b": [1.0, 2, 3, 4]})
    with pytest.raises(ValueError, match="NaN"):
        Drama().fit(frame)
    with pytest.raises(ValueError, match="NaN"):
        Drama().fit(pl.DataFrame({"a": [1.0, None, 3.0, 4.0], "b": [1, 2, 3, 4]}))


@pytest.mark.parametrize("empty", [np.empty((0, 3)), np.empty((5, 0)), np.empty((0, 0))])
def test_empty_input(empty):
    with pytest.raises(ValueError, match="empty"):
        Drama().fit(empty)


def test_empty_input_at_scoring(fitted):
    with pytest.raises(ValueError, match="empty"):
        fitted.decision_function(np.empty((0, 4)))


def test_one_dimensional_input_explains_the_reshape():
    with pytest.raises(ValueError, match="reshape"):
        Drama().fit(np.arange(10.0))
    with pytest.raises(ValueError, match="2-D"):
        Drama().fit(np.float64(3.0))


def test_one_object_is_not_enough():
    with pytest.raises(ValueError, match="at least 2"):
        Drama().fit(np.ones((1, 3)))


def test_one_object_can_be_scored(fitted, X):
    assert fitted.decision_function(X[:1]).shape == (1,)


@pytest.mark.parametrize(
    "bad",
    [
        np.array([["a", "b"], ["c", "d"], ["e", "f"]]),
        np.array([[1.0, "x"], [3.0, 4.0]], dtype=object),
        [["1", "2"], ["3", "4"]],
    ],
)
def test_non_numeric_arrays(bad):
    with pytest.raises(TypeError, match="numbers"):
        Drama().fit(bad)


def test_complex_numbers_are_refused():
    with pytest.raises(ValueError, match="Complex data not supported"):
        Drama().fit(np.array([[1 + 1j, 2], [3, 4]]))


def test_an_object_array_of_numbers_scores_as_floats():
    X = np.random.default_rng(0).normal(size=(40, 3))
    as_objects = Drama(random_state=0).fit(X.astype(object)).decision_scores_
    np.testing.assert_array_equal(as_objects, Drama(random_state=0).fit(X).decision_scores_)


def test_ragged_lists():
    with pytest.raises(TypeError, match="could not be read"):
        Drama().fit([[1.0, 2.0], [3.0]])


def test_images_of_mixed_sizes_are_named():
    rng = np.random.default_rng(0)
    images = [rng.random((8, 8)), rng.random((8, 8)), rng.random((9, 9))]
    with pytest.raises(TypeError, match=r"different shapes, e.g. \(8, 8\) \(object 0\) and "
                                        r"\(9, 9\) \(object 2\)"):
        Drama().fit(images)


def test_pandas_string_column_is_named():
    frame = pd.DataFrame({"flux": [1.0, 2.0, 3.0], "colour": ["red", "blue", "red"]})
    with pytest.raises(TypeError, match="colour"):
        Drama().fit(frame)


def test_pandas_categorical_column_is_named():
    frame = pd.DataFrame({"flux": [1.0, 2.0, 3.0], "kind": pd.Categorical(["a", "b", "a"])})
    with pytest.raises(TypeError, match="kind"):
        Drama().fit(frame)


def test_polars_string_column_is_named():
    frame = pl.DataFrame({"flux": [1.0, 2.0, 3.0], "label": ["x", "y", "z"]})
    with pytest.raises(TypeError, match="label"):
        Drama().fit(frame)


def test_boolean_columns_are_numbers():
    frame = pd.DataFrame({"flag": [True, False] * 15, "v": np.linspace(0, 1, 30)})
    frame.loc[29, "v"] = 10.0  # one object far from the rest
    scores = Drama(random_state=0).fit(frame).decision_scores_
    assert scores[29] > np.delete(scores, 29).max()
    # the booleans count as 0/1: the same scores as the table in floats
    as_floats = Drama(random_state=0).fit(frame.to_numpy(dtype=float)).decision_scores_
    np.testing.assert_array_equal(scores, as_floats)


@pytest.mark.parametrize("shape", [(5, 3), (5, 5), (5, 2, 2)])
def test_wrong_feature_count_at_scoring(fitted, shape):
    with pytest.raises(ValueError, match="4 features"):
        fitted.decision_function(np.ones(shape))
    with pytest.raises(ValueError, match="same columns"):
        fitted.predict(np.ones(shape))


# ---------------------------------------------------------------- not fitted
@pytest.mark.parametrize("method", ["decision_function", "predict", "predict_proba",
                                    "score_levels", "encode"])
def test_methods_before_fit(X, method):
    with pytest.raises(ValueError, match="not fitted"):
        getattr(Drama(), method)(X)


def test_thresholds_before_fit():
    with pytest.raises(ValueError, match="not fitted"):
        _ = Drama().labels_
    with pytest.raises(ValueError, match="not fitted"):
        _ = Drama().threshold_


def test_hasattr_on_an_unfitted_model_does_not_raise():
    """sklearn tooling probes fitted attributes with hasattr(); an unfitted model must answer
    False, not raise (sklearn's NotFittedError is both a ValueError and an AttributeError)."""
    assert not hasattr(Drama(), "labels_")
    assert not hasattr(Drama(), "threshold_")


# ---------------------------------------------------------------- parameters
@pytest.mark.parametrize(
    "params, keyword",
    [
        ({"reducer": "tsne"}, "Unknown reducer 'tsne'"),
        ({"metric": "cosine"}, "Unknown metric 'cosine'"),
        ({"scaling": "zscore"}, "Unknown scaling 'zscore'"),
        ({"clustering": "dbscan"}, "Unknown clustering 'dbscan'"),
        ({"space": "feature"}, "Unknown space 'feature'"),
        ({"contamination": 0.7}, "contamination"),
        ({"contamination": -1}, "contamination"),
        ({"contamination": 0}, "contamination"),
        ({"contamination": 0.5}, "contamination"),
        ({"contamination": "0.1"}, "contamination"),
        ({"n_levels": 2, "level": 3}, "level must be between 1 and n_levels=2"),
        ({"level": 0}, "level"),
        ({"n_levels": 0}, "n_levels"),
        ({"n_levels": 2.5}, "n_levels"),
        ({"latent_dim": 0}, "latent_dim"),
        ({"min_node_size": -3}, "min_node_size"),
        ({"max_cluster_samples": 0}, "max_cluster_samples"),
        ({"max_cluster_samples": 1}, "max_cluster_samples must be an integer >= 2"),
        ({"max_fit_samples": 0}, "max_fit_samples"),
        ({"min_leaf_share": -0.1}, "min_leaf_share"),
        ({"min_leaf_share": 1.0}, "min_leaf_share"),
        ({"random_state": -1}, "random_state must be a non-negative integer"),
        ({"random_state": "a"}, "random_state must be a non-negative integer"),
        ({"random_state": True}, "random_state"),
    ],
)
def test_bad_parameters(X, params, keyword):
    with pytest.raises(ValueError, match=keyword):
        Drama(**params).fit(X)


def test_unknown_reducer_lists_the_choices(X):
    with pytest.raises(ValueError, match="pca") as info:
        Drama(reducer="tsne").fit(X)
    assert "fit/encode/decode" in str(info.value)


@pytest.mark.parametrize("value", [0.05, 0.49, 1e-3, np.float64(0.1), np.float32(0.1), None])
def test_valid_contamination_values(X, value):
    det = Drama(contamination=value, random_state=0).fit(X)
    if value is None:
        assert det.labels_ is None
    else:
        assert det.labels_.shape == (len(X),)


def test_bad_contamination_set_after_fit_is_refused_on_use(fitted):
    det = Drama(random_state=0).fit(np.random.default_rng(1).uniform(size=(40, 3)))
    det.set_params(contamination=0.9)
    with pytest.raises(ValueError, match="contamination"):
        _ = det.labels_
    with pytest.raises(ValueError, match="contamination"):
        det.predict(np.ones((2, 3)))


def test_nmf_with_negative_values_and_no_scaling(X):
    with pytest.raises(ValueError, match="non-negative"):
        Drama(reducer="nmf", scaling="none").fit(X - 0.5)
    # The default min-max scaling makes the same data acceptable: it subtracts each
    # feature's minimum, so the shifted copy scores as the original does.
    shifted = Drama(reducer="nmf", random_state=0).fit(X - 0.5).decision_scores_
    np.testing.assert_allclose(shifted, Drama(reducer="nmf", random_state=0).fit(X)
                               .decision_scores_, rtol=1e-9, atol=1e-12)
    planted = X - 0.5
    planted[5] = [2.5, -2.5, 2.5, -2.5]  # one object far from the rest
    scores = Drama(reducer="nmf", random_state=0).fit(planted).decision_scores_
    assert scores[5] > np.delete(scores, 5).max()


def test_nmf_scores_new_data_below_the_training_minimum(X):
    """docs/engine.md: objects below the training minimum are clipped at 0 for NMF encoding
    only; their distances use the unclipped values."""
    det = Drama(reducer="nmf", random_state=0).fit(X)
    below = X.copy()
    below[:, 0] -= 5.0  # far below the minimum in one feature only
    # input space: unclipped, so every such object lies beyond every training object
    scores = det.decision_function(below)
    assert scores.min() > det.decision_scores_.max() and np.ptp(scores) > 0
    # latent space: encoded as if that feature were at its training minimum
    latent = det.score_levels(below, space="latent").to_numpy()
    at_minimum = X.copy()
    at_minimum[:, 0] = X[:, 0].min()
    assert np.isfinite(latent).all()
    np.testing.assert_allclose(latent, det.score_levels(at_minimum, space="latent").to_numpy(),
                               rtol=1e-9, atol=1e-12)
    assert np.isfinite(det.decision_function(X - 5.0)).all()


# ---------------------------------------------------------------- failed fits
def _snapshot(det: Drama) -> dict:
    return {
        "tree": det.tree_, "scaler": det.scaler_, "scores": det.decision_scores_.copy(),
        "n_features": det.n_features_in_, "shape": det.sample_shape_,
        "names": getattr(det, "feature_names_in_", None),
    }


def _assert_unchanged(det: Drama, snap: dict) -> None:
    assert det.tree_ is snap["tree"]
    assert det.scaler_ is snap["scaler"]
    np.testing.assert_array_equal(det.decision_scores_, snap["scores"])
    assert det.n_features_in_ == snap["n_features"]
    assert det.sample_shape_ == snap["shape"]
    names = getattr(det, "feature_names_in_", None)
    if snap["names"] is None:
        assert names is None
    else:
        assert list(names) == list(snap["names"])


def test_failed_fit_on_bad_data_keeps_the_fitted_state(X):
    det = Drama(random_state=0).fit(X)
    snap = _snapshot(det)
    bad = np.ones((10, 2))
    bad[0, 0] = np.nan
    with pytest.raises(ValueError):
        det.fit(bad)
    _assert_unchanged(det, snap)
    np.testing.assert_array_equal(det.decision_function(X), snap["scores"])


def test_failed_fit_on_bad_parameters_keeps_the_fitted_state(X):
    det = Drama(random_state=0).fit(X)
    snap = _snapshot(det)
    det.set_params(metric="cosine")
    with pytest.raises(ValueError, match="metric"):
        det.fit(X[:, :2])
    _assert_unchanged(det, snap)


def test_failed_fit_inside_the_tree_keeps_the_fitted_state(X):
    """The reducer fails half-way (NMF on negative data): nothing of the new table, not even
    its column names, may leak into the previously fitted model."""
    good = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    det = Drama(reducer="nmf", scaling="none", random_state=0).fit(good)
    snap = _snapshot(det)
    bad = pd.DataFrame(X[:, :3] - 1.0, columns=["x", "y", "z"])
    with pytest.raises(ValueError, match="non-negative"):
        det.fit(bad)
    _assert_unchanged(det, snap)


def test_failed_fit_of_a_fresh_model_leaves_it_unfitted(X):
    det = Drama(reducer="nmf", scaling="none")
    with pytest.raises(ValueError):
        det.fit(pd.DataFrame(X - 1.0, columns=list("abcd")))
    for name in ("tree_", "scaler_", "decision_scores_", "n_features_in_", "feature_names_in_"):
        assert not hasattr(det, name), name


# ---------------------------------------------------------------- awkward but valid
@pytest.mark.parametrize("scaling", ["minmax", "standard", "robust", "global", "none"])
@pytest.mark.parametrize("metric", METRICS)
def test_constant_features_score_for_every_metric(metric, scaling):
    rng = np.random.default_rng(3)
    X = rng.uniform(size=(50, 5))
    X[:, 1] = 7.0
    X[:, 3] = 0.0
    X[0] = [-3.0, 7.0, 4.0, 0.0, -3.0]  # one object far from the rest
    det = Drama(metric=metric, scaling=scaling, random_state=0).fit(X)
    scores = det.decision_scores_
    assert np.isfinite(scores).all()
    np.testing.assert_array_equal(det.decision_function(X), scores)
    # Bray-Curtis and correlation do not measure how far an object is from data centred
    # on 0 (standard, robust): there, only that the scores rank the objects.
    if metric in ("braycurtis", "correlation") and scaling in ("standard", "robust"):
        assert np.ptp(scores) > 0
    else:
        assert scores[0] > np.delete(scores, 0).max()
    new = rng.uniform(size=(10, 5))  # the constant features now vary
    assert np.isfinite(det.decision_function(new)).all()
    assert np.isfinite(det.predict_proba(new)).all()


@pytest.mark.parametrize("metric", METRICS)
def test_all_constant_data_scores_for_every_metric(metric):
    X = np.full((30, 3), 4.2)
    det = Drama(metric=metric, random_state=0).fit(X)
    # every object is the one prototype: distance 0 on every level and metric
    np.testing.assert_array_equal(det.decision_scores_, 0.0)
    np.testing.assert_array_equal(det.score_levels(X).to_numpy(), 0.0)
    np.testing.assert_array_equal(det.score_levels(X, space="latent").to_numpy(), 0.0)
    np.testing.assert_array_equal(det.predict_proba(X), np.tile([1.0, 0.0], (len(X), 1)))
    moved = det.decision_function(X + 1.0)
    assert np.isfinite(moved).all() and np.ptp(moved) == 0  # identical objects, one score
    if metric != "correlation":  # a shift keeps a constant object's (flat) shape
        assert moved[0] > 0


def test_duplicated_rows_and_two_objects():
    X = np.array([[1.0, 2.0], [1.0, 2.0], [1.0, 2.0], [3.0, 4.0]])
    for reducer in ("none", "pca", "ica", "nmf"):
        det = Drama(reducer=reducer, min_node_size=1, random_state=0).fit(X)
        levels = det.score_levels(X).to_numpy()
        assert np.isfinite(levels).all()
        np.testing.assert_array_equal(levels[:3], np.tile(levels[0], (3, 1)), err_msg=reducer)
        # with a share the lone object's leaf does not reach, it is the anomaly
        det = Drama(reducer=reducer, min_node_size=1, min_leaf_share=0.5,
                    random_state=0).fit(X)
        scores = det.decision_scores_
        assert scores[3] > 1.0 > scores[:3].max(), reducer
    # two objects, one leaf: both are equally far from its prototype, their mean
    det = Drama(random_state=0).fit(np.array([[0.0, 1.0], [1.0, 0.0]]))
    np.testing.assert_allclose(det.decision_scores_, [np.sqrt(0.5)] * 2, rtol=1e-12)


def _rank_one_tables():
    """Each table with the index of its one object unlike the others."""
    sparse = np.zeros((10, 2))
    sparse[0, 1] = 1.0
    repeated = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    return [(sparse, 0), (repeated, 1)]


@pytest.mark.parametrize("X_rank_one, lone", _rank_one_tables(), ids=["sparse-column", "3x3"])
def test_nmf_on_rank_one_tables(X_rank_one, lone):
    """A non-negative table of rank one (an all-zero column and one sparse column) has fewer
    non-trivial parts than latent_dim; NMF must still give finite codes and scores, and
    rank the lone object first (its leaf is below min_leaf_share, so no prototype)."""
    det = Drama(reducer="nmf", min_node_size=1, min_leaf_share=0.5,
                random_state=0).fit(X_rank_one)
    for scores in (det.decision_scores_,
                   *det.score_levels(X_rank_one, space="latent").to_numpy().T):
        assert np.isfinite(scores).all()
        others = np.delete(scores, lone)
        assert scores[lone] > others.max() and np.ptp(others) == 0  # the others are one row


@pytest.mark.parametrize("reducer", ["none", "pca"])
@pytest.mark.parametrize("scaling", ["minmax", "standard", "robust", "global"])
def test_extreme_finite_values_score_finite_or_are_refused_clearly(scaling, reducer):
    """Values near the float64 limit, whose range overflows to inf. The scalings built on
    the range (minmax, global) refuse them with a ValueError that names the cause, never
    one that blames NaN in data that has none; standard and robust scaling divide the units
    out, so the scores are those of the same data in units of 1e308."""
    X = np.random.default_rng(0).uniform(-1.0, 1.0, size=(40, 3)) * 1e308
    detector = Drama(reducer=reducer, scaling=scaling, random_state=0)
    if scaling in ("minmax", "global"):
        with pytest.raises(ValueError, match="too large to scale") as info:
            detector.fit(X)
        assert "NaN" not in str(info.value)
        return
    scores = detector.fit(X).decision_scores_
    in_units = Drama(reducer=reducer, scaling=scaling, random_state=0).fit(X / 1e308)
    np.testing.assert_allclose(scores, in_units.decision_scores_, rtol=1e-9)


def test_reordered_dataframe_columns_are_refused():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=80), "b": rng.normal(size=80) * 10,
                          "c": rng.random(80)})
    det = Drama(random_state=0).fit(frame)
    with pytest.raises(ValueError, match="same but in another order"):
        det.decision_function(frame[["c", "a", "b"]])


def test_correlation_in_fewer_than_three_dimensions_is_refused():
    X = np.random.default_rng(0).normal(size=(40, 1))
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        Drama(metric="correlation").fit(X)
    # in 2 dimensions every correlation distance is 0 or 2: all scores would be 0
    flat = np.random.default_rng(1).normal(size=(40, 2))
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        Drama(metric="correlation").fit(flat)
    det = Drama(random_state=0).fit(flat)
    assert "correlation" not in det.score_levels(flat).columns.get_level_values("metric")
    with pytest.raises(ValueError, match="distances in 2"):
        det.score_levels(flat, "correlation")
    # latent space: what counts is the codes' width, not latent_dim
    with pytest.raises(ValueError, match="distances in 1"):
        Drama(reducer="pca", latent_dim=3, metric="correlation", space="latent").fit(X)
    wide = np.random.default_rng(0).normal(size=(40, 5))
    with pytest.raises(ValueError, match="distances in 2"):  # the default latent_dim
        Drama(reducer="pca", metric="correlation", space="latent").fit(wide)
    det = Drama(reducer="none", latent_dim=1, metric="correlation", space="latent").fit(wide)
    assert np.ptp(det.decision_scores_) > 0
    assert det.distance_dims() == 5 and Drama(reducer="pca").fit(wide).distance_dims("latent") == 2


def test_sparse_input_and_unknown_reducer_options_are_explained():
    from scipy import sparse

    X = np.random.default_rng(0).random((30, 4))
    with pytest.raises(TypeError, match="toarray"):
        Drama().fit(sparse.csr_matrix(X))
    with pytest.raises(ValueError, match="reducer_options"):
        Drama(reducer="pca", reducer_options={"epochs": 5}).fit(X)


@pytest.mark.parametrize("metric", ["wl2", "wl4"])
def test_a_feature_constant_in_training_does_not_dominate_weighted_metrics(metric):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    X[:, 4] = 0.0  # e.g. a border pixel
    det = Drama(metric=metric, scaling="none", random_state=0).fit(X)
    ordinary = X[:1].copy()
    gross = ordinary + np.array([[5.0, 5.0, 5.0, 5.0, 0.0]])
    rounding = ordinary + np.array([[0.0, 0.0, 0.0, 0.0, 1e-6]])
    scores = det.decision_function(np.vstack([ordinary, gross, rounding]))
    assert scores[1] > 5 * scores[2] and abs(scores[2] - scores[0]) < 1e-3 * scores[1]


def test_a_feature_in_tiny_units_still_counts():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    X[:15, 0] += 6.0  # the anomalies live in feature 0 only
    base = Drama(random_state=0).fit(X).decision_scores_
    for unit in (1e-15, 1e15):
        scaled = X.copy()
        scaled[:, 0] *= unit  # the same data in other units: min-max scaling undoes it
        np.testing.assert_allclose(Drama(random_state=0).fit(scaled).decision_scores_, base,
                                   rtol=1e-6)


def test_standard_scaling_of_huge_values_does_not_overflow():
    X = np.abs(np.random.default_rng(0).normal(size=(50, 3)))
    in_units = Drama(scaling="standard", random_state=0).fit(X).decision_scores_
    for size in (1e160, 1e307):  # squares overflow above ~1e154, sums near 1e308
        det = Drama(scaling="standard", random_state=0).fit(X * size)
        np.testing.assert_allclose(det.decision_scores_, in_units, rtol=1e-9)


def test_robust_scaling_keeps_the_iqr_beside_one_huge_value():
    from drama.scaling import Scaler

    x = np.random.default_rng(0).normal(size=(1000, 1))
    iqr = np.subtract(*np.percentile(x, [75, 25]))
    x[0] = 1e13  # a sentinel value must not make the real IQR count as rounding
    np.testing.assert_allclose(Scaler("robust").fit(x).scale_, iqr, rtol=1e-2)


def test_a_latent_dimension_without_variance_does_not_swamp_weighted_scores():
    rng = np.random.default_rng(0)
    train = np.c_[rng.normal(size=(400, 3)), np.full(400, 5.0)]  # feature 4 constant
    normal = np.c_[rng.normal(size=(100, 3)), 5.0 + rng.normal(0, 1e-6, 100)]
    anomalies = np.c_[rng.normal(size=(10, 3)) + 4.0, np.full(10, 5.0)]
    X, y = np.r_[normal, anomalies], np.r_[np.zeros(100), np.ones(10)]
    for space in ("input", "latent"):  # the identity's latent space is the input space
        det = Drama(reducer="none", space=space, metric="wl2", random_state=0).fit(train)
        assert auc_score(y, det.decision_function(X)) > 0.95, space
