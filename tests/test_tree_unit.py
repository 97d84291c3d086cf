"""The tree's rules one at a time, on examples small enough to work out by hand: which nodes
split, which leaves count as prototypes, and which edited saved trees are refused (each with
the reason that names what is wrong). Fast on purpose: tools/mutation.py runs this file once
per mutant of src/drama/tree.py."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest

import drama.tree as tree_module
from drama.tree import SplitTree, TreeConfig


def _four_blobs() -> np.ndarray:
    """60 objects in 3-D: blobs of 15 around four corners of the unit cube."""
    rng = np.random.default_rng(0)
    corners = ([0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 1])
    return np.vstack([rng.normal(c, 0.05, (15, 3)) for c in corners])


@pytest.fixture(scope="module")
def state() -> tuple[dict, dict[str, np.ndarray]]:
    """A saved two-level PCA tree that keeps covariances. Its nodes: 0 (60 objects) splits
    into 1 (15) and 2 (45); 1 into 3 and 4, 2 into 5 and 6. Reducer 0 is the root's, 1 node
    1's and 2 node 2's."""
    config = TreeConfig(n_levels=2, keep_covariance=True, min_node_size=4, random_state=0)
    meta, arrays = SplitTree("pca", config).fit(_four_blobs()).to_state()
    assert [n["children"] for n in meta["nodes"]] == [[1, 2], [3, 4], [5, 6], [], [], [], []]
    assert [n["encoder"] for n in meta["nodes"]] == [0, 0, 0, 1, 1, 2, 2]
    return meta, arrays


def _load(state, edit=None) -> SplitTree:
    meta, arrays = copy.deepcopy(state)
    if edit is not None:
        edit(meta, arrays)
    return SplitTree.from_state("pca", meta, arrays)


def test_an_unedited_state_loads_and_scores_as_the_fitted_tree(state):
    X = _four_blobs()
    config = TreeConfig(n_levels=2, keep_covariance=True, min_node_size=4, random_state=0)
    fitted = SplitTree("pca", config).fit(X)
    loaded = _load(state)
    for space in ("input", "latent"):
        want = fitted.level_scores(X, ["l2", "mahalanobis"], [1, 2], space)
        got = loaded.level_scores(X, ["l2", "mahalanobis"], [1, 2], space)
        assert got.keys() == want.keys()
        for key in want:
            np.testing.assert_array_equal(got[key], want[key], err_msg=str((space, key)))


def _set_node(i, **values):
    return lambda meta, arrays: meta["nodes"][i].update(values)


def _set_array(name, value):
    def edit(meta, arrays):
        arrays[name] = value(arrays[name]) if callable(value) else value
    return edit


def _drop_array(name):
    return lambda meta, arrays: arrays.pop(name)


def _set_levels(levels):
    return lambda meta, arrays: meta.update(levels=levels)


EDITS = [
    # what is edited, the edit, the exact reason the tree gives
    ("no nodes", lambda m, a: m.update(nodes=[]), "the tree has no nodes or no reducers"),
    ("no reducers", lambda m, a: m.update(reducers=[]), "the tree has no nodes or no reducers"),
    ("negative depth", _set_node(0, depth=-1),
     "node 0 ('')'s depth must be an integer >= 0; got -1."),
    ("fractional size", _set_node(0, size=2.5),
     "node 0 ('')'s size must be an integer >= 0; got 2.5."),
    ("boolean encoder", _set_node(5, encoder=True),
     "node 5 ('10')'s encoder must be an integer >= 0; got True."),
    ("encoder past the reducers", _set_node(6, encoder=3),
     "node 6 ('11') has encoder 3 of 3 or size 30"),
    ("empty node", _set_node(0, size=0), "node 0 ('') has encoder 0 of 3 or size 0"),
    ("children not a list", _set_node(1, children="34"), "node 1 ('0') has children '34'"),
    ("one child", _set_node(1, children=[3]), "node 1 ('0') has children [3]"),
    ("three children", _set_node(1, children=[3, 4, 5]), "node 1 ('0') has children [3, 4, 5]"),
    ("boolean child", _set_node(0, children=[True, 2]), "node 0 ('') names child True"),
    ("child that is text", _set_node(0, children=["1", 2]), "node 0 ('') names child '1'"),
    ("the root as a child", _set_node(1, children=[0, 4]), "node 1 ('0') names child 0"),
    ("child past the nodes", _set_node(2, children=[5, 7]), "node 2 ('1') names child 7"),
    ("a child twice", _set_node(2, children=[3, 6]), "node 2 ('1') names child 3"),
    ("child not one level deeper", _set_node(5, depth=3),
     "node 2 ('1')'s child 5 is not one level deeper"),
    ("children that do not add up", _set_node(5, size=14),
     "node 2 ('1')'s children do not share its 45 objects"),
    ("short prototype", _set_array("node4/prototype", lambda v: v[:2]),
     "node 4 ('01')'s prototype is not of shape (3,)"),
    ("2-D input mean", _set_array("node0/in_mean", lambda v: v[None, :]),
     "node 0 ('')'s in_mean is not of shape (3,)"),
    ("long input spread", _set_array("node2/in_sigma", lambda v: np.append(v, 1.0)),
     "node 2 ('1')'s in_sigma is not of shape (3,)"),
    ("latent width unlike its encoder's first node",
     _set_array("node2/latent_mean", lambda v: np.append(v, 0.0)),
     "node 2 ('1')'s latent_mean is not of shape (2,)"),
    ("short latent spread", _set_array("node6/lat_sigma", lambda v: v[:1]),
     "node 6 ('11')'s lat_sigma is not of shape (2,)"),
    ("missing input whitening", _drop_array("node3/in_whiten"),
     "node 3 ('00')'s in_whiten is not of shape (3, 3)"),
    ("latent whitening of the input's shape", _set_array("node5/lat_whiten", np.eye(3)),
     "node 5 ('10')'s lat_whiten is not of shape (2, 2)"),
    ("zero input spread", _set_array("node4/in_sigma", lambda v: np.r_[v[:2], 0.0]),
     "node 4 ('01') has a spread that is not positive"),
    ("negative latent spread", _set_array("node1/lat_sigma", lambda v: -v),
     "node 1 ('0') has a spread that is not positive"),
    ("zero latent spread", _set_array("node2/lat_sigma", lambda v: np.r_[v[:1], 0.0]),
     "node 2 ('1') has a spread that is not positive"),
    ("every node one level deeper", lambda m, a: [n.update(depth=n["depth"] + 1)
                                                  for n in m["nodes"]],
     "the nodes do not form one tree from the root"),
    ("orphaned nodes", lambda m, a: (_set_node(2, children=[])(m, a),
                                     m.update(levels=[[0], [1, 2], [3, 4, 2]])),
     "the nodes do not form one tree from the root"),
    ("levels not a list", _set_levels("[[0]]"), "the levels do not name the tree's nodes"),
    ("a level missing", _set_levels([[0], [1, 2]]), "the levels do not name the tree's nodes"),
    ("a level too many", _set_levels([[0], [1, 2], [3, 4, 5, 6], [3]]),
     "the levels do not name the tree's nodes"),
    ("level 0 not the root", _set_levels([[1], [1, 2], [3, 4, 5, 6]]),
     "the levels do not name the tree's nodes"),
    ("an empty level", _set_levels([[0], [], [3, 4, 5, 6]]),
     "the levels do not name the tree's nodes"),
    ("a level that is a number", _set_levels([[0], 1, [3, 4, 5, 6]]),
     "the levels do not name the tree's nodes"),
    ("a boolean node", _set_levels([[0], [True, 2], [3, 4, 5, 6]]),
     "the levels do not name the tree's nodes"),
    ("a fractional node", _set_levels([[0], [1.0, 2], [3, 4, 5, 6]]),
     "the levels do not name the tree's nodes"),
    ("a negative node", _set_levels([[0], [1, 2], [3, 4, 5, -1]]),
     "the levels do not name the tree's nodes"),
    ("a node past the end", _set_levels([[0], [1, 2], [3, 4, 5, 7]]),
     "the levels do not name the tree's nodes"),
]


@pytest.mark.parametrize("what, edit, reason", EDITS, ids=[e[0] for e in EDITS])
def test_an_edited_saved_tree_is_refused_with_its_reason(state, what, edit, reason):
    with pytest.raises(ValueError) as caught:
        _load(state, edit)
    assert str(caught.value) == reason


def test_the_last_node_may_be_a_child_and_the_last_level_may_name_it(state):
    """The bounds are exclusive of the node count only: node 6, the last, is valid."""
    tree = _load(state)
    assert tree.nodes_[2].children == [5, 6] and 6 in tree.levels_[2]


def test_a_saved_tree_with_one_object_leaves_loads():
    """Size 1 is the smallest valid node: a lone object far from the rest is its own leaf."""
    X = np.vstack([np.random.default_rng(0).normal(0.0, 0.1, (9, 2)), [[50.0, 50.0]]])
    tree = SplitTree("pca", TreeConfig(n_levels=1, min_node_size=2, random_state=0)).fit(X)
    assert sorted(n.size for n in tree.nodes_) == [1, 9, 10]
    loaded = SplitTree.from_state("pca", *tree.to_state())
    assert [n.size for n in loaded.nodes_] == [n.size for n in tree.nodes_]


def test_a_latent_mean_that_is_not_a_vector_is_refused(state):
    edit = _set_array("node0/latent_mean", lambda v: np.asarray(v[0]))
    with pytest.raises(ValueError) as caught:
        _load(state, edit)
    assert str(caught.value) == "node 0 ('')'s latent_mean is not of shape (-1,)"


def test_a_tree_without_covariances_needs_no_whitening(state):
    def drop_whitening(meta, arrays):
        meta["tree"]["keep_covariance"] = False
        for name in [k for k in arrays if k.endswith("_whiten")]:
            del arrays[name]
    tree = _load(state, drop_whitening)
    assert all(n.in_whiten is None and n.lat_whiten is None for n in tree.nodes_)


def test_a_node_without_its_prototype_names_the_missing_array(state):
    with pytest.raises(ValueError, match=r"^node 5 has no prototype array$"):
        _load(state, _drop_array("node5/prototype"))


@pytest.mark.parametrize("name", ["latent_mean", "in_mean", "in_sigma", "lat_sigma"])
def test_every_statistic_a_node_needs_is_required(state, name):
    with pytest.raises(ValueError, match=rf"^node 2 has no {name} array$"):
        _load(state, _drop_array(f"node2/{name}"))


def test_a_reducer_whose_arrays_do_not_fit_the_codes_is_refused(state):
    """The second reducer's mixing holds one latent dimension instead of two: decoding a
    saved two-value code with it cannot work."""
    edit = _set_array("reducer1/mixing", lambda v: v[:, :1])
    with pytest.raises(ValueError, match=r"^reducer 1 does not fit the tree's objects: "):
        _load(state, edit)


def test_a_reducer_that_maps_to_non_finite_values_is_refused(state):
    edit = _set_array("reducer2/mixing", lambda v: np.full_like(v, np.nan))
    with pytest.raises(ValueError) as caught:
        _load(state, edit)
    assert str(caught.value) == ("reducer 2 does not map the tree's objects and codes to "
                                 "finite values of the saved widths")


# ---------------------------------------------------------------- what a split keeps
def _two_groups_with_a_constant_column() -> np.ndarray:
    """Four identical objects and four that differ only in column 1; column 2 is constant."""
    same = np.tile([0.0, 0.0, 5.0], (4, 1))
    varied = np.column_stack([np.full(4, 10.0), [1.0, 2.0, 3.0, 4.0], np.full(4, 5.0)])
    return np.vstack([same, varied])


def _identity_tree(**options) -> SplitTree:
    config = TreeConfig(n_levels=1, min_node_size=2, random_state=0, **options)
    return SplitTree("none", config).fit(_two_groups_with_a_constant_column())


def test_spreads_are_floored_at_a_tenth_of_the_training_spread():
    """Worked out by hand: the training spreads are 5 (column 0), s1 = std(0,0,0,0,1,2,3,4)
    (column 1) and 0 (column 2, constant). The floor is a tenth of each varying spread and,
    for the constant column, a tenth of their mean."""
    s1 = np.sqrt(np.mean((np.array([0, 0, 0, 0, 1, 2, 3, 4]) - 1.25) ** 2))
    floor = np.array([0.5, 0.1 * s1, 0.1 * (5.0 + s1) / 2])
    tree = _identity_tree()
    root, same, varied = tree.nodes_[0], tree.nodes_[1], tree.nodes_[2]
    assert (same.size, varied.size) == (4, 4) and root.children == [1, 2]
    np.testing.assert_allclose(root.in_sigma, [5.0, s1, floor[2]])
    np.testing.assert_allclose(same.in_sigma, floor)
    np.testing.assert_allclose(varied.in_sigma, [0.5, np.sqrt(1.25), floor[2]])
    # under reducer "none" the codes are the objects: the latent floors are the same
    for node in (root, same, varied):
        np.testing.assert_allclose(node.lat_sigma, node.in_sigma)
    np.testing.assert_allclose(same.in_mean, [0.0, 0.0, 5.0])
    np.testing.assert_allclose(varied.prototype, [10.0, 2.5, 5.0])
    np.testing.assert_allclose(varied.latent_mean, [10.0, 2.5, 5.0])
    assert [n.path for n in tree.nodes_] == ["", "0", "1"]
    assert [n.depth for n in tree.nodes_] == [0, 1, 1]
    assert tree.levels_ == [[0], [1, 2]]


def test_when_nothing_varies_the_floor_is_one():
    X = np.full((6, 2), 3.0)
    tree = SplitTree("none", TreeConfig(n_levels=1, min_node_size=2)).fit(X)
    assert len(tree.nodes_) == 1
    np.testing.assert_array_equal(tree.nodes_[0].in_sigma, [1.0, 1.0])
    np.testing.assert_array_equal(tree.nodes_[0].lat_sigma, [1.0, 1.0])


def test_tiny_latent_codes_still_vary():
    """Whether a latent dimension varies is judged against the codes' own size: codes of
    about 1e-13 that spread are floored at a tenth of their spread, not at the typical 1."""
    Z = 1e-13 * np.array([[1.0, -2.0], [-1.0, 2.0], [3.0, 0.0], [-3.0, 0.0]])
    np.testing.assert_allclose(SplitTree._latent_floor(Z), 0.1 * Z.std(axis=0), rtol=1e-12)


def test_the_whitening_of_identical_objects_is_floored_by_the_training_variance():
    """Four identical objects have no covariance: every eigenvalue is raised to the floor,
    1e-4 x the mean training variance in input space and the mean squared latent floor in
    latent space, so W W^T = I / floor."""
    s1 = np.sqrt(np.mean((np.array([0, 0, 0, 0, 1, 2, 3, 4]) - 1.25) ** 2))
    eig_floor = 1e-4 * (25.0 + s1**2 + 0.0) / 3
    lat_floor = np.array([0.5, 0.1 * s1, 0.1 * (5.0 + s1) / 2])
    same = _identity_tree(keep_covariance=True).nodes_[1]
    np.testing.assert_allclose(same.in_whiten @ same.in_whiten.T, np.eye(3) / eig_floor)
    np.testing.assert_allclose(same.lat_whiten @ same.lat_whiten.T,
                               np.eye(3) / np.mean(lat_floor**2))


def test_a_tiny_training_variance_keeps_the_absolute_eigenvalue_floor():
    """Values of about 1e-5 have variances near 1e-10: 1e-4 of that is below 1e-12, which is
    the floor then kept."""
    X = _two_groups_with_a_constant_column() * 1e-6
    tree = SplitTree("none", TreeConfig(n_levels=1, min_node_size=2, keep_covariance=True,
                                        random_state=0)).fit(X)
    same = tree.nodes_[1]
    np.testing.assert_allclose(same.in_whiten @ same.in_whiten.T, np.eye(3) / 1e-12)


def test_covariances_of_a_large_node_come_from_evenly_spaced_members(monkeypatch):
    """Above COVARIANCE_SAMPLES members, the covariance is estimated from that many members
    spaced evenly through the node: here 2 of the 4 varied objects, the first and the last."""
    from drama.distances import whitening

    monkeypatch.setattr(tree_module, "COVARIANCE_SAMPLES", 2)
    tree = _identity_tree(keep_covariance=True)
    X = _two_groups_with_a_constant_column()
    eig_floor = max(1e-12, 1e-4 * float(np.mean(X.std(axis=0) ** 2)))
    np.testing.assert_allclose(tree.nodes_[2].in_whiten, whitening(X[[4, 7]], eig_floor))
    s1 = np.sqrt(np.mean((np.array([0, 0, 0, 0, 1, 2, 3, 4]) - 1.25) ** 2))
    lat_floor = np.array([0.5, 0.1 * s1, 0.1 * (5.0 + s1) / 2])  # the codes are the objects
    np.testing.assert_allclose(tree.nodes_[2].lat_whiten,
                               whitening(X[[4, 7]], float(np.mean(lat_floor**2))))
    # a node of at most COVARIANCE_SAMPLES members uses each of them once
    for samples in (4, 6):
        monkeypatch.setattr(tree_module, "COVARIANCE_SAMPLES", samples)
        tree = _identity_tree(keep_covariance=True)
        np.testing.assert_allclose(tree.nodes_[2].in_whiten, whitening(X[4:], eig_floor))


# ---------------------------------------------------------------- which nodes split
def test_a_node_of_exactly_min_node_size_splits_and_one_object_fewer_does_not():
    X = _two_groups_with_a_constant_column()
    for minimum, children in ((8, [1, 2]), (9, [])):
        tree = SplitTree("none", TreeConfig(n_levels=1, min_node_size=minimum)).fit(X)
        assert tree.nodes_[0].children == children
        assert tree.levels_[1] == (children or [0])


def test_a_two_object_node_splits_even_with_min_node_size_one():
    X = np.array([[0.0, 0.0], [1.0, 1.0]])
    tree = SplitTree("none", TreeConfig(n_levels=1, min_node_size=1)).fit(X)
    assert [n.size for n in tree.nodes_] == [2, 1, 1]
    tree = SplitTree("none", TreeConfig(n_levels=1, min_node_size=1)).fit(X[:1])
    assert [n.size for n in tree.nodes_] == [1]


class _NeedsFiveObjects:
    """An identity reducer that needs five objects to fit (as umap needs a neighbourhood)."""

    min_fit_objects = 5

    def fit(self, X):
        assert len(X) >= self.min_fit_objects
        return self

    def encode(self, X):
        return np.asarray(X, dtype=np.float64).reshape(len(X), -1)

    def decode(self, Z):
        return np.asarray(Z, dtype=np.float64)


def test_a_child_smaller_than_its_reducer_needs_stays_a_leaf():
    """Children of 4 objects cannot fit a reducer that needs 5; of 5 they can."""
    rng = np.random.default_rng(0)
    def grouped(size):
        return np.vstack([rng.normal(c, 0.01, (size, 2)) for c in ([0, 0], [0, 1], [5, 0],
                                                                   [5, 1])])
    for size, depth2 in ((2, False), (3, True)):  # children of 2 x size objects
        X = grouped(size)
        tree = SplitTree(_NeedsFiveObjects(), TreeConfig(n_levels=2, min_node_size=2)).fit(X)
        assert any(n.depth == 2 for n in tree.nodes_) is depth2


def test_the_root_fits_on_exactly_max_fit_samples_without_drawing():
    """At n == max_fit_samples every object is used and nothing is drawn, so the tree (the
    seeds of the children's reducers included) is the one fitted without a limit."""
    X = _four_blobs()
    def state(limit):
        config = TreeConfig(n_levels=2, min_node_size=4, max_fit_samples=limit, random_state=0)
        return SplitTree("pca", config).fit(X).to_state()
    unlimited, exact = state(10**6), state(len(X))
    assert exact[0]["reducers"] == unlimited[0]["reducers"]
    for name, value in unlimited[1].items():
        np.testing.assert_array_equal(exact[1][name], value, err_msg=name)


def test_above_max_fit_samples_the_reducer_fits_on_distinct_objects():
    """With one object fewer than n allowed, the root's PCA mean is the mean of n - 1
    distinct objects: n x (mean of all) - (n - 1) x (its mean) is the one left out."""
    X = _four_blobs()
    config = TreeConfig(n_levels=1, min_node_size=4, max_fit_samples=len(X) - 1,
                        random_state=0)
    mean = SplitTree("pca", config).fit(X).reducers_[0].mean_
    left_out = len(X) * X.mean(axis=0) - (len(X) - 1) * mean
    assert np.abs(X - left_out).max(axis=1).min() < 1e-9


# ---------------------------------------------------------------- scoring
def test_a_tree_that_lost_a_kept_whitening_says_which(state):
    for space, name in (("latent", "lat_whiten"), ("input", "in_whiten")):
        tree = _load(state)
        setattr(tree.nodes_[4], name, None)
        with pytest.raises(RuntimeError) as caught:
            tree.level_scores(_four_blobs(), ["l2"], [2], space)
        assert str(caught.value) == f"a node of this tree lost its {name}, which the tree keeps"


def test_reducer_none_has_no_residual_space_and_says_what_to_use():
    tree = _identity_tree()
    with pytest.raises(ValueError) as caught:
        tree.level_scores(_two_groups_with_a_constant_column(), ["l2"], [1], "residual")
    assert str(caught.value) == (
        "The residual space needs a reducer: with reducer='none' every object is its own "
        "reconstruction. Use space='input' or another reducer.")


# ---------------------------------------------------------------- options and failures
def test_the_tree_defaults_are_drama_s_documented_defaults():
    from drama import Drama

    params = Drama().get_params()
    expected = {k: params[k] for k in TreeConfig().as_dict() if k != "keep_covariance"}
    assert {k: v for k, v in TreeConfig().as_dict().items() if k != "keep_covariance"} \
        == expected
    # Drama decides keep_covariance from its metric (None = "when Mahalanobis needs it")
    assert params["keep_covariance"] is None and TreeConfig().keep_covariance is False
    assert TreeConfig.from_params({**params, "keep_covariance": True, "metric": "l1"}) \
        == TreeConfig(keep_covariance=True)


def test_the_default_reducer_is_pca():
    X = _four_blobs()
    config = TreeConfig(n_levels=1, min_node_size=4, random_state=0)
    default, pca = SplitTree(config=config).fit(X), SplitTree("pca", config).fit(X)
    assert default.reducer == "pca"
    for ours, theirs in zip(default.nodes_, pca.nodes_, strict=True):
        np.testing.assert_array_equal(ours.prototype, theirs.prototype)


def test_an_unknown_clustering_is_refused_by_name():
    with pytest.raises(ValueError) as caught:
        SplitTree("pca", TreeConfig(clustering="dbscan"))
    assert str(caught.value) == "Unknown clustering 'dbscan'; choose one of ward, kmeans, deep."


def test_reducer_options_a_reducer_does_not_take_are_refused_with_advice():
    tree = SplitTree("pca", reducer_options={"epochs": 3})
    assert tree.reducer_options == {"epochs": 3}
    with pytest.raises(ValueError) as caught:
        tree.fit(_four_blobs())
    message = str(caught.value)
    assert message.startswith("reducer_options ['epochs'] do not fit the 'pca' reducer (")
    assert message.endswith("). See its docstring for the options it takes; the linear "
                            "reducers take none.")


def test_values_too_large_for_float64_are_reported_with_advice():
    X = _four_blobs() * 1e200
    with pytest.raises(ValueError) as caught:
        SplitTree("none", TreeConfig(n_levels=1)).fit(X)
    assert str(caught.value) == (
        "The spreads or covariances of node 'root' overflow float64: the (scaled) values are "
        "too large. Use scaling='minmax' or 'standard', or rescale the data.")
    with warnings.catch_warnings():  # the advice is decided without an overflow warning
        warnings.simplefilter("error")
        with pytest.raises(ValueError) as caught:
            SplitTree("pca", TreeConfig(n_levels=1)).fit(X)
    assert str(caught.value).startswith("Fitting the reducer of node 'root' failed: ")
    assert str(caught.value).endswith(
        " The (scaled) values are too large for float64 arithmetic: use scaling='minmax' or "
        "'standard', or rescale the data.")


class _Rescaled:
    """An identity reducer on values divided by 1e200: its codes stay small when the
    objects are too large for float64 arithmetic."""

    def fit(self, X):
        return self

    def encode(self, X):
        return np.asarray(X, dtype=np.float64).reshape(len(X), -1) / 1e200

    def decode(self, Z):
        return np.asarray(Z, dtype=np.float64) * 1e200


class _Float32Codes(_Rescaled):
    """An identity reducer whose codes and decoded objects are float32."""

    def encode(self, X):
        return np.asarray(X, dtype=np.float32).reshape(len(X), -1)

    def decode(self, Z):
        return np.asarray(Z, dtype=np.float32)


def test_float32_codes_are_taken_in_float64():
    """A reducer's codes and prototypes in float32 are converted once, so the tree's
    latent statistics and prototypes are float64 (the same numbers as from float64 codes
    of those values)."""
    X = _four_blobs().astype(np.float32).astype(np.float64)
    config = TreeConfig(n_levels=2, min_node_size=4, random_state=0)
    tree = SplitTree(_Float32Codes(), config).fit(X)
    plain = SplitTree("none", config).fit(X)
    for node, reference in zip(tree.nodes_, plain.nodes_, strict=True):
        assert node.latent_mean.dtype == node.lat_sigma.dtype == np.float64
        assert node.prototype.dtype == np.float64
        np.testing.assert_array_equal(node.prototype,
                                      reference.prototype.astype(np.float32))
        np.testing.assert_array_equal(node.latent_mean, reference.latent_mean)
        np.testing.assert_array_equal(node.lat_sigma, reference.lat_sigma)


@pytest.mark.parametrize("keep_covariance", [False, True])
def test_spreads_and_covariances_that_overflow_are_one_error_without_warnings(
        keep_covariance):
    """Objects near 1e200 with small codes: the node's input spread (and covariance)
    overflow; that is reported as the one error with advice, no numpy warning before it."""
    config = TreeConfig(n_levels=1, keep_covariance=keep_covariance)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError) as caught:
            SplitTree(_Rescaled(), config).fit(_four_blobs() * 1e200)
    assert str(caught.value).startswith("The spreads or covariances of node 'root' overflow")


