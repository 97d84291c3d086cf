"""The binary divisive tree (docs/algorithm.md#tree): structure, consistency, reproducibility."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import drama.tree as tree_module
from drama import Drama
from drama.clustering import assign, split_centres
from drama.distances import METRICS
from drama.tree import SplitTree, TreeConfig

LINEAR = ("none", "pca", "ica", "nmf")


def _blobs(n_per: int = 40, d: int = 4, k: int = 8, seed: int = 0) -> np.ndarray:
    """k well-separated groups in [0, 1]^d (non-negative, so NMF applies)."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0.15, 0.85, size=(k, d))
    X = np.concatenate([c + 0.02 * rng.normal(size=(n_per, d)) for c in centres])
    return np.clip(X, 0.0, 1.0)


def _tree(reducer="pca", **kwargs) -> SplitTree:
    options = {"n_levels": 2, "keep_covariance": True, "random_state": 0}
    options.update(kwargs)
    config = TreeConfig(**{k: v for k, v in options.items() if k != "reducer_options"})
    return SplitTree(reducer, config, options.get("reducer_options"))


# metrics that grow with the distance from the data (Canberra and Bray-Curtis are relative
# and bounded, correlation measures shape): a far object must score above every other
MAGNITUDE_METRICS = ("l1", "l2", "l4", "wl2", "wl4", "chebyshev", "mahalanobis")


def _assert_far_ranked_first(tree: SplitTree, X: np.ndarray, far: np.ndarray,
                             metrics: list[str], levels: list[int], space: str = "input") -> None:
    """Scored beside the training objects, in one call, ``far`` comes first everywhere."""
    scores = tree.level_scores(np.vstack([X, far]), metrics, levels, space)
    for key, s in scores.items():
        assert np.isfinite(s).all() and s.shape == (len(X) + 1,), key
        assert s[-1] > s[:-1].max(), (space, key)


def _split_sizes(tree: SplitTree) -> list[tuple[int, int]]:
    split = [n for n in tree.nodes_ if n.children]
    split.sort(key=lambda n: n.children[0])
    return [(tree.nodes_[n.children[0]].size, tree.nodes_[n.children[1]].size) for n in split]


@pytest.mark.parametrize("n_levels", [1, 2, 3])
def test_level_has_up_to_two_to_the_l_leaves(n_levels):
    X = _blobs()
    tree = _tree(n_levels=n_levels).fit(X)
    assert len(tree.levels_) == n_levels + 1
    assert tree.levels_[0] == [0]
    for level, leaves in enumerate(tree.levels_):
        assert 1 <= len(leaves) <= 2**level
        assert len(set(leaves)) == len(leaves)
        assert all(tree.nodes_[i].depth <= level for i in leaves)
        # Every training object sits in exactly one leaf of every level.
        assert sum(tree.nodes_[i].size for i in leaves) == len(X)
    # Eight separated blobs of 40: every level splits fully.
    assert [len(level) for level in tree.levels_] == [2**level for level in range(n_levels + 1)]


@pytest.mark.parametrize("reducer", LINEAR)
def test_children_partition_their_parent(reducer):
    tree = _tree(reducer, n_levels=3).fit(_blobs())
    for node in tree.nodes_:
        if node.children:
            assert len(node.children) == 2
            assert sum(tree.nodes_[c].size for c in node.children) == node.size
            for c in node.children:
                assert tree.nodes_[c].depth == node.depth + 1
                assert tree.nodes_[c].path.startswith(node.path)


