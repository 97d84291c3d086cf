"""clustering="deep": each node's network is trained together with its two-way split
(docs/neural.md#deep-clustering). Tiny networks and few epochs keep this file fast."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from sklearn.decomposition import PCA

from drama import Drama
from drama.clustering import split_centres
from drama.tree import SplitTree, TreeConfig

try:
    import torch  # noqa: F401
except ImportError:
    HAS_TORCH = False
else:
    HAS_TORCH = True
# The refusals need no torch; everything else trains networks.
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="deep clustering trains PyTorch networks")
FAST = {"max_epochs": 8, "warm_start_epochs": 3, "batch_size": 32, "cluster_epochs": 4}
SHAPES = {
    "ae": (10,),
    "vae": (10,),
    "cae1d": (32,),
    "cvae1d": (16, 2),
    "cae2d": (8, 8),
    "cvae2d": (8, 8, 3),
}


def _data(shape: tuple[int, ...], n: int = 90) -> np.ndarray:
    """Three groups of objects around random templates, and two clear anomalies."""
    rng = np.random.default_rng(0)
    base = rng.random((3, *shape))
    X = base[np.arange(n) % 3] + 0.05 * rng.standard_normal((n, *shape))
    X[:2] += 1.0
    return X


def _model(name: str, clustering: str = "deep", **options: object) -> Drama:
    return Drama(reducer=name, clustering=clustering, n_levels=2, min_node_size=5,
                 random_state=0, reducer_options={**FAST, **options})


@pytest.mark.parametrize("reducer", ["none", "pca", "ica", "nmf", "umap", PCA(2)])
def test_refused_without_a_neural_reducer(reducer: object) -> None:
    X = _data((10,))
    with pytest.raises(ValueError, match="clustering='deep' needs a neural reducer"):
        Drama(reducer=reducer, clustering="deep").fit(X)
    with pytest.raises(ValueError, match="needs a neural reducer"):
        SplitTree(reducer, TreeConfig(clustering="deep"))


def _root_weights(model: Drama) -> dict[str, np.ndarray]:
    return model.tree_.reducers_[0].to_state()[1]


@needs_torch
@pytest.mark.parametrize("name", list(SHAPES))
def test_every_neural_reducer_tunes_repeats_and_survives_saving(name: str, tmp_path) -> None:
    X = _data(SHAPES[name])
    model = _model(name).fit(X)
    scores = model.decision_scores_
    assert scores.shape == (len(X),) and np.isfinite(scores).all()
    assert scores[:2].min() > np.median(scores)  # the planted anomalies rank high
    # the root's network was fine-tuned with its split, not kept as Ward's tree has it
    ward = _model(name, "ward").fit(X)
    tuned, plain = _root_weights(model), _root_weights(ward)
    assert any(not np.array_equal(tuned[k], plain[k]) for k in tuned if k.startswith("w."))
    np.testing.assert_array_equal(_model(name).fit(X).decision_scores_, scores)
    path = tmp_path / f"{name}.drama.npz"
    model.save(path)
    loaded = Drama.load(path)
    assert loaded.clustering == "deep"
    np.testing.assert_array_equal(loaded.decision_scores_, scores)
    np.testing.assert_array_equal(loaded.decision_function(X), model.decision_function(X))
    np.testing.assert_array_equal(loaded.score_levels(X).to_numpy(),
                                  model.score_levels(X).to_numpy())


def _soft_assignments(Z: np.ndarray, centres: np.ndarray) -> np.ndarray:
    q = 1.0 / (1.0 + ((Z[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2))
    return q / q.sum(axis=1, keepdims=True)


def _sharpness(Z: np.ndarray, centres: np.ndarray) -> float:
    """Mean probability of each code's likelier centre: 0.5 undecided, 1 certain."""
    return float(_soft_assignments(Z, centres).max(axis=1).mean())


