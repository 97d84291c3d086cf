"""The umap reducer: shapes, determinism, neighbour decoding, saving by refit, errors.

umap-learn compiles numba code on first use (tens of seconds), so every test here shares
one small fitted reducer where it can.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

pytest.importorskip("umap", reason="the umap reducer needs umap-learn")

from drama.reducers import get_reducer_spec  # noqa: E402
from drama.reducers.manifold import UMAPReducer, require_umap  # noqa: E402


def _blobs(n: int = 90, shape: tuple[int, ...] = (3, 2), seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 5, (3, *shape))
    return centres[np.arange(n) % 3] + rng.normal(0, 0.3, (n, *shape))


@pytest.fixture(scope="module")
def fitted() -> tuple[UMAPReducer, np.ndarray]:
    X = _blobs()
    return UMAPReducer(2, 0, n_epochs=50).fit(X), X


def test_registered_lazily() -> None:
    spec = get_reducer_spec("umap")
    assert spec.cls is UMAPReducer


def test_encode_decode_shapes(fitted) -> None:
    reducer, X = fitted
    Z = reducer.encode(X)
    assert Z.shape == (len(X), 2) and Z.dtype == np.float64 and np.isfinite(Z).all()
    P = reducer.decode(Z[:4])
    assert P.shape == (4, 3, 2) and np.isfinite(P).all()


def test_neighbour_decode_returns_a_blend_of_training_objects(fitted) -> None:
    reducer, X = fitted
    # the embedding point of a training object decodes close to that object's blob
    P = reducer.decode(reducer.embedding_[:3])
    flat = X.reshape(len(X), -1)
    for i in range(3):
        nearest = np.argmin(((flat - P[i].ravel()) ** 2).sum(axis=1))
        assert nearest % 3 == i % 3


def test_same_seed_same_codes(fitted) -> None:
    reducer, X = fitted
    again = UMAPReducer(2, 0, n_epochs=50).fit(X)
    np.testing.assert_array_equal(reducer.encode(X), again.encode(X))


def test_state_round_trip_refits_identically(fitted) -> None:
    reducer, X = fitted
    config, arrays = reducer.to_state()
    config = json.loads(json.dumps(config))
    restored = UMAPReducer.from_state(config, arrays)
    Z = reducer.encode(X[:20])
    np.testing.assert_array_equal(restored.encode(X[:20]), Z)
    np.testing.assert_array_equal(restored.decode(Z), reducer.decode(Z))


def test_inverse_decode_falls_back_to_neighbours(fitted, monkeypatch) -> None:
    reducer, X = fitted
    Z = reducer.encode(X[:3])
    expected = reducer.decode(Z)
    monkeypatch.setattr(reducer, "decode_method", "inverse")

    def refuse(_z):
        raise ValueError("inverse_transform is not available for this metric")

    monkeypatch.setattr(reducer._umap, "inverse_transform", refuse)
    np.testing.assert_array_equal(reducer.decode(Z), expected)


def test_in_the_estimator_scores_repeat_and_survive_saving(tmp_path) -> None:
    from drama import Drama

    X = _blobs(n=60, shape=(4,))
    X[:2] += 8.0

    def model() -> Drama:
        return Drama(reducer="umap", n_levels=2, min_node_size=8, random_state=0,
                     reducer_options={"n_epochs": 30})

    fitted_model = model().fit(X)
    scores = fitted_model.decision_scores_
    assert np.isfinite(scores).all() and scores[:2].min() > np.median(scores)
    np.testing.assert_array_equal(model().fit(X).decision_scores_, scores)
    fitted_model.save(tmp_path / "umap.drama.npz")
    loaded = Drama.load(tmp_path / "umap.drama.npz")
    np.testing.assert_array_equal(loaded.decision_function(X[:10]),
                                  fitted_model.decision_function(X[:10]))


def test_small_node_and_sampling() -> None:
    X = _blobs(n=6)
    assert UMAPReducer(2, 0, n_epochs=20).fit(X).encode(X).shape == (6, 2)
    capped = UMAPReducer(2, 0, n_epochs=20, max_train_samples=30).fit(_blobs(n=60))
    assert len(capped.train_) == 30
    with pytest.raises(ValueError, match="at least 3 objects"):
        UMAPReducer(2, 0).fit(X[:2])


def test_bad_input(fitted) -> None:
    reducer, X = fitted
    bad = X.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        UMAPReducer(2, 0).fit(bad)
    with pytest.raises(ValueError, match="fitted on objects of shape"):
        reducer.encode(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="decode must be"):
        UMAPReducer(2, 0, decode="magic").fit(X)
    with pytest.raises(ValueError, match="not fitted"):
        UMAPReducer().encode(X)


def test_missing_umap_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "umap", None)
    with pytest.raises(ImportError, match=r"needs umap-learn: pip install"):
        require_umap()


def test_a_node_too_small_for_an_embedding_stays_a_leaf() -> None:
    from drama import Drama

    X = np.random.default_rng(0).random((30, 4))
    det = Drama(reducer="umap", n_levels=5, min_node_size=2, random_state=0,
                reducer_options={"n_epochs": 20}).fit(X)
    sizes = [det.tree_.nodes_[i].size for level in det.tree_.levels_ for i in level]
    assert min(sizes) < 3  # such nodes exist, as leaves: no reducer was fitted on them
    assert np.isfinite(det.decision_scores_).all()