def test_sums_that_overflow_into_nan_are_the_same_error_without_warnings():
    """Half the objects at 1e308, half at -1e308: the partial sums of the training spread
    overflow both ways and meet as NaN, which is the overflow error, not a numpy warning."""
    X = np.r_[np.full(200, 1e308), np.full(200, -1e308)][:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError) as caught:
            SplitTree(_Rescaled(), TreeConfig(n_levels=1)).fit(X)
    assert str(caught.value).startswith("The spreads or covariances of node 'root' overflow")


@pytest.mark.parametrize("where", ["spread", "whitening"])
def test_an_overflow_in_a_child_names_the_child(monkeypatch, where):
    """The overflow error names the node where it happened, here the first child ('0')."""
    original = getattr(tree_module, where)

    def overflowing_in_small_nodes(values, floor):
        if len(values) == 4:
            if where == "whitening":
                raise ValueError("the covariance overflowed")
            return np.full(values.shape[1], np.inf)
        return original(values, floor)

    monkeypatch.setattr(tree_module, where, overflowing_in_small_nodes)
    with pytest.raises(ValueError) as caught:
        _identity_tree(keep_covariance=True)
    assert str(caught.value).startswith("The spreads or covariances of node '0' overflow")


class _Scripted:
    """An identity reducer whose fit can fail, whose codes can be NaN and whose decoded
    prototypes can have the wrong size; it records warm starts and fits."""

    def __init__(self, fail=None, nan_codes=False, short_decode=False):
        self.fail, self.nan_codes, self.short_decode = fail, nan_codes, short_decode
        self.warm_from, self.fitted_on = None, None

    def fit(self, X):
        if self.fail:
            raise ValueError(self.fail)
        self.fitted_on = len(X)
        return self

    def warm_start_from(self, parent):
        self.warm_from = parent

    def encode(self, X):
        Z = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
        return np.full_like(Z, np.nan) if self.nan_codes else Z

    def decode(self, Z):
        Z = np.asarray(Z, dtype=np.float64)
        return Z[:, :-1] if self.short_decode else Z