@needs_torch
def test_the_clustering_term_moves_the_centres_and_sharpens_the_assignments() -> None:
    from drama.reducers.neural import AutoEncoder

    X = _data((10,), n=150)
    fitted = AutoEncoder(2, 0, **{**FAST, "max_epochs": 20, "cluster_epochs": 10}).fit(X)
    Z = fitted.encode(X)
    ward = split_centres(Z, "ward", 2000, np.random.default_rng(0))
    assert ward is not None
    runs = {}
    for gamma in (0.0, 1.0):
        reducer = copy.deepcopy(fitted)
        reducer.cluster_gamma = gamma
        centres = reducer.fit_clusters(X, ward)
        runs[gamma] = (centres, reducer.encode(X))
    # without the clustering term nothing pulls on the centres: they stay Ward's (in the
    # network's float32)
    np.testing.assert_array_equal(runs[0.0][0], ward.astype(np.float32))
    centres, Z_tuned = runs[1.0]
    assert np.abs(centres - ward).max() > 1e-3
    assert _sharpness(Z_tuned, centres) > _sharpness(Z, ward) + 0.01
    assert _sharpness(Z_tuned, centres) > _sharpness(runs[0.0][1], ward) + 0.01


@needs_torch
def test_the_clustering_weight_changes_the_tree() -> None:
    X = _data((10,))
    with_term = _model("ae").fit(X).decision_scores_
    without = _model("ae", cluster_gamma=0.0).fit(X).decision_scores_
    assert not np.array_equal(with_term, without)


@needs_torch
def test_an_empty_learned_group_keeps_wards_split_and_network(monkeypatch) -> None:
    from drama.reducers.neural import AutoEncoder

    def one_sided(self: AutoEncoder, X: np.ndarray, centres: np.ndarray) -> np.ndarray:
        self._net.to_latent.bias.data += 1.0  # the network changes...
        return np.array([[1e3, 1e3], [2e3, 2e3]])  # ...but every code joins centre 0

    monkeypatch.setattr(AutoEncoder, "fit_clusters", one_sided)
    X = _data((10,))
    deep, ward = _model("ae").fit(X), _model("ae", "ward").fit(X)
    np.testing.assert_array_equal(deep.decision_scores_, ward.decision_scores_)
    for kept, plain in zip(deep.tree_.reducers_, ward.tree_.reducers_, strict=True):
        a, b = kept.to_state()[1], plain.to_state()[1]
        assert all(np.array_equal(a[k], b[k]) for k in a)


@needs_torch
def test_a_failing_joint_training_names_its_node(monkeypatch) -> None:
    from drama.reducers.neural import AutoEncoder

    def failing(self: AutoEncoder, X: np.ndarray, centres: np.ndarray) -> np.ndarray:
        raise ValueError("no luck")

    monkeypatch.setattr(AutoEncoder, "fit_clusters", failing)
    with pytest.raises(ValueError) as caught:
        _model("ae").fit(_data((10,)))
    assert str(caught.value) == "Deep clustering of node 'root' failed: no luck"


@needs_torch
def test_the_tuned_network_s_float32_codes_are_taken_in_float64(monkeypatch) -> None:
    """The root's record and its children's statistics from the tuned network's codes are
    float64 even where the network answers in float32."""
    from drama.reducers.neural import AutoEncoder

    encode = AutoEncoder.encode
    monkeypatch.setattr(AutoEncoder, "encode",
                        lambda self, X: np.asarray(encode(self, X), dtype=np.float32))
    tree = _model("ae").fit(_data((10,))).tree_
    for node in tree.nodes_:
        assert node.latent_mean.dtype == node.lat_sigma.dtype == np.float64


@needs_torch
def test_the_roots_record_follows_its_tuned_network() -> None:
    """The root's latent mean and prototype come from the network the tree keeps."""
    X = _data((10,))
    model = _model("ae").fit(X)
    tree = model.tree_
    root = tree.nodes_[0]
    Z = tree.reducers_[0].encode(model.scaler_.transform(X))
    np.testing.assert_allclose(root.latent_mean, Z.mean(axis=0), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(root.prototype,
                               tree.reducers_[0].decode(root.latent_mean).ravel(), rtol=1e-6)
    assert sum(tree.nodes_[c].size for c in root.children) == root.size


@needs_torch
@pytest.mark.parametrize("option", [{"cluster_epochs": 0}, {"cluster_gamma": -1.0}])
def test_bad_deep_clustering_options_are_refused(option: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(option))):
        _model("ae", **option).fit(_data((10,)))
