"""A saved Drama model's own checks (``Drama.from_state``, ``_check_state`` and
``element_budget`` in src/drama/estimator.py), one edit at a time, on the state of a small
model in memory: each refusal with its reason, and what must still load. Fast on purpose:
tools/mutation.py runs this file once per mutant of those functions."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from drama import Drama
from drama.persistence import element_budget


def _data() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.vstack([rng.normal(0.0, 1.0, (30, 4)), rng.normal(5.0, 1.0, (30, 4))])


@pytest.fixture(scope="module")
def fitted() -> Drama:
    return Drama(reducer="pca", n_levels=2, min_node_size=5, random_state=0).fit(_data())


def _load(model: Drama, edit=None, device=None) -> Drama:
    meta, arrays = copy.deepcopy(model.to_state())
    if edit is not None:
        edit(meta, arrays)
    return Drama.from_state(meta, arrays, device=device)


def test_an_unedited_state_loads_as_the_fitted_model(fitted):
    loaded = _load(fitted, device="cpu")  # pca runs on no device: the option is ignored
    assert loaded.get_params() == fitted.get_params()
    assert loaded.reducer_options is None
    assert loaded.sample_shape_ == (4,) and loaded.n_features_in_ == 4
    np.testing.assert_array_equal(loaded.decision_scores_, fitted.decision_scores_)
    np.testing.assert_array_equal(loaded.decision_function(_data()),
                                  fitted.decision_function(_data()))
    assert not hasattr(loaded, "feature_names_in_")


def test_the_loaded_parameters_are_remembered_as_those_at_fit(fitted, tmp_path):
    loaded = _load(fitted)
    loaded.save(tmp_path / "same.npz")  # unchanged since load: saves
    loaded.set_params(metric="l1")
    with pytest.raises(ValueError, match="metric"):
        loaded.save(tmp_path / "changed.npz")


def test_feature_names_are_restored(tmp_path):
    import pandas as pd

    frame = pd.DataFrame(_data(), columns=["a", "b", "c", "d"])
    model = Drama(reducer="pca", n_levels=1, min_node_size=5, random_state=0).fit(frame)
    assert list(_load(model).feature_names_in_) == ["a", "b", "c", "d"]

    def three_names(meta, arrays):
        meta["feature_names"] = ["a", "b", "c"]
    with pytest.raises(ValueError) as caught:
        _load(model, three_names)
    assert str(caught.value) == "3 feature names for 4 features"


def _params(**values):
    return lambda meta, arrays: meta["params"].update(values)


def _array(name, value):
    def edit(meta, arrays):
        arrays[name] = value(arrays[name])
    return edit


EDITS = [
    ("a tree option unlike the tree's", _params(min_node_size=6),
     "the parameters say min_node_size=6, the tree 5"),
    ("another seed", _params(random_state=1), "the parameters say random_state=1, the tree 0"),
    ("more features than the objects hold", lambda m, a: m.update(n_features_in=7),
     "7 features for objects of shape (4,)"),
    ("a short scaler offset", _array("scaler/offset", lambda v: v[:2]),
     "the scaler's offset has shape (2,), not (4,)"),
    ("a 2-D scaler scale", _array("scaler/scale", lambda v: v[None, :]),
     "the scaler's scale has shape (1, 4), not (4,)"),
    ("a zero scale", _array("scaler/scale", lambda v: np.r_[v[:3], 0.0]),
     "the scaler's scale is not positive"),
    ("a negative scale", _array("scaler/scale", lambda v: -v),
     "the scaler's scale is not positive"),
    ("short training scores", _array("decision_scores", lambda v: v[:10]),
     "(10,) training scores for a root of 60 objects"),
    ("2-D training scores", _array("decision_scores", lambda v: v[:, None]),
     "(60, 1) training scores for a root of 60 objects"),
    ("mahalanobis without covariances", _params(metric="mahalanobis"),
     "metric 'mahalanobis' without the leaf covariances"),
]


@pytest.mark.parametrize("what, edit, reason", EDITS, ids=[e[0] for e in EDITS])
def test_an_edited_model_state_is_refused_with_its_reason(fitted, what, edit, reason):
    with pytest.raises(ValueError) as caught:
        _load(fitted, edit)
    assert str(caught.value) == reason


def test_keep_covariance_is_not_compared_with_the_tree(fitted):
    """The parameter may be None ("when the metric needs it") while the tree says False."""
    assert fitted.keep_covariance is None and not fitted.tree_.keep_covariance
    assert _load(fitted).keep_covariance is None


def test_a_global_scaler_of_one_value_loads(fitted):
    def one_value(meta, arrays):
        arrays["scaler/offset"] = arrays["scaler/offset"][:1]
        arrays["scaler/scale"] = arrays["scaler/scale"][:1]
    loaded = _load(fitted, one_value)
    assert loaded.scaler_.offset_.shape == (1,) and loaded.scaler_.scale_.shape == (1,)


def test_invalid_parameters_are_refused_as_at_fit(fitted):
    with pytest.raises(ValueError, match="metric"):
        _load(fitted, _params(metric="taxicab"))


def test_the_element_budget_of_a_model_comes_from_its_root_and_object_shape(fitted):
    meta, _ = fitted.to_state()
    assert Drama.element_budget(meta) == element_budget(60, 4) == 4 * 4156 * 68 + 16
    meta = {**meta, "sample_shape": [2, 3, 2]}
    assert Drama.element_budget(meta) == 4 * 4156 * 76 + 144


def test_an_object_shape_whose_size_overflows_int64_is_refused(fitted):
    """2^32 x 2^32 features: 2^64, which wraps to 0 in 64-bit integers."""
    meta, _ = fitted.to_state()
    with pytest.raises(ValueError) as caught:
        Drama.element_budget({**meta, "sample_shape": [2**32, 2**32]})
    assert str(caught.value) == f"the description gives {2**64} features"


class _PlacedPCA:
    """The PCA loader behind a loader that takes a device (as the neural reducers'), which
    records the device it was given."""

    seen: list = []

    @classmethod
    def from_state(cls, config, arrays, device="unset"):
        from drama.reducers import get_reducer_spec

        cls.seen.append(device)
        return get_reducer_spec("pca").cls.from_state(config, arrays)


@pytest.mark.parametrize("options, device, expected", [
    (None, "cuda:1", {"device": "cuda:1"}),
    ({"progress": True}, "cuda:1", {"progress": True, "device": "cuda:1"}),
    ({"progress": True}, None, {"progress": True}),
    (None, None, None),
])
def test_a_device_given_at_load_is_where_the_model_runs_now(fitted, monkeypatch, options,
                                                            device, expected):
    """For a reducer whose loader takes a device, the device given to load reaches every
    reducer's loader and becomes a reducer option (a refit runs there too)."""
    from types import SimpleNamespace

    import drama.tree as tree_module

    monkeypatch.setattr(tree_module, "get_reducer_spec",
                        lambda name: SimpleNamespace(cls=_PlacedPCA))
    monkeypatch.setattr(_PlacedPCA, "seen", [])
    loaded = _load(fitted, _params(reducer_options=options), device=device)
    assert loaded.reducer_options == expected
    assert loaded.tree_.reducer_options == (expected or {})
    assert _PlacedPCA.seen == [device or "unset"] * len(loaded.tree_.reducers_)