def test_a_failing_reducer_is_named_by_its_node_without_the_overflow_advice():
    with pytest.raises(ValueError) as caught:
        SplitTree(_Scripted(fail="no luck"), TreeConfig(n_levels=1)).fit(_four_blobs())
    assert str(caught.value) == "Fitting the reducer of node 'root' failed: no luck"


def test_non_finite_codes_are_refused_with_advice():
    with pytest.raises(ValueError) as caught:
        SplitTree(_Scripted(nan_codes=True), TreeConfig(n_levels=1)).fit(_four_blobs())
    assert str(caught.value) == (
        "The reducer of node 'root' produced non-finite latent codes; try another reducer, "
        "scaling='minmax', or a lower learning rate for neural ones.")


def test_a_prototype_of_the_wrong_size_is_refused():
    with pytest.raises(ValueError) as caught:
        SplitTree(_Scripted(short_decode=True), TreeConfig(n_levels=1)).fit(_four_blobs())
    assert str(caught.value) == (
        "The reducer of node 'root' decoded a prototype of 2 values (finite: True); expected 3 "
        "finite values. Check that decode() returns objects in the input's shape.")


def test_children_warm_start_from_their_parent_s_reducer_and_the_original_is_untouched():
    given = _Scripted()
    tree = SplitTree(given, TreeConfig(n_levels=2, min_node_size=4, random_state=0))
    tree.fit(_four_blobs())
    root = tree.reducers_[0]
    assert given.fitted_on is None and root is not given and root.fitted_on == 60
    assert root.warm_from is None
    for node in tree.nodes_:
        if node.depth == 1 and node.children:
            child_reducer = tree.reducers_[tree.nodes_[node.children[0]].encoder]
            assert child_reducer.warm_from is tree.reducers_[node.encoder] is root
            assert child_reducer.fitted_on == node.size


