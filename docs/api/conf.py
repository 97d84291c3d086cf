"""Sphinx configuration of DRAMA's API reference, built from the docstrings by ``make docs``.

Only the reference lives here; the guides stay the Markdown files in ``docs/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The sources, not an installed copy: the reference describes the checkout being built.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

import drama  # noqa: E402

project = "DRAMA"
author = "DRAMA contributors"
release = drama.__version__
version = release

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]

# Docstrings are NumPy style where they have sections; Google style is not used.
napoleon_google_docstring = False
napoleon_numpy_docstring = True

autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
# Signatures stay short; the types are listed under each parameter instead.
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented"

exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path: list[str] = []

# Every cross-reference must resolve, so that a renamed function cannot leave a dead link.
# Types outside drama are not linked (no intersphinx: the build runs offline), and NumPy-style
# type lines are free text ("array-like of shape (n, d)"), so non-drama class targets are let go.
nitpicky = True
nitpick_ignore_regex = [("py:class", r"(?!drama\.).*"), ("py:obj", r"(?!drama\.).*")]


def _skip_sklearn_members(app, what, name, obj, skip, options):
    """Leave out what the estimators inherit from scikit-learn (get_params and the like):
    scikit-learn documents it, and its docstrings point into scikit-learn's own site."""
    if (getattr(obj, "__module__", None) or "").startswith("sklearn."):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_sklearn_members)
