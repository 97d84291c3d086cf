"""Ranks within the training scores (drama.ranks), checked against references independent of
the code: scipy's average ranks, scipy's Spearman rho and mid-ranks worked out by hand."""

import warnings

import numpy as np
import pytest
from scipy.stats import rankdata, spearmanr

from drama.ranks import TIE_TOLERANCE, cdf, rank_correlation, rank_normalise, sorted_and_ranks

TRAIN = np.array([1.0, 2.0, 3.0, 4.0])  # n = 4: a rank step is 1/4, a mid-rank step 1/8


def test_rank_normalise_is_scipy_average_rank_over_n_per_column():
    rng = np.random.default_rng(0)
    scores = rng.integers(-5, 5, size=(40, 3)).astype(float)  # many ties, both signs
    expected = rankdata(scores, method="average", axis=0) / 40
    np.testing.assert_allclose(rank_normalise(scores), expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(rank_normalise(scores[:, 1]), expected[:, 1], rtol=0, atol=1e-15)


def test_rank_normalise_of_no_objects_is_empty():
    assert rank_normalise(np.empty((0, 3))).shape == (0, 3)


def test_sorted_and_ranks_gives_the_sorted_column_and_its_ranks():
    column = np.array([3.0, -1.0, 3.0, 0.5])
    ordered, ranks = sorted_and_ranks(column)
    np.testing.assert_array_equal(ordered, [-1.0, 0.5, 3.0, 3.0])
    np.testing.assert_array_equal(ranks, [3.5 / 4, 1 / 4, 3.5 / 4, 2 / 4])


def test_new_values_land_midway_between_training_ranks():
    # m training scores below a new value and none equal: mid-rank (2m + 1) / 2n
    values = np.array([0.0, 1.5, 2.5, 3.0])
    np.testing.assert_allclose(cdf(TRAIN, values), [1 / 8, 3 / 8, 5 / 8, 3 / 4], rtol=0)


def test_a_training_object_scored_again_lands_on_its_training_rank():
    train = np.random.default_rng(1).normal(size=25)
    ordered = np.sort(train)
    np.testing.assert_array_equal(cdf(ordered, train), rank_normalise(train))


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_scores_within_the_tie_tolerance_count_as_tied(sign):
    train = sign * TRAIN if sign > 0 else np.sort(sign * TRAIN)
    tied = sign * 2.0 * (1 + TIE_TOLERANCE / 10)  # the same object, last bits differing
    apart = sign * 2.0 * (1 + TIE_TOLERANCE * 10)
    exact = cdf(train, np.array([sign * 2.0]))[0]
    assert cdf(train, np.array([tied]))[0] == exact
    assert cdf(train, np.array([apart]))[0] != exact


def test_beyond_the_training_maximum_the_excess_orders_by_less_than_a_thousandth():
    # excess e over the top (4) with training span 3 adds 1e-3 * e / (e + 3) to the top mid-rank
    values = np.array([5.0, 1000.0, np.inf])
    expected = 9 / 8 + 1e-3 * np.array([1 / 4, 996 / 999, 1.0])
    np.testing.assert_allclose(cdf(TRAIN, values), expected, rtol=1e-14)
    assert cdf(TRAIN, np.array([-np.inf]))[0] == 1 / 8


def test_beyond_a_constant_training_set_every_excess_counts_as_a_full_thousandth():
    # a zero span would divide by zero; the floor makes any excess count as far beyond
    np.testing.assert_allclose(cdf(np.full(3, 2.0), np.array([3.0])), [7 / 6 + 1e-3], rtol=1e-14)


def test_rank_correlation_is_spearman_rho():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=30), rng.normal(size=30)
    ranks_a, ranks_b = rank_normalise(a), rank_normalise(b)
    assert np.isclose(rank_correlation(ranks_a, ranks_b), spearmanr(a, b).statistic, atol=1e-12)


def test_rank_correlation_stays_within_minus_one_and_one_despite_rounding():
    # for this vector the unclipped quotient rounds to 1.0000000000000002 (and its negative)
    a = np.random.default_rng(1).random(40)
    assert rank_correlation(a, 0.1 * a) == 1.0
    assert rank_correlation(a, -0.1 * a) == -1.0


def test_integer_scores_get_fractional_ranks():
    np.testing.assert_allclose(rank_normalise(np.array([3, 1, 2, 2])), [1.0, 0.25, 0.625, 0.625])


def test_infinite_and_extreme_values_are_placed_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = cdf(np.array([-1e308, -5e307]), np.array([np.inf, 1.7e308]))
    np.testing.assert_allclose(got, 5 / 4 + 1e-3, rtol=1e-12)


def test_rank_correlation_of_equal_and_constant_vectors():
    constant = np.full(5, 0.5)
    assert rank_correlation(constant, constant.copy()) == 0.0  # a constant ranks nothing
    assert rank_correlation(constant, np.arange(5.0)) == 0.0
    ranks = rank_normalise(np.random.default_rng(0).random(1000))
    assert rank_correlation(ranks, ranks.copy()) == 1.0  # not 0.9999999999999999
