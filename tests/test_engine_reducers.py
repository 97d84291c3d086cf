"""Linear reducers on their own: exact NMF encoding and data-only round trips."""

import numpy as np
import pytest
from scipy.optimize import nnls

from drama.reducers.linear import SPECS, ICAReducer, NMFReducer, _nnls_by_support


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_nnls_by_support_matches_scipy(k):
    rng = np.random.default_rng(k)
    H, X = rng.random((k, 7)), rng.random((200, 7))
    expected = np.array([nnls(H.T, x)[0] for x in X])
    np.testing.assert_allclose(_nnls_by_support(X, H), expected, atol=1e-10)


def test_nmf_with_many_components_uses_the_iterative_solver():
    rng = np.random.default_rng(0)
    X = rng.random((80, 12))
    reducer = NMFReducer(latent_dim=8, random_state=0).fit(X)
    Z = reducer.encode(X)
    assert Z.shape == (80, 8) and (Z >= 0).all() and np.isfinite(Z).all()


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_state_round_trip_encodes_identically(spec):
    X = np.random.default_rng(1).random((60, 5))
    reducer = spec.factory(2, 0).fit(X)
    config, arrays = reducer.to_state()
    restored = spec.cls.from_state(config, arrays)
    Z = reducer.encode(X)
    np.testing.assert_array_equal(restored.encode(X), Z)
    np.testing.assert_array_equal(restored.decode(Z), reducer.decode(Z))


def test_ica_on_rank_deficient_data_falls_back_to_an_exact_basis():
    t = np.random.default_rng(0).normal(size=(300, 1))
    X = np.hstack([t, 2 * t, -t, 0.5 * t])
    reducer = ICAReducer(2, random_state=0).fit(X)
    assert np.abs(reducer.unmixing_).max() < 10
    np.testing.assert_allclose(reducer.decode(reducer.encode(X)), X, atol=1e-10)
