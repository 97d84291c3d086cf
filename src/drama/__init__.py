"""DRAMA: the Dimensionality Reduction Anomaly Meta-Algorithm."""

from __future__ import annotations

import os

from drama.estimator import Drama
from drama.search import DramaSearch

__version__ = "0.1.0"

__all__ = ["Drama", "DramaSearch", "__version__", "load_detector"]


def load_detector(path: str | os.PathLike, device: str | None = None) -> Drama | DramaSearch:
    """Load whichever detector ``path`` holds: a saved :class:`Drama` or
    :class:`DramaSearch` (``device`` as in :meth:`Drama.load`)."""
    from drama.persistence import read_detector

    return read_detector(path, (Drama, DramaSearch), device=device)
