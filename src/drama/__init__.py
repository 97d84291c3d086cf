"""DRAMA: the Dimensionality Reduction Anomaly Meta-Algorithm."""

from drama.estimator import Drama
from drama.search import DramaSearch

__version__ = "0.1.0"

__all__ = ["Drama", "DramaSearch", "__version__"]
