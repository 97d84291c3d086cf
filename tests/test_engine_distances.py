"""The ten prototype distances (docs/algorithm.md#distances) against SciPy and direct formulas."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.covariance import ledoit_wolf
from sklearn.metrics import pairwise_distances

import drama.distances as distances
from drama.distances import METRICS, LeafStats, prototype_distances, spread, whitening

N, K, D = 37, 5, 6


@pytest.fixture
def data():
    """Strictly positive objects and prototypes (Bray-Curtis and Canberra stay 0/0-free),
    plus leaf statistics with a known covariance per leaf."""
    rng = np.random.default_rng(7)
    U = rng.uniform(0.1, 2.0, size=(N, D))
    P = rng.uniform(0.1, 2.0, size=(K, D))
    sigma = rng.uniform(0.2, 1.5, size=(K, D))
    means = rng.uniform(0.1, 2.0, size=(K, D))
    covs = []
    for _ in range(K):
        A = rng.normal(size=(D, D))
        covs.append(A @ A.T + 0.5 * np.eye(D))
    whiten = np.stack([_whiten_from_cov(c) for c in covs])
    return U, P, LeafStats(sigma=sigma, mean=means, whiten=whiten), covs


def _whiten_from_cov(cov: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(cov)
    return vectors / np.sqrt(values)


SCIPY = {
    "l1": ("cityblock", {}),
    "l2": ("euclidean", {}),
    "l4": ("minkowski", {"p": 4}),
    "braycurtis": ("braycurtis", {}),
    "chebyshev": ("chebyshev", {}),
    "canberra": ("canberra", {}),
    "correlation": ("correlation", {}),
}


def test_metric_list_is_the_spec_list():
    assert set(METRICS) == {
        "l1", "l2", "l4", "wl2", "wl4", "braycurtis", "chebyshev", "canberra", "correlation",
        "mahalanobis",
    }
    assert len(METRICS) == 10


@pytest.mark.parametrize("metric", sorted(SCIPY))
def test_matches_scipy(data, metric):
    U, P, stats, _ = data
    name, kwargs = SCIPY[metric]
    got = prototype_distances(U, P, metric, stats)
    assert got.shape == (N, K)
    np.testing.assert_allclose(got, cdist(U, P, name, **kwargs), rtol=1e-10, atol=1e-12)


def test_mahalanobis_matches_scipy_per_leaf(data):
    U, P, stats, covs = data
    got = prototype_distances(U, P, "mahalanobis", stats)
    assert got.shape == (N, K)
    for j, cov in enumerate(covs):
        expected = cdist(U, stats.mean[j : j + 1], "mahalanobis", VI=np.linalg.inv(cov))[:, 0]
        np.testing.assert_allclose(got[:, j], expected, rtol=1e-8, atol=1e-10)


def test_mahalanobis_measures_from_the_leaf_mean_not_the_prototype(data):
    U, P, stats, _ = data
    moved = P + 100.0
    np.testing.assert_array_equal(
        prototype_distances(U, P, "mahalanobis", stats),
        prototype_distances(U, moved, "mahalanobis", stats),
    )


@pytest.mark.parametrize("metric, p", [("wl2", 2), ("wl4", 4)])
def test_weighted_metrics_match_direct_formula(data, metric, p):
    U, P, stats, _ = data
    got = prototype_distances(U, P, metric, stats)
    expected = np.empty((N, K))
    for i in range(N):
        for j in range(K):
            expected[i, j] = np.sum(np.abs((U[i] - P[j]) / stats.sigma[j]) ** p) ** (1.0 / p)
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_weighted_metric_with_unit_sigma_is_the_plain_metric(data):
    U, P, stats, _ = data
    ones = LeafStats(sigma=np.ones_like(stats.sigma), mean=stats.mean, whiten=stats.whiten)
    np.testing.assert_allclose(
        prototype_distances(U, P, "wl2", ones), prototype_distances(U, P, "l2"), rtol=1e-12
    )
    np.testing.assert_allclose(
        prototype_distances(U, P, "wl4", ones), prototype_distances(U, P, "l4"), rtol=1e-12
    )


@pytest.mark.parametrize("metric", METRICS)
def test_inputs_are_not_modified(data, metric):
    U, P, stats, _ = data
    copies = [a.copy() for a in (U, P, stats.sigma, stats.mean, stats.whiten)]
    prototype_distances(U, P, metric, stats)
    for before, after in zip(copies, (U, P, stats.sigma, stats.mean, stats.whiten), strict=True):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize("metric", METRICS)
def test_chunking_gives_the_one_block_result(data, monkeypatch, metric):
    U, P, stats, _ = data
    whole = prototype_distances(U, P, metric, stats)
    # Rows per chunk = max(1, limit // (k * d)): 1 row, then 2 rows per chunk. Matrix
    # products may round differently by block size, hence a last-bit tolerance.
    for limit in (1, 2 * K * D + 1):
        monkeypatch.setattr(distances, "_CHUNK_ELEMENTS", limit)
        chunked = prototype_distances(U, P, metric, stats)
        assert chunked.shape == whole.shape
        np.testing.assert_allclose(chunked, whole, rtol=1e-12, atol=1e-14)


def test_small_chunk_limit_really_walks_row_by_row(data, monkeypatch):
    U, P, stats, _ = data
    calls = []
    original = distances._pairwise

    def counting(block, *args):
        calls.append(len(block))
        return original(block, *args)

    monkeypatch.setattr(distances, "_pairwise", counting)
    monkeypatch.setattr(distances, "_CHUNK_ELEMENTS", 1)
    prototype_distances(U, P, "l2", stats)
    assert calls == [1] * N


@pytest.mark.parametrize("metric", METRICS)
def test_distance_of_prototype_to_itself(data, metric):
    _, P, stats, _ = data
    dist = prototype_distances(P, P, metric, stats)
    if metric == "mahalanobis":
        own = prototype_distances(stats.mean, P, metric, stats)
        np.testing.assert_allclose(np.diag(own), 0.0, atol=1e-10)
    else:
        np.testing.assert_allclose(np.diag(dist), 0.0, atol=1e-12)
    assert (dist >= 0).all()


def test_correlation_constant_vectors():
    d = 6
    constant_a = np.full(d, 0.5)
    constant_b = np.full(d, 2.0)
    varying = np.linspace(0.0, 1.0, d)
    U = np.stack([constant_a, varying])
    P = np.stack([constant_b, varying, constant_a])
    U0, P0 = U.copy(), P.copy()
    dist = prototype_distances(U, P, "correlation")
    assert np.isfinite(dist).all()
    np.testing.assert_allclose(dist[0, 0], 0.0)  # two constants
    np.testing.assert_allclose(dist[0, 2], 0.0)
    np.testing.assert_allclose(dist[0, 1], 1.0)  # constant vs non-constant
    np.testing.assert_allclose(dist[1, 0], 1.0)
    np.testing.assert_allclose(dist[1, 1], 0.0, atol=1e-12)
    np.testing.assert_array_equal(U, U0)
    np.testing.assert_array_equal(P, P0)


@pytest.mark.parametrize("value, d", [(0.1, 3), (0.7, 7), (1.0 / 3.0, 10)])
def test_correlation_constant_vectors_with_inexact_means(value, d):
    """A constant vector whose mean is not exactly representable is still constant:
    0 to any other constant, 1 to a non-constant vector."""
    U = np.full((1, d), value)
    P = np.stack([np.full(d, 0.5), np.full(d, 0.0), np.full(d, 0.7), np.linspace(0.0, 1.0, d)])
    dist = prototype_distances(U, P, "correlation")
    np.testing.assert_allclose(dist[0, :3], 0.0, atol=1e-12)
    np.testing.assert_allclose(dist[0, 3], 1.0, atol=1e-12)


def test_correlation_is_in_zero_two_and_anticorrelated_is_two():
    u = np.linspace(0.0, 1.0, 5)[None, :]
    P = np.stack([u[0], -u[0], 3 * u[0] + 1])
    dist = prototype_distances(u, P, "correlation")
    np.testing.assert_allclose(dist, [[0.0, 2.0, 0.0]], atol=1e-12)


def test_canberra_counts_zero_over_zero_as_zero():
    U = np.array([[0.0, 1.0, 0.0]])
    P = np.array([[0.0, 3.0, 2.0]])
    got = prototype_distances(U, P, "canberra")
    np.testing.assert_allclose(got, cdist(U, P, "canberra"))
    np.testing.assert_allclose(got, [[0.5 + 1.0]])


def test_braycurtis_of_zero_vectors_is_finite():
    got = prototype_distances(np.zeros((2, 3)), np.zeros((1, 3)), "braycurtis")
    assert np.isfinite(got).all()
    np.testing.assert_array_equal(got, 0.0)


def test_unknown_metric_is_refused(data):
    U, P, stats, _ = data
    with pytest.raises(ValueError, match="Unknown metric"):
        prototype_distances(U, P, "cosine", stats)


def test_mahalanobis_without_covariances_is_refused(data):
    U, P, stats, _ = data
    with pytest.raises(ValueError, match="covariance"):
        prototype_distances(U, P, "mahalanobis", None)
    no_whiten = LeafStats(sigma=stats.sigma, mean=stats.mean, whiten=None)
    with pytest.raises(ValueError, match="covariance"):
        prototype_distances(U, P, "mahalanobis", no_whiten)


def test_whitening_inverts_the_shrunk_covariance():
    rng = np.random.default_rng(3)
    members = rng.normal(size=(200, 4)) @ rng.normal(size=(4, 4))
    W = whitening(members, 1e-12)
    cov = ledoit_wolf(members)[0]
    np.testing.assert_allclose(W @ W.T, np.linalg.inv(cov), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("eig_floor", [1e-12, 1e-24, 1e-4])
def test_whitening_of_a_one_object_leaf_is_finite(eig_floor):
    W = whitening(np.array([[0.3, -1.0, 2.0]]), eig_floor)
    assert W.shape == (3, 3)
    assert np.isfinite(W).all()


def test_whitening_of_a_constant_leaf_is_finite():
    W = whitening(np.ones((20, 4)), 1e-12)
    assert np.isfinite(W).all()


def test_spread_is_floored():
    members = np.array([[1.0, 5.0], [1.0, 7.0]])
    sigma = spread(members, np.array([0.25, 0.25]))
    np.testing.assert_allclose(sigma, [0.25, 1.0])


@pytest.fixture
def mixed():
    """Objects and prototypes of both signs, with exact zeros (canberra's 0/0), coordinates
    where an object mirrors a prototype (u = -p, so |u + p| and |u| + |p| differ most) and
    an object equal to a prototype; leaf statistics as in ``data``."""
    rng = np.random.default_rng(11)
    U = rng.normal(scale=2.0, size=(60, 8))
    P = rng.normal(scale=2.0, size=(4, 8))
    U[rng.random(U.shape) < 0.15] = 0.0
    P[0, :3] = 0.0
    U[:5, :4] = -P[1, :4]
    U[5] = P[2]
    sigma = rng.uniform(0.2, 1.5, size=P.shape)
    covs = [A @ A.T + 0.5 * np.eye(8) for A in rng.normal(size=(4, 8, 8))]
    whiten = np.stack([_whiten_from_cov(c) for c in covs])
    return U, P, LeafStats(sigma=sigma, mean=rng.normal(size=P.shape), whiten=whiten), covs


@pytest.mark.parametrize("metric", sorted(SCIPY))
def test_matches_scipy_on_mixed_signs(mixed, metric):
    U, P, stats, _ = mixed
    name, kwargs = SCIPY[metric]
    np.testing.assert_allclose(prototype_distances(U, P, metric, stats),
                               cdist(U, P, name, **kwargs), rtol=1e-10, atol=1e-12)


# Not sklearn's euclidean: it expands the square without recomputing small results, and
# puts an object equal to a prototype at ~1e-7 (the l2 accuracy tests below check ours).
@pytest.mark.parametrize("metric, sklearn_name", [
    ("l1", "manhattan"), ("chebyshev", "chebyshev"),
    ("canberra", "canberra"), ("braycurtis", "braycurtis"), ("correlation", "correlation"),
])
def test_matches_sklearn_on_mixed_signs(mixed, metric, sklearn_name):
    U, P, stats, _ = mixed
    np.testing.assert_allclose(prototype_distances(U, P, metric, stats),
                               pairwise_distances(U, P, metric=sklearn_name),
                               rtol=1e-10, atol=1e-12)


def test_braycurtis_reference_tells_the_denominators_apart(mixed):
    """The mixed-sign check above would catch sum(|u| + |p|) in place of sum |u + p|."""
    U, P, _, _ = mixed
    wrong = cdist(U, P, "cityblock") / (np.abs(U).sum(axis=1)[:, None] + np.abs(P).sum(axis=1))
    assert np.abs(wrong - cdist(U, P, "braycurtis")).max() > 0.1


@pytest.mark.parametrize("metric, p", [("wl2", 2), ("wl4", 4)])
def test_weighted_metrics_on_mixed_signs(mixed, metric, p):
    U, P, stats, _ = mixed
    expected = np.stack([cdist(U, P[j : j + 1], "minkowski", p=p, w=stats.sigma[j] ** -p)[:, 0]
                         for j in range(len(P))], axis=1)
    np.testing.assert_allclose(prototype_distances(U, P, metric, stats), expected,
                               rtol=1e-10, atol=1e-12)


def test_mahalanobis_on_mixed_signs(mixed):
    U, P, stats, covs = mixed
    got = prototype_distances(U, P, "mahalanobis", stats)
    for j, cov in enumerate(covs):
        expected = cdist(U, stats.mean[j : j + 1], "mahalanobis", VI=np.linalg.inv(cov))[:, 0]
        np.testing.assert_allclose(got[:, j], expected, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("metric", ["l2", "wl2"])
@pytest.mark.parametrize("offset", [0.0, 1e3, 1e6])
def test_euclidean_of_an_object_equal_to_a_prototype_is_zero(mixed, metric, offset):
    U, P, stats, _ = mixed
    got = prototype_distances(U + offset, P + offset, metric, stats)
    assert got[5, 2] == 0.0
    assert (got >= 0).all()


@pytest.mark.parametrize("metric", ["l2", "wl2"])
@pytest.mark.parametrize("offset", [1.0, 1e3, 1e6])
def test_euclidean_stays_accurate_under_large_offsets(metric, offset):
    """Objects at 1e6 that differ from the prototypes by ~1e-3: expanding the square
    would lose every digit there; the distances must keep their relative precision."""
    rng = np.random.default_rng(5)
    U = offset + 1e-3 * rng.normal(size=(50, 7))
    P = offset + 1e-3 * rng.normal(size=(3, 7))
    sigma = rng.uniform(0.5, 2.0, size=P.shape)
    stats = LeafStats(sigma=sigma, mean=P, whiten=None)
    expected = np.stack([cdist(U, P[j : j + 1], "euclidean", w=sigma[j] ** -2.0)[:, 0]
                         for j in range(len(P))], axis=1) if metric == "wl2" else cdist(U, P)
    np.testing.assert_allclose(prototype_distances(U, P, metric, stats), expected, rtol=1e-12)


def test_euclidean_is_accurate_on_mixed_data_with_an_offset(mixed):
    """Pairs far from the recomputation threshold keep ~1e-12 relative error too."""
    U, P, stats, _ = mixed
    np.testing.assert_allclose(prototype_distances(U + 30.0, P + 30.0, "l2"), cdist(U, P),
                               rtol=1e-11)


def test_weighted_euclidean_with_tiny_spreads_matches_the_direct_formula():
    """Spreads of 1e-160 overflow sigma**-2: those pairs are recomputed from the differences."""
    U = np.array([[1e-160, 2e-160], [0.0, 0.0], [3e-160, -1e-160]])
    P = np.array([[1e-160, 0.0], [0.0, 0.0]])
    sigma = np.full(P.shape, 1e-160)
    got = prototype_distances(U, P, "wl2", LeafStats(sigma=sigma, mean=P, whiten=None))
    expected = np.sqrt((((U[:, None, :] - P[None]) / sigma[None]) ** 2).sum(axis=2))
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_correlation_of_a_nearly_constant_row_is_not_the_constant_rule():
    """A row at 1e6 varying by 1e-6 is not constant (max != min) and gets its correlation."""
    rng = np.random.default_rng(2)
    u = 1e6 + 1e-6 * rng.normal(size=(1, 9))
    P = rng.normal(size=(3, 9))
    np.testing.assert_allclose(prototype_distances(u, P, "correlation"),
                               cdist(u, P, "correlation"), rtol=1e-6)


@pytest.mark.parametrize("offset", [30.0, 1e3, 1e6])
def test_correlation_stays_accurate_under_large_offsets(offset):
    """Correlation expands ||u - mean||^2 as ||u||^2 - d mean^2: rows whose offset dwarfs
    their spread must be centred exactly, not lose their digits."""
    rng = np.random.default_rng(8)
    U = offset + rng.normal(size=(60, 11)) * rng.uniform(1e-3, 1.0, size=(60, 1))
    P = rng.normal(size=(4, 11)) + offset
    np.testing.assert_allclose(prototype_distances(U, P, "correlation"),
                               cdist(U, P, "correlation"), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("metric", ["l2", "wl2", "correlation"])
def test_small_chunks_give_the_same_distances(monkeypatch, metric):
    """With chunks of a few rows and every l2 pair recomputed (an offset of 1e6), the
    chunked and batched paths give what one pass gives."""
    import drama.distances as distances

    rng = np.random.default_rng(9)
    U = 1e6 + rng.normal(size=(300, 6))
    P = 1e6 + rng.normal(size=(5, 6))
    stats = LeafStats(sigma=rng.uniform(0.5, 2.0, size=P.shape), mean=P, whiten=None)
    whole = prototype_distances(U, P, metric, stats)
    monkeypatch.setattr(distances, "_CHUNK_ELEMENTS", 16)
    np.testing.assert_array_equal(prototype_distances(U, P, metric, stats), whole)


# Behaviours that mutation testing (make mutation, docs/testing.md) found unprotected.


def test_correlation_ranks_only_from_three_dimensions_other_metrics_always():
    assert not distances.ranks_in("correlation", 2)
    assert distances.ranks_in("correlation", 3)
    assert distances.ranks_in("l2", 1)
    assert distances.ranks_in("chebyshev", 2)


def test_refusals_name_the_metric_and_the_remedy(data):
    U, P, stats, _ = data
    with pytest.raises(ValueError, match="choose one of l1, l2, l4, wl2"):
        prototype_distances(U, P, "cosine", stats)
    with pytest.raises(ValueError, match="^The Mahalanobis metric needs leaf covariances, which "
                                         "this model did not keep. Refit with metric="):
        prototype_distances(U, P, "mahalanobis", None)
    for metric in ("wl2", "wl4"):
        with pytest.raises(ValueError, match=f"The '{metric}' metric needs the leaves' statist"):
            prototype_distances(U, P, metric, None)


def test_braycurtis_matches_scipy_when_the_sums_are_below_one(mixed):
    U, P = 1e-3 * mixed[0], 1e-3 * mixed[1]  # every sum |u + p| well below 1
    np.testing.assert_allclose(prototype_distances(U, P, "braycurtis"),
                               cdist(U, P, "braycurtis"), rtol=1e-12)


def test_whitening_of_a_two_object_leaf_uses_their_variance():
    # two objects 2 apart in one dimension: (biased) variance 1, so W = 1
    np.testing.assert_allclose(whitening(np.array([[0.0], [2.0]]), 1e-12), [[1.0]], rtol=1e-12)


def test_whitening_floors_eigenvalues_relative_to_the_largest_not_to_one():
    # variance 1e-8: far above 1e-6 of itself, so the leaf is whitened by its own spread
    W = whitening(np.array([[0.0], [2e-4]]), 1e-20)
    np.testing.assert_allclose(W, [[1e4]], rtol=1e-9)


def test_euclidean_recomputes_cancelled_pairs_when_norms_are_huge():
    # squared norms 4e300 swamp the squared distance 1e280 in the expansion
    U = np.array([[2e150, 0.0]])
    P = np.array([[2e150, 1e140]])
    np.testing.assert_allclose(prototype_distances(U, P, "l2"), [[1e140]], rtol=1e-12)


def test_correlation_with_constants_on_one_side_only():
    # 0.7 repeated 7 times: its computed mean is inexact, so its centred norm is rounding
    varying = np.stack([np.linspace(0.0, 1.0, 7), np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0])])
    constant = np.full((1, 7), 0.7)
    np.testing.assert_array_equal(prototype_distances(constant, varying, "correlation"), 1.0)
    np.testing.assert_array_equal(prototype_distances(varying, constant, "correlation"), 1.0)


def test_correlation_constant_vector_with_a_large_mean():
    # 1e5 / 3 repeated: the centred norm is rounding (~2e-11), not a variation
    U = np.full((1, 10), 1e5 / 3)
    P = np.stack([np.full(10, 2.0), np.linspace(0.0, 1.0, 10)])
    np.testing.assert_allclose(prototype_distances(U, P, "correlation"), [[0.0, 1.0]], atol=1e-12)


def test_correlation_distance_never_exceeds_two_despite_rounding():
    # for this pair the unclipped 1 - correlation rounds to 2.0000000000000004
    u = np.random.default_rng(1).random((1, 8))
    assert prototype_distances(u, -3.0 * u, "correlation")[0, 0] == 2.0


def test_mahalanobis_refuses_leaf_statistics_of_different_lengths(data):
    # one whitening matrix short: scoring must fail, not leave a column unwritten
    U, P, stats, _ = data
    short = LeafStats(sigma=stats.sigma, mean=stats.mean, whiten=stats.whiten[:-1])
    with pytest.raises(ValueError):
        prototype_distances(U, P, "mahalanobis", short)


def test_whitening_of_a_one_object_leaf_warns_nothing():
    # Ledoit-Wolf of one object would warn "Only one sample available" during every fit
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        W = whitening(np.array([[0.3, -1.0, 2.0]]), 1e-12)
    np.testing.assert_allclose(W @ W.T, np.eye(3) / 1e-12)


@pytest.mark.parametrize("metric", ["l4", "wl4"])
def test_fourth_powers_that_overflow_are_recomputed_finite(metric):
    """A leaf spread floored at 1e-90 makes (d / sigma)^4 overflow float64; the distance
    itself, about 1e90, is finite and must come out as the direct formula gives it."""
    U = np.array([[1.0, 0.0], [0.0, 0.0], [3e80, -2e80]])
    P = np.array([[0.0, 0.0]])
    sigma = np.full(P.shape, 1e-90)
    got = prototype_distances(U, P, metric, LeafStats(sigma=sigma, mean=P, whiten=None))
    w = sigma[0] if metric == "wl4" else 1.0
    expected = np.array([[np.max(np.abs(u / w)) * (np.sum((u / w / np.max(np.abs(u / w))) ** 4)
                                                     if np.any(u) else 0.0) ** 0.25]
                         for u in U - P[0]])
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, np.nan_to_num(expected), rtol=1e-12)


def test_euclidean_blocks_written_in_place_or_not_give_the_same_distances():
    # BLAS writes straight into a C-contiguous block; any other block receives a copy
    rng = np.random.default_rng(3)
    U, P = rng.normal(size=(40, 7)), rng.normal(size=(5, 7))
    expected = cdist(U, P)
    contiguous = np.empty((40, 5))
    strided = np.empty((40, 10))[:, ::2]
    for out in (contiguous, strided):
        distances._euclidean(U, P, out)
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_euclidean_of_float32_objects_is_computed_in_float64():
    rng = np.random.default_rng(4)
    U, P = rng.normal(size=(30, 6)).astype(np.float32), rng.normal(size=(4, 6))
    np.testing.assert_allclose(prototype_distances(U, P, "l2"),
                               cdist(U.astype(float), P), rtol=1e-12)
