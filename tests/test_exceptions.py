"""DRAMA's exceptions live in :mod:`drama.exceptions`; the modules that raise them still
export them, and the module imports nothing, so it never causes an import cycle."""

from __future__ import annotations

import ast
import inspect

import pytest

import drama.exceptions as exceptions


@pytest.mark.parametrize(("module", "name"), [
    ("drama.active", "StoreError"),
    ("drama.active.store", "StoreError"),
    ("drama.active.store", "StoreLockedError"),
    ("drama.active.store", "StoreMismatchError"),
    ("drama.active.store", "StoreDamagedError"),
    ("drama.cli.common", "UserError"),
    ("drama.reducers.base", "DeviceError"),
])
def test_old_import_paths_give_the_same_class(module, name):
    imported = __import__(module, fromlist=[name])
    assert getattr(imported, name) is getattr(exceptions, name)


def test_every_exception_is_a_documented_value_error():
    for name in exceptions.__all__:
        cls = getattr(exceptions, name)
        assert issubclass(cls, ValueError), name
        assert cls.__doc__ and cls.__doc__.startswith("Raised "), name


def test_the_module_imports_nothing():
    tree = ast.parse(inspect.getsource(exceptions))
    imports = [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]
    assert [getattr(node, "module", None) for node in imports] == ["__future__"]
