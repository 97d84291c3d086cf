"""One seed sequence per fit: children are reproducible and distinct; libraries get ints."""

import numpy as np
import pytest

from drama.search import DramaSearch
from drama.seeding import SEED_BOUND, draw_seed, library_seed, spawn_seeds


def test_spawned_seeds_repeat_and_differ_from_each_other_and_the_parent():
    seeds = spawn_seeds(7, 3)
    assert seeds == spawn_seeds(7, 3)
    assert len(set(seeds)) == 3 and 7 not in seeds and 8 not in seeds
    assert all(0 <= s < SEED_BOUND for s in seeds)
    assert spawn_seeds(None, 2) != spawn_seeds(None, 2)  # fresh entropy each time


def test_library_seed_keeps_ints_and_draws_from_generators():
    assert library_seed(5) == 5
    assert library_seed(np.int64(SEED_BOUND + 3)) == 3
    rng = np.random.default_rng(0)
    first = library_seed(rng)
    assert first == draw_seed(np.random.default_rng(0))
    assert library_seed(rng) != first  # the generator moved on
    with pytest.raises(ValueError, match="random_state must be"):
        library_seed("0")


def test_the_stability_partner_is_seeded_from_the_fits_sequence(monkeypatch):
    """The partner tree gets the spawned child, not random_state + 1, and a refit repeats."""
    import drama.search as search_module

    seen = []
    real = search_module._fit_tree

    def spy(arr, reducer, params):
        seen.append(params["random_state"])
        return real(arr, reducer, params)

    monkeypatch.setattr(search_module, "_fit_tree", spy)
    X = np.random.default_rng(0).normal(size=(120, 4))
    options = dict(reducers=["none"], levels=[1, 2], metrics=["l1", "l2"], members=(),
                   stability_threshold=0.97, random_state=3)
    first = DramaSearch(**options).fit(X).decision_scores_
    assert seen[:2] == [3, spawn_seeds(3, 2)[0]]
    np.testing.assert_array_equal(DramaSearch(**options).fit(X).decision_scores_, first)