def test_level_one_of_identity_tree_is_the_nearest_centre_partition():
    X = _blobs(n_per=25, d=3, k=4, seed=5)
    tree = _tree("none", n_levels=1, max_cluster_samples=10_000).fit(X)
    # The root's codes are the objects themselves; Ward on all of them uses no randomness.
    centres = split_centres(X, "ward", 10_000, np.random.default_rng(123))
    nearest = np.argmin(((X[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
    children = tree.nodes_[0].children
    assert [tree.nodes_[c].size for c in children] == list(np.bincount(nearest, minlength=2))
    for g, c in enumerate(children):
        node = tree.nodes_[c]
        np.testing.assert_allclose(node.in_mean, X[nearest == g].mean(axis=0))
        np.testing.assert_allclose(node.latent_mean, X[nearest == g].mean(axis=0))
        np.testing.assert_allclose(node.prototype, node.in_mean)


@pytest.mark.parametrize("clustering", ["ward", "kmeans"])
@pytest.mark.parametrize("reducer", ["none", "pca"])
def test_every_node_is_labelled_by_nearest_centre(monkeypatch, reducer, clustering):
    """Whatever sample the clustering saw, the whole node is split by the nearest centre."""
    seen = []
    original = tree_module.split_centres

    def recording(Z, method, max_samples, rng):
        centres = original(Z, method, max_samples, rng)
        seen.append((Z.copy(), centres))
        return centres

    monkeypatch.setattr(tree_module, "split_centres", recording)
    X = _blobs(n_per=50, d=4, k=6, seed=2)  # 300 objects, Ward sees at most 40 per node
    tree = _tree(reducer, n_levels=3, clustering=clustering, max_cluster_samples=40).fit(X)
    expected = []
    for Z, centres in seen:
        if centres is None:
            continue
        nearest = np.argmin(((Z[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
        counts = np.bincount(nearest, minlength=2)
        if counts.min() > 0:
            expected.append((int(counts[0]), int(counts[1])))
    assert _split_sizes(tree) == expected
    assert len(expected) >= 3
    for leaves in tree.levels_:
        assert sum(tree.nodes_[i].size for i in leaves) == len(X)


def test_ward_on_more_than_max_cluster_samples_labels_every_object():
    X = _blobs(n_per=60, d=3, k=5, seed=4)  # 300 objects
    tree = _tree("pca", n_levels=2, max_cluster_samples=25).fit(X)
    root = tree.nodes_[0]
    assert root.children
    assert sum(tree.nodes_[c].size for c in root.children) == len(X)
    assert sum(tree.nodes_[i].size for i in tree.levels_[2]) == len(X)
    _assert_far_ranked_first(tree, X, np.full((1, 3), 3.0), ["l2"], [1, 2])


def test_assign_matches_nearest_centre_in_chunks():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(257, 3))
    centres = rng.normal(size=(2, 3))
    nearest = np.argmin(((Z[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
    np.testing.assert_array_equal(assign(Z, centres, chunk_values=16 * 6), nearest)  # 16 rows
    np.testing.assert_array_equal(assign(Z, centres), nearest)


def test_split_centres_refuses_a_single_distinct_point():
    rng = np.random.default_rng(0)
    assert split_centres(np.ones((10, 2)), "ward", 100, rng) is None
    assert split_centres(np.ones((1, 2)), "kmeans", 100, rng) is None


@pytest.mark.parametrize("min_node_size", [30, 60])
def test_min_node_size_keeps_small_nodes_as_leaves(min_node_size):
    rng = np.random.default_rng(1)
    # 70 + 40 + 10 objects in three groups: some nodes fall under the minimum early.
    X = np.concatenate([
        rng.normal(0.0, 0.05, size=(70, 3)),
        rng.normal(1.0, 0.05, size=(40, 3)),
        rng.normal(2.0, 0.05, size=(10, 3)),
    ])
    tree = _tree("pca", n_levels=3, min_node_size=min_node_size).fit(X)
    carried = 0
    for node in tree.nodes_:
        if node.children:
            assert node.size >= min_node_size
    for level in range(1, 3):
        for i in tree.levels_[level]:
            if tree.nodes_[i].size < min_node_size:
                assert not tree.nodes_[i].children
                assert i in tree.levels_[level + 1]
                carried += 1
    assert carried >= 1
    _assert_far_ranked_first(tree, X, np.array([[5.0, -3.0, 5.0]]), list(MAGNITUDE_METRICS),
                             [1, 2, 3])
    scores = tree.level_scores(X, list(METRICS), [1, 2, 3])
    assert all(np.isfinite(s).all() for s in scores.values())


def test_one_object_nodes_stay_leaves_and_score():
    X = np.array([[0.0, 0.0], [0.0, 0.1], [5.0, 5.0], [9.0, 0.0], [9.0, 0.2], [20.0, 20.0]])
    tree = _tree("none", n_levels=4, min_node_size=1).fit(X)
    for node in tree.nodes_:
        if node.size < 2:
            assert not node.children
    for space in ("input", "latent"):
        scores = tree.level_scores(X, list(METRICS), [1, 2, 3, 4], space)
        assert all(np.isfinite(s).all() for s in scores.values())
        # level 4: every object is a leaf of its own, so its own prototype; level 3: only
        # the pair at x = 9 still shares a leaf, whose prototype is 0.1 from each
        np.testing.assert_allclose(scores[(4, "l2")], 0.0, atol=1e-12)
        np.testing.assert_allclose(scores[(3, "l2")], [0, 0, 0, 0.1, 0.1, 0], atol=1e-12)
        _assert_far_ranked_first(tree, X, np.array([[40.0, -20.0]]), list(MAGNITUDE_METRICS),
                                 [1, 2, 3, 4], space)


@pytest.mark.parametrize("reducer", LINEAR)
def test_constant_data_does_not_split(reducer):
    X = np.full((40, 5), 0.25)
    tree = _tree(reducer, n_levels=3).fit(X)
    assert len(tree.nodes_) == 1
    assert tree.levels_ == [[0], [0], [0], [0]]
    for space in ("input", "latent"):
        scores = tree.level_scores(X, list(METRICS), [1, 2, 3], space)
        for s in scores.values():
            assert np.isfinite(s).all()
            # Identical objects score identically; NMF's prototype is only approximate.
            np.testing.assert_allclose(s, s[0], rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(s, 0.0, atol=1e-2 if reducer == "nmf" else 1e-9)


@pytest.mark.parametrize("reducer", LINEAR)
def test_constant_data_fits_without_numeric_warnings(reducer):
    """A constant node (all-constant data, or duplicates deeper down) is a normal case and
    must not leak NumPy/scikit-learn RuntimeWarnings to the user."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        _tree(reducer, n_levels=2).fit(np.zeros((30, 4)))


@pytest.mark.parametrize("clustering", ["ward", "kmeans"])
def test_clusterings_build_a_full_tree(clustering):
    X = _blobs()
    tree = _tree("pca", n_levels=2, clustering=clustering).fit(X)
    assert [len(level) for level in tree.levels_] == [1, 2, 4]


def test_unknown_clustering_is_refused():
    with pytest.raises(ValueError, match="clustering"):
        SplitTree("pca", TreeConfig(clustering="dbscan"))


def _assert_same_tree(a: SplitTree, b: SplitTree) -> None:
    assert a.levels_ == b.levels_
    assert len(a.nodes_) == len(b.nodes_)
    for na, nb in zip(a.nodes_, b.nodes_, strict=True):
        assert (na.path, na.size, na.depth, na.encoder, na.children) == (
            nb.path, nb.size, nb.depth, nb.encoder, nb.children
        )
        for name in ("latent_mean", "prototype", "in_mean", "in_sigma", "lat_sigma",
                     "lat_whiten", "in_whiten"):
            np.testing.assert_array_equal(getattr(na, name), getattr(nb, name))


@pytest.mark.parametrize("reducer", LINEAR)
def test_same_random_state_gives_identical_tree_and_scores(reducer):
    rng = np.random.default_rng(11)
    X = rng.uniform(size=(150, 5))
    a = _tree(reducer, n_levels=3, random_state=42, max_cluster_samples=60).fit(X)
    b = _tree(reducer, n_levels=3, random_state=42, max_cluster_samples=60).fit(X)
    _assert_same_tree(a, b)
    for space in ("input", "latent"):
        sa = a.level_scores(X, list(METRICS), [1, 2, 3], space)
        sb = b.level_scores(X, list(METRICS), [1, 2, 3], space)
        for key in sa:
            np.testing.assert_array_equal(sa[key], sb[key])


@pytest.mark.parametrize("reducer", LINEAR)
def test_scores_finite_for_every_level_metric_and_space(reducer):
    X = _blobs(n_per=20)
    tree = _tree(reducer, n_levels=3).fit(X)
    for space in ("input", "latent"):
        scores = tree.level_scores(X, list(METRICS), [1, 2, 3], space)
        assert set(scores) == {(lv, m) for lv in (1, 2, 3) for m in METRICS}
        for key, s in scores.items():
            assert s.shape == (len(X),), key
            assert np.isfinite(s).all(), key
            assert (s >= 0).all(), key
            assert np.ptp(s) > 0, key  # they rank the objects
        _assert_far_ranked_first(tree, X, np.full((1, 4), 3.0), list(MAGNITUDE_METRICS),
                                 [1, 2, 3], space)


@pytest.mark.parametrize("space", ["input", "latent"])
@pytest.mark.parametrize("metric", ["l2", "wl4", "correlation", "mahalanobis"])
def test_level_scores_are_the_min_over_that_levels_leaves(space, metric):
    X = _blobs(n_per=15)
    tree = _tree("pca", n_levels=3, min_leaf_share=0.0).fit(X)
    scores = tree.level_scores(X, [metric], [1, 2, 3], space)
    for level in (1, 2, 3):
        dist = tree.node_distances(X, metric, space, tree.levels_[level])
        assert dist.shape == (len(X), len(tree.levels_[level]))
        np.testing.assert_allclose(scores[(level, metric)], dist.min(axis=1), rtol=1e-12)


def _uneven() -> np.ndarray:
    rng = np.random.default_rng(1)
    return np.concatenate([
        rng.normal(0.0, 0.05, size=(70, 3)),
        rng.normal(1.0, 0.05, size=(40, 3)),
        rng.normal(2.0, 0.05, size=(10, 3)),
    ])


@pytest.mark.parametrize("share", [0.0, 0.1, 0.3])
@pytest.mark.parametrize("space", ["input", "latent"])
def test_level_scores_use_only_leaves_with_enough_objects(space, share):
    X = _uneven()
    tree = _tree("pca", n_levels=3, min_leaf_share=share).fit(X)
    scores = tree.level_scores(X, ["l2", "mahalanobis"], [1, 2, 3], space)
    for level in (1, 2, 3):
        leaves = tree.levels_[level]
        big = [i for i in leaves if tree.nodes_[i].size >= share * len(X)]
        big = big or [max(leaves, key=lambda i: tree.nodes_[i].size)]
        assert tree.prototypes(level) == big
        if share == 0.0:
            assert big == leaves
        for metric in ("l2", "mahalanobis"):
            dist = tree.node_distances(X, metric, space, big)
            np.testing.assert_allclose(scores[(level, metric)], dist.min(axis=1), rtol=1e-12)


def test_without_a_big_enough_leaf_the_largest_serves():
    X = _uneven()
    tree = _tree("pca", n_levels=2, min_leaf_share=0.9).fit(X)
    for level in (1, 2):
        leaves = tree.levels_[level]
        largest = max(leaves, key=lambda i: tree.nodes_[i].size)
        assert tree.prototypes(level) == [largest]
        scores = tree.level_scores(X, ["l1"], [level])[(level, "l1")]
        np.testing.assert_allclose(scores, tree.node_distances(X, "l1", "input", [largest])[:, 0])


def test_input_space_distance_is_to_the_decoded_prototype():
    X = _blobs(n_per=15)
    tree = _tree("pca", n_levels=2).fit(X)
    leaves = tree.levels_[2]
    dist = tree.node_distances(X, "l2", "input", leaves)
    P = np.stack([tree.nodes_[i].prototype for i in leaves])
    np.testing.assert_allclose(dist, np.linalg.norm(X[:, None, :] - P[None], axis=2), rtol=1e-12)
    for i in leaves:
        node = tree.nodes_[i]
        decoded = tree.reducers_[node.encoder].decode(node.latent_mean[None, :]).reshape(-1)
        np.testing.assert_allclose(node.prototype, decoded)


def test_latent_space_distance_uses_each_leafs_own_encoder():
    X = _blobs(n_per=15)
    tree = _tree("pca", n_levels=2).fit(X)
    leaves = tree.levels_[2]
    dist = tree.node_distances(X, "l2", "latent", leaves)
    for col, i in enumerate(leaves):
        node = tree.nodes_[i]
        Z = tree.reducers_[node.encoder].encode(X)
        np.testing.assert_allclose(dist[:, col], np.linalg.norm(Z - node.latent_mean, axis=1))


@pytest.mark.parametrize("space", ["input", "latent"])
def test_scores_stay_aligned_with_objects(space):
    """Permuting the objects permutes the scores at every level (no mis-alignment)."""
    X = _blobs(n_per=15)
    tree = _tree("pca", n_levels=3).fit(X)
    perm = np.random.default_rng(0).permutation(len(X))
    base = tree.level_scores(X, ["l1", "mahalanobis"], [1, 2, 3], space)
    moved = tree.level_scores(X[perm], ["l1", "mahalanobis"], [1, 2, 3], space)
    for key in base:
        np.testing.assert_allclose(moved[key], base[key][perm], rtol=1e-10)


def test_training_objects_are_closest_to_their_own_region():
    """Objects of a far blob score near zero; a far-away point scores high."""
    X = _blobs(n_per=30, d=3, k=4, seed=9)
    tree = _tree("pca", n_levels=2).fit(X)
    far = np.full((1, 3), 5.0)
    train = tree.level_scores(X, ["l2"], [2])[(2, "l2")]
    outlier = tree.level_scores(far, ["l2"], [2])[(2, "l2")]
    assert outlier[0] > 10 * train.max()


def test_without_covariances_mahalanobis_is_refused_with_advice():
    X = _blobs(n_per=15)
    tree = _tree("pca", keep_covariance=False).fit(X)
    with pytest.raises(ValueError, match="mahalanobis"):
        tree.level_scores(X, ["mahalanobis"], [1])
    # the other metrics score as the tree with covariances does
    with_cov = _tree("pca", keep_covariance=True).fit(X).level_scores(X, ["wl2"], [2])
    np.testing.assert_array_equal(tree.level_scores(X, ["wl2"], [2])[(2, "wl2")],
                                  with_cov[(2, "wl2")])
    _assert_far_ranked_first(tree, X, np.full((1, 4), 3.0), ["wl2"], [2])


def test_image_shaped_input():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(60, 4, 4))
    tree = _tree("pca", n_levels=2).fit(X)
    assert tree.sample_shape_ == (4, 4)
    assert tree.nodes_[0].prototype.shape == (16,)
    flat = _tree("pca", n_levels=2).fit(X.reshape(60, 16))
    for space in ("input", "latent"):
        scores = tree.level_scores(X, list(METRICS), [1, 2], space)
        assert all(s.shape == (60,) and np.isfinite(s).all() for s in scores.values())
        # the image shape is only a shape: the scores of the flattened objects
        flat_scores = flat.level_scores(X.reshape(60, 16), list(METRICS), [1, 2], space)
        for key, s in scores.items():
            assert np.ptp(s) > 0, (space, key)
            np.testing.assert_array_equal(s, flat_scores[key], err_msg=str((space, key)))
        _assert_far_ranked_first(tree, X, np.full((1, 4, 4), 3.0), list(MAGNITUDE_METRICS),
                                 [1, 2], space)


def test_keeping_covariances_does_not_change_the_tree():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (4500, 3)), rng.normal(3, 1, (600, 3))])
    plain = Drama(reducer="pca", random_state=0).fit(X)
    with_cov = Drama(reducer="pca", keep_covariance=True, random_state=0).fit(X)
    np.testing.assert_array_equal(plain.decision_scores_, with_cov.decision_scores_)
