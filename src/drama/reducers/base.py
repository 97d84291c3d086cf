"""The reducer contract and the name -> factory registry.

A reducer maps objects to a latent space (``encode``) and latent points back to
objects (``decode``). The splitting tree fits one reducer per node, so reducers
must be cheap to create and must not share state between instances.

Reducers receive arrays shaped ``(n, *sample_shape)`` (tables are ``(n, d)``);
``decode`` may return either that shape or the flattened ``(n, d)`` form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

# Re-exported: ``from drama.reducers.base import DeviceError`` keeps working.
from drama.exceptions import DeviceError as DeviceError


@runtime_checkable
class Reducer(Protocol):
    """What the tree needs from a reducer."""

    def fit(self, X: np.ndarray) -> Any: ...

    def encode(self, X: np.ndarray) -> np.ndarray: ...

    def decode(self, Z: np.ndarray) -> np.ndarray: ...


class RestorableReducer(Protocol):
    """A reducer class as the registry holds it: it rebuilds a saved reducer (the neural
    ones also take ``device``)."""

    def from_state(self, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> Reducer: ...


@dataclass(frozen=True)
class ReducerSpec:
    """How to build a reducer for one node of the tree.

    ``factory(latent_dim, random_state, **options)`` returns an unfitted reducer;
    ``cls`` is the class used to restore a saved reducer with ``from_state``.
    """

    name: str
    factory: Callable[..., Any]
    cls: RestorableReducer
    description: str


_REGISTRY: dict[str, ReducerSpec | Callable[[], ReducerSpec]] = {}


def register_reducer(name: str, spec: ReducerSpec | Callable[[], ReducerSpec]) -> None:
    """Register a reducer by name; ``spec`` may be a zero-argument loader so heavy
    dependencies (torch, umap) are imported only when the reducer is used."""
    _REGISTRY[name] = spec


def reducer_names() -> list[str]:
    return sorted(_REGISTRY)


def get_reducer_spec(name: str) -> ReducerSpec:
    if name not in _REGISTRY:
        raise ValueError(
            f"Unknown reducer {name!r}. Choose one of {', '.join(reducer_names())}, "
            "or pass an object with fit/encode/decode (or fit/transform/inverse_transform)."
        )
    spec = _REGISTRY[name]
    if not isinstance(spec, ReducerSpec):
        spec = spec()
        _REGISTRY[name] = spec
    return spec


class AdaptedReducer:
    """Wraps a user object that speaks scikit-learn's fit/transform/inverse_transform."""

    def __init__(self, inner: Any):
        self.inner = inner

    def fit(self, X: np.ndarray) -> AdaptedReducer:
        self.inner.fit(X.reshape(len(X), -1))
        return self

    def encode(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.inner.transform(X.reshape(len(X), -1)), dtype=np.float64)

    def decode(self, Z: np.ndarray) -> np.ndarray:
        return np.asarray(self.inner.inverse_transform(Z), dtype=np.float64)


def as_reducer(obj: Any) -> Any:
    """Return ``obj`` if it speaks fit/encode/decode, an adapter if it speaks
    fit/transform/inverse_transform, else raise a TypeError that says what is missing."""
    if all(callable(getattr(obj, m, None)) for m in ("fit", "encode", "decode")):
        return obj
    if all(callable(getattr(obj, m, None)) for m in ("fit", "transform", "inverse_transform")):
        return AdaptedReducer(obj)
    raise TypeError(
        f"A custom reducer must have fit/encode/decode or fit/transform/inverse_transform "
        f"methods; {type(obj).__name__} has neither set."
    )
