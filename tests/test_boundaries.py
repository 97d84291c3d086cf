"""Boundaries and rules that a one-character change would break unnoticed (issue 21's list):
a pickled payload in a model file, a leaf of exactly the minimum share, a node of exactly
the minimum size, the rounding of the ensemble size, a constant configuration, and a
top_k larger than the pool."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

from drama import Drama, DramaSearch
from drama.search import auc_standard_error, consensus_weights
from drama.tree import SplitTree, TreeConfig


class _TouchOnLoad:
    """Unpickling this creates ``marker``: proof that a payload ran."""

    def __init__(self, marker: pathlib.Path):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def test_a_pickled_payload_in_a_model_file_is_refused_and_never_runs(tmp_path):
    X = np.random.default_rng(0).normal(size=(40, 3))
    path = tmp_path / "model.npz"
    Drama(random_state=0).fit(X).save(path)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    marker = tmp_path / "payload-ran"
    arrays["decision_scores"] = np.array([_TouchOnLoad(marker)], dtype=object)
    bad = tmp_path / "pickled.npz"
    with open(bad, "wb") as handle:
        np.savez(handle, **arrays)  # numpy pickles the object array
    with pytest.raises(ValueError, match="member 'decision_scores' holds object, not numbers"):
        Drama.load(bad)
    assert not marker.exists()


def _two_groups(small: int, large: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.vstack([rng.normal(0.0, 0.01, (large, 2)), rng.normal(5.0, 0.01, (small, 2))])


def test_a_leaf_of_exactly_the_minimum_share_is_a_prototype():
    X = _two_groups(small=10, large=90)  # 10 = 0.1 x 100 exactly
    tree = SplitTree("none", TreeConfig(n_levels=1, min_leaf_share=0.1, random_state=0)).fit(X)
    sizes = sorted(tree.nodes_[i].size for i in tree.prototypes(1))
    assert sizes == [10, 90]
    # one object fewer and the small leaf no longer counts
    X = _two_groups(small=10, large=91)
    tree = SplitTree("none", TreeConfig(n_levels=1, min_leaf_share=0.1, random_state=0)).fit(X)
    assert sorted(tree.nodes_[i].size for i in tree.prototypes(1)) == [91]


def test_a_node_of_exactly_the_minimum_size_is_split():
    rng = np.random.default_rng(0)
    # the 12-object group holds two tight pairs of 6: at min_node_size=12 it splits, at 13 not
    group = np.vstack([rng.normal(5.0, 0.01, (6, 2)), rng.normal(8.0, 0.01, (6, 2))])
    X = np.vstack([rng.normal(0.0, 0.01, (60, 2)), group])
    for minimum, splits in ((12, True), (13, False)):
        tree = SplitTree("none", TreeConfig(n_levels=2, min_node_size=minimum,
                                            min_leaf_share=0.0, random_state=0)).fit(X)
        node = next(tree.nodes_[i] for i in tree.levels_[1] if tree.nodes_[i].size == 12)
        assert bool(node.children) is splits


def test_the_ensemble_size_rounds_to_the_nearest_count():
    ranked = np.random.default_rng(0).random((50, 13))
    _, weights = consensus_weights(ranked, share=0.2)  # 2.6 configurations -> 3
    assert (weights > 0).sum() == 3
    np.testing.assert_allclose(weights[weights > 0], 1 / 3)
    _, weights = consensus_weights(ranked, share=0.18)  # 2.34 -> 2
    assert (weights > 0).sum() == 2


def test_a_constant_configuration_never_agrees():
    rng = np.random.default_rng(0)
    base = rng.random(60)
    ranked = np.column_stack([base, base + 0.01 * rng.random(60), np.full(60, 0.5),
                              rng.random(60)])
    agreement, weights = consensus_weights(ranked, share=0.75)
    assert agreement[2] == -1.0
    assert weights[2] == 0 and (weights > 0).sum() == 3


def test_top_k_larger_than_the_pool_averages_every_configuration():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(80, 3)), rng.normal(6, 1, (4, 3))])
    y = np.full(len(X), -1)
    y[[80, 81]], y[:10] = 1, 0
    search = DramaSearch(reducers=["none"], metrics=["l2", "l1"], levels=[1, 2], top_k=100,
                         relevance_alpha=None, stability_threshold=None, members=(),
                         random_state=0).fit(X, y)
    assert len(search.results_) == 4 and "top-4" in search.selection_
    # the top-k candidate is the plain mean of all four rank columns, worked out here
    mean_rank = search.train_ranks_.mean(axis=1)
    anomalies, normals = mean_rank[[80, 81]], mean_rank[:10]
    pairs = (anomalies[:, None] > normals[None, :]) + 0.5 * (anomalies[:, None] == normals)
    assert search.label_auc_["top_k"] == pytest.approx(pairs.mean())


def test_hanley_mcneil_standard_error_worked_out_by_hand():
    # AUC 0.8, 5 anomalies, 20 normals: Q1 = 0.8 / 1.2 = 2/3, Q2 = 2 x 0.64 / 1.8 = 32/45,
    # var = (0.16 + 4 (2/3 - 0.64) + 19 (32/45 - 0.64)) / 100 = (364/225) / 100
    assert auc_standard_error(np.array([0.8]), 5, 20)[0] == pytest.approx(np.sqrt(364) / 150,
                                                                          rel=1e-12)


def test_the_standard_error_guard_decides_between_labels_and_consensus():
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(size=(400, 4)), rng.uniform(-7, 7, size=(30, 4)),
                   rng.normal((0, 0, 1.2, -1.2), 0.1, size=(20, 4))])
    labels = np.full(len(X), -1)
    labels[430:434], labels[:200] = 1, 0
    search = DramaSearch(reducers=["none", "pca"], metrics=["l2", "l1", "chebyshev", "wl2"],
                         levels=[1, 2, 3], relevance_alpha=None, members=(),
                         stability_threshold=0.97, random_state=0).fit(X, labels)
    gain = search.label_auc_["top_k"] - search.label_auc_["consensus"]
    se = auc_standard_error(np.array([search.label_auc_["consensus"]]), 4, 200)[0]
    assert 0 < gain / se < 2  # the labels win by a fraction of a standard error
    for guard, labels_win in ((0.95 * gain / se, True), (1.05 * gain / se, False)):
        search.set_params(guard_se=guard).select(labels)
        assert search.selection_.startswith("labels:") is labels_win, search.selection_


def test_ties_keep_the_input_order_beyond_sixteen_objects():
    from drama.metrics import precision_at_k, ranking

    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, size=200).astype(float)  # many long runs of ties
    brute = sorted(range(len(scores)), key=lambda i: (-scores[i], i))  # stable by hand
    np.testing.assert_array_equal(ranking(scores), brute)
    y = rng.integers(0, 2, size=200)
    for k in (7, 50, 133):
        assert precision_at_k(y, scores, k) == pytest.approx(y[brute[:k]].mean())


def test_the_exploring_pick_goes_far_from_the_labels():
    from drama.active.strategies import balanced

    # objects 0-3 labelled; 4-5 near them with the highest prior; 6-7 far away
    dist = np.array([0.0, 0.0, 0.0, 0.0, 0.5, 1.0, 3.0, 5.0])
    prior = np.array([0.9, 0.9, 0.9, 0.9, 0.99, 0.98, 0.6, 0.4])
    score = prior.copy()
    labelled = np.r_[np.ones(4, bool), np.zeros(4, bool)]
    picks = balanced(score, labelled, 1, prior=prior, distance=lambda: dist, n_asked=3,
                     explore_every=4, far=2.0)
    assert picks[0][0] == 6 and picks[0][1].startswith("explore: anomalous object")
    # nothing beyond `far`: the object farthest from every label
    picks = balanced(score, labelled, 1, prior=prior, distance=lambda: dist, n_asked=3,
                     explore_every=4, far=10.0)
    assert picks[0] == (7, "explore: the object farthest from every label")
    # not an exploring turn: the top score
    assert balanced(score, labelled, 1, prior=prior, distance=lambda: dist, n_asked=1,
                    explore_every=4)[0][0] == 4
