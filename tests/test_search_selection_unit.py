"""The search's selection rules as pure functions (src/drama/search.py): the label AUC, its
Hanley-McNeil standard error, the label-free consensus and the stable pool, each against a
reference worked out in the test (brute-force pair counts, correlations from numpy's
corrcoef, hand-picked sets). Fast on purpose: tools/mutation.py runs this file per mutant."""

from __future__ import annotations

import numpy as np
import pytest

from drama.search import (
    MIN_STABLE,
    auc_standard_error,
    consensus_weights,
    label_auc,
    stable_pool,
)


def _pairwise_auc(column: np.ndarray, anomalies: np.ndarray, normals: np.ndarray) -> float:
    """Share of (anomaly, normal) pairs ranked right, ties counted half: by brute force."""
    a, n = column[anomalies][:, None], column[normals][None, :]
    return float(((a > n) + 0.5 * (a == n)).mean())


def test_label_auc_is_the_share_of_pairs_ranked_right_with_ties_half():
    rng = np.random.default_rng(0)
    scores = rng.integers(-3, 4, size=(40, 6)).astype(float)  # mixed signs, many ties
    scores[:, 5] = 1.0  # a constant column: every pair tied
    anomalies, normals = np.array([3, 7, 11, 30]), np.arange(12, 30)
    expected = [_pairwise_auc(scores[:, j], anomalies, normals) for j in range(6)]
    np.testing.assert_allclose(label_auc(scores, anomalies, normals), expected, rtol=1e-12)
    assert expected[5] == 0.5


def test_label_auc_of_a_perfect_and_a_reversed_ranking():
    scores = np.column_stack([np.arange(10.0), -np.arange(10.0)])
    np.testing.assert_array_equal(label_auc(scores, np.array([8, 9]), np.arange(8)), [1.0, 0.0])


def _hanley_mcneil(auc: float, n_a: int, n_n: int) -> float:
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    return np.sqrt((auc * (1 - auc) + (n_a - 1) * (q1 - auc * auc)
                    + (n_n - 1) * (q2 - auc * auc)) / (n_a * n_n))


@pytest.mark.parametrize("auc, n_a, n_n", [(0.8, 5, 20), (0.3, 2, 7), (0.5, 1, 1),
                                           (0.95, 12, 3)])
def test_the_standard_error_is_hanley_and_mcneil_s(auc, n_a, n_n):
    got = auc_standard_error(np.array([auc]), n_a, n_n)[0]
    assert got == pytest.approx(_hanley_mcneil(auc, n_a, n_n), rel=1e-12)


def test_a_perfect_auc_keeps_a_positive_standard_error():
    """An AUC of exactly 0 or 1 would have no error at all; it is taken as 1e-6 from the
    bound, so that a perfect few-label choice still has to beat a margin."""
    se = auc_standard_error(np.array([1.0, 0.0]), 3, 10)
    assert se[0] == pytest.approx(_hanley_mcneil(1 - 1e-6, 3, 10), rel=1e-9)
    assert se[1] == pytest.approx(_hanley_mcneil(1e-6, 3, 10), rel=1e-9)
    assert (se > 0).all()


