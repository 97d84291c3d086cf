"""The search's selection rules as pure functions (src/drama/search.py): the label AUC, its
Hanley-McNeil standard error, the label-free consensus, the stable pool and the few-label
choice (DramaSearch._few_label_weights), each against a reference worked out in the test
(brute-force pair counts, correlations from numpy's corrcoef, hand-picked sets, the shrunk
AUCs of a worked example). Fast on purpose: tools/mutation.py runs this file per mutant."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from drama.search import (
    MIN_STABLE,
    DramaSearch,
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


def _stable_top(values: np.ndarray, k: int) -> list[int]:
    """The k largest values, ties in input order: by Python's (stable) sort."""
    return sorted(range(len(values)), key=lambda j: (-values[j], j))[:k]


def test_many_equal_agreements_keep_the_first_configurations_of_each_value():
    """32 configurations that are copies of three columns: the cut falls inside a group of
    equal agreement, which keeps the earliest in the grid (an unstable sort of more than 16
    values does not). Small integers over 16 objects and 32 columns keep every mean and
    product exact, so that copies agree exactly equally (with general floats a matrix
    product may round the same column differently at another position)."""
    rng = np.random.default_rng(9)
    base = rng.integers(0, 8, size=(16, 3)).astype(float)
    base[:, 1] = base[:, 0] + rng.integers(0, 3, size=16)
    copies = rng.integers(0, 3, size=32)
    ranked = base[:, copies]
    corr, weights = consensus_weights(ranked, share=0.25)  # 8 of 32
    expected = _agreement(ranked, np.ones(32, bool))
    np.testing.assert_allclose(corr, expected, rtol=1e-10)
    for group in range(3):
        assert len(set(corr[copies == group])) == 1
    best = _stable_top(corr, 8)
    assert np.bincount(copies)[copies[best[0]]] > 8  # the cut falls inside that group
    np.testing.assert_array_equal(np.flatnonzero(weights), sorted(best))


def test_a_pool_of_zeros_and_ones_is_a_mask():
    ranked = np.random.default_rng(6).normal(size=(12, 4))
    as_ints = consensus_weights(ranked, share=0.5, pool=[1, 0, 1, 1])
    as_bools = consensus_weights(ranked, share=0.5, pool=np.array([True, False, True, True]))
    for got, expected in zip(as_ints, as_bools, strict=True):
        np.testing.assert_array_equal(got, expected)


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


def test_the_stable_pool_keeps_everything_at_the_threshold_itself():
    """Six configurations exactly at the threshold pass; nothing above it would leave fewer
    than MIN_STABLE and fall back to the five most stable."""
    stability = np.array([0.97] * 6 + [0.5])
    pool = stable_pool(stability, 0.97)
    assert pool.dtype == bool
    np.testing.assert_array_equal(pool, [True] * 6 + [False])


def test_the_fallback_pool_is_a_mask_of_the_most_stable_with_ties_in_order():
    """Too few pass among 30 values on three levels: the five most stable, the earliest of
    equal ones (an unstable sort of more than 16 values does not keep them)."""
    stability = np.random.default_rng(9).choice([0.9, 0.8, 0.7], size=30)
    pool = stable_pool(stability, 0.97)
    assert pool.dtype == bool
    assert (stability == 0.9).sum() > MIN_STABLE
    np.testing.assert_array_equal(np.flatnonzero(pool), sorted(_stable_top(stability, 5)))


def test_with_fewer_configurations_than_the_minimum_all_are_kept():
    stability = np.array([0.1, 0.99, 0.2])
    np.testing.assert_array_equal(stable_pool(stability, 0.97), [True, True, True])
    np.testing.assert_array_equal(stable_pool(np.array([0.1, 0.2, 0.3, 0.4, 0.99]), 0.5),
                                  [True] * 5)


