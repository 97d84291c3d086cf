"""Saving and loading fitted models as data only (no pickle)."""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import pandas as pd
import pytest

from drama import Drama
from drama.distances import METRICS

FORMAT_VERSION = Drama.FORMAT_VERSION

LINEAR = ("none", "pca", "ica", "nmf")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    train = np.concatenate([rng.normal(0, 1, size=(90, 4)), rng.normal(4, 1, size=(90, 4))])
    new = np.concatenate([rng.normal(2, 3, size=(40, 4)), train[:5]])
    return train, new


@pytest.fixture(scope="module")
def fitted(data):
    return Drama(reducer="pca", n_levels=2, random_state=0).fit(data[0])


@pytest.mark.parametrize("space", ["input", "latent"])
@pytest.mark.parametrize("reducer", LINEAR)
def test_round_trip_scores_exactly(tmp_path, data, reducer, space):
    train, new = data
    det = Drama(reducer=reducer, space=space, n_levels=3, metric="wl2", random_state=0).fit(train)
    path = tmp_path / "model.drama"
    det.save(path)
    loaded = Drama.load(path)
    assert isinstance(loaded, Drama)
    assert loaded.get_params() == det.get_params()
    np.testing.assert_array_equal(loaded.decision_scores_, det.decision_scores_)
    np.testing.assert_array_equal(loaded.decision_function(new), det.decision_function(new))
    pd.testing.assert_frame_equal(loaded.score_levels(new), det.score_levels(new))
    other = "latent" if space == "input" else "input"
    pd.testing.assert_frame_equal(
        loaded.score_levels(new, space=other), det.score_levels(new, space=other)
    )
    np.testing.assert_array_equal(loaded.encode(new), det.encode(new))
    assert loaded.threshold_ == det.threshold_
    np.testing.assert_array_equal(loaded.predict(new), det.predict(new))


def test_round_trip_keeps_shape_names_and_thresholds(tmp_path, data):
    train, new = data
    frame = pd.DataFrame(train, columns=["a", "b", "c", "d"])
    det = Drama(contamination=0.2, metric="mahalanobis", random_state=1).fit(frame)
    path = tmp_path / "m.npz"
    det.save(str(path))  # str paths work as well as Path objects
    loaded = Drama.load(str(path))
    assert list(loaded.feature_names_in_) == ["a", "b", "c", "d"]
    assert loaded.n_features_in_ == 4
    assert loaded.sample_shape_ == (4,)
    np.testing.assert_array_equal(loaded.labels_, det.labels_)
    np.testing.assert_array_equal(loaded.decision_function(new), det.decision_function(new))
    loaded.set_params(contamination=None)
    assert loaded.labels_ is None


def test_images_round_trip(tmp_path):
    images = np.random.default_rng(2).uniform(size=(50, 6, 6))
    det = Drama(random_state=0).fit(images)
    det.save(tmp_path / "img.drama")
    loaded = Drama.load(tmp_path / "img.drama")
    assert loaded.sample_shape_ == (6, 6)
    np.testing.assert_array_equal(loaded.decision_function(images), det.decision_scores_)
    with pytest.raises(ValueError, match="shape"):
        loaded.decision_function(images.reshape(50, 36))


def test_load_then_save_again_is_stable(tmp_path, fitted, data):
    first = tmp_path / "a.drama"
    second = tmp_path / "b.drama"
    fitted.save(first)
    Drama.load(first).save(second)
    again = Drama.load(second)
    new = data[1]
    np.testing.assert_array_equal(again.decision_function(new), fitted.decision_function(new))


def test_file_is_a_plain_zip_of_arrays(tmp_path, fitted):
    path = tmp_path / "model.drama"
    fitted.save(path)
    assert zipfile.is_zipfile(path)
    with np.load(path, allow_pickle=False) as archive:
        names = list(archive.files)
        assert "__meta__" in names
        for name in names:
            assert archive[name].dtype != object
        meta = json.loads(str(archive["__meta__"]))
    assert meta["format"] == "drama-model"
    assert meta["format_version"] == FORMAT_VERSION
    assert meta["params"]["reducer"] == "pca"


def _rewrite(path, target, change_meta):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    meta = json.loads(str(arrays["__meta__"]))
    change_meta(meta)
    arrays["__meta__"] = np.array(json.dumps(meta))
    with open(target, "wb") as handle:
        np.savez(handle, **arrays)


def test_other_format_version_is_refused(tmp_path, fitted):
    path = tmp_path / "model.drama"
    fitted.save(path)
    future = tmp_path / "future.drama"
    _rewrite(path, future, lambda meta: meta.update(format_version=FORMAT_VERSION + 1))
    with pytest.raises(ValueError, match="version"):
        Drama.load(future)
    # The rewrite itself is sound: the same file with the right version loads.
    same = tmp_path / "same.drama"
    _rewrite(path, same, lambda meta: None)
    assert isinstance(Drama.load(same), Drama)


def test_other_format_is_refused(tmp_path, fitted):
    path = tmp_path / "model.drama"
    fitted.save(path)
    other = tmp_path / "other.drama"
    _rewrite(path, other, lambda meta: meta.update(format="something-else"))
    with pytest.raises(ValueError, match="not a DRAMA model"):
        Drama.load(other)


