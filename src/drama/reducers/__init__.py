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


def _lazy(module: str, name: str, needs: str, extra: str) -> Callable[[], ReducerSpec]:
    def load() -> ReducerSpec:
        import importlib

        try:
            specs = importlib.import_module(module).SPECS
        except ImportError as exc:
            raise ImportError(
                f"The {name!r} reducer needs {needs}: pip install 'drama-anomaly[{extra}]' "
                f"({exc})."
            ) from None
        return next(s for s in specs if s.name == name)

    return load


for _name in ("ae", "vae", "cae1d", "cvae1d", "cae2d", "cvae2d"):
    register_reducer(_name, _lazy("drama.reducers.neural", _name, "PyTorch", "deep"))
register_reducer("umap", _lazy("drama.reducers.manifold", "umap", "umap-learn", "manifold"))

__all__ = [
    "Reducer",
    "ReducerSpec",
    "as_reducer",
    "get_reducer_spec",
    "reducer_names",
    "register_reducer",
]
