"""How a fit turns its ``random_state`` into every seed it needs (docs/engine.md, "Seeds").

A fit starts from one :class:`numpy.random.SeedSequence`, the sequence of its
``random_state``. A tree draws everything from the generator of that sequence
(``numpy.random.default_rng(random_state)``); streams that must not coincide with it (a
search's stability partner, its relevance space) are children spawned from the same
sequence; a library that takes an integer seed (scikit-learn's KMeans, a reducer, torch)
gets one drawn from the generator of the stream it belongs to. No seed is derived by
arithmetic (``seed + 1``), so two streams never meet by accident.
"""

from __future__ import annotations

import numpy as np

# The largest integer seed every library here accepts (torch and scikit-learn take 32 bits).
SEED_BOUND = 2**31 - 1


def draw_seed(rng: np.random.Generator) -> int:
    """An integer seed for a library, drawn from the generator of its stream."""
    return int(rng.integers(SEED_BOUND))


def spawn_seeds(random_state: int | None, n: int) -> list[int]:
    """Integer seeds of ``n`` children of the fit's sequence (fresh ones when
    ``random_state`` is None, as the fit itself is then)."""
    children = np.random.SeedSequence(random_state).spawn(n)
    return [draw_seed(np.random.default_rng(child)) for child in children]


def library_seed(random_state: int | np.random.Generator | None) -> int:
    """The integer seed a reducer hands its library: an int as given (within
    ``SEED_BOUND``), else one drawn from the generator (a fresh one for None)."""
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return int(random_state) % SEED_BOUND
    if isinstance(random_state, np.random.Generator) or random_state is None:
        return draw_seed(np.random.default_rng(random_state))
    raise ValueError(f"random_state must be an int, a numpy Generator or None; got "
                     f"{random_state!r}.")
