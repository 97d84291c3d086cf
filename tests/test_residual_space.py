"""The residual space: each object against its own reconstruction (docs/algorithm.md#spaces)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.decomposition import PCA

import drama.tree as tree_module
from drama import Drama, DramaSearch, load_detector
from drama.distances import METRICS, paired_distances
from drama.metrics import auc_score

# SciPy's own name for each metric that it defines as DRAMA does.
SCIPY_NAMES = {"l1": "cityblock", "l2": "euclidean", "chebyshev": "chebyshev",
               "canberra": "canberra", "braycurtis": "braycurtis", "correlation": "correlation"}


def _pairs(seed: int = 0, n: int = 40, d: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Mixed-sign objects and reconstructions: Bray-Curtis and Canberra differ from their
    positive-data forms only here."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=(n, d))


def _row_by_row(U: np.ndarray, R: np.ndarray, metric: str, **kw: object) -> np.ndarray:
    return np.array([cdist(u[None], r[None], metric, **kw)[0, 0]
                     for u, r in zip(U, R, strict=True)])


@pytest.mark.parametrize("metric", sorted(SCIPY_NAMES))
def test_paired_distances_match_scipy_on_mixed_signs(metric):
    U, R = _pairs()
    expected = _row_by_row(U, R, SCIPY_NAMES[metric])
    np.testing.assert_allclose(paired_distances(U, R, metric), expected, rtol=1e-12, atol=1e-14)


def test_paired_fourth_power_and_weighted_metrics_match_scipy():
    U, R = _pairs(1)
    sigma = np.random.default_rng(2).uniform(0.5, 2.0, size=U.shape[1])
    np.testing.assert_allclose(paired_distances(U, R, "l4"), _row_by_row(U, R, "minkowski", p=4),
                               rtol=1e-12)
    np.testing.assert_allclose(paired_distances(U, R, "wl2", sigma),
                               _row_by_row(U, R, "seuclidean", V=sigma**2), rtol=1e-12)
    np.testing.assert_allclose(paired_distances(U, R, "wl4", sigma),
                               _row_by_row(U / sigma, R / sigma, "minkowski", p=4), rtol=1e-12)


def test_paired_mahalanobis_uses_the_whitening_as_inverse_covariance_root():
    U, R = _pairs(3)
    W = np.random.default_rng(4).normal(size=(U.shape[1], U.shape[1]))
    expected = _row_by_row(U, R, "mahalanobis", VI=W @ W.T)
    np.testing.assert_allclose(paired_distances(U, R, "mahalanobis", whiten=W), expected,
                               rtol=1e-10)


def test_paired_distances_edge_cases():
    U, _ = _pairs(5, n=3)
    for metric in ("l1", "l2", "l4", "chebyshev", "canberra", "braycurtis"):
        assert np.all(paired_distances(U, U.copy(), metric) == 0.0), metric
    assert np.all(paired_distances(U, U.copy(), "correlation") <= 1e-15)  # a rounded product
    # Canberra counts a 0/0 term as 0; Bray-Curtis of two zero vectors is 0.
    zeros = np.zeros((1, 4))
    assert paired_distances(zeros, zeros, "canberra")[0] == 0.0
    assert paired_distances(zeros, zeros, "braycurtis")[0] == 0.0
    # A constant vector correlates with nothing (1), but two constants are alike (0).
    const, other = np.full((1, 5), 3.0), np.arange(5.0)[None]
    assert paired_distances(const, other, "correlation")[0] == 1.0
    assert paired_distances(const, 2 * const, "correlation")[0] == 0.0
    # Fourth powers of 1e100 overflow; the scaled form does not.
    big = paired_distances(np.full((1, 4), 1e100), np.zeros((1, 4)), "l4")
    np.testing.assert_allclose(big, [1e100 * 4**0.25], rtol=1e-12)


def test_paired_distances_refuse_what_they_cannot_measure():
    U, R = _pairs(n=2)
    with pytest.raises(ValueError, match="Unknown metric 'l3'"):
        paired_distances(U, R, "l3")
    with pytest.raises(ValueError, match="differ in shape"):
        paired_distances(U, R[:, :3], "l2")
    with pytest.raises(ValueError, match="needs the leaf's spread"):
        paired_distances(U, R, "wl2")
    with pytest.raises(ValueError, match="needs leaf covariances"):
        paired_distances(U, R, "mahalanobis")


def test_paired_distances_do_not_depend_on_the_chunk(monkeypatch):
    import drama.distances as distances

    U, R = _pairs(6, n=50)
    whole = paired_distances(U, R, "correlation")
    monkeypatch.setattr(distances, "_CHUNK_ELEMENTS", 3 * U.shape[1])
    np.testing.assert_array_equal(paired_distances(U, R, "correlation"), whole)


def _scaled_table(n: int = 200, d: int = 6, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d))


def test_level_one_pca_residual_is_the_reconstruction_error_of_one_pca():
    """At level 1 every leaf lies in the root's latent space, so the residual of every object
    is its distance to its projection by one PCA fitted on all the (scaled) data."""
    X = _scaled_table()
    det = Drama(reducer="pca", space="residual", latent_dim=2, n_levels=1, scaling="none",
                random_state=0).fit(X)
    pca = PCA(n_components=2).fit(X)
    rebuilt = pca.inverse_transform(pca.transform(X))
    np.testing.assert_allclose(det.decision_scores_, np.linalg.norm(X - rebuilt, axis=1),
                               rtol=1e-9)


def test_deeper_residual_uses_the_reducer_of_the_nearest_prototypes_leaf():
    X = np.vstack([_scaled_table(150, seed=1) + 4.0, _scaled_table(150, seed=2) - 4.0])
    det = Drama(reducer="pca", space="residual", metric="l1", latent_dim=1, n_levels=2,
                scaling="none", random_state=0).fit(X)
    tree = det.tree_
    leaves = tree.prototypes(2)
    assert {tree.nodes_[i].encoder for i in leaves} != {0}  # level 2 has its own reducers
    prototypes = np.stack([tree.nodes_[i].prototype for i in leaves])
    nearest = cdist(X, prototypes, "cityblock").argmin(axis=1)
    expected = np.empty(len(X))
    for row, leaf in enumerate(nearest):
        reducer = tree.reducers_[tree.nodes_[leaves[leaf]].encoder]
        rebuilt = reducer.decode(reducer.encode(X[row : row + 1]))
        expected[row] = np.abs(X[row] - rebuilt.reshape(-1)).sum()
    np.testing.assert_allclose(det.decision_scores_, expected, rtol=1e-10)


def test_residual_finds_a_small_bump_that_the_prototypes_miss():
    """Curves of one shape with very different amplitudes, and a few with a small bump: the
    amplitude dominates every distance to a shared prototype, but one principal component
    reconstructs it, and what is left is the bump."""
    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, 60)
    shape = np.sin(2 * np.pi * t)
    amplitude = rng.uniform(0.5, 3.0, size=300)
    X = amplitude[:, None] * shape + 0.02 * rng.normal(size=(300, 60))
    y = np.zeros(300, dtype=int)
    y[:15] = 1
    X[:15, 25:30] += 0.3
    options = dict(reducer="pca", latent_dim=1, n_levels=1, scaling="none", random_state=0)
    residual = auc_score(y, Drama(space="residual", **options).fit(X).decision_scores_)
    prototype = auc_score(y, Drama(space="input", **options).fit(X).decision_scores_)
    assert residual > 0.99
    assert prototype < 0.8


@pytest.mark.parametrize("metric", [m for m in METRICS if m != "mahalanobis"])
def test_score_levels_and_the_single_configuration_agree_on_every_metric(metric):
    X = _scaled_table(120, d=5, seed=3)
    one = Drama(reducer="pca", space="residual", metric=metric, random_state=0).fit(X)
    every = Drama(reducer="pca", space="residual", keep_covariance=True,
                  random_state=0).fit(X).score_levels(X, "all")
    np.testing.assert_allclose(every[(2, metric)].to_numpy(), one.decision_scores_, rtol=1e-12)
    assert (2, "mahalanobis") in every.columns


def test_residual_scores_do_not_depend_on_the_block_size(monkeypatch):
    X = _scaled_table(300, seed=4)
    det = Drama(reducer="pca", space="residual", metric="wl2", random_state=0).fit(X)
    monkeypatch.setattr(tree_module, "RESIDUAL_BLOCK_VALUES", 7 * X.shape[1])
    np.testing.assert_array_equal(det.decision_function(X), det.decision_scores_)


def test_reducer_none_has_no_residual_space():
    X = _scaled_table(50)
    with pytest.raises(ValueError, match="space='residual' needs a reducer"):
        Drama(space="residual").fit(X)
    det = Drama().fit(X)
    with pytest.raises(ValueError, match="residual space needs a reducer"):
        det.score_levels(X, ["l2"], space="residual")


def test_a_saved_residual_model_scores_exactly_the_same(tmp_path):
    X = _scaled_table(150, seed=5)
    det = Drama(reducer="ica", space="residual", metric="wl4", random_state=0).fit(X)
    det.save(tmp_path / "m.npz")
    loaded = load_detector(tmp_path / "m.npz")
    assert loaded.space == "residual"
    np.testing.assert_array_equal(loaded.decision_function(X), det.decision_scores_)


def test_search_scores_residual_configurations_for_reducers_that_have_them(tmp_path):
    X = _scaled_table(150, seed=6)
    search = DramaSearch(reducers=["none", "pca"], metrics=["l2", "l1"], levels=[1, 2],
                         spaces=["input", "residual"], members=(), random_state=0).fit(X)
    spaces = search.results_.groupby("reducer")["space"].agg(set)
    assert spaces["none"] == {"input"}
    assert spaces["pca"] == {"input", "residual"}
    search.save(tmp_path / "s.npz")
    frame = load_detector(tmp_path / "s.npz").config_scores(X, ["pca|l1|2|residual"])
    np.testing.assert_array_equal(
        frame["pca|l1|2|residual"].to_numpy(),
        search.config_scores(X, ["pca|l1|2|residual"])["pca|l1|2|residual"].to_numpy())
    with pytest.raises(ValueError, match="residual space needs a reducer other than 'none'"):
        DramaSearch(spaces=["residual"]).fit(X)


def test_an_active_session_chooses_among_residual_configurations_too():
    from drama.active import ActiveSession

    X = _scaled_table(120, seed=7)
    with ActiveSession(X, reducers=("none", "pca"), levels=(1, 2), metrics=["l2"],
                       spaces=("input", "residual")) as session:
        configs = set(session.search_.results_["config"])
        assert {"pca|l2|2|residual", "none|l2|2|input"} <= configs
        assert session.config["spaces"] == ["input", "residual"]
    with ActiveSession(X, reducers=("none",), levels=(1,), metrics=["l2"]) as session:
        assert "spaces" not in session.config  # stores made before spaces reopen unchanged


@pytest.mark.parametrize("reducer, shape", [("ae", (60, 12)), ("cae1d", (60, 32)),
                                            ("cvae2d", (60, 8, 8)), ("nmf", (60, 12))])
def test_every_kind_of_reducer_scores_and_reloads_the_residual_space_exactly(reducer, shape,
                                                                             tmp_path):
    if reducer != "nmf":
        pytest.importorskip("torch", reason="the neural reducers need PyTorch")
    X = np.abs(np.random.default_rng(8).normal(size=shape))
    options = None if reducer == "nmf" else {"max_epochs": 2}
    det = Drama(reducer=reducer, space="residual", metric="wl2", reducer_options=options,
                random_state=0).fit(X)
    assert np.isfinite(det.decision_scores_).all() and np.ptp(det.decision_scores_) > 0
    det.save(tmp_path / "m.npz")
    np.testing.assert_array_equal(load_detector(tmp_path / "m.npz").decision_function(X),
                                  det.decision_scores_)


def test_paired_distances_in_many_small_chunks_match_row_by_row(monkeypatch):
    # 2 rows per chunk over 41 rows: every chunk, and the short last one, lands in its place
    monkeypatch.setattr("drama.distances._CHUNK_ELEMENTS", 8)
    U, R = _pairs(6, n=41, d=4)
    np.testing.assert_allclose(paired_distances(U, R, "l1"), _row_by_row(U, R, "cityblock"),
                               rtol=1e-12)


def test_paired_weighted_fourth_power_needs_the_spread():
    U, R = _pairs(7, n=3)
    for metric in ("wl2", "wl4"):
        with pytest.raises(ValueError, match="needs the leaf's spread"):
            paired_distances(U, R, metric)


def test_paired_fourth_power_of_differences_below_one():
    # every |u - r| < 1: the scaling by the largest term must not be skipped for them
    U, _ = _pairs(8)
    R = U + 0.01 * np.random.default_rng(9).normal(size=U.shape)
    np.testing.assert_allclose(paired_distances(U, R, "l4"), _row_by_row(U, R, "minkowski", p=4),
                               rtol=1e-12)


def test_paired_braycurtis_of_small_values_keeps_its_denominator():
    # sums of |u + r| well below 1: only the 1e-12 floor may bound the denominator
    U, R = _pairs(10)
    np.testing.assert_allclose(paired_distances(1e-3 * U, 1e-3 * R, "braycurtis"),
                               _row_by_row(U, R, "braycurtis"), rtol=1e-12)


def test_paired_correlation_of_a_rounded_constant_with_a_varying_vector_is_one():
    # 0.7 repeated 7 times: its computed mean is inexact, so its centred norm is rounding
    varying = np.array([[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0]])
    constant = np.full((1, 7), 0.7)
    assert paired_distances(constant, varying, "correlation")[0] == 1.0
    assert paired_distances(varying, constant, "correlation")[0] == 1.0
