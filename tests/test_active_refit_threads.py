"""The session's refit runs with one BLAS / OpenMP thread (faster on a busy machine,
docs/workbench.md) and ranks exactly as the same arithmetic with threads does."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from drama.active import ActiveSession


def test_a_refit_on_one_thread_ranks_as_the_threaded_arithmetic(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 10))
    X[:200] += 6.0
    with ActiveSession(X, levels=(1, 2)) as session:
        order = np.argsort(-session.scores_, kind="stable")
        for k in range(20):
            session.label(str(order[k]), "interesting" if k % 2 else "boring",
                          cls="far" if k % 3 == 0 else None)
        with threadpool_limits(limits=2):  # the refit's arithmetic as it ran before
            session._refit()
        reference = (session.scores_.copy(), session.p_interesting_.copy(),
                     session.classes_.copy(), session.class_confidence_.copy())
        threads: list[int] = []
        inner = session._refit

        def counted():
            threads.extend(pool["num_threads"] for pool in threadpool_info())
            return inner()

        monkeypatch.setattr(session, "_refit", counted)
        session.refit()
        assert threads and set(threads) == {1}
        assert np.array_equal(session.scores_, reference[0])
        assert np.array_equal(session.p_interesting_, reference[1])
        assert list(session.classes_) == list(reference[2])
        assert np.array_equal(session.class_confidence_, reference[3])
