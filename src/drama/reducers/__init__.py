"""Reducers by name. Linear ones load eagerly; neural and manifold ones only when asked,
so ``import drama`` works without torch or umap-learn."""

from __future__ import annotations

from collections.abc import Callable

from drama.reducers.base import (
    Reducer,
    ReducerSpec,
    as_reducer,
    get_reducer_spec,
    reducer_names,
    register_reducer,
)
from drama.reducers.linear import SPECS as _LINEAR_SPECS

for _spec in _LINEAR_SPECS:
    register_reducer(_spec.name, _spec)


def _lazy(module: str, name: str) -> Callable[[], ReducerSpec]:
    """Import ``module`` only when the reducer is asked for. The modules import torch and
    umap-learn inside their reducers, whose fit says how to install a missing extra."""
    def load() -> ReducerSpec:
        import importlib

        return next(s for s in importlib.import_module(module).SPECS if s.name == name)

    return load


for _name in ("ae", "vae", "cae1d", "cvae1d", "cae2d", "cvae2d"):
    register_reducer(_name, _lazy("drama.reducers.neural", _name))
register_reducer("umap", _lazy("drama.reducers.manifold", "umap"))

__all__ = [
    "Reducer",
    "ReducerSpec",
    "as_reducer",
    "get_reducer_spec",
    "reducer_names",
    "register_reducer",
]
