"""DramaSearch: one tree per reducer, label-free consensus, robust few-label choice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from drama.metrics import auc_score
from drama.ranks import rank_normalise
from drama.search import (
    DramaSearch,
    auc_standard_error,
    config_name,
    consensus_weights,
    label_auc,
    parse_config,
    rank_correlation,
    stable_pool,
)

# The tree pool alone (no whole-set members), with the stability filter: the consensus as it
# was before the blend; tests of the members and the blend say so.
SMALL = {"reducers": ["none", "pca"], "metrics": ["l2", "l1", "chebyshev"], "levels": [1, 2],
         "members": (), "stability_threshold": 0.97, "random_state": 0}


def blobs(n: int = 300, n_out: int = 15, d: int = 5, seed: int = 0):
    """Two normal clusters and scattered outliers: an easy, fast task."""
    rng = np.random.default_rng(seed)
    centres = np.array([np.zeros(d), np.full(d, 4.0)])
    inliers = centres[rng.integers(0, 2, n)] + rng.normal(size=(n, d))
    outliers = rng.uniform(-8, 12, size=(n_out, d))
    X = np.vstack([inliers, outliers])
    y = np.r_[np.zeros(n, int), np.ones(n_out, int)]
    return X, y


@pytest.fixture(scope="module")
def fitted():
    X, y = blobs()
    return X, y, DramaSearch(**SMALL).fit(X)


def test_one_row_per_configuration_with_costs(fitted):
    X, y, search = fitted
    res = search.results_
    assert len(res) == 2 * 3 * 2
    assert set(res["config"]) == {config_name(r, m, lv) for r in ("none", "pca")
                                  for m in ("l2", "l1", "chebyshev") for lv in (1, 2)}
    for col in ("fit_time", "score_time", "agreement", "label_auc", "n_labelled", "weight",
                "rank"):
        assert col in res.columns
    assert (res["fit_time"] > 0).all()
    # one tree per reducer: every configuration of a reducer reports the same fit time
    assert res.groupby("reducer")["fit_time"].nunique().eq(1).all()
    assert set(search.estimators_) == {"none", "pca"}
    assert search.estimators_["none"].n_levels == 2


def test_label_free_consensus_finds_outliers(fitted):
    X, y, search = fitted
    assert np.isclose(search.weights_.sum(), 1.0)
    assert "label-free" in search.selection_
    assert auc_score(y, search.decision_scores_) > 0.9
    assert set(search.best_config_) == {"reducer", "metric", "level", "space"}


def test_decision_function_matches_training_scores_and_orders_new_data(fitted):
    X, y, search = fitted
    np.testing.assert_allclose(search.decision_function(X), search.decision_scores_)
    far = np.full((1, X.shape[1]), 50.0)
    farther = np.full((1, X.shape[1]), 100.0)
    s = search.decision_function(np.vstack([X[:1], far, farther]))
    assert s[0] < s[1] < s[2]


def test_same_seed_same_scores():
    X, _ = blobs(seed=1)
    a = DramaSearch(**SMALL).fit(X).decision_scores_
    b = DramaSearch(**SMALL).fit(X).decision_scores_
    np.testing.assert_array_equal(a, b)


def test_few_labels_recorded_and_reselect_does_not_refit(fitted):
    X, y, search = fitted
    trees = dict(search.estimators_)
    labels = np.full(len(y), -1)
    labels[np.flatnonzero(y == 1)[:5]] = 1
    labels[np.flatnonzero(y == 0)[:100]] = 0
    search.select(labels)
    res = search.results_
    assert (res["n_labelled_anomalies"] == 5).all() and (res["n_labelled_normals"] == 100).all()
    assert res["label_auc"].between(0, 1).all() and res["shrunk_auc"].notna().all()
    assert "labelled normals" in search.selection_
    assert np.isclose(search.weights_.sum(), 1.0)
    assert search.estimators_ == trees
    search.select(None)  # back to label-free for the other tests


def test_reselect_follows_a_new_ensemble_share():
    X, _ = blobs()
    search = DramaSearch(**SMALL).fit(X)
    kept = len(search.weights_)
    first = search.decision_scores_.copy()
    default_share = search.ensemble_share
    search.set_params(ensemble_share=0.2).select()
    assert len(search.weights_) < kept
    search.set_params(ensemble_share=default_share).select()
    assert len(search.weights_) == kept and np.array_equal(search.decision_scores_, first)


def test_unlabelled_presumed_normal_when_no_normal_labelled(fitted):
    X, y, search = fitted
    labels = np.full(len(y), -1)
    labels[np.flatnonzero(y == 1)[:3]] = 1
    search.select(labels)
    assert "presumed normal" in search.selection_
    assert (search.results_["n_labelled_normals"] == 0).all()
    search.select(None)


def test_labels_that_clearly_favour_configurations_are_followed():
    # anomalies only one metric sees: a single feature far out while all others are normal
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 20))
    X[:20, 0] += 6.0
    y = np.zeros(400, int)
    y[:20] = 1
    search = DramaSearch(reducers=["none"], metrics=["chebyshev", "l1", "correlation"],
                         levels=[1], random_state=0, top_k=1).fit(X)
    labels = np.where(y == 1, 1, 0)
    labels[10:20] = -1
    search.select(labels)
    res = search.results_
    assert search.selection_.startswith("labels:")
    assert "shrunk" not in search.selection_  # prior_strength=0: nothing is shrunk
    assert res.loc[res["label_auc"].idxmax(), "weight"] == 1.0
    # with a strong prior the label-free agreement can outweigh a small label advantage
    strong = search.set_params(prior_strength=1000.0).select(labels).results_
    assert strong.loc[strong["agreement"].idxmax(), "weight"] > 0


@pytest.mark.parametrize("bad", [np.zeros(3), np.full(315, 2), np.full((315, 1), 0)])
def test_bad_labels_raise(fitted, bad):
    X, _, search = fitted
    with pytest.raises(ValueError, match="y "):
        DramaSearch(**SMALL).fit(X, bad)
    with pytest.raises(ValueError):
        search.select(bad)


def test_labels_without_anomaly_warn_and_fall_back(fitted):
    X, y, search = fitted
    labels = -np.ones(len(y), int)
    labels[:20] = 0
    with pytest.warns(UserWarning, match="falls back to the label-free"):
        search.select(labels)
    assert "label-free" in search.selection_
    counts = search.results_[["n_labelled", "n_labelled_anomalies", "n_labelled_normals"]]
    assert counts.iloc[0].tolist() == [20, 0, 20]


def test_relevance_lifts_unlabelled_anomalies_like_the_labelled_ones():
    rng = np.random.default_rng(3)
    inliers = rng.normal(size=(400, 4))
    scattered = rng.uniform(-7, 7, size=(30, 4))  # the label-free consensus finds these
    hidden = rng.normal((0, 0, 1.2, -1.2), 0.1, size=(20, 4))  # a tight group among inliers
    X = np.vstack([inliers, scattered, hidden])
    group = np.r_[np.zeros(430, bool), np.ones(20, bool)]
    inlier = np.r_[np.ones(400, bool), np.zeros(50, bool)]
    labels = np.full(len(X), -1)
    labels[np.flatnonzero(group)[:4]] = 1
    labels[:200] = 0
    unseen = labels == -1
    judged = unseen & (group | inlier)
    plain = DramaSearch(**{**SMALL, "relevance_alpha": None}).fit(X, labels)
    kernel = DramaSearch(**SMALL).fit(X, labels)
    assert "kernel relevance model on 4 labelled anomalies and 200" in kernel.selection_
    hidden_auc = [auc_score(group[judged], s.decision_scores_[judged]) for s in (plain, kernel)]
    assert hidden_auc[0] < 0.6 < 0.9 < hidden_auc[1]
    # every anomaly, scattered or hidden, against the unseen inliers
    assert auc_score(~inlier[unseen], kernel.decision_scores_[unseen]) > 0.95
    # the same scores for the training objects through the inductive path
    np.testing.assert_allclose(kernel.decision_function(X), kernel.decision_scores_,
                               atol=1e-9)
    # a later set_params does not change how the selection made with labels scores
    kernel.set_params(relevance_alpha=None)
    np.testing.assert_allclose(kernel.decision_function(X), kernel.decision_scores_,
                               atol=1e-9)


def test_all_anomalies_raise(fitted):
    X, y, search = fitted
    with pytest.raises(ValueError, match="Every object"):
        search.select(np.ones(len(y), int))


@pytest.mark.parametrize("kwargs,match", [
    ({"reducers": ["nope"]}, "nope"),
    ({"metrics": ["l3"]}, "Unknown metric"),
    ({"spaces": ["outer"]}, "Unknown space"),
    ({"levels": [0]}, "levels"),
    ({"ensemble_share": 0}, "ensemble_share"),
    ({"guard_se": -1}, "guard_se"),
    ({"relevance_alpha": 0}, "relevance_alpha"),
    ({"max_labelled_normals": 0}, "max_labelled_normals"),
    ({"reducers": ["none", "none"]}, "twice"),
    ({"drama_params": {"reducer": "pca"}}, "may not set"),
])
def test_bad_parameters_raise(kwargs, match):
    X, _ = blobs(n=60, n_out=3)
    with pytest.raises(ValueError, match=match):
        DramaSearch(**{**SMALL, **kwargs}).fit(X)


def test_unknown_configuration_name_raises(fitted):
    X, _, search = fitted
    with pytest.raises(ValueError, match="Unknown configuration"):
        search.config_scores(X, ["none|l2|7|input"])
    with pytest.raises(ValueError, match="Unknown configuration"):
        parse_config("none-l2")


def test_unfitted_raises():
    with pytest.raises(ValueError, match="not fitted"):
        DramaSearch().decision_function(np.zeros((2, 2)))


def test_all_metrics_include_mahalanobis_for_few_features():
    X, _ = blobs(n=80, n_out=4, d=3)
    search = DramaSearch(reducers=["none"], metrics="all", levels=[1], members=(),
                         random_state=0).fit(X)
    assert "mahalanobis" in set(search.results_["metric"])
    assert len(search.results_) == 10
    default = DramaSearch(reducers=["none"], levels=[1], members=(), random_state=0).fit(X)
    assert "mahalanobis" not in set(default.results_["metric"])  # its covariances cost most


def test_correlation_is_left_out_where_it_could_only_give_0_or_2():
    X, _ = blobs(n=80, n_out=4)
    search = DramaSearch(reducers=["pca"], metrics=["l2", "correlation"], levels=[1],
                         spaces=["input", "latent"], members=(), random_state=0).fit(X)
    kept = set(zip(search.results_["metric"], search.results_["space"], strict=True))
    assert kept == {("l2", "input"), ("l2", "latent"), ("correlation", "input")}
    with pytest.raises(ValueError, match="needs at least 3 dimensions"):
        DramaSearch(reducers=["none"], metrics=["correlation"], levels=[1]).fit(X[:, :2])


def test_latent_space_configurations():
    X, _ = blobs(n=80, n_out=4)
    search = DramaSearch(reducers=["pca"], metrics=["l2"], levels=[1], spaces=["input", "latent"],
                         members=(), random_state=0).fit(X)
    assert set(search.results_["space"]) == {"input", "latent"}
    assert search.decision_function(X[:5]).shape == (5,)


def test_parallel_fit_equals_serial():
    X, _ = blobs(n=120, n_out=6)
    a = DramaSearch(**SMALL, n_jobs=2).fit(X).decision_scores_
    b = DramaSearch(**SMALL, n_jobs=1).fit(X).decision_scores_
    np.testing.assert_array_equal(a, b)


def test_helpers():
    r = rank_normalise(np.array([[3.0, 1.0], [1.0, 1.0], [2.0, 1.0]]))
    np.testing.assert_allclose(r[:, 0], [1.0, 1 / 3, 2 / 3])
    np.testing.assert_allclose(r[:, 1], [2 / 3] * 3)
    scores = np.array([[0.9], [0.8], [0.1], [0.2]])
    assert label_auc(scores, np.array([0, 1]), np.array([2, 3]))[0] == 1.0
    se = auc_standard_error(np.array([0.5, 0.9]), 5, 100)
    assert (se > 0).all() and se[0] > se[1]
    corr, w = consensus_weights(np.column_stack([r[:, 0], r[:, 0], 1 - r[:, 0]]), 0.67)
    assert corr[2] < corr[0] and w[2] == 0 and np.isclose(w.sum(), 1)


def test_new_dataframes_must_have_the_training_columns_in_order():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(120, 4)), columns=list("abcd"))
    search = DramaSearch(reducers=["none"], metrics=["l2"], levels=[1, 2],
                         random_state=0).fit(frame)
    assert list(search.feature_names_in_) == list("abcd")
    np.testing.assert_allclose(search.decision_function(frame), search.decision_scores_)
    with pytest.raises(ValueError, match="same but in another order"):
        search.decision_function(frame[list("dcba")])
    with pytest.raises(ValueError, match="Missing: \\['d'\\]"):
        search.config_scores(frame[list("abc")])
    assert search.decision_function(frame.to_numpy()).shape == (120,)  # arrays: by position


def test_select_checks_parameters_set_after_fit():
    X = np.random.default_rng(0).normal(size=(80, 3))
    search = DramaSearch(reducers=["none"], metrics=["l2"], levels=[1], random_state=0).fit(X)
    for bad in ({"ensemble_share": 0}, {"top_k": 0}, {"relevance_alpha": -1.0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            search.set_params(**bad).select()
        search.set_params(ensemble_share=0.7, top_k=5, relevance_alpha=0.5)
    assert search.select().selection_


def test_reducer_options_can_be_given_per_reducer():
    pytest.importorskip("torch", reason="the neural reducers need PyTorch")
    X = np.random.default_rng(0).normal(size=(80, 4))
    short = {"max_epochs": 2, "warm_start_epochs": 1}
    search = DramaSearch(reducers=["none", "ae"], metrics=["l2"], levels=[1],
                         drama_params={"reducer_options": {"ae": short}},
                         random_state=0).fit(X)
    assert search.estimators_["ae"].reducer_options == short
    assert search.estimators_["ae"].tree_.reducers_[0].n_epochs_ <= 2
    assert search.estimators_["none"].reducer_options is None
    with pytest.raises(ValueError, match="'none' reducer"):  # the same options for every one
        DramaSearch(reducers=["none", "ae"], metrics=["l2"], levels=[1],
                    drama_params={"reducer_options": short}).fit(X)


def test_relevance_bandwidth_survives_many_exact_duplicates():
    from drama.kernel_relevance import FeatureSpace

    rng = np.random.default_rng(0)
    X = np.repeat(rng.normal(size=(60, 3)), 15, axis=0)  # every row 15 times
    space = FeatureSpace.build(X, random_state=0)
    distinct = np.unique(space.coords, axis=0)
    gaps = np.linalg.norm(distinct[:, None] - distinct[None], axis=2)
    typical = np.median(np.sort(gaps, axis=1)[:, 1])
    assert space.bandwidth > 0.1 * typical  # measured between distinct objects, not 0
    constant = FeatureSpace.build(np.ones((30, 2)), random_state=0)
    assert constant.bandwidth == 1.0


def test_all_anomaly_labels_refused_before_fitting_and_the_old_fit_stays():
    X, y = blobs()
    search = DramaSearch(**SMALL).fit(X, y)
    scores, ranks = search.decision_scores_.copy(), search.train_ranks_.copy()
    with pytest.raises(ValueError, match="Every object is labelled an anomaly"):
        search.fit(X[:100], np.ones(100, int))
    np.testing.assert_array_equal(search.decision_scores_, scores)
    np.testing.assert_array_equal(search.train_ranks_, ranks)
    np.testing.assert_allclose(search.decision_function(X), scores, rtol=1e-12)


def test_equal_label_aucs_do_not_depend_on_the_grid_order():
    X, y = blobs(seed=3)
    labels = -np.ones(len(y), int)
    labels[np.flatnonzero(y == 1)[:3]] = 1
    labels[np.flatnonzero(y == 0)[:10]] = 0
    params = {**SMALL, "relevance_alpha": None}
    forward = DramaSearch(**params).fit(X, labels)
    backward = DramaSearch(**{**params, "reducers": ["pca", "none"],
                              "metrics": ["chebyshev", "l1", "l2"]}).fit(X, labels)
    assert (forward.results_["label_auc"] == 1.0).sum() > forward.top_k  # ties to break
    assert sorted(forward.weights_.index) == sorted(backward.weights_.index)


def test_an_object_scored_alone_gets_its_training_rank_and_huge_ones_stay_finite():
    X, _ = blobs()
    X = np.vstack([np.repeat(X[:1], 200, axis=0), X])  # a big block of exact ties
    search = DramaSearch(reducers=["none", "pca"], metrics="all", levels=[1, 2],
                         random_state=0).fit(X)
    alone = np.array([search.decision_function(X[i:i + 1])[0] for i in (0, 250, 400)])
    np.testing.assert_allclose(alone, search.decision_scores_[[0, 250, 400]], rtol=1e-12)
    with np.errstate(over="ignore"):  # l4 of 1e150 overflows to inf: still the top rank
        far = search.decision_function(np.full((1, X.shape[1]), 1e150))
    assert np.isfinite(far).all() and 1.0 < far[0] < 1.01


def test_selection_parameters_and_names_are_checked(fitted):
    X, y, search = fitted
    with pytest.raises(ValueError, match="prior_strength"):
        DramaSearch(**SMALL, prior_strength=np.inf).fit(X)
    with pytest.raises(ValueError, match="relevance_alpha"):
        DramaSearch(**SMALL, relevance_alpha=np.inf).fit(X)
    one = search.config_scores(X[:5], "none|l2|1|input")
    assert list(one.columns) == ["none|l2|1|input"]
    assert search.config_scores(X[:5], ["none|l2|1|input"] * 2).shape == (5, 1)
    with pytest.raises(ValueError, match="reducer_options is keyed by reducer"):
        DramaSearch(**SMALL, drama_params={"reducer_options": {"ae": {"max_epochs": 1}}}).fit(X)
    labelled = DramaSearch(**SMALL).fit(X, y)
    assert hasattr(labelled, "label_auc_")
    assert not hasattr(labelled.select(None), "label_auc_")


def test_an_infinite_training_score_ranks_at_the_top():
    ranks = rank_normalise(np.array([1.0, 2.0, np.inf]))
    np.testing.assert_allclose(ranks, [1 / 3, 2 / 3, 1.0])


def test_the_identity_reducer_scores_its_latent_space_too():
    X, _ = blobs()
    search = DramaSearch(reducers=["none"], metrics=["wl2"], levels=[2], spaces=["latent"],
                         members=(), random_state=0).fit(X)
    assert list(search.results_["config"]) == ["none|wl2|2|latent"]


# ---------------------------------------------------------------- stability across seeds
def test_stability_is_measured_on_a_second_seed_and_its_trees_dropped(fitted):
    X, y, search = fitted
    res = search.results_
    # small data: Ward sees every object, so both seeds grow the same trees
    np.testing.assert_allclose(res["stability"], 1.0)
    assert (res["stability_time"] > 0).all()
    assert res.groupby("reducer")["stability_time"].nunique().eq(1).all()
    assert set(search.estimators_) == {"none", "pca"}
    assert "stable across two seeds" in search.selection_


def test_unstable_configurations_are_left_out_of_the_consensus():
    X, _ = blobs(n=600, seed=2)
    # a Ward sample of 40 objects makes the deeper splits depend on the seed
    params = {**SMALL, "levels": [1, 2, 3], "drama_params": {"max_cluster_samples": 40}}
    search = DramaSearch(**{**params, "stability_threshold": 0.99}).fit(X)
    res = search.results_
    assert res["stability"].min() < 0.99 <= res["stability"].max()
    pool = res["stability"] >= 0.99
    assert pool.sum() >= 5 and (res.loc[~pool, "weight"] == 0).all()
    loose = DramaSearch(**{**params, "stability_threshold": None}).fit(X)
    assert not np.array_equal(search.decision_scores_, loose.decision_scores_)


def test_stability_threshold_none_skips_the_second_fit_and_keeps_the_plain_consensus():
    X, _ = blobs(seed=3)
    search = DramaSearch(**{**SMALL, "stability_threshold": None}).fit(X)
    res = search.results_
    assert res["stability"].isna().all() and (res["stability_time"] == 0).all()
    assert "stable" not in search.selection_
    _, weights = consensus_weights(search.train_ranks_, search.ensemble_share)
    np.testing.assert_array_equal(res["weight"], weights)
    with pytest.raises(ValueError, match="fit again"):
        search.set_params(stability_threshold=0.9).select()


def test_a_new_threshold_reselects_without_refitting():
    X, _ = blobs(n=600, seed=2)
    params = {**SMALL, "levels": [1, 2, 3], "drama_params": {"max_cluster_samples": 40}}
    search = DramaSearch(**{**params, "stability_threshold": 1.0}).fit(X)
    strict = search.results_["weight"].to_numpy()
    trees = dict(search.estimators_)
    search.set_params(stability_threshold=0.5).select()
    assert search.estimators_ == trees
    expected = DramaSearch(**{**params, "stability_threshold": 0.5}).fit(X).results_["weight"]
    np.testing.assert_array_equal(search.results_["weight"], expected)
    assert not np.array_equal(strict, expected)


def test_unseeded_search_measures_stability_too():
    X, y = blobs(seed=4)
    search = DramaSearch(reducers=["none"], metrics=["l2"], levels=[1],
                         stability_threshold=0.97).fit(X)
    assert search.results_["stability"].notna().all()
    assert auc_score(y, search.decision_scores_) > 0.9


@pytest.mark.parametrize("bad", [0, -0.5, 1.5, True, "high", float("nan")])
def test_bad_stability_threshold_is_refused(bad):
    X, _ = blobs()
    with pytest.raises(ValueError, match="stability_threshold"):
        DramaSearch(**{**SMALL, "stability_threshold": bad}).fit(X)


def test_consensus_over_a_pool_weights_only_its_members():
    rng = np.random.default_rng(0)
    base = rng.random(200)
    ranked = rank_normalise(np.column_stack([base, base + 0.01 * rng.random(200),
                                             rng.random(200), 1 - base]))
    pool = np.array([False, True, True, True])
    corr, weights = consensus_weights(ranked, 0.34, pool)
    assert weights[0] == 0 and np.isclose(weights.sum(), 1.0)
    centre = ranked[:, pool].mean(axis=1)
    np.testing.assert_allclose(corr, [np.corrcoef(ranked[:, j], centre)[0, 1] for j in range(4)])


def test_stable_pool_keeps_the_most_stable_when_few_pass():
    stability = np.array([0.1, 0.99, 0.5, 0.2, 0.3, 0.4, 0.98])
    np.testing.assert_array_equal(stable_pool(stability, 0.97),
                                  [False, True, True, False, True, True, True])
    assert stable_pool(stability, 0.05).all()
    assert stable_pool(np.array([0.2, 0.1]), 0.9).all()


def test_rank_correlation_of_equal_and_constant_vectors():
    a = np.full(5, 0.6)
    assert rank_correlation(a, a.copy()) == 0.0  # a constant ranks nothing
    assert rank_correlation(a, np.arange(5.0)) == 0.0
    assert np.isclose(rank_correlation(np.arange(5.0), -np.arange(5.0)), -1.0)
    ranks = rank_normalise(np.random.default_rng(0).random(1000))
    assert rank_correlation(ranks, ranks.copy()) == 1.0  # not 0.9999999999999999


def test_numpy_seeds_and_the_largest_seed_pair_with_a_partner():
    X, _ = blobs(seed=5)
    small = {"reducers": ["none"], "metrics": ["l2"], "levels": [1], "stability_threshold": 0.97}
    for seed in (np.int32(5), np.uint32(2**32 - 1), 2**32 - 1):
        assert DramaSearch(**small, random_state=seed).fit(X).results_["stability"].notna().all()


def test_selection_says_when_too_few_reach_the_threshold():
    X, _ = blobs(n=600, seed=2)
    params = {**SMALL, "levels": [2, 3], "drama_params": {"max_cluster_samples": 40}}
    search = DramaSearch(**{**params, "stability_threshold": 0.99}).fit(X)
    assert (search.results_["stability"] >= 0.99).sum() < 5
    assert "the 5 most stable across two seeds (fewer reach" in search.selection_
