"""DRAMA: the Dimensionality Reduction Anomaly Meta-Algorithm."""

from drama.estimator import Drama

__version__ = "0.1.0"

__all__ = ["Drama", "__version__"]
