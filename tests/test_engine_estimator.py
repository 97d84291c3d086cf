"""The public ``Drama`` estimator: its API, sklearn conventions, levels, spaces, reducers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from drama import Drama
from drama.distances import METRICS

LINEAR = ("none", "pca", "ica", "nmf")


def _issue_model(**kwargs) -> Drama:
    options = {
        "reducer": "pca", "metric": "l2", "n_levels": 2, "latent_dim": 2, "scaling": "minmax",
        "contamination": 0.05, "random_state": 0,
    }
    options.update(kwargs)
    return Drama(**options)


@pytest.fixture(scope="module")
def X():
    data, _ = make_blobs(n_samples=200, n_features=5, centers=3, random_state=1)
    return data


@pytest.fixture(scope="module")
def far(X):
    """One object 50 units beyond the data in every feature, alternately above and below."""
    above = np.array([True, False, True, False, True])
    return np.where(above, X.max(axis=0) + 50.0, X.min(axis=0) - 50.0)[None]


def assert_far_ranked_first(det: Drama, X: np.ndarray, far: np.ndarray) -> None:
    """Scored beside the training data, in one call, the far object comes first."""
    scores = det.decision_function(np.vstack([X, far]))
    assert scores[-1] > scores[:-1].max()


# metrics that grow with the distance from the data (Canberra and Bray-Curtis are relative
# and bounded, correlation measures shape): a far object must score above every other
MAGNITUDE_METRICS = ("l1", "l2", "l4", "wl2", "wl4", "chebyshev", "mahalanobis")


@pytest.fixture(scope="module")
def fitted(X):
    return _issue_model().fit(X)


def test_fit_returns_self_and_sets_attributes(X, far):
    det = _issue_model()
    assert det.fit(X) is det
    assert det.decision_scores_.shape == (len(X),)
    assert det.decision_scores_.dtype == np.float64
    assert np.isfinite(det.decision_scores_).all() and np.ptp(det.decision_scores_) > 0
    np.testing.assert_array_equal(det.decision_function(X), det.decision_scores_)
    assert_far_ranked_first(det, X, far)
    assert det.n_features_in_ == X.shape[1]
    assert det.sample_shape_ == (X.shape[1],)
    assert not hasattr(det, "feature_names_in_")


def test_unfitted_model_has_no_fitted_attributes():
    det = _issue_model()
    assert not hasattr(det, "tree_")
    assert not hasattr(det, "decision_scores_")


def test_numpy_pandas_and_polars_give_identical_scores(X):
    columns = [f"f{i}" for i in range(X.shape[1])]
    from_numpy = _issue_model().fit(X)
    from_pandas = _issue_model().fit(pd.DataFrame(X, columns=columns))
    from_polars = _issue_model().fit(pl.DataFrame(X, schema=columns))
    np.testing.assert_array_equal(from_numpy.decision_scores_, from_pandas.decision_scores_)
    np.testing.assert_array_equal(from_numpy.decision_scores_, from_polars.decision_scores_)
    assert list(from_pandas.feature_names_in_) == columns
    assert list(from_polars.feature_names_in_) == columns
    # Scoring accepts any of the three as well.
    np.testing.assert_array_equal(
        from_numpy.decision_function(pd.DataFrame(X, columns=columns)),
        from_numpy.decision_function(pl.DataFrame(X, schema=columns)),
    )


def test_memory_layout_does_not_change_scores(X):
    c_order = _issue_model().fit(np.ascontiguousarray(X))
    f_order = _issue_model().fit(np.asfortranarray(X))
    np.testing.assert_array_equal(c_order.decision_scores_, f_order.decision_scores_)
    np.testing.assert_array_equal(
        c_order.decision_function(np.asfortranarray(X)), c_order.decision_scores_
    )


def test_lists_and_integer_arrays_are_accepted():
    rng = np.random.default_rng(0)
    ints = rng.integers(0, 10, size=(50, 3))
    a = _issue_model().fit(ints)
    b = _issue_model().fit(ints.tolist())
    c = _issue_model().fit(ints.astype(np.float32))
    np.testing.assert_array_equal(a.decision_scores_, b.decision_scores_)
    np.testing.assert_array_equal(a.decision_scores_, c.decision_scores_)


def test_decision_scores_equal_decision_function_on_training_data(fitted, X):
    np.testing.assert_array_equal(fitted.decision_scores_, fitted.decision_function(X))


def test_decision_function_on_subsets_matches(fitted, X):
    np.testing.assert_allclose(fitted.decision_function(X[:7]), fitted.decision_scores_[:7],
                               rtol=1e-12)


def test_y_is_ignored(X):
    y = np.arange(len(X)) % 2
    np.testing.assert_array_equal(
        _issue_model().fit(X, y).decision_scores_, _issue_model().fit(X).decision_scores_
    )


def test_threshold_and_labels_follow_contamination(fitted):
    scores = fitted.decision_scores_
    assert fitted.threshold_ == pytest.approx(np.quantile(scores, 0.95))
    labels = fitted.labels_
    assert labels.shape == scores.shape
    assert set(np.unique(labels)) <= {0, 1}
    assert abs(labels.mean() - 0.05) <= 2.0 / len(scores)
    np.testing.assert_array_equal(labels, (scores > fitted.threshold_).astype(int))


def test_predict_is_zero_one_and_agrees_with_labels(fitted, X):
    pred = fitted.predict(X)
    assert pred.dtype.kind == "i"
    assert set(np.unique(pred)) <= {0, 1}
    np.testing.assert_array_equal(pred, fitted.labels_)
    far = X.max(axis=0, keepdims=True) + 50.0
    assert fitted.predict(far).tolist() == [1]


def test_predict_proba(fitted, X):
    proba = fitted.predict_proba(X)
    assert proba.shape == (len(X), 2)
    assert ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    order = np.argsort(fitted.decision_scores_)
    assert (np.diff(proba[order, 1]) >= -1e-12).all()  # monotone in the score
    far = X.max(axis=0, keepdims=True) + 50.0
    np.testing.assert_allclose(fitted.predict_proba(far), [[0.0, 1.0]])


def test_contamination_none_gives_scores_only(X):
    det = _issue_model(contamination=None).fit(X)
    # contamination only sets the threshold: the scores are those of a thresholded model
    np.testing.assert_array_equal(det.decision_scores_, _issue_model().fit(X).decision_scores_)
    assert det.labels_ is None
    assert det.threshold_ is None
    with pytest.raises(ValueError, match="contamination"):
        det.predict(X)
    assert det.predict_proba(X).shape == (len(X), 2)


def test_set_params_rethresholds_without_refitting(X):
    det = _issue_model().fit(X)
    tree, scores = det.tree_, det.decision_scores_.copy()
    low = det.labels_.sum()
    det.set_params(contamination=0.3)
    assert det.tree_ is tree
    np.testing.assert_array_equal(det.decision_scores_, scores)
    assert det.labels_.sum() > low
    assert abs(det.labels_.mean() - 0.3) <= 2.0 / len(X)
    det.set_params(contamination=None)
    assert det.labels_ is None
    assert det.tree_ is tree


def test_scoring_parameters_changed_after_fit_are_refused_until_refit(X, tmp_path):
    det = _issue_model().fit(X)
    labels = det.labels_.copy()
    det.set_params(metric="chebyshev")
    for use in (det.decision_function, det.predict, det.predict_proba):
        with pytest.raises(ValueError, match=r"changed after fit: metric \('l2' -> 'chebyshev'\)"):
            use(X)
    with pytest.raises(ValueError, match="changed after fit"):
        det.save(tmp_path / "m.npz")
    np.testing.assert_array_equal(det.labels_, labels)  # the fitted threshold still stands
    det.set_params(n_levels=det.n_levels + 2)
    with pytest.raises(ValueError, match="n_levels"):
        det.score_levels(X)
    det.set_params(metric="l2", n_levels=det.n_levels - 2)  # back as fitted: scores again
    np.testing.assert_array_equal(det.decision_function(X), det.decision_scores_)
    det.save(tmp_path / "m.npz")
    loaded = Drama.load(tmp_path / "m.npz").set_params(space="latent")
    with pytest.raises(ValueError, match="space"):
        loaded.decision_function(X)
    refit = det.set_params(metric="chebyshev").fit(X)
    assert refit.decision_function(X).shape == (len(X),)


def test_prototypes_come_back_in_the_input_shape_and_units():
    rng = np.random.default_rng(0)
    centres = np.array([[100.0, 200.0], [300.0, 50.0]])
    X = np.vstack([c + rng.normal(scale=0.5, size=(50, 2)) for c in centres])
    det = Drama(n_levels=1, random_state=0).fit(X)
    protos = det.prototypes()
    assert protos.shape == (2, 2)
    found = protos[np.argsort(protos[:, 0])]
    np.testing.assert_allclose(found, centres, atol=0.5)
    images = rng.random((60, 4, 5, 3))
    det = Drama(reducer="pca", n_levels=2, min_leaf_share=0.0, random_state=0).fit(images)
    assert det.prototypes().shape[1:] == (4, 5, 3)
    assert det.prototypes(1).shape == (2, 4, 5, 3)
    with pytest.raises(ValueError, match="level must be an integer in 1..2"):
        det.prototypes(3)


def test_clone_is_unfitted_and_refits_identically(fitted, X):
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "tree_")
    copy.fit(X)
    np.testing.assert_array_equal(copy.decision_scores_, fitted.decision_scores_)


def test_get_params_lists_every_constructor_argument():
    params = Drama().get_params()
    for name in ("reducer", "metric", "n_levels", "level", "latent_dim", "space", "scaling",
                 "clustering", "min_node_size", "max_cluster_samples", "max_fit_samples",
                 "contamination", "reducer_options", "random_state"):
        assert name in params
    assert "Drama" in repr(Drama(metric="l1"))


def test_works_inside_a_pipeline(X):
    pipe = Pipeline([("scale", StandardScaler()), ("drama", _issue_model())])
    pipe.fit(X)
    direct = _issue_model().fit(StandardScaler().fit_transform(X))
    np.testing.assert_allclose(pipe[-1].decision_scores_, direct.decision_scores_, rtol=1e-12)
    np.testing.assert_allclose(pipe.decision_function(X), pipe[-1].decision_scores_, rtol=1e-12)
    assert set(np.unique(pipe.predict(X))) <= {0, 1}


def test_same_seed_same_scores_for_every_linear_reducer(X):
    for reducer in LINEAR:
        a = _issue_model(reducer=reducer, random_state=3).fit(X)
        b = _issue_model(reducer=reducer, random_state=3).fit(X)
        np.testing.assert_array_equal(a.decision_scores_, b.decision_scores_)


@pytest.mark.parametrize("reducer", LINEAR)
def test_score_levels_every_metric_level_and_space(X, far, reducer):
    det = Drama(reducer=reducer, n_levels=3, keep_covariance=True, random_state=0).fit(X)
    for space in ("input", "latent"):
        with_far = det.score_levels(np.vstack([X, far]), space=space)
        table = with_far.iloc[:-1]
        # a 2-D latent space has no correlation: it could only give distances of 0 or 2
        metrics = [m for m in METRICS if det.distance_dims(space) >= 3 or m != "correlation"]
        assert isinstance(table, pd.DataFrame)
        assert isinstance(table.columns, pd.MultiIndex)
        assert list(table.columns.names) == ["level", "metric"]
        assert table.shape == (len(X), len(metrics) * 3)
        assert set(table.columns) == {(lv, m) for lv in (1, 2, 3) for m in metrics}
        assert np.isfinite(table.to_numpy()).all()
        assert (table.to_numpy() >= 0).all()
        for column in table.columns:
            assert np.ptp(table[column]) > 0, (space, column)
            if column[1] in MAGNITUDE_METRICS:
                assert with_far[column].iloc[-1] > table[column].max(), (space, column)


def test_score_levels_agree_with_the_estimator_configuration(X):
    base = Drama(n_levels=3, keep_covariance=True, random_state=0).fit(X)
    table = base.score_levels(X)
    for level in (1, 2, 3):
        for metric in ("l1", "mahalanobis"):
            for space in ("input", "latent"):
                det = Drama(n_levels=3, level=level, metric=metric, space=space,
                            random_state=0).fit(X)
                expected = det.decision_scores_
                got = base.score_levels(X, metrics=metric, levels=[level], space=space)
                np.testing.assert_allclose(got[(level, metric)], expected, rtol=1e-12)
    np.testing.assert_allclose(table[(3, "l2")], base.decision_scores_, rtol=1e-12)


def test_score_levels_subset_and_errors(fitted, X):
    table = fitted.score_levels(X, metrics=["l1", "chebyshev"], levels=[1])
    assert list(table.columns) == [(1, "l1"), (1, "chebyshev")]
    with pytest.raises(ValueError, match="levels"):
        fitted.score_levels(X, levels=[3])
    with pytest.raises(ValueError, match="metric"):
        fitted.score_levels(X, metrics=["cosine"])
    with pytest.raises(ValueError, match="space"):
        fitted.score_levels(X, space="feature")


def test_planted_outliers_are_found():
    inliers, _ = make_blobs(n_samples=300, n_features=6, centers=3, cluster_std=1.0,
                            random_state=0)
    rng = np.random.default_rng(0)
    outliers = rng.uniform(-30, 30, size=(8, 6))
    outliers[:, 0] = rng.choice([-40.0, 40.0], size=8)
    X = np.concatenate([inliers, outliers])
    y = np.r_[np.zeros(len(inliers)), np.ones(len(outliers))]
    det = Drama(random_state=0).fit(X)
    assert roc_auc_score(y, det.decision_scores_) > 0.9
    novelty = Drama(random_state=0).fit(inliers)
    assert roc_auc_score(y, novelty.decision_function(X)) > 0.9


@pytest.mark.parametrize("scaling", ["minmax", "standard", "robust", "global", "none"])
def test_every_scaling_works(X, far, scaling):
    det = Drama(scaling=scaling, random_state=0).fit(X)
    assert np.isfinite(det.decision_scores_).all()
    assert_far_ranked_first(det, X, far)
    np.testing.assert_array_equal(det.decision_function(X), det.decision_scores_)


def test_minmax_scaling_is_invariant_to_feature_affine_maps(X):
    a = Drama(random_state=0).fit(X).decision_scores_
    b = Drama(random_state=0).fit(X * np.arange(1, 6) + 100.0).decision_scores_
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


def test_robust_scaling_is_unit_free_for_mostly_constant_features():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    X[:, 3] = np.where(rng.random(300) < 0.8, 0.0, rng.exponential(size=300))  # IQR 0
    a = Drama(scaling="robust", random_state=0).fit(X).decision_scores_
    X[:, 3] *= 1000.0  # the same feature in other units
    b = Drama(scaling="robust", random_state=0).fit(X).decision_scores_
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


class NumpyPCA:
    """A custom reducer with fit/encode/decode only (no scikit-learn base)."""

    def __init__(self, k: int = 2):
        self.k = k

    def fit(self, X):
        flat = X.reshape(len(X), -1)
        self.mean_ = flat.mean(axis=0)
        _, _, vt = np.linalg.svd(flat - self.mean_, full_matrices=False)
        self.components_ = vt[: self.k]
        return self

    def encode(self, X):
        return (X.reshape(len(X), -1) - self.mean_) @ self.components_.T

    def decode(self, Z):
        return Z @ self.components_ + self.mean_


def test_custom_fit_encode_decode_reducer(X):
    custom = Drama(reducer=NumpyPCA(2), random_state=0).fit(X)
    assert np.isfinite(custom.decision_scores_).all()
    assert custom.encode(X).shape == (len(X), 2)
    named = Drama(reducer="pca", random_state=0).fit(X)
    np.testing.assert_allclose(custom.decision_scores_, named.decision_scores_, rtol=1e-6,
                               atol=1e-9)
    clone(custom).fit(X)  # the estimator with a custom object still clones


def test_sklearn_transformer_as_reducer(X, far):
    svd = TruncatedSVD(n_components=2, random_state=0)
    det = Drama(reducer=svd, random_state=0).fit(X)
    assert np.isfinite(det.decision_scores_).all()
    assert_far_ranked_first(det, X, far)
    assert det.decision_function(X[:5]).shape == (5,)
    assert det.encode(X).shape == (len(X), 2)
    assert not hasattr(svd, "components_")  # the user's object is not fitted in place
    again = Drama(reducer=TruncatedSVD(n_components=2, random_state=0), random_state=0).fit(X)
    np.testing.assert_array_equal(det.decision_scores_, again.decision_scores_)


class EncodeOnly:
    def fit(self, X):
        return self

    def encode(self, X):
        return X


@pytest.mark.parametrize("bad", [object(), EncodeOnly()])
def test_reducer_without_the_methods_is_a_type_error(X, bad):
    with pytest.raises(TypeError, match="fit/encode/decode"):
        Drama(reducer=bad).fit(X)


@pytest.mark.parametrize("latent_dim", [1, 2, 3])
def test_encode_shape(X, latent_dim):
    det = Drama(reducer="pca", latent_dim=latent_dim, random_state=0).fit(X)
    codes = det.encode(X)
    assert codes.shape == (len(X), latent_dim)
    assert np.isfinite(codes).all()
    # the root's PCA of the min-max scaled data, up to the sign of each component
    scaled = (X - X.min(axis=0)) / np.ptp(X, axis=0)
    reference = PCA(n_components=latent_dim).fit_transform(scaled)
    np.testing.assert_allclose(np.abs(codes), np.abs(reference), atol=1e-9)


def test_latent_dim_larger_than_features_is_capped():
    X = np.random.default_rng(0).uniform(size=(40, 2))
    det = Drama(reducer="pca", latent_dim=5, random_state=0).fit(X)
    assert np.isfinite(det.decision_scores_).all()
    assert det.encode(X).shape == (40, 2)
    # two components of two features lose nothing: the scores of no reduction at all
    identity = Drama(reducer="none", random_state=0).fit(X)
    np.testing.assert_allclose(det.decision_scores_, identity.decision_scores_, atol=1e-12)


def test_identity_reducer_encodes_to_the_scaled_input(X):
    det = Drama(reducer="none", random_state=0).fit(X)
    codes = det.encode(X)
    assert codes.shape == X.shape
    np.testing.assert_allclose(codes.min(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(codes.max(axis=0), 1.0, atol=1e-12)


def test_small_leaves_are_not_prototypes():
    """A tight group of anomalies forms its own small leaf; with min_leaf_share it is not a
    prototype of normal, so its members still score high (with 0 they score near zero)."""
    inliers, _ = make_blobs(n_samples=300, n_features=4, centers=2, cluster_std=0.5,
                            random_state=3)
    rng = np.random.default_rng(3)
    group = np.array([12.0, -12.0, 12.0, -12.0]) + 0.05 * rng.normal(size=(8, 4))
    X = np.concatenate([inliers, group])
    y = np.r_[np.zeros(len(inliers)), np.ones(len(group))]
    guarded = Drama(reducer="none", min_leaf_share=0.1, random_state=0).fit(X)
    naive = Drama(reducer="none", min_leaf_share=0.0, random_state=0).fit(X)
    assert roc_auc_score(y, guarded.decision_scores_) > 0.95
    assert roc_auc_score(y, guarded.decision_scores_) > roc_auc_score(y, naive.decision_scores_)


def test_images_with_pca():
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(80, 8, 8))
    det = Drama(reducer="pca", random_state=0).fit(images)
    assert det.sample_shape_ == (8, 8)
    assert det.n_features_in_ == 64
    scores = det.decision_function(images)
    assert scores.shape == (80,)
    np.testing.assert_array_equal(scores, det.decision_scores_)
    assert det.encode(images).shape == (80, 2)
    with pytest.raises(ValueError, match="shape"):
        det.decision_function(images.reshape(80, 64))
    with pytest.raises(ValueError, match="shape"):
        det.decision_function(rng.uniform(size=(5, 8, 7)))


def test_sequences_with_channels():
    rng = np.random.default_rng(1)
    seqs = rng.normal(size=(60, 12, 2))
    det = Drama(keep_covariance=True, random_state=0).fit(seqs)
    assert det.decision_function(seqs[:3]).shape == (3,)
    assert det.score_levels(seqs).shape == (60, len(METRICS) * 2)


@pytest.mark.parametrize("space", ["input", "latent"])
@pytest.mark.parametrize("metric", METRICS)
def test_every_metric_as_the_estimator_metric(X, far, metric, space):
    det = Drama(metric=metric, space=space, random_state=0).fit(X)
    assert np.isfinite(det.decision_scores_).all()
    assert (det.decision_scores_ >= 0).all()
    assert_far_ranked_first(det, X, far)
    # the estimator scores what score_levels reports for its metric and level
    np.testing.assert_array_equal(det.score_levels(X, metric, [2])[(2, metric)],
                                  det.decision_scores_)


def test_kmeans_clustering(X, far):
    det = Drama(clustering="kmeans", random_state=0).fit(X)
    again = Drama(clustering="kmeans", random_state=0).fit(X)
    assert np.isfinite(det.decision_scores_).all()
    assert_far_ranked_first(det, X, far)
    np.testing.assert_array_equal(det.decision_scores_, again.decision_scores_)


def test_refit_replaces_the_state(X):
    det = _issue_model().fit(X)
    det.fit(X[:, :3])
    assert det.n_features_in_ == 3
    assert det.decision_scores_.shape == (len(X),)
    det.decision_function(X[:4, :3])


def test_refit_on_numpy_forgets_old_feature_names(X):
    """sklearn convention: fitting on an array without column names removes
    ``feature_names_in_`` from an earlier fit on a DataFrame."""
    det = _issue_model().fit(pd.DataFrame(X, columns=list("abcde")))
    det.fit(X)
    assert not hasattr(det, "feature_names_in_")


def test_score_levels_without_covariance_leaves_out_mahalanobis(X):
    det = Drama(n_levels=2, random_state=0).fit(X)
    table = det.score_levels(X)
    assert {m for _, m in table.columns} == set(METRICS) - {"mahalanobis"}
    with pytest.raises(ValueError, match="keep_covariance=True"):
        det.score_levels(X, metrics="mahalanobis")


def test_a_failed_refit_keeps_the_old_model(X):
    model = Drama(random_state=0).fit(X)
    scores = model.decision_function(X)
    model.set_params(reducer="pca", metric="correlation", space="latent")
    with pytest.raises(ValueError, match="correlation"):
        model.fit(X[:80])  # fails after the tree is fitted: 2-D latent codes
    model.set_params(reducer="none", metric="l2", space="input")
    np.testing.assert_array_equal(model.decision_function(X), scores)
    assert len(model.decision_scores_) == len(X)


def test_changes_made_in_place_after_fit_are_noticed(X):
    from sklearn.decomposition import PCA

    model = Drama(reducer=PCA(n_components=2), random_state=0).fit(X)
    model.set_params(reducer__n_components=1)
    with pytest.raises(ValueError, match="changed after fit"):
        model.decision_function(X)
    pytest.importorskip("torch", reason="the in-place options check uses the ae reducer")
    options = {"max_epochs": 1}
    model = Drama(reducer="ae", reducer_options=options, random_state=0).fit(X)
    options["max_epochs"] = 2
    with pytest.raises(ValueError, match="changed after fit"):
        model.decision_function(X)


def test_level_must_be_an_integer_and_mahalanobis_needs_covariances(X):
    with pytest.raises(ValueError, match="level"):
        Drama(level=True).fit(X)
    with pytest.raises(ValueError, match="keep_covariance"):
        Drama(metric="mahalanobis", keep_covariance=False).fit(X)


def test_reducers_that_compare_by_identity_still_score_after_fit(X):
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    for reducer in (make_pipeline(StandardScaler(), PCA(2)),
                    PCA(2, svd_solver="randomized", random_state=np.random.RandomState(0))):
        model = Drama(reducer=reducer, random_state=0).fit(X)
        np.testing.assert_array_equal(model.decision_function(X), model.decision_scores_)
    model.set_params(reducer__n_components=1)
    with pytest.raises(ValueError, match="changed after fit"):
        model.decision_function(X)
