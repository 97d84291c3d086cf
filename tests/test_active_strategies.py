"""Query strategies on small worked examples: which objects are asked next, and why."""

from __future__ import annotations

import numpy as np
import pytest

from drama.active.strategies import STRATEGIES, balanced, top_score


def test_the_strategies_are_named_as_the_session_documents():
    assert STRATEGIES == {"top": top_score, "balanced": balanced}


def test_top_gives_the_highest_unlabelled_scores_in_order_with_ties_in_input_order():
    score = np.array([0.2, 0.9, 0.5, 0.9, 0.7, 0.5])
    labelled = np.array([False, False, False, False, True, False])
    picks = top_score(score, labelled, 4)
    assert picks == [(1, "top score"), (3, "top score"), (2, "top score"), (5, "top score")]
    assert all(type(i) is int for i, _ in picks)


def test_top_with_k_beyond_the_unlabelled_gives_every_unlabelled_object_once():
    score = np.array([0.1, 0.3, 0.2])
    labelled = np.array([False, True, False])
    assert [i for i, _ in top_score(score, labelled, 10)] == [2, 0]


def _balanced(n_asked, k=4, explore_every=4, far=2.0, dist=None):
    """Ten objects: the score prefers the low indices, the prior prefers 7, then 8."""
    score = np.linspace(1.0, 0.1, 10)
    prior = np.array([0.9, 0.8, 0.1, 0.1, 0.1, 0.1, 0.1, 0.6, 0.5, 0.2])
    labelled = np.zeros(10, dtype=bool)
    labelled[9] = True
    if dist is None:
        dist = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.0, 1.0, 3.0, 4.0, 0.0])
    calls = []

    def distance():
        calls.append(1)
        return dist

    picks = balanced(score, labelled, k, prior=prior, distance=distance, n_asked=n_asked,
                     explore_every=explore_every, far=far)
    return picks, calls


def test_balanced_asks_only_top_scores_before_any_label():
    picks, calls = _balanced(n_asked=0)
    assert [i for i, _ in picks] == [0, 1, 2, 3]
    assert all(reason == "top score" for _, reason in picks)
    assert calls == []  # no distances are computed when nothing is explored


def test_every_fourth_query_explores_the_most_anomalous_object_beyond_the_far_radius():
    # 2 asked already: the 2nd pick of this batch is query 4 overall, the only exploration
    picks, calls = _balanced(n_asked=2)
    assert [i for i, _ in picks] == [0, 7, 1, 2]
    assert [r for _, r in picks].count("top score") == 3
    # 7 and 8 lie beyond 2 kernel widths; 7 has the higher prior; 4 and 5 lie exactly at 2
    assert picks[1][1] == ("explore: anomalous object in an unlabelled region "
                           "(nearest label 3.0 kernel widths away)")
    assert len(calls) == 1


def test_an_explored_object_is_not_asked_again_and_the_next_exploration_looks_elsewhere():
    picks, calls = _balanced(n_asked=1, k=8, explore_every=2)
    # queries 2, 4, 6, 8 overall explore: 7 then 8 (beyond the radius), then the farthest left
    assert [i for i, _ in picks] == [7, 0, 8, 1, 4, 2, 5, 3]
    assert picks[4][1] == picks[6][1] == "explore: the object farthest from every label"
    assert len({i for i, _ in picks}) == 8
    assert len(calls) == 1  # the distances are computed once per batch


def test_without_a_region_beyond_the_radius_exploration_takes_the_farthest_object():
    dist = np.array([0.0, 0.5, 1.0, 1.9, 2.0, 0.2, 1.0, 0.3, 0.4, 5.0])  # 9 is labelled
    picks, _ = _balanced(n_asked=3, k=1, dist=dist)
    assert picks == [(4, "explore: the object farthest from every label")]


@pytest.mark.parametrize(("n_asked", "explore_every", "far", "expected"),
                         [(2, 3, 2.0, 7), (3, 4, 3.5, 8)])
def test_the_exploration_period_and_radius_are_the_callers(n_asked, explore_every, far, expected):
    # the 3rd query explores when every 3rd does; beyond 3.5 widths only 8 is left
    picks, _ = _balanced(n_asked=n_asked, k=1, explore_every=explore_every, far=far)
    assert picks[0][0] == expected
    assert picks[0][1].startswith("explore")


def test_top_keeps_input_order_among_many_ties():
    # beyond 16 elements numpy's default sort is no longer an insertion sort, and not stable
    rng = np.random.default_rng(3)
    score = rng.integers(0, 3, size=60).astype(float)
    labelled = rng.random(60) < 0.2
    expected = sorted(np.flatnonzero(~labelled), key=lambda i: (-score[i], i))
    assert [i for i, _ in top_score(score, labelled, 60)] == expected


def test_the_documented_defaults_explore_every_fourth_query_beyond_two_kernel_widths():
    # docs/active.md: "every 4th query goes to the most anomalous object more than two
    # kernel widths from every label"
    score = np.linspace(1.0, 0.1, 10)
    prior = np.array([0.9, 0.8, 0.1, 0.1, 0.1, 0.7, 0.1, 0.2, 0.1, 0.1])
    dist = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 1.0, 3.5, 0.5, 0.0])
    labelled = np.zeros(10, dtype=bool)
    labelled[9] = True
    picks = balanced(score, labelled, 5, prior=prior, distance=lambda: dist, n_asked=1)
    # queries 2..6 overall: the 4th explores; beyond 2 widths lie 5 and 7, 5 is more anomalous
    assert [i for i, _ in picks] == [0, 1, 5, 2, 3]
    assert picks[2][1].startswith("explore: anomalous object")


def test_exploration_takes_the_most_anomalous_in_the_region_not_the_first():
    dist = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.0, 1.0, 3.0, 4.0, 0.0])
    prior = np.array([0.9, 0.8, 0.1, 0.1, 0.1, 0.1, 0.1, 0.3, 0.5, 0.2])
    picks = balanced(np.linspace(1.0, 0.1, 10), np.arange(10) == 9, 1, prior=prior,
                     distance=lambda: dist, n_asked=3)
    assert picks[0][0] == 8