# ---------------------------------------------------------------- the few-label choice
# DramaSearch._few_label_weights on a worked example: four configurations scored on eight
# training objects; objects 0 and 1 are labelled anomalies, 2, 3, 4 and 7 normals, 5 and 6
# unlabelled. Column 0 and 3 put both anomalies above every normal (label AUC 1), column 1
# below every one (0), column 2 one anomaly above all four normals and one above none (0.5).
FEW_RANKED = np.array([
    [0.9, 0.1, 0.9, 0.95],
    [0.8, 0.2, 0.1, 0.85],
    [0.1, 0.9, 0.5, 0.0],
    [0.2, 0.8, 0.6, 0.1],
    [0.3, 0.7, 0.2, 0.2],
    [0.5, 0.5, 0.3, 0.6],
    [0.6, 0.4, 0.4, 0.7],
    [0.4, 0.6, 0.7, 0.3],
])
FEW_LABELS = np.array([1, 1, 0, 0, 0, -1, -1, 0])
FEW_AGREEMENT = np.array([0.0, 0.6, 0.2, 0.4])  # priors 0.5, 0.8, 0.6, 0.7
# The label-free ensemble's training scores: anomaly 0 above the four normals, anomaly 1
# above three of them (0.1, 0.15, 0.05), below 0.5: label AUC 7/8.
FEW_LABEL_FREE = np.array([0.9, 0.2, 0.5, 0.1, 0.15, 0.3, 0.4, 0.05])
FEW_CONSENSUS_WEIGHTS = np.array([0.0, 0.0, 1.0, 0.0])


def _few_label_choice(labels=FEW_LABELS, top_k=2, prior_strength=2.0, guard_se=0.5):
    """Run DramaSearch's few-label rule on the worked example (the search's other state is
    not involved: the rule reads only these attributes)."""
    search = SimpleNamespace(
        train_ranks_=FEW_RANKED, prior_strength=prior_strength, top_k=top_k, guard_se=guard_se,
        _label_free_choice=lambda: SimpleNamespace(weights=FEW_CONSENSUS_WEIGHTS))
    res = pd.DataFrame({"config": list("abcd")})
    weights, kept = DramaSearch._few_label_weights(search, labels, FEW_AGREEMENT,
                                                   FEW_LABEL_FREE, res)
    return search, res, weights, kept


# Hanley-McNeil for the consensus' AUC 7/8 with 2 anomalies and 4 normals, by hand.
_Q1, _Q2 = 0.875 / 1.125, 2 * 0.875**2 / 1.875
FEW_SE_CONSENSUS = np.sqrt((0.875 * 0.125 + 1 * (_Q1 - 0.875**2) + 3 * (_Q2 - 0.875**2)) / 8)


def test_few_labels_shrink_each_label_auc_towards_its_agreement_and_average_the_top_k():
    """shrunk = (n_a * AUC + m * prior) / (n_a + m) with prior = (1 + agreement) / 2:
    here (AUC + prior) / 2 = 0.75, 0.4, 0.55, 0.85, so the top two are 3 and 0."""
    search, res, weights, kept = _few_label_choice()
    assert not kept
    np.testing.assert_array_equal(weights, [0.5, 0.0, 0.0, 0.5])
    np.testing.assert_allclose(res["label_auc"], [1.0, 0.0, 0.5, 1.0])
    np.testing.assert_allclose(res["shrunk_auc"], [0.75, 0.4, 0.55, 0.85])
    np.testing.assert_allclose(res["label_auc_se"],
                               [_hanley_mcneil(a, 2, 4) for a in (1 - 1e-6, 1e-6, 0.5, 1 - 1e-6)])
    assert (res["n_labelled"] == 6).all() and (res["n_labelled_anomalies"] == 2).all()
    assert (res["n_labelled_normals"] == 4).all()
    assert search.label_auc_ == {"top_k": 1.0, "consensus": 0.875}
    assert search.selection_ == (
        "labels: average of the top 2 configurations by label AUC shrunk towards agreement "
        f"(2 anomalies vs 4 labelled normals; label AUC 1.000 vs consensus 0.875 +- "
        f"{FEW_SE_CONSENSUS:.3f})")


def test_few_labels_without_shrinkage_break_equal_label_aucs_by_agreement():
    """Columns 0 and 3 both have label AUC 1; column 3 agrees more with the consensus, so
    it is chosen although column 0 comes first in the grid."""
    search, res, weights, kept = _few_label_choice(top_k=1, prior_strength=0.0)
    assert not kept
    np.testing.assert_array_equal(weights, [0.0, 0.0, 0.0, 1.0])
    np.testing.assert_allclose(res["shrunk_auc"], [1.0, 0.0, 0.5, 1.0])
    assert search.selection_.startswith("labels: average of the top 1 configurations by label "
                                        "AUC (2 anomalies")