def test_an_sklearn_reducer_is_cloned_not_fitted_in_place():
    from sklearn.decomposition import PCA

    given = PCA(n_components=2)
    tree = SplitTree(given, TreeConfig(n_levels=1, min_node_size=4)).fit(_four_blobs())
    assert not hasattr(given, "components_")
    assert len(tree.reducers_) == 1 and tree.level_scores(_four_blobs(), ["l2"], [1])


class _CountingEstimator:
    """An identity reducer in sklearn's style (it has get_params) that counts its fits in
    a fitted attribute, as an estimator's learned state."""

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self

    def fit(self, X):
        self.fits_ = getattr(self, "fits_", 0) + 1
        return self

    def encode(self, X):
        return np.asarray(X, dtype=np.float64).reshape(len(X), -1)

    def decode(self, Z):
        return np.asarray(Z, dtype=np.float64)


def test_an_sklearn_style_reducer_starts_from_a_clone_without_its_fitted_state():
    given = _CountingEstimator().fit(_four_blobs())
    tree = SplitTree(given, TreeConfig(n_levels=1, min_node_size=4)).fit(_four_blobs())
    assert given.fits_ == 1
    assert [reducer.fits_ for reducer in tree.reducers_] == [1]


class _Remembering(_Scripted):
    """A reducer whose fit records, in a list it holds, the sizes it was fitted on."""

    def __init__(self):
        super().__init__()
        self.sizes = []

    def fit(self, X):
        self.sizes.append(len(X))
        return self


