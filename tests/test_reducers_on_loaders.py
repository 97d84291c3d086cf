"""The neural reducers on what the loaders give them: digits images, CRTS grids, Hubble
cutouts and the paper's signals; and DRAMA without PyTorch installed."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from test_lightcurves import _write_crts

from drama import Drama
from drama.datasets import load_digits_task, make_new_class_anomaly
from drama.datasets.lightcurves import load_crts
from drama.metrics import auc_score

FAST = {"max_epochs": 3, "warm_start_epochs": 2}


def _fit(reducer: str, X: np.ndarray, max_epochs: int = 3) -> Drama:
    pytest.importorskip("torch", reason="the neural reducers need PyTorch")
    return Drama(reducer=reducer, n_levels=2, min_node_size=5, random_state=0,
                 reducer_options={**FAST, "max_epochs": max_epochs}).fit(X)


def _check_scores_and_prototypes(model: Drama, X: np.ndarray) -> None:
    assert np.isfinite(model.decision_scores_).all()
    assert model.prototypes().shape[1:] == X.shape[1:]


def test_cae2d_on_the_digits_new_class_task() -> None:
    X, _ = load_digits_task(anomaly_digit=0, images=True)
    flat, _ = load_digits_task(anomaly_digit=0)
    np.testing.assert_array_equal(X.reshape(len(X), 64), flat)
    X = X[:400]
    model = _fit("cae2d", X)
    _check_scores_and_prototypes(model, X)
    # accuracy on this task is measured in benchmarks/experiments_neural.py; a few epochs
    # on a subset only show that the images train, repeat and come back as images
    np.testing.assert_array_equal(_fit("cae2d", X).decision_scores_, model.decision_scores_)


def test_digits_task_images_flag_is_checked() -> None:
    with pytest.raises(TypeError, match="images must be True or False"):
        load_digits_task(images="yes")


@pytest.mark.parametrize("reducer", ["cae1d", "cvae1d"])
def test_one_d_reducers_on_a_crts_grid(tmp_path, reducer: str) -> None:
    _write_crts(tmp_path, {f"TranID{i}": 6 + i % 5 for i in range(30)})
    X, _, _ = load_crts(tmp_path, n_bins=16)
    assert X.shape == (30, 16, 2)
    _check_scores_and_prototypes(_fit(reducer, X), X)


def test_cae2d_on_hubble_cutouts() -> None:
    pytest.importorskip("skimage", reason="hubble_cutouts needs scikit-image")
    from drama.datasets.images import hubble_cutouts

    X, _ = hubble_cutouts(size=16, stride=96)
    assert X.shape[1:] == (16, 16, 3)
    _check_scores_and_prototypes(_fit("cae2d", X), X)


@pytest.mark.parametrize("reducer", ["ae", "cae1d"])
def test_neural_reducers_find_a_new_class_of_signals(reducer: str) -> None:
    X, y = make_new_class_anomaly(n_per_inlier_class=150, n_per_outlier_class=2,
                                  n_features=64, random_state=0)
    model = _fit(reducer, X, max_epochs=10)
    _check_scores_and_prototypes(model, X)
    assert auc_score(y, model.decision_scores_) > 0.9


def test_drama_without_torch_or_umap() -> None:
    """``import drama`` and the linear reducers need neither; a neural reducer says how to
    install the extra."""
    script = textwrap.dedent("""
        import sys

        class Blocked:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("torch", "umap"):
                    raise ImportError(f"No module named {name!r} (blocked by the test)")

        sys.meta_path.insert(0, Blocked())
        import numpy as np
        from drama import Drama

        X = np.random.default_rng(0).random((60, 5))
        assert np.isfinite(Drama(reducer="pca").fit(X).decision_scores_).all()
        try:
            Drama(reducer="ae").fit(X)
        except ImportError as exc:
            print(exc)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "drama-anomaly[deep]" in done.stdout
