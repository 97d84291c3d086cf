"""The whole-set members: the set's mean and covariance, and the nearest training objects."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.covariance import ledoit_wolf

from drama import DramaSearch
from drama.metrics import auc_score
from drama.search import parse_config
from drama.whole_set import WholeSetMembers

NAMES = ("none|l2|0|input", "none|mahalanobis|0|input", "none|l2|1|neighbours",
         "none|l2|3|neighbours", "none|mahalanobis|2|neighbours")


def members(max_prototypes: int = 1000) -> WholeSetMembers:
    return WholeSetMembers([parse_config(n) for n in NAMES], max_prototypes)


def scaled(X: np.ndarray) -> np.ndarray:
    return (X - X.min(axis=0)) / np.ptp(X, axis=0)


def brute_kth(queries: np.ndarray, prototypes: np.ndarray, k: int,
              leave_out_self: bool) -> np.ndarray:
    d = np.linalg.norm(queries[:, None, :] - prototypes[None, :, :], axis=2)
    if leave_out_self:
        np.fill_diagonal(d, np.inf)
    return np.sort(d, axis=1)[:, k - 1]


def test_training_scores_are_worked_out_by_brute_force():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4)) * [1, 5, 0.1, 2]
    m = members()
    scores = m.fit(X)
    U = scaled(X)
    np.testing.assert_allclose(scores["none|l2|0|input"],
                               np.linalg.norm(U - U.mean(axis=0), axis=1), rtol=1e-12)
    cov = ledoit_wolf(U)[0]
    centred = U - U.mean(axis=0)
    maha = np.sqrt(np.einsum("ij,jk,ik->i", centred, np.linalg.inv(cov), centred))
    np.testing.assert_allclose(scores["none|mahalanobis|0|input"], maha, rtol=1e-8)
    for k in (1, 3):  # a training object is not its own neighbour
        np.testing.assert_allclose(scores[f"none|l2|{k}|neighbours"],
                                   brute_kth(U, U, k, leave_out_self=True), rtol=1e-12)
    white = centred @ np.linalg.cholesky(np.linalg.inv(cov))  # any whitening of that cov
    np.testing.assert_allclose(scores["none|mahalanobis|2|neighbours"],
                               brute_kth(white, white, 2, leave_out_self=True), rtol=1e-8)


def test_new_objects_meet_every_training_object_and_copies_get_the_training_score():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 3))
    m = members()
    train = m.fit(X)
    new = rng.normal(size=(7, 3))
    U, V = scaled(X), (new - X.min(axis=0)) / np.ptp(X, axis=0)
    np.testing.assert_allclose(m.score(new)["none|l2|3|neighbours"],
                               brute_kth(V, U, 3, leave_out_self=False), rtol=1e-12)
    again = m.score(X[[4, 17, 30]])  # scored alone or in a batch: the training scores
    for name, values in again.items():
        np.testing.assert_allclose(values, train[name][[4, 17, 30]], rtol=1e-12)


def test_a_training_object_after_a_new_one_in_a_batch_is_still_left_out_of_its_neighbours():
    # "the object itself" is found per row: a batch whose first row equals no prototype
    # must not shift where the later rows find themselves
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 3))
    m = members()
    train = m.fit(X)
    batch = m.score(np.vstack([X[:1] + 10.0, X[[7, 0]]]))
    for name, values in batch.items():
        np.testing.assert_allclose(values[1:], train[name][[7, 0]], rtol=1e-12)


def test_duplicates_are_neighbours_at_distance_zero():
    rng = np.random.default_rng(2)
    X = np.vstack([np.repeat(rng.normal(size=(1, 3)), 4, axis=0), rng.normal(size=(30, 3))])
    scores = members().fit(X)
    # each of the four copies has three others at distance 0; the 3rd is still one of them
    assert (scores["none|l2|3|neighbours"][:4] == 0).all()
    assert (scores["none|l2|1|neighbours"][4:] > 0).all()


def test_fewer_objects_than_k_take_the_farthest():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    m = WholeSetMembers([parse_config("none|l2|5|neighbours")], 10)
    scores = m.fit(X)["none|l2|5|neighbours"]
    U = scaled(X)
    np.testing.assert_allclose(scores, brute_kth(U, U, 2, leave_out_self=True))


def test_at_most_max_prototypes_evenly_spaced_objects_are_neighbours():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(100, 2))
    m = members(max_prototypes=10)
    scores = m.fit(X)
    U = scaled(X)
    P = U[np.linspace(0, 99, 10).astype(int)]
    np.testing.assert_array_equal(m.prototypes_, P)
    outside = np.setdiff1d(np.arange(100), np.linspace(0, 99, 10).astype(int))
    np.testing.assert_allclose(scores["none|l2|1|neighbours"][outside],
                               brute_kth(U[outside], P, 1, leave_out_self=False), rtol=1e-12)


@pytest.mark.parametrize("name, match", [
    ("none|cosine|1|neighbours", "Unknown whole-set member"),
    ("pca|l2|1|neighbours", "Unknown whole-set member"),
    ("none|l2|2|input", "tree configuration"),
    ("none|l2|one|neighbours", "reducer\\|metric\\|level\\|space"),
])
def test_bad_members_are_refused_before_any_work(name, match):
    with pytest.raises(ValueError, match=match):
        DramaSearch(members=[name]).check_grid(3)


def test_members_appear_in_the_results_and_survive_saving(tmp_path):
    rng = np.random.default_rng(4)
    X = np.vstack([rng.normal(size=(120, 4)), rng.normal(5, 1, size=(6, 4))])
    search = DramaSearch(levels=[1, 2], members=NAMES, random_state=0).fit(X)
    rows = search.results_.set_index("config").loc[list(NAMES)]
    assert (rows["stability"] == 1.0).all() and (rows["fit_time"] > 0).all()
    assert "whole-set members by Fisher's method" in search.selection_
    np.testing.assert_allclose(search.decision_function(X), search.decision_scores_,
                               rtol=1e-12)
    search.save(tmp_path / "s.drama")
    again = DramaSearch.load(tmp_path / "s.drama")
    new = rng.normal(size=(9, 4)) * 3
    np.testing.assert_array_equal(again.decision_function(new), search.decision_function(new))
    np.testing.assert_array_equal(again.config_scores(new, list(NAMES)),
                                  search.config_scores(new, list(NAMES)))


def test_no_members_is_the_tree_consensus_alone():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(80, 3))
    search = DramaSearch(levels=[1, 2], members=(), random_state=0).fit(X)
    assert not search.results_["space"].eq("neighbours").any()
    np.testing.assert_allclose(search.decision_scores_,
                               search.train_ranks_ @ search.results_["weight"].to_numpy())


def test_the_nearest_objects_find_anomalies_between_many_small_clusters():
    """Forty tight clusters, and anomalies half-way between two of them: a tree's few big
    leaves have prototypes near those points, the nearest training objects do not. Given
    their base weight (agreement power 0) the members find what the trees alone miss; the
    agreement weighting can silence them here, as they disagree with the trees (a limit
    of any consensus, docs/search.md)."""
    rng = np.random.default_rng(6)
    centres = rng.uniform(0, 10, size=(40, 5))
    normal = centres[rng.integers(0, 40, 2000)] + rng.normal(0, 0.1, size=(2000, 5))
    pairs = rng.integers(0, 40, size=(20, 2))
    between = (centres[pairs[:, 0]] + centres[pairs[:, 1]]) / 2
    X = np.vstack([normal, between])
    y = np.r_[np.zeros(2000), np.ones(20)]
    trees = DramaSearch(members=(), random_state=0).fit(X)
    blend = DramaSearch(agreement_power=0, random_state=0).fit(X)
    assert auc_score(y, blend.train_scores_["none|l2|1|neighbours"]) == 1.0
    assert auc_score(y, trees.decision_scores_) < 0.5
    assert auc_score(y, blend.decision_scores_) > 0.95


def test_wide_objects_skip_the_mahalanobis_members_and_still_save(tmp_path, monkeypatch):
    """A d x d covariance of a wide table would not fit in memory: above the limit the
    Mahalanobis members are left out, the Euclidean ones stay (limit lowered to test)."""
    import drama.whole_set as whole_set

    monkeypatch.setattr(whole_set, "MAHALANOBIS_MAX_FEATURES", 8)
    rng = np.random.default_rng(7)
    X = rng.normal(size=(60, 9))
    search = DramaSearch(levels=[1], members=NAMES, random_state=0).fit(X)
    configs = set(search.results_["config"])
    assert "none|l2|1|neighbours" in configs and "none|l2|0|input" in configs
    assert not any(c.startswith("none|mahalanobis") for c in configs)
    assert search.members_.whiten_ is None
    search.save(tmp_path / "wide.drama")
    again = DramaSearch.load(tmp_path / "wide.drama")
    np.testing.assert_array_equal(again.decision_function(X[:5]), search.decision_function(X[:5]))


def test_the_relevance_model_lives_in_the_whitened_space_of_the_members(tmp_path):
    rng = np.random.default_rng(8)
    X = np.vstack([rng.normal(size=(150, 30)), rng.normal(3, 1, size=(8, 30))])
    y = np.full(len(X), -1)
    y[[150, 151, 152]], y[:40] = 1, 0
    search = DramaSearch(levels=[1, 2], random_state=0).fit(X, y)
    m = search.members_
    expected = ((X - m.scaler_.offset_) / m.scaler_.scale_ - m.mean_) @ m.whiten_
    np.testing.assert_allclose(search.space_.coords, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(search.space_.project(X[:4]), expected[:4], rtol=1e-9,
                               atol=1e-12)
    assert "relevance model" in search.selection_
    search.save(tmp_path / "labelled.drama")
    again = DramaSearch.load(tmp_path / "labelled.drama")
    new = rng.normal(size=(6, 30))
    np.testing.assert_array_equal(again.decision_function(new), search.decision_function(new))
    robust = DramaSearch(levels=[1, 2], relevance_space="robust", random_state=0).fit(X, y)
    assert robust.space_.coords.shape == (len(X), 20)  # 20 principal axes of 30 features
    no_mahalanobis = DramaSearch(levels=[1, 2], members=("none|l2|1|neighbours",),
                                 random_state=0).fit(X, y)
    assert no_mahalanobis.space_.coords.shape == (len(X), 20)  # falls back to robust
    with pytest.raises(ValueError, match="relevance_space"):
        DramaSearch(relevance_space="cosine").check_grid(3)


def test_an_unknown_member_is_refused_with_examples_of_good_ones():
    from drama.whole_set import WHOLE_SET_METRICS, check_members

    cfg = parse_config("pca|l2|1|neighbours")
    with pytest.raises(ValueError) as caught:
        check_members([cfg])
    assert str(caught.value) == (
        f"Unknown whole-set member {cfg}: use reducer 'none', a metric of "
        f"{WHOLE_SET_METRICS} and level 0 in space 'input' or level k >= 1 in space "
        "'neighbours', e.g. 'none|mahalanobis|0|input' or 'none|l2|1|neighbours'.")


def test_mahalanobis_members_are_scored_up_to_exactly_the_width_limit():
    from drama.whole_set import MAHALANOBIS_MAX_FEATURES, _scored_at_width

    configs = [parse_config("none|l2|1|neighbours"), parse_config("none|mahalanobis|5|neighbours")]
    assert _scored_at_width(configs, MAHALANOBIS_MAX_FEATURES) == configs
    assert _scored_at_width(configs, MAHALANOBIS_MAX_FEATURES + 1) == configs[:1]


def test_the_largest_k_of_a_metric_sets_its_neighbour_search_whatever_the_order():
    members = WholeSetMembers([parse_config("none|l2|5|neighbours"),
                               parse_config("none|l2|1|neighbours"),
                               parse_config("none|mahalanobis|2|neighbours")], 100)
    assert members._spaces() == {"l2": 5, "mahalanobis": 2}


@pytest.mark.parametrize("edit", ["narrow prototypes", "flat prototypes", "no whitening",
                                  "short whitening"])
def test_saved_members_whose_arrays_do_not_fit_are_refused(edit):
    configs = [parse_config("none|mahalanobis|1|neighbours")]
    members = WholeSetMembers(configs, 50)
    members.fit(np.random.default_rng(0).normal(size=(40, 4)))
    meta, arrays = members.to_state()
    arrays = dict(arrays)
    if edit == "narrow prototypes":
        arrays["prototypes"] = arrays["prototypes"][:, :3]
    elif edit == "flat prototypes":
        arrays["prototypes"] = arrays["prototypes"][:, 0]
    elif edit == "no whitening":
        del arrays["whiten"]
    else:
        arrays["whiten"] = arrays["whiten"][:3]
    with pytest.raises(ValueError) as caught:
        WholeSetMembers.from_state(configs, meta, arrays)
    assert str(caught.value) == "the whole-set members' arrays do not fit together"
    WholeSetMembers.from_state(configs, *members.to_state())  # the unedited state loads
