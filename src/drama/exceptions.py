"""DRAMA's own exceptions, in one place so that callers can find and catch them.

Each is a :class:`ValueError`, so code that catches bad input in general still catches
them. This module imports nothing, so any part of DRAMA may import it without a cycle and
without loading numpy, pandas or torch.
"""

from __future__ import annotations

__all__ = [
    "DeviceError",
    "DivergedError",
    "StoreDamagedError",
    "StoreError",
    "StoreLockedError",
    "StoreMismatchError",
    "UserError",
]


class StoreError(ValueError):
    """Raised when an active session's label store cannot be used as asked (not a DRAMA
    store, a bad label, an unknown object id)."""


class StoreLockedError(StoreError):
    """Raised when the label store is held by another live session."""


class StoreMismatchError(StoreError):
    """Raised when the label store belongs to other data or another configuration."""


class StoreDamagedError(StoreError):
    """Raised when a DRAMA label store's file is damaged (cut short, corrupt pages, a table
    missing)."""


class UserError(ValueError):
    """Raised by the command line for a mistake in how a command was called; printed as one
    line, exit code 2."""


class DivergedError(ValueError):
    """Raised when a neural reducer's training loss becomes NaN or infinite, or grows far
    beyond its starting value."""


class DeviceError(ValueError):
    """Raised when a neural reducer is asked to run on a device that is not here (a model
    trained on a GPU, loaded on a machine without one)."""