def _agreement(ranked: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """Pearson correlation of each column with the mean of the pool's columns (-1 for a
    constant column), from numpy's corrcoef."""
    centre = ranked[:, pool].mean(axis=1)
    return np.array([np.corrcoef(ranked[:, j], centre)[0, 1] if ranked[:, j].std() > 0
                     else -1.0 for j in range(ranked.shape[1])])


def test_the_consensus_keeps_the_share_that_agrees_most_with_the_mean_rank():
    rng = np.random.default_rng(1)
    base = rng.normal(size=30)
    ranked = np.column_stack([base + s * rng.normal(size=30) for s in (0.1, 2.0, 0.5, 1.0,
                                                                       0.2, 3.0)])
    corr, weights = consensus_weights(ranked, share=0.5)
    expected = _agreement(ranked, np.ones(6, bool))
    np.testing.assert_allclose(corr, expected, rtol=1e-10)
    top3 = np.argsort(-expected)[:3]
    assert set(np.flatnonzero(weights)) == set(top3)
    np.testing.assert_allclose(weights[top3], 1 / 3)
    assert weights.sum() == pytest.approx(1.0)


def test_the_consensus_is_measured_against_the_pool_and_chooses_only_from_it():
    rng = np.random.default_rng(2)
    ranked = rng.normal(size=(25, 5))
    pool = np.array([True, False, True, True, False])
    corr, weights = consensus_weights(ranked, share=0.34, pool=pool)  # 0.34 x 3 -> 1
    expected = _agreement(ranked, pool)
    np.testing.assert_allclose(corr, expected, rtol=1e-10)
    best_in_pool = np.flatnonzero(pool)[np.argmax(expected[pool])]
    np.testing.assert_array_equal(weights, np.eye(5)[best_in_pool])


def test_a_constant_configuration_never_agrees():
    ranked = np.column_stack([np.arange(10.0), np.full(10, 4.0), np.arange(10.0) ** 2])
    corr, weights = consensus_weights(ranked, share=0.6)  # 0.6 x 3 -> 2: it comes last
    assert corr[1] == -1.0
    assert weights[1] == 0.0 and weights[0] == weights[2] == 0.5


def test_the_ensemble_size_rounds_to_nearest_and_is_at_least_one():
    ranked = np.random.default_rng(3).normal(size=(20, 10))
    for share, size in ((0.25, 2), (0.26, 3), (0.34, 3), (0.36, 4), (0.01, 1), (1.0, 10)):
        _, weights = consensus_weights(ranked, share)
        assert (weights > 0).sum() == size, share
        np.testing.assert_allclose(weights[weights > 0], 1 / size)


def test_equal_agreement_keeps_the_first_configurations():
    """Identical columns agree equally: the earliest in the grid are kept."""
    column = np.random.default_rng(4).normal(size=15)
    ranked = np.column_stack([column] * 20)
    _, weights = consensus_weights(ranked, share=0.25)
    np.testing.assert_array_equal(np.flatnonzero(weights), np.arange(5))


def test_a_constant_centre_makes_every_configuration_disagree():
    """Two columns in opposite orders average to a constant: nothing agrees with it."""
    ranked = np.column_stack([np.arange(8.0), 7.0 - np.arange(8.0)])
    corr, weights = consensus_weights(ranked, share=0.5)
    np.testing.assert_array_equal(corr, [0.0, 0.0])
    np.testing.assert_array_equal(weights, [1.0, 0.0])


def test_the_stable_pool_keeps_configurations_at_or_above_the_threshold():
    stability = np.array([0.99, 0.97, 0.5, 0.98, 0.97, 0.96, 0.999, 0.1])
    np.testing.assert_array_equal(stable_pool(stability, 0.97),
                                  [True, True, False, True, True, False, True, False])


def test_with_too_few_stable_the_most_stable_are_kept():
    assert MIN_STABLE == 5
    stability = np.array([0.2, 0.9, 0.5, 0.9, 0.1, 0.7, 0.3, 0.95])
    pool = stable_pool(stability, 0.97)  # none passes: the 5 most stable, ties in order
    np.testing.assert_array_equal(np.flatnonzero(pool), [1, 2, 3, 5, 7])
    stability = np.array([0.99, 0.98, 0.97, 0.96, 0.5, 0.4])  # 3 pass, 5 are needed
    np.testing.assert_array_equal(np.flatnonzero(stable_pool(stability, 0.97)), [0, 1, 2, 3, 4])
    stability = np.array([0.5, 0.3, 0.5, 0.3, 0.5, 0.3])  # tied: the first of each value
    np.testing.assert_array_equal(np.flatnonzero(stable_pool(stability, 0.97)), [0, 1, 2, 3, 4])


def test_with_fewer_configurations_than_the_minimum_all_are_kept():
    stability = np.array([0.1, 0.99, 0.2])
    np.testing.assert_array_equal(stable_pool(stability, 0.97), [True, True, True])
    np.testing.assert_array_equal(stable_pool(np.array([0.1, 0.2, 0.3, 0.4, 0.99]), 0.5),
                                  [True] * 5)