def test_the_given_reducer_is_copied_deeply_and_never_changed():
    given = _Remembering()
    tree = SplitTree(given, TreeConfig(n_levels=2, min_node_size=4, random_state=0))
    tree.fit(_four_blobs())
    assert given.sizes == []
    assert [r.sizes for r in tree.reducers_] == [[60]] + [[n.size] for n in tree.nodes_[1:3]]


class _FailingWhenWarmStarted(_Scripted):
    def fit(self, X):
        if self.warm_from is not None:
            raise ValueError("no luck below the root")
        return self


def test_a_child_s_failing_reducer_is_named_by_the_child():
    with pytest.raises(ValueError) as caught:
        SplitTree(_FailingWhenWarmStarted(), TreeConfig(n_levels=2, min_node_size=4,
                                                        random_state=0)).fit(_four_blobs())
    assert str(caught.value) == "Fitting the reducer of node '0' failed: no luck below the root"


def test_the_configured_clustering_splits_the_nodes(monkeypatch):
    asked = []
    original = tree_module.split_centres

    def recording(Z, method, *args):
        asked.append(method)
        return original(Z, method, *args)

    monkeypatch.setattr(tree_module, "split_centres", recording)
    SplitTree("pca", TreeConfig(n_levels=2, min_node_size=4, clustering="kmeans",
                                random_state=0)).fit(_four_blobs())
    assert asked == ["kmeans"] * 3


