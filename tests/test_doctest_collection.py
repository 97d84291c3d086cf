"""The docstring examples are collected from every module of ``src/drama`` (pytest's
``--doctest-modules``, set in pyproject.toml). Collection imports each module, so it must work
where the optional extras are not installed: exactly the modules that import PyTorch or UMAP
at import time are left out of collection, and no other module does so."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OPTIONAL = ("torch", "umap")

# Imports every module of drama with the optional extras unimportable, and prints which
# modules failed to import.
_IMPORT_ALL = """
import importlib, json, pkgutil, sys

class NoExtras:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {optional!r}:
            raise ImportError(f"{{name}} is not installed here")

sys.meta_path.insert(0, NoExtras())
import drama
failed = []
for module in pkgutil.walk_packages(drama.__path__, "drama."):
    try:
        importlib.import_module(module.name)
    except ImportError:
        failed.append(module.name)
print(json.dumps(failed))
"""


def ignored_by_doctest_collection() -> list[str]:
    """The modules that pyproject.toml's ``addopts`` leaves out of collection, dotted."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    addopts = re.search(r'^addopts = "(.*)"$', text, re.M)
    assert addopts is not None and "--doctest-modules" in addopts.group(1)
    paths = re.findall(r"--ignore=src/(\S+)\.py", addopts.group(1))
    return sorted(p.replace("/", ".") for p in paths)


def test_exactly_the_modules_that_need_an_optional_extra_are_left_out_of_doctests():
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL.format(optional=OPTIONAL)],
        capture_output=True, text=True, check=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert sorted(json.loads(result.stdout)) == ignored_by_doctest_collection()