def test_top_k_larger_than_the_configurations_averages_them_all():
    _, _, weights, kept = _few_label_choice(top_k=10, guard_se=0.0)
    assert kept  # the average of all four has AUC 0.75 < 0.875: the consensus stays
    np.testing.assert_array_equal(weights, FEW_CONSENSUS_WEIGHTS)


def test_the_consensus_stays_unless_beaten_by_more_than_guard_se_standard_errors():
    """Label AUC 1 against the consensus' 0.875 +- se: the labelled choice wins only when
    the gain 0.125 exceeds guard_se standard errors (Hanley-McNeil, 2 vs 4 labels)."""
    margin = 0.125 / FEW_SE_CONSENSUS
    _, _, weights, kept = _few_label_choice(guard_se=margin * (1 - 1e-6))
    assert not kept and weights[3] == 0.5
    search, _, weights, kept = _few_label_choice(guard_se=margin * (1 + 1e-6))
    assert kept
    np.testing.assert_array_equal(weights, FEW_CONSENSUS_WEIGHTS)
    assert search.selection_ == (
        "labels did not clearly beat the label-free consensus (2 anomalies vs 4 labelled "
        "normals; label AUC top-2 1.000 vs consensus 0.875 +- "
        f"{FEW_SE_CONSENSUS:.3f}); consensus kept")


def test_the_prior_of_an_agreement_outside_minus_one_to_one_is_that_of_the_bound():
    """A correlation rounded past +-1 maps to the prior 1 or 0, never beyond: with m = 2
    and two anomalies, shrunk = (AUC + prior) / 2."""
    search = SimpleNamespace(
        train_ranks_=FEW_RANKED, prior_strength=2.0, top_k=1, guard_se=0.0,
        _label_free_choice=lambda: SimpleNamespace(weights=FEW_CONSENSUS_WEIGHTS))
    res = pd.DataFrame(index=range(4))
    DramaSearch._few_label_weights(search, FEW_LABELS, np.array([-1.5, 1.5, -1.0, 1.0]),
                                   FEW_LABEL_FREE, res)
    np.testing.assert_allclose(res["shrunk_auc"], [0.5, 0.5, 0.25, 1.0])


def test_any_positive_prior_strength_is_named_in_the_selection():
    search, _, _, kept = _few_label_choice(prior_strength=0.5)
    assert not kept
    assert search.selection_.startswith(
        "labels: average of the top 2 configurations by label AUC shrunk towards agreement (")


def test_an_equal_label_auc_keeps_the_consensus():
    """With guard_se 0 the labelled choice must still be strictly better."""
    search = SimpleNamespace(
        train_ranks_=FEW_RANKED, prior_strength=0.0, top_k=1, guard_se=0.0,
        _label_free_choice=lambda: SimpleNamespace(weights=FEW_CONSENSUS_WEIGHTS))
    _, kept = DramaSearch._few_label_weights(search, FEW_LABELS, FEW_AGREEMENT,
                                             FEW_RANKED[:, 3], pd.DataFrame(index=range(4)))
    assert kept and search.label_auc_ == {"top_k": 1.0, "consensus": 1.0}


def test_without_labelled_normals_the_unlabelled_objects_stand_in_for_them():
    labels = np.array([1, 1, -1, -1, -1, -1, -1, -1])
    search, res, weights, kept = _few_label_choice(labels=labels, top_k=1, prior_strength=0.0,
                                                   guard_se=0.0)
    normals = np.arange(2, 8)
    expected = [_pairwise_auc(FEW_RANKED[:, j], np.array([0, 1]), normals) for j in range(4)]
    np.testing.assert_allclose(res["label_auc"], expected)
    assert (res["n_labelled"] == 2).all() and (res["n_labelled_normals"] == 0).all()
    assert "2 anomalies vs 6 unlabelled objects presumed normal" in search.selection_
    assert not kept and weights.sum() == 1.0