def test_a_split_that_leaves_a_group_empty_is_no_split(monkeypatch):
    """Both centres given, but every object nearest the first: the node stays a leaf."""
    def far_second_centre(Z, *args):
        return np.vstack([Z.mean(axis=0), Z.mean(axis=0) + 1e6])

    monkeypatch.setattr(tree_module, "split_centres", far_second_centre)
    tree = SplitTree("none", TreeConfig(n_levels=1, min_node_size=2)).fit(_four_blobs())
    assert tree.nodes_[0].children == [] and tree.levels_ == [[0], [0]]


def test_only_named_reducers_that_save_their_state_can_be_saved():
    tree = SplitTree(_Scripted(), TreeConfig(n_levels=1)).fit(_four_blobs())
    with pytest.raises(TypeError) as caught:
        tree.to_state()
    assert str(caught.value) == (
        "Only models with a named reducer can be saved in the data-only format; a custom "
        "reducer object (_Scripted) would need pickle. Save its parameters yourself and refit.")
    tree = SplitTree("pca", TreeConfig(n_levels=1)).fit(_four_blobs())
    tree.reducers_[0] = _Scripted()
    with pytest.raises(TypeError) as caught:
        tree.to_state()
    assert str(caught.value) == "The 'pca' reducer cannot be saved as data."