def test_truncated_file_is_refused(tmp_path, fitted):
    path = tmp_path / "model.drama"
    fitted.save(path)
    blob = path.read_bytes()
    for cut in (len(blob) // 2, len(blob) - 10, 30):
        broken = tmp_path / f"cut{cut}.drama"
        broken.write_bytes(blob[:cut])
        with pytest.raises(ValueError, match="not a readable DRAMA model"):
            Drama.load(broken)


def test_non_zip_file_is_refused(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("this is not a model\n" * 20)
    with pytest.raises(ValueError, match="DRAMA model"):
        Drama.load(text)
    empty = tmp_path / "empty.drama"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="DRAMA model"):
        Drama.load(empty)


def test_plain_npy_file_is_refused(tmp_path):
    path = tmp_path / "array.npy"
    np.save(path, np.arange(5.0))
    with pytest.raises(ValueError, match="DRAMA model"):
        Drama.load(path)


def test_zip_without_metadata_is_refused(tmp_path):
    path = tmp_path / "arrays.npz"
    np.savez(path, a=np.arange(3.0))
    with pytest.raises(ValueError, match=r"not a DRAMA model: it holds \['a'\]"):
        Drama.load(path)


def test_file_with_pickled_objects_is_refused(tmp_path, fitted):
    path = tmp_path / "model.drama"
    fitted.save(path)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    arrays["decision_scores"] = np.array([{"evil": 1}], dtype=object)
    bad = tmp_path / "pickled.drama"
    with open(bad, "wb") as handle:
        np.savez(handle, **arrays)
    with pytest.raises(ValueError, match="DRAMA model"):
        Drama.load(bad)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="No model file"):
        Drama.load(tmp_path / "nowhere.drama")


class _Identity:
    def fit(self, X):
        return self

    def encode(self, X):
        return X.reshape(len(X), -1)

    def decode(self, Z):
        return Z


def test_custom_reducer_refuses_to_save(tmp_path, data):
    det = Drama(reducer=_Identity(), random_state=0).fit(data[0])
    path = tmp_path / "custom.drama"
    with pytest.raises(TypeError, match="custom reducer"):
        det.save(path)
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_saving_unfitted_model_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not fitted"):
        Drama().save(tmp_path / "x.drama")
    assert list(tmp_path.iterdir()) == []


def test_overwrite_replaces_atomically_without_temp_files(tmp_path, data):
    train, new = data
    path = tmp_path / "model.drama"
    first = Drama(metric="l1", random_state=0).fit(train)
    second = Drama(metric="chebyshev", reducer="none", random_state=5).fit(train[::2])
    first.save(path)
    inode_before = os.stat(path).st_ino
    second.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.drama"]
    loaded = Drama.load(path)
    assert loaded.get_params() == second.get_params()
    np.testing.assert_array_equal(loaded.decision_function(new), second.decision_function(new))
    # os.replace puts a new file in place rather than rewriting the old one.
    assert os.stat(path).st_ino != inode_before


def test_failed_save_leaves_old_file_and_no_temp_files(tmp_path, fitted, data):
    path = tmp_path / "model.drama"
    fitted.save(path)
    before = path.read_bytes()
    custom = Drama(reducer=_Identity(), random_state=0).fit(data[0])
    with pytest.raises(TypeError):
        custom.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.drama"]


@pytest.mark.parametrize("metric", METRICS)
def test_every_metric_survives_the_round_trip(tmp_path, data, metric):
    train, new = data
    det = Drama(metric=metric, random_state=0).fit(train)
    det.save(tmp_path / "m.drama")
    np.testing.assert_array_equal(
        Drama.load(tmp_path / "m.drama").decision_function(new), det.decision_function(new)
    )


@pytest.mark.parametrize("edit", [
    lambda meta: meta["params"].update(n_levels=3),          # the tree has 2
    lambda meta: meta["params"].update(metric="taxicab"),    # not a metric
    lambda meta: meta["params"].update(bogus=1),             # not a parameter
    lambda meta: meta.pop("nodes"),                          # no tree
    lambda meta: meta["params"].update(metric="mahalanobis", keep_covariance=None),
])
def test_an_inconsistent_file_is_refused_with_a_reason(tmp_path, fitted, edit):
    path, bad = tmp_path / "model.drama", tmp_path / "edited.drama"
    fitted.save(path)
    _rewrite(path, bad, edit)
    with pytest.raises(ValueError, match="not a consistent DRAMA model file"):
        Drama.load(bad)


def test_truncated_training_scores_are_refused(tmp_path, fitted):
    path, bad = tmp_path / "model.drama", tmp_path / "cut.drama"
    fitted.save(path)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    arrays["decision_scores"] = arrays["decision_scores"][:10]
    with open(bad, "wb") as handle:
        np.savez(handle, **arrays)
    with pytest.raises(ValueError, match="training scores"):
        Drama.load(bad)


def test_numpy_bool_parameter_saves(tmp_path, data):
    model = Drama(reducer="pca", keep_covariance=np.True_, random_state=0).fit(data[0])
    model.save(tmp_path / "m.drama")
    np.testing.assert_array_equal(Drama.load(tmp_path / "m.drama").decision_scores_,
                                  model.decision_scores_)
