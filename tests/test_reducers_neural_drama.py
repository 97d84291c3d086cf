"""Each neural reducer inside the full estimator: finite scores that repeat, and a saved
model that scores identically after loading."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch", reason="the neural reducers need PyTorch")

from drama import Drama  # noqa: E402

FAST = {"max_epochs": 3, "warm_start_epochs": 2, "batch_size": 32}
SHAPES = {
    "ae": (10,),
    "vae": (10,),
    "cae1d": (16, 2),
    "cvae1d": (16,),
    "cae2d": (8, 8),
    "cvae2d": (8, 8, 3),
}


def _data(shape: tuple[int, ...], n: int = 64) -> np.ndarray:
    rng = np.random.default_rng(0)
    base = rng.random((3, *shape))
    X = base[np.arange(n) % 3] + 0.05 * rng.standard_normal((n, *shape))
    X[:2] += 1.0  # two clear anomalies
    return X


def _model(name: str) -> Drama:
    return Drama(reducer=name, n_levels=2, min_node_size=5, random_state=0,
                 reducer_options=FAST)


@pytest.mark.parametrize("name", list(SHAPES))
def test_scores_finite_repeat_and_survive_saving(name: str, tmp_path) -> None:
    X = _data(SHAPES[name])
    model = _model(name).fit(X)
    scores = model.decision_scores_
    assert scores.shape == (len(X),) and np.isfinite(scores).all()
    assert scores[:2].min() > np.median(scores)  # the planted anomalies rank high
    np.testing.assert_array_equal(_model(name).fit(X).decision_scores_, scores)
    path = tmp_path / f"{name}.drama.npz"
    model.save(path)
    loaded = Drama.load(path)
    np.testing.assert_array_equal(loaded.decision_function(X), model.decision_function(X))
    np.testing.assert_array_equal(loaded.decision_scores_, scores)
    protos = model.prototypes()  # in the input's own shape and units
    assert protos.shape[1:] == X.shape[1:] and 1 <= len(protos) <= 4
    assert np.isfinite(protos).all()
    assert X.min() - 1 < protos.min() and protos.max() < X.max() + 1
    np.testing.assert_array_equal(loaded.prototypes(), protos)


def test_children_are_warm_started() -> None:
    model = _model("ae").fit(_data((10,)))
    reducers = model.tree_.reducers_
    assert len(reducers) == 3
    assert not reducers[0].warm_started_
    assert all(r.warm_started_ for r in reducers[1:])


def test_convolutional_reducer_refuses_a_table_with_the_node_named() -> None:
    with pytest.raises(ValueError, match="root.*cae2d needs images"):
        _model("cae2d").fit(_data((10,)))


def test_wide_input_projected_tree_repeats_and_survives_saving(tmp_path) -> None:
    X = _data((40,))
    options = {**FAST, "input_components": 8}  # 40 values > 8: learnt through 8 components
    model = Drama(reducer="vae", n_levels=2, min_node_size=5, random_state=0,
                  reducer_options=options).fit(X)
    reducers = model.tree_.reducers_
    assert all(r.basis_.shape == (40, 8) for r in reducers)
    assert all(r.warm_started_ for r in reducers[1:])
    scores = model.decision_scores_
    assert scores[:2].min() > np.median(scores)
    again = Drama(reducer="vae", n_levels=2, min_node_size=5, random_state=0,
                  reducer_options=options).fit(X)
    np.testing.assert_array_equal(again.decision_scores_, scores)
    path = tmp_path / "wide.drama.npz"
    model.save(path)
    loaded = Drama.load(path)
    np.testing.assert_array_equal(loaded.decision_function(X), scores)
    np.testing.assert_array_equal(loaded.prototypes(), model.prototypes())


def test_a_file_with_misshapen_weights_is_refused_by_name(tmp_path) -> None:
    path = tmp_path / "ae.drama.npz"
    _model("ae").fit(_data((10,))).save(path)
    with np.load(path, allow_pickle=False) as saved:
        arrays = {k: saved[k] for k in saved.files}
    key = "reducer0/w.encoder.0.weight"
    arrays[key] = arrays[key][:, :-1]  # one input column short
    edited = tmp_path / "edited.drama.npz"
    with open(edited, "wb") as handle:
        np.savez(handle, **arrays)
    with pytest.raises(ValueError, match="not a consistent DRAMA model file.*weights do not fit"):
        Drama.load(edited)