def test_a_loader_that_takes_a_device_gets_it_and_others_never_do(state, monkeypatch):
    from types import SimpleNamespace

    from drama.reducers import get_reducer_spec

    pca = get_reducer_spec("pca").cls
    seen = []

    class _Placed:
        @staticmethod
        def from_state(config, arrays, device="unset"):
            seen.append(device)
            return pca.from_state(config, arrays)

    meta, arrays = copy.deepcopy(state)
    tree = SplitTree.from_state("pca", meta, arrays, reducer_options={"x": 1}, device="cuda:1")
    assert tree.reducer_options == {"x": 1}  # pca's loader takes no device: not passed
    monkeypatch.setattr(tree_module, "get_reducer_spec", lambda name: SimpleNamespace(cls=_Placed))
    assert tree_module.takes_device("anything")
    SplitTree.from_state("pca", meta, arrays, device="cuda:1")
    SplitTree.from_state("pca", meta, arrays)
    assert seen == ["cuda:1"] * 3 + ["unset"] * 3


def test_reducers_report_whether_their_loader_places_networks_on_a_device():
    assert [tree_module.takes_device(r) for r in ("none", "pca", "ica", "nmf")] == [False] * 4


def test_a_reducer_with_more_codes_than_the_saved_width_is_refused(state):
    edit = _set_array("reducer1/unmixing", lambda v: np.vstack([v, v[:1]]))
    with pytest.raises(ValueError, match=r"^reducer 1 does not map the tree's objects and codes"):
        _load(state, edit)


