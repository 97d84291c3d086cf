"""The label-free blend of score families (Fisher's method, agreement weights)."""

from __future__ import annotations

import numpy as np
import pytest

from drama.blend import Blend, fisher
from drama.ranks import rank_normalise


def test_fisher_is_minus_log_of_one_minus_the_rank_and_orders_beyond_the_top():
    r = np.array([0.125, 0.5, 0.875, 0.9375])
    np.testing.assert_allclose(fisher(r, 8), -np.log(1 - r), rtol=1e-12)
    # beyond the largest training mid-rank (15/16 for n = 8) objects stay ordered
    beyond = fisher(np.array([0.9375, 1.0, 1.0005]), 8)
    assert np.isfinite(beyond).all() and beyond[0] < beyond[1] < beyond[2]
    assert beyond[1] == pytest.approx(np.log(16) + 0.0625)


def test_family_weights_are_base_times_agreement_to_the_power():
    rng = np.random.default_rng(0)
    a = rng.random(50)
    ranks = rank_normalise(np.column_stack([a, a + 0.3 * rng.random(50), rng.random(50)]))
    base, power = np.array([2.0, 1.0, 1.0]), 3.0
    blend = Blend(np.eye(3), base, power)
    scores = blend.fit(ranks)
    centre = ranks @ (base / base.sum())
    agreement = np.array([np.corrcoef(c, centre)[0, 1] for c in ranks.T])
    np.testing.assert_allclose(blend.agreement_, agreement, rtol=1e-12)
    expected = base * agreement**power
    np.testing.assert_allclose(blend.weights_, expected / expected.sum(), rtol=1e-12)
    combined = fisher(ranks, 50) @ blend.weights_
    np.testing.assert_allclose(scores, rank_normalise(combined), rtol=1e-12)
    np.testing.assert_allclose(blend.score(ranks), scores, rtol=1e-12)


def test_a_family_against_the_rest_gets_no_weight_and_power_zero_keeps_the_base():
    rng = np.random.default_rng(1)
    a = rng.random(40)
    ranks = rank_normalise(np.column_stack([a, a + 0.1 * rng.random(40), -a]))
    blend = Blend(np.eye(3), np.ones(3), 4.0)
    blend.fit(ranks)
    assert blend.weights_[2] == 0 and blend.weights_[:2].sum() == pytest.approx(1)
    flat = Blend(np.eye(3), np.array([2.0, 1.0, 1.0]), 0.0)
    flat.fit(ranks)
    np.testing.assert_allclose(flat.weights_, [0.5, 0.25, 0.25])


def test_families_average_their_configurations_and_report_config_weights():
    rng = np.random.default_rng(2)
    ranks = rank_normalise(rng.random((30, 4)))
    members = np.array([[0.5, 0.5, 0, 0], [0, 0, 1, 0]])
    blend = Blend(members, np.array([1.0, 1.0]), 0.0)
    scores = blend.fit(ranks)
    tree_family = rank_normalise(ranks[:, :2].mean(axis=1))
    expected = rank_normalise(fisher(np.column_stack([tree_family, ranks[:, 2]]), 30).mean(1))
    np.testing.assert_allclose(scores, expected, rtol=1e-12)
    np.testing.assert_allclose(blend.config_weights, [0.25, 0.25, 0.5, 0.0])


def test_agreement_weights_apply_even_when_they_sum_below_one():
    # base weights summing to 1 and agreements below 1: the raw weights sum below 1
    rng = np.random.default_rng(2)
    a = rng.random(40)
    ranks = rank_normalise(np.column_stack([a, a + 0.5 * rng.random(40)]))
    base = np.array([0.75, 0.25])
    blend = Blend(np.eye(2), base, 1.0)
    blend.fit(ranks)
    raw = base * blend.agreement_
    assert raw.sum() < 1
    np.testing.assert_allclose(blend.weights_, raw / raw.sum(), rtol=1e-12)
    assert not np.allclose(blend.weights_, base)  # the agreements changed the weights


def test_when_every_family_disagrees_the_base_weights_are_kept():
    # two opposite families: their mean is constant (exactly, with n = 32 the ranks are binary
    # fractions), so neither agrees with it
    a = np.random.default_rng(3).random(32)
    ranks = rank_normalise(np.column_stack([a, -a]))
    blend = Blend(np.eye(2), np.array([1.0, 1.0]), 2.0)
    blend.fit(ranks)
    np.testing.assert_array_equal(blend.agreement_, [0.0, 0.0])
    np.testing.assert_allclose(blend.weights_, [0.5, 0.5])