def test_each_reducer_is_probed_with_a_node_of_its_own_space(state):
    """Node 3 is the first node in reducer 1's space: a NaN prototype there is caught by
    reducer 1's probe (and by no other node's)."""
    edit = _set_array("node3/prototype", lambda v: np.full_like(v, np.nan))
    with pytest.raises(ValueError, match=r"^reducer 1 does not map the tree's objects"):
        _load(state, edit)


def test_node_distances_are_in_input_space_by_default(state):
    tree, X = _load(state), _four_blobs()
    prototypes = np.stack([n.prototype for n in tree.nodes_])
    brute = np.sqrt(((X[:, None, :] - prototypes[None, :, :]) ** 2).sum(axis=2))
    np.testing.assert_allclose(tree.node_distances(X, "l2"), brute, rtol=1e-10)


def test_a_reducer_that_overflows_is_refused_without_a_warning(state):
    def edit(meta, arrays):  # a code is (x - 1e308) @ 1e308: -inf
        arrays["reducer2/unmixing"] = np.full_like(arrays["reducer2/unmixing"], 1e308)
        arrays["reducer2/mean"] = np.full_like(arrays["reducer2/mean"], 1e308)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"^reducer 2 does not map the tree's objects"):
            _load(state, edit)


class _Overflowing(_Scripted):
    """Reconstructs values above 1000 times 1e306: they overflow to inf."""

    def decode(self, Z):
        Z = np.asarray(Z, dtype=np.float64)
        return Z * np.where(np.abs(Z) > 1e3, 1e306, 1.0)


def test_a_non_finite_reconstruction_names_the_leaf_s_reducer_node():
    tree = SplitTree(_Overflowing(), TreeConfig(n_levels=2, min_node_size=4, random_state=0))
    X = _four_blobs()
    tree.fit(X)
    assert np.isfinite(tree.level_scores(X, ["l2"], [2], "residual")[(2, "l2")]).all()
    far = np.vstack([X, [[2e3, 0.0, 0.0]]])
    with warnings.catch_warnings(), pytest.raises(ValueError) as caught:
        warnings.simplefilter("error")  # the overflow is reported once, as this error
        tree.level_scores(far, ["l2"], [2], "residual")
    # the far object's leaf lies in the latent space of a depth-1 node's own reducer, which
    # is named by the first node in that space: a depth-2 leaf, not the root
    assert caught.match(r"^The reducer of node '[01][01]' reconstructed non-finite values: the "
                        r"\(scaled\) data are too large for it\. Use scaling='minmax' or "
                        r"rescale the data\.$")
    with pytest.raises(ValueError) as caught:  # at level 1, the root's own reducer
        tree.level_scores(far, ["l2"], [1], "residual")
    assert caught.match(r"^The reducer of node 'root' reconstructed non-finite values")
